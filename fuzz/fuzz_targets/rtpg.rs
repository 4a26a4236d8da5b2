//! REPORT TARGET PORT GROUPS responses (ALUA) and the multipath priority
//! derived from each group's access state.
#![no_main]

use fencekit::scsi::alua::{decode_report_target_port_groups, multipath_priority};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(groups) = decode_report_target_port_groups(data) {
        // Every group takes an 8-byte descriptor and 4 bytes per port,
        // after the 4-byte header.
        let need: usize = groups.iter().map(|g| 8 + 4 * g.ports.len()).sum();
        assert!(4 + need <= data.len());
        for g in &groups {
            let _ = multipath_priority(g.access_state, g.preferred);
        }
    }
});
