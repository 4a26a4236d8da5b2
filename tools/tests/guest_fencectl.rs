//! fencectl against real targets: two LUNs on LIO seen through two I_T
//! nexuses (two nodes in one guest), and two guests sharing a tgtd LUN.
//! The tests skip when the test bed is not built, unless
//! `FENCEKIT_TESTBED=require` is set.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use fencekit_tests::{guest_script, require_or_skip, DiskB, TwoGuests};

#[test]
fn guest_fencectl_lio() {
    if !require_or_skip("guest_fencectl_lio") {
        return;
    }
    let out = common::lio(2, 2)
        .file(common::FENCECTL)
        .run_script_file(guest_script("fencectl_lio.sh"));
    out.assert_success()
        .assert_stdout_contains("PASS: fencectl_lio");
}

/// The same sequence on the iSCSI fabric, where the fence is PREEMPT AND
/// ABORT (no --preempt-only): 4 LUNs, 2 nodes, 2 paths (sessions) per node,
/// every path of each node named, the victim refused on every path.
#[test]
fn guest_fencectl_iscsi_preempt_and_abort() {
    if !require_or_skip("guest_fencectl_iscsi_preempt_and_abort") {
        return;
    }
    let out = common::iscsi(2, 4, 2)
        .file(common::FENCECTL)
        .run_script_file(guest_script("fencectl_lio.sh"));
    out.assert_success()
        .assert_stdout_contains("preempt-and-abort")
        .assert_stdout_contains("cannot write on all 8 paths (4 LUNs)")
        .assert_stdout_contains("PASS: fencectl_lio");
}

#[test]
fn twoguest_fencectl_fence_and_agent() {
    if !require_or_skip("twoguest_fencectl_fence_and_agent") {
        return;
    }
    let out = TwoGuests::new()
        .file(common::FENCECTL)
        .run_script_file(guest_script("twoguest_fencectl.sh"));
    out.assert_success()
        .assert_stdout_contains("PASS: fencectl across two guests on tgtd");
}

#[test]
fn twoguest_fencectl_verify_refuses_scsi_hd() {
    if !require_or_skip("twoguest_fencectl_verify_refuses_scsi_hd") {
        return;
    }
    let out = TwoGuests::new()
        .disk_b(DiskB::ScsiHd)
        .file(common::FENCECTL)
        .run_script_file(guest_script("twoguest_fencectl_verify.sh"));
    out.assert_success()
        .assert_stdout_contains("PASS: fencectl verify refuses scsi-hd");
}

#[test]
fn twoguest_fencectl_verify_refuses_virtio_blk() {
    if !require_or_skip("twoguest_fencectl_verify_refuses_virtio_blk") {
        return;
    }
    let out = TwoGuests::new()
        .disk_b(DiskB::VirtioBlk)
        .file(common::FENCECTL)
        .run_script_file(guest_script("twoguest_fencectl_verify.sh"));
    out.assert_success()
        .assert_stdout_contains("PASS: fencectl verify refuses virtio-blk");
}

#[test]
fn guest_fencectl_verify_refuses_scsi_debug() {
    if !require_or_skip("guest_fencectl_verify_refuses_scsi_debug") {
        return;
    }
    // scsi_debug has no persistent reservations: PR IN is an invalid opcode.
    let out = common::lio(1, 1)
        .scsi_debug("")
        .file(common::FENCECTL)
        .run_script(
            "set -- $FK_SCSI_DEBUG_SG\n\
         fencectl verify -d \"$1\" > /tmp/v 2>&1; rc=$?\n\
         cat /tmp/v\n\
         [ \"$rc\" -eq 2 ] || { echo \"exit $rc, expected 2\"; exit 1; }\n\
         grep -Eq 'FAIL +pr-in' /tmp/v || { echo 'no pr-in reason'; exit 1; }\n\
         fencectl verify -d $FK_LUN0_NODE0_SG > /dev/null || { echo 'LIO disk refused'; exit 1; }\n\
         echo 'PASS: scsi_debug refused'\n",
        );
    out.assert_success()
        .assert_stdout_contains("PASS: scsi_debug refused");
}

#[test]
fn guest_fencectl_dm_multipath_maps() {
    if !require_or_skip("guest_fencectl_dm_multipath_maps") {
        return;
    }
    let out = common::lio(5, 1)
        .file(common::FENCECTL)
        .run_script_file(guest_script("fencectl_dm_multipath.sh"));
    out.assert_success()
        .assert_stdout_contains("PASS: fencectl on dm multipath maps");
}

#[test]
fn guest_fencectl_verify_pair_through_peer_command() {
    if !require_or_skip("guest_fencectl_verify_pair_through_peer_command") {
        return;
    }
    // The "peer" is node 1's nexus reached through a command prefix (`env`,
    // standing in for `ssh node2`): every command of its half runs as
    // `env sg_raw ...`. A prefix that cannot run sg_raw is refused cleanly.
    let out = common::lio(2, 1).file(common::FENCECTL).run_script(
        "A=$FK_LUN0_NODE0_SG B=$FK_LUN0_NODE1_SG\n\
         fencectl --no-multipath verify --pair $A $B --peer-cmd env --preempt-only > /tmp/v 2>&1; rc=$?\n\
         cat /tmp/v\n\
         [ \"$rc\" -eq 0 ] || { echo \"exit $rc\"; exit 1; }\n\
         grep -q 'B writes LBA 0 after the preempt: reservation conflict' /tmp/v || exit 1\n\
         grep -q '(via env)' /tmp/v || { echo 'peer not named'; exit 1; }\n\
         sg_persist -n -k $A | grep -q 'NO registered' || { echo 'test keys left behind'; exit 1; }\n\
         fencectl --no-multipath verify --pair $A $B --peer-cmd false --preempt-only > /tmp/w 2>&1; rc=$?\n\
         cat /tmp/w\n\
         [ \"$rc\" -ne 0 ] || { echo 'a dead peer passed'; exit 1; }\n\
         echo 'PASS: peer command'\n",
    );
    out.assert_success()
        .assert_stdout_contains("PASS: peer command");
}
