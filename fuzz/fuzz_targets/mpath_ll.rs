//! `multipath -ll` output, and the rendering of what it parses to.
#![no_main]

use fencekit::topology::mpath_ll::{format_size, parse, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(maps) = parse(s) {
        for m in &maps {
            let _ = m.failed_paths();
            let _ = m.paths().count();
        }
        let text = render(&maps);
        let _ = parse(&text);
    }
    if data.len() >= 8 {
        let _ = format_size(u64::from_le_bytes(data[..8].try_into().unwrap()));
    }
});
