//! qdisk on real block devices in the guest test bed: a quorum disk on a
//! dm-multipath map over LIO, a device whose I/O hangs (device-mapper
//! `delay` target and a suspended map), and a disk with 4096-byte logical
//! sectors (scsi_debug). The tests skip when the test bed is not built,
//! unless `FENCEKIT_TESTBED=require` is set.

use std::time::Duration;

use fencekit_tests::{guest_script, require_or_skip, Guest};

#[test]
fn guest_qdisk_multipath() {
    if !require_or_skip("guest_qdisk_multipath") {
        return;
    }
    let out = Guest::new()
        .nodes(2)
        .luns(1)
        .lun_size_mb(8)
        .multipath(true)
        .tool("qdisk")
        .timeout(Duration::from_secs(180))
        .run_script_file(guest_script("qdisk_multipath.sh"));
    out.assert_success()
        .assert_stdout_contains("qdisk multipath test passed");
}
