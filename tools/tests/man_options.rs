//! Each program's man page and its command line agree: every long option
//! that clap knows (`PROG --help` and `PROG SUB --help`) appears in
//! `man/PROG.8` outside the SYNOPSIS, and every long option on a tag line
//! (`.TP`) of the page's OPTIONS and COMMANDS sections exists in clap
//! (shown in `--help`, or a hidden alias that clap accepts).

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// `PROG ARGS... --help`.
fn help(program: &str, args: &[&str]) -> String {
    let o = Command::new(program)
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(o.status.success(), "{program} {args:?} --help failed");
    String::from_utf8(o.stdout).unwrap()
}

/// The lines of `help` under the heading `heading` ("Commands:", "Options:").
fn section<'a>(help: &'a str, heading: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| *l != heading)
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect()
}

/// Long options (`--name`) in `text`, in order.
fn long_options(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(at) = text[i..].find("--") {
        let start = i + at;
        let mut end = start + 2;
        while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'-') {
            end += 1;
        }
        let before = start.checked_sub(1).map(|j| b[j]);
        if end > start + 2
            && b[start + 2].is_ascii_alphabetic()
            && !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'-')
        {
            out.push(text[start..end].trim_end_matches('-').to_string());
        }
        i = end.max(start + 2);
    }
    out
}

/// The subcommands in `PROG --help`.
fn subcommands(program: &str) -> Vec<String> {
    let top = help(program, &[]);
    let mut subs = Vec::new();
    for l in section(&top, "Commands:") {
        // A command's line starts two spaces in; wrapped text further.
        if l.starts_with("  ") && !l[2..].starts_with(' ') {
            let name = l.split_whitespace().next().unwrap_or_default();
            if name != "help" {
                subs.push(name.to_string());
            }
        }
    }
    subs
}

/// Whether clap accepts `option` (hidden aliases too) on `PROG ARGS...`:
/// `PROG ARGS... OPTION --help` is not refused as an unexpected argument.
fn accepts(program: &str, args: &[&str], option: &str) -> bool {
    let o = Command::new(program)
        .args(args)
        .args([option, "--help"])
        .output()
        .unwrap();
    !String::from_utf8_lossy(&o.stderr).contains("unexpected argument")
}

/// Every long option `PROG --help` and `PROG SUB --help` show, with the
/// (sub)commands that take it ("" for the program itself).
fn clap_options(program: &str) -> BTreeMap<String, Vec<String>> {
    let mut subs = vec![String::new()];
    subs.extend(subcommands(program));
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for sub in subs {
        let args: Vec<&str> = if sub.is_empty() { vec![] } else { vec![&sub] };
        let text = help(program, &args);
        for l in section(&text, "Options:") {
            // An option's line is indented at most 6 columns; wrapped
            // descriptions are indented to the description column.
            let indent = l.len() - l.trim_start().len();
            if indent > 6 || !l.trim_start().starts_with('-') {
                continue;
            }
            let spec = l.trim_start().split("  ").next().unwrap_or_default();
            for o in long_options(spec) {
                if o != "--help" && o != "--version" {
                    found.entry(o).or_default().push(sub.clone());
                }
            }
        }
    }
    found
}

/// A man page's text by section, with roff's escapes for a minus and for
/// fonts removed.
fn man_sections(program: &str) -> Vec<(String, Vec<String>)> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../man")
        .join(format!("{program}.8"));
    let text = std::fs::read_to_string(&file).unwrap();
    let mut sections: Vec<(String, Vec<String>)> = vec![(String::new(), vec![])];
    for l in text.lines() {
        let l = l
            .replace("\\-", "-")
            .replace("\\fB", "")
            .replace("\\fI", "")
            .replace("\\fR", "")
            .replace("\\fP", "");
        if let Some(name) = l.strip_prefix(".SH ") {
            sections.push((name.trim_matches('"').to_string(), vec![]));
        } else if let Some(last) = sections.last_mut() {
            last.1.push(l);
        }
    }
    sections
}

/// The long options on the tag lines (the line after `.TP`) of the
/// sections that list options and commands.
fn man_tag_options(sections: &[(String, Vec<String>)]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (name, lines) in sections {
        if !(name.ends_with("OPTIONS") || name == "COMMANDS") {
            continue;
        }
        for w in lines.windows(2) {
            if w[0].trim() == ".TP" {
                out.extend(long_options(&w[1]));
            }
        }
    }
    out
}

/// `top_level`: whether options may come before a subcommand (not for
/// prkeys, whose first argument being an option selects sg_persist mode).
fn check(program: &str, bin: &str, top_level: bool) {
    let clap = clap_options(bin);
    assert!(!clap.is_empty(), "{program}: no options read from --help");
    let sections = man_sections(program);
    let body: BTreeSet<String> = sections
        .iter()
        .filter(|(name, _)| name != "SYNOPSIS")
        .flat_map(|(_, lines)| lines.iter().flat_map(|l| long_options(l)))
        .collect();
    let undocumented: Vec<String> = clap
        .iter()
        .filter(|(o, _)| !body.contains(*o))
        .map(|(o, subs)| format!("{o} (in: {})", subs.join(" ").trim()))
        .collect();
    let tagged = man_tag_options(&sections);
    assert!(!tagged.is_empty(), "{program}.8: no option tag lines found");
    let subs = subcommands(bin);
    let known = |o: &str| {
        clap.contains_key(o)
            || o == "--help"
            || o == "--version"
            || (top_level && accepts(bin, &[], o))
            || subs.iter().any(|s| accepts(bin, &[s], o))
    };
    let unknown: Vec<&String> = tagged.iter().filter(|o| !known(o)).collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "{program}: options clap has that man/{program}.8 does not describe \
         (outside SYNOPSIS): {undocumented:?}; options man/{program}.8 lists \
         (OPTIONS/COMMANDS tag lines) that clap does not have: {unknown:?}"
    );
}

#[test]
fn prkeys_man_page_lists_its_options() {
    check("prkeys", common::PRKEYS, false);
}

#[test]
fn pathmap_man_page_lists_its_options() {
    check("pathmap", common::PATHMAP, true);
}

#[test]
fn qdisk_man_page_lists_its_options() {
    check("qdisk", common::QDISK, true);
}

#[test]
fn fencectl_man_page_lists_its_options() {
    check("fencectl", common::FENCECTL, true);
}

#[test]
fn long_options_are_found_in_text() {
    assert_eq!(
        long_options("-k, --key <KEY>  a --b-c, x--y ---z --5 --no-multipath."),
        ["--key", "--b-c", "--no-multipath"]
    );
}

#[test]
fn heartbeatd_man_page_lists_its_options() {
    check("heartbeatd", common::HEARTBEATD, true);
}

#[test]
fn vm_attach_man_page_lists_its_options() {
    check("vmguest-attach", common::VMGUEST_ATTACH, true);
}
