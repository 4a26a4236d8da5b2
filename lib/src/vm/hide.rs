//! Keeping the host's own multipath and LVM away from LUNs given to
//! guests (`vmguest-attach hide` and `unhide`): the `blacklist` entries of
//! `multipath.conf` and the reject patterns of lvm.conf's
//! `devices/global_filter`, written into the existing files so that every
//! other byte stays as it was, and taken out again exactly.
//!
//! The facts relied on:
//! - multipath.conf(5): `blacklist { wwid REGEX }` keeps multipath from
//!   mapping a WWID; the entry written is the anchored WWID
//!   (`"^WWID$"`), which [`super::hygiene`] counts as blacklisted. Lines
//!   starting with `#` or `!` are comments.
//! - lvm.conf(5), `devices/global_filter`: an array of `a|REGEX|` and
//!   `r|REGEX|` patterns matched against every name of a device (the node
//!   and its /dev links). For each name the first pattern that matches
//!   counts; a device is accepted when that is an `a` pattern for any of
//!   its names, rejected when it is an `r` pattern for some name and no
//!   name reaches an `a` first, accepted when nothing matches. So the
//!   rejects go first in the array; with no accept pattern, rejecting
//!   the unit's persistent names (by-id, by-path, `/dev/mapper/MAP`) is
//!   enough; with one (`"a|.*|"`), every name must be rejected, so the
//!   kernel names (`sdX`, `dm-N`, which may name another disk after a
//!   reboot) are rejected as well. In LVM's configuration syntax, commas
//!   between array elements are optional and `#` starts a comment
//!   anywhere outside a string.
//!
//! Every line fencekit adds is owned by a marker comment line of its own
//! (`# fencekit-hide: ...`): a `begin WWID` / `end WWID` pair around a
//! LUN's entries, `added` before a line fencekit created to hold them (a
//! `blacklist {`, `devices {`, `global_filter = [` or closing line),
//! `split` before the first half of a line fencekit broke after its `{`
//! or `[` to put entries first, and `created` when fencekit created the
//! file. [`unhide`] removes a LUN's block; when no block is left it also
//! removes what fencekit added, rejoins what it split and, for a file it
//! created, says to remove the file. Hide then unhide gives back the
//! original bytes.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::topology::{lvm, resolve, Lun, Topology};

/// The text every marker line starts with (after its indentation).
pub const MARK: &str = "# fencekit-hide: ";

/// What one LUN needs in the two files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// The WWID (the marker's key and the blacklist entry).
    pub wwid: String,
    /// The multipath map's name, when the host maps the unit.
    pub map: Option<String>,
    /// Reject patterns for the unit's persistent names: by-id and by-path
    /// links (with `-partN`), `/dev/mapper/MAP` (and its kpartx maps).
    pub persistent: Vec<String>,
    /// Reject patterns for its kernel names (`/dev/sdX`, `/dev/dm-N`),
    /// written only where the filter has an accept pattern.
    pub kernel: Vec<String>,
}

impl Target {
    /// The target for a unit, or `None` when it has no WWID that can be
    /// written into the files (there is nothing persistent to blacklist
    /// it by). The model may come from a file, so a WWID is taken only
    /// when made of letters, digits and `._:-`, and a pattern only when it
    /// has no quote or line break.
    pub fn of(l: &Lun) -> Option<Target> {
        let wwid = l.wwid.as_ref()?.as_str().to_string();
        let plain = |c: char| c.is_ascii_alphanumeric() || "._:-".contains(c);
        if wwid.is_empty() || !wwid.chars().all(plain) {
            return None;
        }
        let (kernel, persistent): (Vec<String>, Vec<String>) = lvm::reject_patterns(l)
            .into_iter()
            .filter(|p| !p.contains(['"', '\n', '\r']))
            .partition(|p| is_kernel_name_pattern(p));
        Some(Target {
            wwid,
            map: l.multipath.as_ref().map(|m| m.name.clone()),
            persistent,
            kernel,
        })
    }
}

/// True for the patterns of [`lvm::reject_patterns`] that name a kernel
/// device node directly under /dev (`/dev/sdb`, `/dev/dm-0`).
fn is_kernel_name_pattern(p: &str) -> bool {
    p.strip_prefix("r|^/dev/")
        .is_some_and(|rest| !rest.starts_with("disk/") && !rest.starts_with("mapper/"))
}

/// A configuration file that fencekit does not edit, and why.
#[derive(Debug, thiserror::Error)]
pub enum HideError {
    /// The file has a form the editor does not handle; it changes nothing.
    #[error("{file}: line {line}: {reason}; edit it by hand (see vmguest-attach(8), hide)")]
    Unsupported {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is in the way.
        reason: String,
    },
    /// Reading, backing up or writing failed.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

fn unsupported(file: &str, line: usize, reason: impl Into<String>) -> HideError {
    HideError::Unsupported {
        file: file.to_string(),
        line: line + 1,
        reason: reason.into(),
    }
}

/// The lines of `text`, each with its line ending.
fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// The part of `line` before a comment (`#`, and `!` when `bang`) that is
/// outside a double-quoted string.
fn code(line: &str, bang: bool) -> &str {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '#' => return &line[..i],
            '!' if bang => return &line[..i],
            _ => {}
        }
    }
    line
}

