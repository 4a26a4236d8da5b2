//! sysfs attribute bytes turned into values: the pure functions behind
//! `topology::sysfs::{read_line, read_trim, read_u64, scsi_devtype}`, and
//! the `MAJOR:MINOR` of a `dev` attribute.
#![no_main]

use fencekit::topology::lsscsi::parse_devt;
use fencekit::topology::sysfs::{attr_line, attr_trim, attr_u64, uevent_devtype};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let line = attr_line(data);
    assert!(!line.contains('\n'));
    if let Some(t) = attr_trim(data) {
        assert!(!t.is_empty() && t == t.trim());
        assert!(line.contains(t.as_str()));
    }
    if let Some(n) = attr_u64(data) {
        assert_eq!(attr_trim(data).and_then(|t| t.parse().ok()), Some(n));
    }
    let _ = uevent_devtype(data);
    let _ = parse_devt(&line);
});
