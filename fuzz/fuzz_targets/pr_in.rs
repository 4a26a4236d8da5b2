//! PERSISTENT RESERVE IN responses (READ KEYS, READ RESERVATION, REPORT
//! CAPABILITIES, READ FULL STATUS), the length a response says it needs,
//! the sg_persist renderings of each, and the PR OUT parameter lists a
//! target decodes (basic and REGISTER AND MOVE).
#![no_main]

use fencekit::compat::sg_persist as out;
use fencekit::scsi::pr::{
    pr_in_needed_len, pr_in_response_len, Capabilities, FullStatus, InServiceAction, ProutParams,
    ReadKeys, ReadReservation, RegisterAndMove,
};
use libfuzzer_sys::fuzz_target;

const SAS: [InServiceAction; 4] = [
    InServiceAction::ReadKeys,
    InServiceAction::ReadReservation,
    InServiceAction::ReportCapabilities,
    InServiceAction::ReadFullStatus,
];

fuzz_target!(|data: &[u8]| {
    for sa in SAS {
        if let Some(n) = pr_in_needed_len(sa, data) {
            assert!(n > data.len());
            assert_eq!(pr_in_response_len(sa, data).ok(), Some(n));
        }
        for hex in 0..4 {
            let _ = out::hex_response(sa, data, hex);
        }
    }
    let _ = out::dstrhex(data, 0);
    let _ = out::dstrhex(data, 1);

    if let Ok(rk) = ReadKeys::decode(data) {
        assert!(8 + 8 * rk.keys.len() <= data.len());
        assert_eq!(rk.truncated(), rk.needed_len() > data.len());
        let _ = out::read_keys(&rk);
        if !rk.truncated() {
            assert_eq!(ReadKeys::decode(&rk.encode()).ok(), Some(rk));
        }
    }
    if let Ok(rr) = ReadReservation::decode(data) {
        let _ = out::read_reservation(&rr);
        assert_eq!(ReadReservation::decode(&rr.encode()).ok(), Some(rr));
    }
    if let Ok(c) = Capabilities::decode(data) {
        let _ = out::capabilities(&c);
        let _ = c.supported_types();
        assert_eq!(Capabilities::decode(&c.encode()).ok(), Some(c));
    }
    if let Ok(fs) = FullStatus::decode(data) {
        let have: usize = fs.descriptors.iter().map(|d| 24 + d.transport_id.len()).sum();
        assert!(8 + have <= data.len());
        for d in &fs.descriptors {
            let _ = d.transport_id();
        }
        let _ = out::full_status(&fs);
        let _ = out::full_status_verbose(&fs, true);
        if !fs.truncated() {
            assert_eq!(FullStatus::decode(&fs.encode()).ok(), Some(fs));
        }
    }
    if let Ok(p) = ProutParams::decode(data) {
        assert_eq!(ProutParams::decode(&p.encode()).ok(), Some(p));
    }
    if let Ok(m) = RegisterAndMove::decode(data) {
        assert_eq!(RegisterAndMove::decode(&m.encode()).ok(), Some(m));
    }
});