/// What a marker line says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Marker<'a> {
    Begin(&'a str),
    End(&'a str),
    Added,
    Split,
    Created,
}

fn marker(line: &str) -> Option<Marker<'_>> {
    let rest = line.trim_start().strip_prefix(MARK)?.trim_end();
    let mut w = rest.split_whitespace();
    match (w.next(), w.next(), w.next()) {
        (Some("begin"), Some(x), None) => Some(Marker::Begin(x)),
        (Some("end"), Some(x), None) => Some(Marker::End(x)),
        (Some("added"), None, None) => Some(Marker::Added),
        (Some("split"), None, None) => Some(Marker::Split),
        (Some("created"), None, None) => Some(Marker::Created),
        _ => None,
    }
}

/// The WWIDs that have a fencekit block in `text`.
pub fn hidden_wwids(text: &str) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for l in text.lines() {
        if let Some(Marker::Begin(w)) = marker(l) {
            if !v.iter().any(|x| x == w) {
                v.push(w.to_string());
            }
        }
    }
    v
}

fn indent_of(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// The indentation for entries after the opener at `a`: that of the next
/// line when it is deeper than the opener's, else the opener's and a tab.
fn inner_indent(ls: &[&str], a: &Anchor) -> String {
    let outer = indent_of(ls[a.line]);
    match ls.get(a.line + 1).map(|l| indent_of(l)) {
        Some(i) if i.len() > outer.len() && i.starts_with(outer) && !i.contains(['\n', '\r']) => {
            i.to_string()
        }
        _ => format!("{outer}\t"),
    }
}

/// Where entries go: the line of an opening `{` or `[`, and the byte just
/// after it.
struct Anchor {
    line: usize,
    col: usize,
}

/// `ls` with `body` (whole lines) put just after the anchor: after its
/// line when nothing but blanks or a comment follows the opener, else
/// between the two halves of the line, split there (and marked).
fn insert_at(ls: &[&str], a: &Anchor, body: &str, bang: bool) -> String {
    let mut out = String::new();
    let line = ls[a.line];
    let rest = &line[a.col..];
    for l in &ls[..a.line] {
        out.push_str(l);
    }
    if code(rest, bang).trim().is_empty() && line.ends_with('\n') {
        out.push_str(line);
        out.push_str(body);
    } else {
        out.push_str(&format!("{}{MARK}split\n", indent_of(line)));
        out.push_str(&line[..a.col]);
        out.push('\n');
        out.push_str(body);
        out.push_str(rest);
    }
    for l in &ls[a.line + 1..] {
        out.push_str(l);
    }
    out
}

/// The first top-level section named `name` (`name {` on one line):
/// its opener, and the index of its last line (the closing `}`, or the
/// last line of the file when it is not closed). An error when `name`
/// stands at the top level without its `{` on the same line.
fn section(
    ls: &[&str],
    name: &str,
    file: &str,
    bang: bool,
) -> Result<Option<(Anchor, usize)>, HideError> {
    let mut depth: usize = 0;
    let mut open: Option<Anchor> = None;
    for (i, l) in ls.iter().enumerate() {
        let c = code(l, bang);
        if open.is_none() && depth == 0 {
            let t = c.trim_start();
            if let Some(after) = t.strip_prefix(name) {
                let after_t = after.trim_start();
                if after.is_empty()
                    || after.starts_with(char::is_whitespace)
                    || after_t.starts_with('{')
                {
                    if !after_t.starts_with('{') {
                        return Err(unsupported(
                            file,
                            i,
                            format!("'{name}' without its '{{' on the same line"),
                        ));
                    }
                    let lead = c.len() - t.len();
                    let col = lead + (t.len() - after_t.len()) + 1;
                    open = Some(Anchor { line: i, col });
                    // Count the braces after the opener on this line.
                    depth = 1;
                    for ch in strip_strings(&c[col..]).chars() {
                        match ch {
                            '{' => depth += 1,
                            '}' => depth = depth.saturating_sub(1),
                            _ => {}
                        }
                    }
                    if depth == 0 {
                        return Ok(open.map(|a| (a, i)));
                    }
                    continue;
                }
            }
        }
        for ch in strip_strings(c).chars() {
            match ch {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        if let Some(a) = open.take() {
            if depth == 0 {
                return Ok(Some((a, i)));
            }
            open = Some(a);
        }
    }
    Ok(open.map(|a| (a, ls.len().saturating_sub(1))))
}

/// `code` without the contents of its double-quoted strings.
fn strip_strings(code: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in code.chars() {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
        } else if c == '"' {
            quoted = true;
        } else {
            out.push(c);
        }
    }
    out
}

fn block(out: &mut String, indent: &str, wwid: &str, entries: &[String]) {
    out.push_str(&format!("{indent}{MARK}begin {wwid}\n"));
    for e in entries {
        out.push_str(&format!("{indent}{e}\n"));
    }
    out.push_str(&format!("{indent}{MARK}end {wwid}\n"));
}

fn added(out: &mut String, indent: &str, line: &str) {
    out.push_str(&format!("{indent}{MARK}added\n{indent}{line}\n"));
}

/// The targets that `text` has no block for yet.
fn new_targets<'a>(text: &str, targets: &'a [Target]) -> Vec<&'a Target> {
    let have = hidden_wwids(text);
    let mut v: Vec<&Target> = Vec::new();
    for t in targets {
        if !have.contains(&t.wwid) && !v.iter().any(|x| x.wwid == t.wwid) {
            v.push(t);
        }
    }
    v
}

