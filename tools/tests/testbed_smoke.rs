//! Smoke tests of the guest test bed itself, with sg3-utils, lsscsi,
//! multipath-tools and LVM as references (no fencekit program needed).
//! The scripts are in `tests/guest/`. They skip when the test bed is not
//! built, unless `FENCEKIT_TESTBED=require` is set.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use fencekit_tests::{guest_script, require_or_skip, DiskB, TwoGuests};

#[test]
fn guest_smoke_pr_sequence() {
    if !require_or_skip("guest_smoke_pr_sequence") {
        return;
    }
    let out = common::lio(2, 1).run_script_file(guest_script("smoke_pr.sh"));
    out.assert_success()
        .assert_stdout_contains("PASS: persistent reservation sequence");
}

/// The reference sequence on the iSCSI fabric, where the preempt is
/// PREEMPT AND ABORT (fence_scsi's default), and READ FULL STATUS shows the
/// iSCSI TransportIDs.
#[test]
fn guest_smoke_pr_preempt_and_abort_iscsi() {
    if !require_or_skip("guest_smoke_pr_preempt_and_abort_iscsi") {
        return;
    }
    let out = common::iscsi(2, 1, 1).run_script_file(guest_script("smoke_pr.sh"));
    out.assert_success()
        .assert_stdout_contains("PREEMPT AND ABORT")
        .assert_stdout_contains("PASS: persistent reservation sequence");
}

/// The iSCSI fabric's device map (2 LUNs x 2 nodes x 2 paths, udev's
/// by-path names, node 0's multipath maps) and every fk-fault, checked with
/// sg3-utils and dd.
#[test]
fn guest_smoke_iscsi_fabric_and_faults() {
    if !require_or_skip("guest_smoke_iscsi_fabric_and_faults") {
        return;
    }
    let out = common::iscsi(2, 2, 2)
        .multipath(true)
        .run_script_file(guest_script("smoke_iscsi.sh"));
    out.assert_success()
        .assert_stdout_contains("PASS: iscsi fabric and faults");
}

#[test]
fn guest_smoke_multipath() {
    if !require_or_skip("guest_smoke_multipath") {
        return;
    }
    let out = common::lio(2, 1)
        .multipath(true)
        .run_script_file(guest_script("smoke_multipath.sh"));
    out.assert_success()
        .assert_stdout_contains("active ready running")
        .assert_stdout_contains("PASS: multipath map");
}

#[test]
fn guest_smoke_device_map() {
    if !require_or_skip("guest_smoke_device_map") {
        return;
    }
    let out = common::lio(3, 2)
        .lun_size_mb(32)
        .scsi_debug("num_tgts=1")
        .run_script_file(guest_script("smoke_devices.sh"));
    out.assert_success()
        .assert_stdout_contains("PASS: device map");
}

#[test]
fn guest_smoke_exit_status_and_streams() {
    if !require_or_skip("guest_smoke_exit_status_and_streams") {
        return;
    }
    // The script's status comes back as the runner's, its stdout and stderr
    // separately and without kernel messages, FILEs land on PATH.
    let out = common::lio(1, 1).file("/usr/bin/base32").run_script(
        "echo out-line\necho err-line >&2\n\
         [ \"$(command -v base32)\" = /fk/bin/base32 ] || exit 9\n\
         [ \"$(echo hi | base32)\" = NBUQU=== ] || exit 10\n\
         exit 42\n",
    );
    out.assert_status(42);
    assert_eq!(out.stdout, "out-line\n", "{out}");
    assert_eq!(out.stderr, "err-line\n", "{out}");
}

#[test]
fn twoguest_smoke_pr_sequence() {
    if !require_or_skip("twoguest_smoke_pr_sequence") {
        return;
    }
    let out = TwoGuests::new().run_script_file(guest_script("twoguest_smoke_pr.sh"));
    out.assert_success()
        .assert_stdout_contains("PASS: two-guest persistent reservation sequence");
}

#[test]
fn twoguest_emulated_scsi_hd_refuses_pr() {
    if !require_or_skip("twoguest_emulated_scsi_hd_refuses_pr") {
        return;
    }
    let out = TwoGuests::new()
        .disk_b(DiskB::ScsiHd)
        .run_script_file(guest_script("twoguest_disk_b.sh"));
    out.assert_success()
        .assert_stdout_contains("PASS: guest b with scsi-hd");
}

#[test]
fn twoguest_virtio_blk_has_no_scsi() {
    if !require_or_skip("twoguest_virtio_blk_has_no_scsi") {
        return;
    }
    let out = TwoGuests::new()
        .disk_b(DiskB::VirtioBlk)
        .run_script_file(guest_script("twoguest_disk_b.sh"));
    out.assert_success()
        .assert_stdout_contains("PASS: guest b with virtio-blk");
}
