//! `multipathd show paths` output: the default table, and the raw
//! `show paths raw format FMT` form with a format taken from the input
//! (its first line); rows are merged into an empty topology.
#![no_main]

use fencekit::topology::mpathd::{merge_into, parse, parse_raw, DEFAULT_FORMAT};
use fencekit::topology::Topology;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rows) = parse(s) {
        let mut topo = Topology::default();
        let _ = merge_into(&mut topo, &rows);
    }
    let _ = parse_raw(DEFAULT_FORMAT, s);
    if let Some((fmt, rest)) = s.split_once('\n') {
        let _ = parse_raw(fmt, rest);
    }
});