/// `multipath.conf` (`None`: no file) with a blacklist entry for each
/// target that it does not have yet. `file` names it in errors.
pub fn hide_multipath(
    file: &str,
    conf: Option<&str>,
    targets: &[Target],
) -> Result<Option<String>, HideError> {
    let text = conf.unwrap_or_default();
    let todo = new_targets(text, targets);
    if todo.is_empty() {
        return Ok(conf.map(str::to_string));
    }
    let ls = lines(text);
    let entries = |indent: &str| {
        let mut b = String::new();
        for t in &todo {
            block(&mut b, indent, &t.wwid, &[format!("wwid \"^{}$\"", t.wwid)]);
        }
        b
    };
    if let Some((a, _)) = section(&ls, "blacklist", file, true)? {
        let indent = inner_indent(&ls, &a);
        return Ok(Some(insert_at(&ls, &a, &entries(&indent), true)));
    }
    let mut out = String::new();
    if conf.is_none() {
        out.push_str(&format!("{MARK}created\n"));
    }
    added(&mut out, "", "blacklist {");
    out.push_str(&entries("\t"));
    added(&mut out, "", "}");
    out.push_str(text);
    Ok(Some(out))
}

/// The elements (strings) of the array opened at `a`, up to its `]`.
fn array_strings(ls: &[&str], a: &Anchor) -> Vec<String> {
    let mut out = Vec::new();
    for (n, l) in ls.iter().enumerate().skip(a.line) {
        let from = if n == a.line { a.col } else { 0 };
        let c = code(&l[from..], false);
        let mut cur: Option<String> = None;
        let mut escaped = false;
        for ch in c.chars() {
            match cur.as_mut() {
                Some(s) => match ch {
                    _ if escaped => {
                        escaped = false;
                        s.push(ch);
                    }
                    '\\' => escaped = true,
                    '"' => out.push(cur.take().unwrap_or_default()),
                    _ => s.push(ch),
                },
                None => match ch {
                    '"' => cur = Some(String::new()),
                    ']' => return out,
                    _ => {}
                },
            }
        }
    }
    out
}

