//! SCSI sense data (fixed and descriptor format), as a device or the
//! kernel returns it after a failed command.
#![no_main]

use fencekit::scsi::sense::Sense;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = Sense::decode(data) {
        // The decoder keeps the bytes it was given, no more.
        assert!(s.raw.len() <= data.len());
        let _ = s.key_text();
        let _ = s.asc_text();
        let _ = s.category();
        let _ = format!("{s:?}");
    }
});
