//! The fence-agent protocol: the `name=value` lines fenced or pacemaker
//! writes to the agent's standard input, and the key and device values
//! they carry.
#![no_main]

use fencekit::fence::agent::{parse, xml_escape};
use fencekit::fence::key::parse_explicit;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = parse(s) {
        if let Some(k) = &r.key {
            let _ = parse_explicit(k);
        }
        for d in &r.devices {
            assert!(!d.is_empty());
        }
        if let Some(p) = &r.plug {
            let _ = xml_escape(p);
        }
    }
});