/// The `global_filter` assignment in the `devices` section that opens at
/// `dev` and ends on line `to`: the anchor after its `[`.
fn global_filter(
    ls: &[&str],
    dev: &Anchor,
    to: usize,
    file: &str,
) -> Result<Option<Anchor>, HideError> {
    let mut depth: usize = 0;
    for (i, l) in ls.iter().enumerate().take(to + 1).skip(dev.line) {
        let from = if i == dev.line { dev.col } else { 0 };
        let c = code(&l[from..], false);
        let t = c.trim_start();
        if depth == 0 {
            if let Some(after) = t.strip_prefix("global_filter") {
                if let Some(v) = after.trim_start().strip_prefix('=') {
                    let v_t = v.trim_start();
                    if !v_t.starts_with('[') {
                        return Err(unsupported(
                            file,
                            i,
                            "global_filter is not an array opened on its own line ('global_filter = [')",
                        ));
                    }
                    let col = from + c.len() - v_t.len() + 1;
                    return Ok(Some(Anchor { line: i, col }));
                }
            }
        }
        for ch in strip_strings(c).chars() {
            match ch {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    Ok(None)
}

/// lvm.conf (`None`: no file) with reject patterns for each target that
/// it does not have yet, first in `devices/global_filter`. `file` names
/// it in errors.
pub fn hide_lvm(
    file: &str,
    conf: Option<&str>,
    targets: &[Target],
) -> Result<Option<String>, HideError> {
    let text = conf.unwrap_or_default();
    let todo = new_targets(text, targets);
    if todo.is_empty() {
        return Ok(conf.map(str::to_string));
    }
    let ls = lines(text);
    let entries = |indent: &str, accepts: bool| {
        let mut b = String::new();
        for t in &todo {
            let mut pats: Vec<String> = t.persistent.clone();
            if accepts {
                pats.extend(t.kernel.iter().cloned());
            }
            let quoted: Vec<String> = pats.iter().map(|p| format!("\"{p}\",")).collect();
            block(&mut b, indent, &t.wwid, &quoted);
        }
        b
    };
    let Some((dev, end)) = section(&ls, "devices", file, false)? else {
        let mut out = String::new();
        if conf.is_none() {
            out.push_str(&format!("{MARK}created\n"));
        }
        added(&mut out, "", "devices {");
        added(&mut out, "\t", "global_filter = [");
        out.push_str(&entries("\t\t", false));
        added(&mut out, "\t", "]");
        added(&mut out, "", "}");
        out.push_str(text);
        return Ok(Some(out));
    };
    if let Some(a) = global_filter(&ls, &dev, end, file)? {
        let accepts = array_strings(&ls, &a)
            .iter()
            .any(|s| s.trim_start().starts_with('a'));
        let indent = inner_indent(&ls, &a);
        return Ok(Some(insert_at(&ls, &a, &entries(&indent, accepts), false)));
    }
    let indent = inner_indent(&ls, &dev);
    let mut body = String::new();
    added(&mut body, &indent, "global_filter = [");
    body.push_str(&entries(&format!("{indent}\t"), false));
    added(&mut body, &indent, "]");
    Ok(Some(insert_at(&ls, &dev, &body, false)))
}

/// A configuration text (`None`: no file) without fencekit's blocks for
/// `wwids` and, when no block is left, without everything else fencekit
/// added. `None` back: the file was fencekit's own and is now empty, so
/// remove it. `file` names it in errors.
pub fn unhide(
    file: &str,
    conf: Option<&str>,
    wwids: &[String],
) -> Result<Option<String>, HideError> {
    let Some(text) = conf else {
        return Ok(None);
    };
    let ls = lines(text);
    // Pass 1: the blocks of `wwids`.
    let mut kept: Vec<&str> = Vec::with_capacity(ls.len());
    let mut i = 0;
    while i < ls.len() {
        if let Some(Marker::Begin(w)) = marker(ls[i]) {
            if wwids.iter().any(|x| x == w) {
                let end = ls[i + 1..]
                    .iter()
                    .position(|l| marker(l) == Some(Marker::End(w)))
                    .ok_or_else(|| {
                        unsupported(
                            file,
                            i,
                            format!("fencekit's block for {w} has no end marker"),
                        )
                    })?;
                i += end + 2;
                continue;
            }
        }
        kept.push(ls[i]);
        i += 1;
    }
    if kept
        .iter()
        .any(|l| matches!(marker(l), Some(Marker::Begin(_))))
    {
        return Ok(Some(kept.concat()));
    }
    // Pass 2: nothing of fencekit's is needed any more.
    let mut out = String::new();
    let mut created = false;
    let mut i = 0;
    while i < kept.len() {
        match marker(kept[i]) {
            Some(Marker::Added) => i += 2,
            Some(Marker::Split) => {
                if let Some(p) = kept.get(i + 1) {
                    out.push_str(p.strip_suffix('\n').unwrap_or(p));
                }
                i += 2;
            }
            Some(Marker::Created) => {
                created = true;
                i += 1;
            }
            _ => {
                out.push_str(kept[i]);
                i += 1;
            }
        }
    }
    Ok(if created && out.is_empty() {
        None
    } else {
        Some(out)
    })
}

/// A minimal line diff of `old` and `new` for `file`: the common first
/// and last lines are left out, the rest shown as `-` and `+` lines.
/// Empty when they are equal.
pub fn diff(file: &str, old: Option<&str>, new: Option<&str>) -> String {
    if old == new {
        return String::new();
    }
    let (a, b) = (
        lines(old.unwrap_or_default()),
        lines(new.unwrap_or_default()),
    );
    let pre = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suf = a[pre..]
        .iter()
        .rev()
        .zip(b[pre..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let mut out = format!(
        "--- {}\n+++ {}\n@@ line {} @@\n",
        if old.is_some() { file } else { "/dev/null" },
        if new.is_some() { file } else { "/dev/null" },
        pre + 1
    );
    let show = |out: &mut String, sign: char, l: &str| {
        out.push(sign);
        out.push_str(l.strip_suffix('\n').unwrap_or(l));
        out.push('\n');
        if !l.ends_with('\n') {
            out.push_str("\\ No newline at end of file\n");
        }
    };
    for l in &a[pre..a.len() - suf] {
        show(&mut out, '-', l);
    }
    for l in &b[pre..b.len() - suf] {
        show(&mut out, '+', l);
    }
    out
}

/// A UTC time stamp `YYYYmmddHHMMSS` for backup names.
pub fn stamp(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = crate::util::civil(days);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// What [`apply`] did to one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Written {
    /// The file.
    pub file: PathBuf,
    /// The copy of the file as it was (none when there was no file).
    pub backup: Option<PathBuf>,
    /// True when the file was removed (it was fencekit's own, and empty).
    pub removed: bool,
}

/// Replaces `path` (which held `old`) with `new` (`None`: remove it):
/// first a copy of the old file as `PATH.fencekit-STAMP` (a `-N` suffix
/// when that exists), then the new text written to a temporary file in
/// the same directory, with the old file's permissions, flushed and
/// renamed over `path`.
pub fn apply(
    path: &Path,
    old: Option<&str>,
    new: Option<&str>,
    stamp: &str,
) -> Result<Written, HideError> {
    let io = |source: std::io::Error| HideError::Io {
        file: path.display().to_string(),
        source,
    };
    let mut backup = None;
    if old.is_some() {
        let base = format!("{}.fencekit-{stamp}", path.display());
        let mut b = PathBuf::from(&base);
        let mut n = 1;
        while b.exists() {
            b = PathBuf::from(format!("{base}-{n}"));
            n += 1;
        }
        fs::copy(path, &b).map_err(io)?;
        backup = Some(b);
    }
    let Some(new) = new else {
        fs::remove_file(path).map_err(io)?;
        return Ok(Written {
            file: path.to_path_buf(),
            backup,
            removed: true,
        });
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.fencekit-tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        if let Ok(m) = fs::metadata(path) {
            f.set_permissions(m.permissions())?;
        }
        f.write_all(new.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(Written {
        file: path.to_path_buf(),
        backup,
        removed: false,
    })
}

/// The commands that make the running multipathd and LVM read the
/// changed files: `multipathd reconfigure`, after a hide `multipath -f
/// MAP` for each map (the map of a blacklisted WWID stays until flushed),
/// then `pvscan --cache`.
pub fn reload_commands(hide: bool, maps: &[String]) -> Vec<Vec<String>> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut v = vec![s(&["multipathd", "reconfigure"])];
    if hide {
        for m in maps {
            v.push(s(&["multipath", "-f", m]));
        }
    }
    v.push(s(&["pvscan", "--cache"]));
    v
}

/// Runs [`reload_commands`] and says how each went. `multipathd
/// reconfigure` may take a blacklisted map away itself (and returns before
/// it has), so a map is flushed only while `/dev/mapper/MAP` exists, and
/// tried again for a few seconds while it still does.
pub fn reload(hide: bool, maps: &[String]) -> Vec<(String, Result<(), String>)> {
    let mut out = Vec::new();
    for cmd in reload_commands(hide, maps) {
        let line = cmd.join(" ");
        let map = match cmd.as_slice() {
            [m, f, name] if m == "multipath" && f == "-f" => Some(name.clone()),
            _ => None,
        };
        let r = match map {
            Some(name) => {
                let dev = Path::new("/dev/mapper").join(&name);
                let mut r = Ok(());
                for _ in 0..10 {
                    if !dev.exists() {
                        r = Ok(());
                        break;
                    }
                    r = run(&cmd);
                    if r.is_ok() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
                r
            }
            None => run(&cmd),
        };
        out.push((line, r));
    }
    out
}

/// Runs `cmd`; `Err` with a sentence when it does not start or fails.
pub fn run(cmd: &[String]) -> Result<(), String> {
    let Some((prog, args)) = cmd.split_first() else {
        return Ok(());
    };
    let o = Command::new(prog)
        .args(args)
        .output()
        .map_err(|e| format!("{}: {e}", cmd.join(" ")))?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} failed ({}): {}",
            cmd.join(" "),
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        ))
    }
}

/// A LUN name that hide or unhide cannot use.
#[derive(Debug, thiserror::Error)]
pub enum LunError {
    /// Nothing on this host has the name (and, for unhide, no file has
    /// entries for it as a WWID).
    #[error("{0}: no such LUN on this host")]
    NotFound(String),
    /// The unit has no WWID to blacklist it by (or one that cannot be
    /// written into the files).
    #[error("{name}: unit {label} has no usable WWID to hide it by")]
    NoWwid {
        /// The name given.
        name: String,
        /// The unit.
        label: String,
    },
}

/// What the names given to hide or unhide stand for.
#[derive(Debug, Default)]
pub struct Luns<'a> {
    /// The units found in the model.
    pub units: Vec<&'a Lun>,
    /// Their targets.
    pub targets: Vec<Target>,
    /// The WWIDs of all the names (for unhide, also WWIDs that only the
    /// files still name).
    pub wwids: Vec<String>,
}

/// Resolves `names` in `topo` as `plan` does. For unhide (`hiding`
/// false) a name that the host no longer sees is taken as a WWID when
/// one of `confs` has entries for it.
pub fn luns<'a>(
    topo: &'a Topology,
    names: &[String],
    hiding: bool,
    confs: &[Option<&str>],
) -> Result<Luns<'a>, LunError> {
    let mut out = Luns::default();
    for name in names {
        let unit = resolve::resolve(topo, name).and_then(|r| topo.luns.get(r.lun));
        match unit {
            Some(l) => {
                let t = Target::of(l).ok_or_else(|| LunError::NoWwid {
                    name: name.clone(),
                    label: l.label(),
                })?;
                out.units.push(l);
                out.wwids.push(t.wwid.clone());
                out.targets.push(t);
            }
            None if !hiding
                && confs
                    .iter()
                    .flatten()
                    .any(|t| hidden_wwids(t).contains(name)) =>
            {
                out.wwids.push(name.clone())
            }
            None => return Err(LunError::NotFound(name.clone())),
        }
    }
    Ok(out)
}

