//! Pacemaker drives fencectl (issue 15): in the guest, a one-node corosync
//! and Pacemaker cluster with `fence_fencekit` (a link to fencectl) as a
//! stonith device configured as a fence_scsi one would be, on the iSCSI
//! fabric (2 LUNs, 2 nodes, 2 paths each, multipath). Metadata, unfencing,
//! fencing with PREEMPT AND ABORT, the history and an already-off node,
//! all checked with sg_persist and sg_raw. Skips when the test bed is not
//! built, unless `FENCEKIT_TESTBED=require` is set.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use fencekit_tests::{guest_script, require_or_skip};

#[test]
fn guest_pacemaker_fences_through_fence_fencekit() {
    if !require_or_skip("guest_pacemaker_fences_through_fence_fencekit") {
        return;
    }
    let out = common::iscsi(2, 2, 2)
        .multipath(true)
        .pacemaker(true)
        .timeout(Duration::from_secs(400))
        .file(common::FENCECTL)
        .run_script_file(guest_script("pacemaker_fence.sh"));
    out.assert_success()
        .assert_stdout_contains("node2's writes are refused on all 4 of its paths")
        .assert_stdout_contains("Success: Already OFF")
        .assert_stdout_contains("PASS: pacemaker_fence");
}
