//! What the host has done to keep its own multipath and LVM off the LUNs
//! that guests multipath themselves (paths mode), read from its
//! configuration files: the WWIDs in the `blacklist` section of
//! `multipath.conf` (multipath.conf(5): `wwid` entries, which are regular
//! expressions), and whether lvm.conf's `global_filter` (or `filter`)
//! carries the reject patterns `pathmap lvm-filter` writes for the unit
//! (or the block `vmguest-attach hide` writes for it).
//!
//! Both are read textually and conservatively: a WWID counts as
//! blacklisted only when a `wwid` entry of `blacklist` (and not of
//! `blacklist_exceptions`) names it literally or as an anchored literal
//! (`"^3600...$"`); a unit counts as filtered only when every one of its
//! reject patterns is in the file. Anything cleverer is reported as not
//! done, which costs a `--force`, never a missed LUN.

use super::rules::Hygiene;
use crate::topology::{lvm, Topology};

/// The `wwid` values of `multipath.conf`'s `blacklist { }` section,
/// unquoted, with `^` and `$` anchors removed.
pub fn blacklisted_wwids(conf: &str) -> Vec<String> {
    let mut out = Vec::new();
    // The section stack: the name of each open `{`.
    let mut stack: Vec<String> = Vec::new();
    for raw in conf.lines() {
        let line = raw.split(['#', '!']).next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        if line == "}" {
            stack.pop();
            continue;
        }
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or_default();
        if line.ends_with('{') {
            stack.push(first.trim_end_matches('{').to_string());
            continue;
        }
        // `wwid` directly in `blacklist`, not in a `device` block in it.
        if stack.len() == 1 && stack[0] == "blacklist" && first == "wwid" {
            let v: String = words.collect::<Vec<_>>().join(" ");
            let v = v.trim().trim_matches('"');
            let v = v.strip_prefix('^').unwrap_or(v);
            let v = v.strip_suffix('$').unwrap_or(v);
            if !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                out.push(v.to_string());
            }
        }
    }
    out
}

/// True when `lvm_conf` has every reject pattern of `l` (the ones
/// `pathmap lvm-filter` writes) in an uncommented line, or has the block
/// `vmguest-attach hide` writes for its WWID ([`super::hide`]).
pub fn lvm_filters(l: &crate::topology::Lun, lvm_conf: &str) -> bool {
    if l.wwid.as_ref().is_some_and(|w| {
        super::hide::hidden_wwids(lvm_conf)
            .iter()
            .any(|h| h == w.as_str())
    }) {
        return true;
    }
    let live: String = lvm_conf
        .lines()
        .filter(|x| !x.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let pats = lvm::reject_patterns(l);
    !pats.is_empty() && pats.iter().all(|p| live.contains(p.as_str()))
}

/// The host's [`Hygiene`] for the units of `topo`, from the texts of
/// `multipath.conf` and `lvm.conf` (either may be missing).
pub fn read(topo: &Topology, multipath_conf: Option<&str>, lvm_conf: Option<&str>) -> Hygiene {
    let black = multipath_conf.map(blacklisted_wwids).unwrap_or_default();
    let mut h = Hygiene::default();
    for l in &topo.luns {
        let Some(w) = l.wwid.as_ref().map(|w| w.as_str().to_string()) else {
            continue;
        };
        if black.contains(&w) {
            h.blacklisted.push(w.clone());
        }
        if lvm_conf.is_some_and(|c| lvm_filters(l, c)) {
            h.lvm_filtered.push(w);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::rules::tests::topo;

    const CONF: &str = r#"
defaults {
    user_friendly_names yes
}
blacklist {
    wwid 36001405aaaa
    wwid "^36001405bbbb$"
    wwid "3600.*"          # a pattern: not counted
    devnode "^sda$"
    device {
        vendor "X"
        wwid 36001405cccc
    }
}
blacklist_exceptions {
    wwid 36001405dddd
}
# blacklist { wwid 36001405eeee }
"#;

    #[test]
    fn blacklisted_wwids_are_the_literal_ones_of_the_blacklist() {
        assert_eq!(blacklisted_wwids(CONF), ["36001405aaaa", "36001405bbbb"]);
        assert_eq!(blacklisted_wwids(""), Vec::<String>::new());
        assert_eq!(blacklisted_wwids("}\n}\nwwid x\n{"), Vec::<String>::new());
    }

    #[test]
    fn a_unit_is_filtered_when_every_pattern_is_there() {
        let t = topo(0);
        let l = &t.luns[0];
        let filter = lvm::global_filter(&[l]);
        let conf = format!("devices {{\n    {filter}}}\n");
        assert!(lvm_filters(l, &conf));
        let commented: String = filter.lines().map(|x| format!("# {x}\n")).collect();
        assert!(!lvm_filters(l, &commented));
        let h = read(&t, Some(CONF), Some(&conf));
        assert_eq!(h.blacklisted, ["36001405aaaa"]);
        assert_eq!(h.lvm_filtered, ["36001405aaaa"]);
        let h = read(&t, None, None);
        assert_eq!(h, Hygiene::default());
    }
}