/// The new texts of multipath.conf and lvm.conf (`confs`, each a file
/// name and its text, `None` when missing) after hiding `l`'s targets or
/// unhiding its WWIDs.
pub fn edit(
    hiding: bool,
    l: &Luns<'_>,
    multipath: (&str, Option<&str>),
    lvm_conf: (&str, Option<&str>),
) -> Result<[Option<String>; 2], HideError> {
    Ok(if hiding {
        [
            hide_multipath(multipath.0, multipath.1, &l.targets)?,
            hide_lvm(lvm_conf.0, lvm_conf.1, &l.targets)?,
        ]
    } else {
        [
            unhide(multipath.0, multipath.1, &l.wwids)?,
            unhide(lvm_conf.0, lvm_conf.1, &l.wwids)?,
        ]
    })
}

/// What `hide` would change for unit `l` in the two files (each a file
/// name and its text, `None` when missing), as [`diff`]s: what `plan`
/// shows for a LUN given path by path. Empty when nothing would change.
pub fn preview(
    l: &Lun,
    multipath: (&str, Option<&str>),
    lvm_conf: (&str, Option<&str>),
) -> Result<String, HideError> {
    let Some(t) = Target::of(l) else {
        return Ok(String::new());
    };
    let t = [t];
    let mp = hide_multipath(multipath.0, multipath.1, &t)?;
    let lv = hide_lvm(lvm_conf.0, lvm_conf.1, &t)?;
    let mut out = String::new();
    if mp.is_some() {
        out.push_str(&diff(multipath.0, multipath.1, mp.as_deref()));
    }
    if lv.is_some() {
        out.push_str(&diff(lvm_conf.0, lvm_conf.1, lv.as_deref()));
    }
    Ok(out)
}

