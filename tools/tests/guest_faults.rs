//! fencekit under faults on the iSCSI fabric of the test bed (`fk-fault`):
//! re-logins with new ISIDs, lost paths, hung LUNs, unit-attention storms.
//! Every outcome is checked with sg_persist, sg_raw or dd in the guest. The
//! tests skip when the test bed is not built, unless
//! `FENCEKIT_TESTBED=require` is set.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use fencekit_tests::{guest_script, require_or_skip};

#[test]
fn guest_faults_fence_relogin_storm_lost_paths() {
    if !require_or_skip("guest_faults_fence_relogin_storm_lost_paths") {
        return;
    }
    let out = common::iscsi(2, 2, 2)
        .file(common::FENCECTL)
        .run_script_file(guest_script("faults_fence.sh"));
    out.assert_success()
        .assert_stdout_contains("re-login repaired")
        .assert_stdout_contains("victim refused on every path of every LUN")
        .assert_stdout_contains("fence completed through path 1 while path 0 hung")
        .assert_stdout_contains("PASS: fencectl under faults");
}

#[test]
fn guest_faults_hung_lun_and_partial_register() {
    if !require_or_skip("guest_faults_hung_lun_and_partial_register") {
        return;
    }
    let out = common::iscsi(2, 2, 2)
        .multipath(true)
        .file(common::PRKEYS)
        .file(common::FENCECTL)
        .file(common::QDISK)
        .run_script_file(guest_script("faults_hang.sh"));
    out.assert_success()
        .assert_stdout_contains("LUN 0 fenced while LUN 1 hung")
        .assert_stdout_contains("PASS: hung LUN and partial register");
}
