//! pathmap against the reference tools on real LIO units in the guest test
//! bed (`tests/guest/pathmap_lio.sh`): lsscsi's formats byte for byte,
//! `multipath -ll` parsed and rendered byte for byte, and names (WWID,
//! serial, sd/sg, H:C:T:L, by-path, map) resolved to the right device. The
//! tests skip when the test bed is not built, unless
//! `FENCEKIT_TESTBED=require` is set.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use fencekit_tests::{guest_script, require_or_skip};

#[test]
fn guest_pathmap_matches_lsscsi() {
    if !require_or_skip("guest_pathmap_matches_lsscsi") {
        return;
    }
    // Two units on two nodes, and a scsi_debug disk for a second vendor
    // and host type in the listings.
    let out = common::lio(2, 2)
        .lun_size_mb(4)
        .scsi_debug("dev_size_mb=4")
        .file(common::PATHMAP)
        .timeout(Duration::from_secs(150))
        .run_script_file(guest_script("pathmap_lio.sh"));
    out.assert_success()
        .assert_stdout_contains("ok: lsscsi (5 lines)")
        .assert_stdout_contains("ok: lsscsi -g -i (5 lines)")
        .assert_stdout_contains("ok: LUN 1: resolve, show and by-path for 2 path(s)")
        .assert_stdout_contains("pathmap_lio: all checks passed");
}

#[test]
fn guest_pathmap_multipath() {
    if !require_or_skip("guest_pathmap_multipath") {
        return;
    }
    let out = common::lio(2, 2)
        .lun_size_mb(4)
        .multipath(true)
        .file(common::PATHMAP)
        .timeout(Duration::from_secs(180))
        .run_script_file(guest_script("pathmap_lio.sh"));
    out.assert_success()
        .assert_stdout_contains("ok: multipath -ll (parse and render) (10 lines)")
        .assert_stdout_contains("ok: multipath -ll (live) (10 lines)")
        .assert_stdout_contains("ok: multipath -l (live, no checks) (10 lines)")
        .assert_stdout_contains("ok: multipath -l (from dmsetup text) (10 lines)")
        .assert_stdout_contains("pathmap_lio: all checks passed");
}

#[test]
fn guest_pathmap_failed_path_and_volume_group() {
    if !require_or_skip("guest_pathmap_failed_path_and_volume_group") {
        return;
    }
    let out = common::lio(2, 2)
        .lun_size_mb(16)
        .multipath(true)
        .file(common::PATHMAP)
        .timeout(Duration::from_secs(240))
        .run_script_file(guest_script("pathmap_failover.sh"));
    out.assert_success()
        .assert_stdout_contains("ok: tree shows 2 maps with 2 active paths each")
        .assert_stdout_contains("ok: VG fkvg on mpatha shows on LUN 0 only, as pvs says")
        .assert_stdout_contains("offline (10 lines)")
        .assert_stdout_contains("ok: multipath -ll from multipathd show paths (10 lines)")
        .assert_stdout_contains(
            "ok: multipath -ll from multipathd show paths raw format (10 lines)",
        )
        .assert_stdout_contains("offline shows failed in pathmap as in multipath -ll")
        .assert_stdout_contains("pathmap_failover: all checks passed");
}

#[test]
fn guest_pathmap_udev_database_equals_sysfs() {
    if !require_or_skip("guest_pathmap_udev_database_equals_sysfs") {
        return;
    }
    let out = common::lio(2, 2)
        .lun_size_mb(4)
        .file(common::PATHMAP)
        .timeout(Duration::from_secs(180))
        .run_script_file(guest_script("pathmap_udev.sh"));
    out.assert_success()
        .assert_stdout_contains("ok: udev database == links in /dev/disk")
        .assert_stdout_contains("ok: udev database == derived from sysfs")
        .assert_stdout_contains("pathmap_udev: all checks passed");
}
