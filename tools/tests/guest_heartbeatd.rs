//! heartbeatd in the guest test bed: three daemons on the iSCSI fabric,
//! a quorum disk and two data LUNs, eviction and fencing through PR
//! checked with sg_persist and a refused write (see
//! tests/guest/heartbeatd_three_nodes.sh).

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use fencekit_tests::{guest_script, require_or_skip};

#[test]
fn guest_heartbeatd_three_nodes_evict_fence_and_self_fence() {
    if !require_or_skip("guest_heartbeatd_three_nodes_evict_fence_and_self_fence") {
        return;
    }
    let out = common::iscsi(3, 3, 1)
        .file(common::HEARTBEATD)
        .file(common::FENCECTL)
        .file(common::QDISK)
        .run_script_file(guest_script("heartbeatd_three_nodes.sh"));
    out.assert_success()
        .assert_stdout_contains("node 3 stopped: evicted after")
        .assert_stdout_contains("node 3 fenced itself")
        .assert_stdout_contains("master stopped: node 2 master")
        .assert_stdout_contains("PASS: heartbeatd_three_nodes");
}
