//! device-mapper multipath table and status parameters, and `dmsetup
//! table` / `dmsetup status` text. The input is the table, optionally
//! followed by a NUL and the status.
#![no_main]

use fencekit::topology::dm_mpath::{from_dmsetup, parse_dmsetup, parse_status, parse_table};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let (table, status) = match s.split_once('\0') {
        Some((t, st)) => (t, Some(st)),
        None => (s, None),
    };
    if let Ok(t) = parse_table("m", table) {
        for g in &t.groups {
            let _ = g.policy();
        }
    }
    let _ = parse_status("m", status.unwrap_or(table));
    let _ = parse_dmsetup(table);
    let _ = from_dmsetup(table, status);
});
