//! LVM JSON reports (`pvs`/`vgs`/`lvs --reportformat json`) and their join
//! onto an (empty) topology.
#![no_main]

use fencekit::topology::lvm::{join, parse_report, parse_vgs_json, vgs_on};
use fencekit::topology::Topology;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rows) = parse_vgs_json(s) {
        let _ = vgs_on(&[], &rows);
    }
    let pvs = parse_report(s, "pv").unwrap_or_default();
    let lvs = parse_report(s, "lv").unwrap_or_default();
    let _ = parse_report(s, "vg");
    let mut topo = Topology::default();
    let _ = join(&mut topo, &pvs, &lvs);
});