/// The volume groups on `luns` that have an active LV on this host: what
/// hide refuses to hide.
pub fn active_vgs(luns: &[&Lun]) -> Vec<lvm::VgOnLun> {
    lvm::vgs_on(luns, &[])
        .into_iter()
        .filter(|v| v.active)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preview_is_what_hide_would_write() {
        let t = topo(1);
        let l = &t.luns[0];
        let p = preview(l, ("mp.conf", None), ("lvm.conf", Some("devices {\n}\n"))).unwrap();
        let w = l.wwid.as_ref().unwrap().as_str();
        assert!(p.contains(&format!("wwid \"^{w}$\"")), "{p}");
        assert!(p.contains("global_filter"), "{p}");
        // Once hidden, nothing more.
        let tg = [Target::of(l).unwrap()];
        let mp = hide_multipath("mp.conf", None, &tg).unwrap();
        let lv = hide_lvm("lvm.conf", Some("devices {\n}\n"), &tg).unwrap();
        let again = preview(l, ("mp.conf", mp.as_deref()), ("lvm.conf", lv.as_deref())).unwrap();
        assert_eq!(again, "");
    }
    use crate::vm::hygiene;
    use crate::vm::rules::tests::topo;

    fn target() -> Target {
        Target::of(&topo(1).luns[0]).unwrap()
    }

    fn other() -> Target {
        Target {
            wwid: "36001405bbbb".into(),
            map: None,
            persistent: vec!["r|^/dev/disk/by-id/wwn-0x6001405bbbb(-part[0-9]+)?$|".into()],
            kernel: vec!["r|^/dev/sdd[0-9]*$|".into()],
        }
    }

    fn all() -> Vec<String> {
        vec!["36001405aaaa".into(), "36001405bbbb".into()]
    }

    /// Hide then unhide of both targets gives `conf` back, byte for byte;
    /// a second hide changes nothing.
    fn round_trip(conf: Option<&str>) {
        for lvm in [false, true] {
            let hide = |c: Option<&str>, t: &[Target]| {
                if lvm {
                    hide_lvm("f", c, t)
                } else {
                    hide_multipath("f", c, t)
                }
            };
            let one = hide(conf, &[target()]).unwrap();
            let two = hide(one.as_deref(), &[other(), target()]).unwrap();
            assert_ne!(one.as_deref(), conf);
            assert_ne!(one, two);
            assert_eq!(hide(two.as_deref(), &[target(), other()]).unwrap(), two);
            let back_one = unhide("f", two.as_deref(), &["36001405bbbb".into()]).unwrap();
            assert_eq!(back_one, one, "lvm={lvm}");
            let back = unhide("f", two.as_deref(), &all()).unwrap();
            assert_eq!(
                back.as_deref(),
                conf,
                "lvm={lvm}\n{}",
                two.unwrap_or_default()
            );
        }
    }

    #[test]
    fn target_splits_persistent_and_kernel_names() {
        let t = target();
        assert_eq!(t.map.as_deref(), Some("mpatha"));
        assert!(t.kernel.contains(&"r|^/dev/sdb[0-9]*$|".to_string()));
        assert!(t.kernel.contains(&"r|^/dev/dm-0$|".to_string()));
        assert!(t.persistent.iter().all(|p| !t.kernel.contains(p)));
        assert!(t
            .persistent
            .contains(&"r|^/dev/mapper/mpatha(p?[0-9]+)?$|".to_string()));
        assert!(t.persistent.iter().any(|p| p.contains("by-path")));
        assert!(t.persistent.iter().any(|p| p.contains("by-id/wwn-")));
    }

    #[test]
    fn odd_names_from_a_model_file_are_not_written() {
        let mut t = topo(1);
        t.luns[0].wwid = Some("3600 a\n}".into());
        assert_eq!(Target::of(&t.luns[0]), None);
        let mut t = topo(1);
        t.luns[0].paths[0].by_path = vec!["x\"y".into(), "z\nw".into()];
        let tg = Target::of(&t.luns[0]).unwrap();
        assert!(
            tg.persistent.iter().all(|p| !p.contains(['"', '\n'])),
            "{tg:?}"
        );
        assert!(
            tg.persistent.iter().any(|p| p.contains("by-path")),
            "{tg:?}"
        );
    }

    #[test]
    fn no_file_is_created_and_removed_again() {
        let m = hide_multipath("f", None, &[target()]).unwrap().unwrap();
        assert!(m.contains("blacklist {\n"), "{m}");
        assert!(m.contains("\twwid \"^36001405aaaa$\"\n"), "{m}");
        assert_eq!(hygiene::blacklisted_wwids(&m), ["36001405aaaa"]);
        let l = hide_lvm("f", None, &[target()]).unwrap().unwrap();
        assert!(
            l.contains("devices {\n") && l.contains("global_filter = [\n"),
            "{l}"
        );
        assert!(!l.contains("a|.*|") && !l.contains("/dev/sdb"), "{l}");
        assert_eq!(unhide("f", Some(&m), &all()).unwrap(), None);
        assert_eq!(unhide("f", Some(&l), &all()).unwrap(), None);
        round_trip(None);
        round_trip(Some(""));
    }

    #[test]
    fn multipath_blacklist_section_with_other_entries() {
        let c = "defaults {\n\tuser_friendly_names yes\n}\n# comment\nblacklist {\n\tdevnode \"^sda$\"\n\twwid 36001405cccc\n}\nblacklist_exceptions {\n}\n";
        let m = hide_multipath("f", Some(c), &[target()]).unwrap().unwrap();
        assert!(m.starts_with("defaults {\n\tuser_friendly_names yes\n}\n# comment\nblacklist {\n\t# fencekit-hide: begin 36001405aaaa\n\twwid \"^36001405aaaa$\"\n"), "{m}");
        assert!(
            m.ends_with("\tdevnode \"^sda$\"\n\twwid 36001405cccc\n}\nblacklist_exceptions {\n}\n"),
            "{m}"
        );
        let mut w = hygiene::blacklisted_wwids(&m);
        w.sort();
        assert_eq!(w, ["36001405aaaa", "36001405cccc"]);
        round_trip(Some(c));
        // No blacklist section: one goes on top.
        let c = "defaults {\n\tuser_friendly_names yes\n}";
        let m = hide_multipath("f", Some(c), &[target()]).unwrap().unwrap();
        assert!(
            m.starts_with("# fencekit-hide: added\nblacklist {\n"),
            "{m}"
        );
        assert!(m.ends_with(c));
        round_trip(Some(c));
        // A one-line section is split after its brace.
        let c = "blacklist { devnode \"^sda$\" }\n";
        let m = hide_multipath("f", Some(c), &[target()]).unwrap().unwrap();
        assert!(m.contains("# fencekit-hide: split\nblacklist {\n"), "{m}");
        assert!(m.ends_with("\n devnode \"^sda$\" }\n"), "{m}");
        round_trip(Some(c));
        // A commented one does not count.
        let c = "# blacklist {\n#\twwid x\n# }\n";
        let m = hide_multipath("f", Some(c), &[target()]).unwrap().unwrap();
        assert!(m.starts_with("# fencekit-hide: added\nblacklist {"), "{m}");
        round_trip(Some(c));
    }

    #[test]
    fn lvm_existing_global_filter_single_line() {
        let c = "devices {\n\tdir = \"/dev\"\n\tglobal_filter = [ \"a|.*|\" ]  # all\n}\n";
        let l = hide_lvm("f", Some(c), &[target()]).unwrap().unwrap();
        // Rejects first, then the accept; with it, kernel names too.
        let first_reject = l.find("\"r|").unwrap();
        let accept = l.find("\"a|.*|\"").unwrap();
        assert!(first_reject < accept, "{l}");
        assert!(l.contains("\"r|^/dev/sdb[0-9]*$|\","), "{l}");
        assert!(
            l.contains("# fencekit-hide: split\n\tglobal_filter = [\n"),
            "{l}"
        );
        assert!(
            l.contains("# fencekit-hide: end 36001405aaaa\n \"a|.*|\" ]  # all\n}\n"),
            "{l}"
        );
        assert!(hygiene::lvm_filters(&topo(1).luns[0], &l));
        round_trip(Some(c));
    }

    #[test]
    fn lvm_existing_multi_line_global_filter() {
        let c = "devices {\n    global_filter = [\n        \"r|/dev/cdrom|\",  # no cdrom\n        \"a|.*|\"\n    ]\n}\n";
        let l = hide_lvm("f", Some(c), &[target()]).unwrap().unwrap();
        assert!(!l.contains("split"), "{l}");
        assert!(l.starts_with("devices {\n    global_filter = [\n        # fencekit-hide: begin 36001405aaaa\n        \"r|"), "{l}");
        assert!(l.contains("/dev/sdb"), "{l}");
        round_trip(Some(c));
        // Rejects only: kernel names stay out.
        let c = "devices {\n    global_filter = [\n        \"r|/dev/cdrom|\"\n    ]\n}\n";
        let l = hide_lvm("f", Some(c), &[target()]).unwrap().unwrap();
        assert!(!l.contains("/dev/sdb"), "{l}");
        round_trip(Some(c));
    }

    #[test]
    fn lvm_devices_without_global_filter_or_no_devices() {
        let c = "# global_filter = [ \"a|.*|\" ]\ndevices {\n\t# global_filter = [ \"a|.*|\" ]\n\tfilter = [ \"a|.*|\" ]\n}\nglobal {\n}\n";
        let l = hide_lvm("f", Some(c), &[target()]).unwrap().unwrap();
        assert!(l.starts_with("# global_filter = [ \"a|.*|\" ]\ndevices {\n\t# fencekit-hide: added\n\tglobal_filter = [\n\t\t# fencekit-hide: begin"), "{l}");
        assert!(!l.contains("/dev/sdb"), "{l}");
        round_trip(Some(c));
        let c = "global {\n\tumask = 077\n}\n";
        let l = hide_lvm("f", Some(c), &[target()]).unwrap().unwrap();
        assert!(l.starts_with("# fencekit-hide: added\ndevices {\n"), "{l}");
        assert!(l.ends_with(c));
        round_trip(Some(c));
        // A `devices` section opened on one line with settings after it.
        let c = "devices { dir = \"/dev\" }\n";
        round_trip(Some(c));
        // Strings with braces and comment characters do not confuse it.
        let c = "devices {\n\tscan = [ \"/dev/{x}#\" ]\n\tglobal_filter = [ \"a|}#|\" ]\n}\n";
        let l = hide_lvm("f", Some(c), &[target()]).unwrap().unwrap();
        assert!(
            l.contains("# fencekit-hide: split\n\tglobal_filter = [\n"),
            "{l}"
        );
        round_trip(Some(c));
    }

    #[test]
    fn unsupported_forms_are_errors_not_guesses() {
        let e = hide_lvm(
            "lvm.conf",
            Some("devices {\n\tglobal_filter = \"a|.*|\"\n}\n"),
            &[target()],
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("lvm.conf: line 2: "), "{e}");
        let e = hide_multipath("m", Some("blacklist\n{\n}\n"), &[target()]).unwrap_err();
        assert!(matches!(e, HideError::Unsupported { line: 1, .. }), "{e}");
        let broken = "blacklist {\n# fencekit-hide: begin 36001405aaaa\nwwid x\n}\n";
        assert!(unhide("m", Some(broken), &all()).is_err());
    }

    #[test]
    fn unhide_leaves_what_is_not_fencekits() {
        let c = "blacklist {\n\twwid 36001405aaaa\n}\n";
        assert_eq!(unhide("f", Some(c), &all()).unwrap().as_deref(), Some(c));
        assert_eq!(unhide("f", None, &all()).unwrap(), None);
        let m = hide_multipath("f", Some(c), &[target(), other()])
            .unwrap()
            .unwrap();
        assert_eq!(hidden_wwids(&m), ["36001405aaaa", "36001405bbbb"]);
        let u = unhide("f", Some(&m), &["36001405aaaa".into()])
            .unwrap()
            .unwrap();
        assert_eq!(hidden_wwids(&u), ["36001405bbbb"]);
        assert!(u.contains("\twwid 36001405aaaa\n"), "{u}");
    }

    #[test]
    fn diff_shows_the_changed_lines() {
        assert_eq!(diff("f", Some("a\n"), Some("a\n")), "");
        let d = diff("f", Some("a\nb\n"), Some("a\nx\nb\n"));
        assert_eq!(d, "--- f\n+++ f\n@@ line 2 @@\n+x\n");
        let d = diff("f", None, Some("x"));
        assert_eq!(
            d,
            "--- /dev/null\n+++ f\n@@ line 1 @@\n+x\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn stamps_are_utc_civil_time() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000);
        assert_eq!(stamp(t), "20260528202640");
        assert_eq!(stamp(UNIX_EPOCH), "19700101000000");
    }

    #[test]
    fn apply_backs_up_and_replaces() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("multipath.conf");
        fs::write(&p, "old\n").unwrap();
        let w = apply(&p, Some("old\n"), Some("new\n"), "20260101000000").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "new\n");
        let b = w.backup.unwrap();
        assert!(b.ends_with("multipath.conf.fencekit-20260101000000"));
        assert_eq!(fs::read_to_string(&b).unwrap(), "old\n");
        let w = apply(&p, Some("new\n"), None, "20260101000000").unwrap();
        assert!(w.removed && !p.exists());
        assert!(w
            .backup
            .unwrap()
            .ends_with("multipath.conf.fencekit-20260101000000-1"));
        let w = apply(&p, None, Some("x"), "20260101000000").unwrap();
        assert_eq!(w.backup, None);
        assert_eq!(fs::read_to_string(&p).unwrap(), "x");
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 3);
    }

    #[test]
    fn an_active_vg_on_the_lun_blocks_hiding() {
        let t = topo(1);
        let v = active_vgs(&[&t.luns[0]]);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].vg, "vg_shared");
        let mut t = topo(1);
        t.luns[0].holders.clear();
        assert!(active_vgs(&[&t.luns[0]]).is_empty());
    }

    #[test]
    fn names_resolve_as_for_plan_and_unhide_takes_a_known_wwid() {
        let t = topo(1);
        let n = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let l = luns(&t, &n(&["mpatha", "sdc"]), true, &[]).unwrap();
        assert_eq!(l.units.len(), 2);
        assert_eq!(l.wwids, ["36001405aaaa", "36001405aaaa"]);
        let e = luns(&t, &n(&["36001405bbbb"]), true, &[]).unwrap_err();
        assert!(matches!(e, LunError::NotFound(_)), "{e}");
        let conf = hide_multipath("f", None, &[other()]).unwrap().unwrap();
        let l = luns(&t, &n(&["36001405bbbb"]), false, &[None, Some(&conf)]).unwrap();
        assert!(l.units.is_empty());
        assert_eq!(l.wwids, ["36001405bbbb"]);
        assert!(luns(&t, &n(&["36001405bbbb"]), true, &[Some(&conf)]).is_err());
        let mut t = topo(1);
        t.luns[0].wwid = None;
        let e = luns(&t, &n(&["sdb"]), true, &[]).unwrap_err();
        assert!(matches!(e, LunError::NoWwid { .. }), "{e}");
    }

    #[test]
    fn reload_flushes_the_maps_after_a_hide() {
        let c = reload_commands(true, &["mpatha".into()]);
        assert_eq!(c[1], ["multipath", "-f", "mpatha"]);
        assert_eq!(reload_commands(false, &["mpatha".into()]).len(), 2);
        assert!(run(&["/nonexistent/x".to_string()]).is_err());
        assert!(run(&["true".to_string()]).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn hide_then_unhide_is_the_identity(
            parts in proptest::collection::vec(0usize..14, 0..8),
            newline in proptest::bool::ANY,
        ) {
            const FRAGS: [&str; 14] = [
                "# a comment\n",
                "\n",
                "devices {\n\tdir = \"/dev\"\n}\n",
                "devices {\n\tglobal_filter = [ \"a|.*|\" ]\n}\n",
                "devices {\n\tglobal_filter = [\n\t\t\"r|x|\",\n\t\t\"a|.*|\" ]\n}\n",
                "devices { global_filter = [ ] }\n",
                "blacklist {\n\twwid 3600\n}\n",
                "blacklist { devnode \"^sda$\" }\n",
                "blacklist_exceptions {\n\twwid 3601\n}\n",
                "defaults {\n\tuser_friendly_names yes\n}\n",
                "global {\n\tumask = 077\n}\n",
                "\t! bang comment {\n",
                "x = \"{[#\"\n",
                "   \r\n",
            ];
            let mut conf: String = parts.iter().map(|&i| FRAGS[i]).collect();
            if !newline && conf.ends_with('\n') {
                conf.pop();
            }
            let ts = [target(), other()];
            for lvm in [false, true] {
                let h = if lvm {
                    hide_lvm("f", Some(&conf), &ts)
                } else {
                    hide_multipath("f", Some(&conf), &ts)
                };
                // Only the forms the editor refuses may fail.
                let Ok(h) = h else { continue };
                proptest::prop_assert_eq!(hidden_wwids(h.as_deref().unwrap_or_default()).len(), 2);
                let u = unhide("f", h.as_deref(), &all()).unwrap();
                proptest::prop_assert_eq!(u.as_deref(), Some(conf.as_str()));
            }
        }

        #[test]
        fn editing_never_panics(text in "\\PC{0,300}") {
            let _ = hide_lvm("f", Some(&text), &[target()]);
            let _ = hide_multipath("f", Some(&text), &[target()]);
            let _ = unhide("f", Some(&text), &all());
        }
    }
}
