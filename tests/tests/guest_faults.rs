//! fencekit under faults on the iSCSI fabric of the test bed (`fk-fault`):
//! re-logins with new ISIDs, lost paths, hung LUNs, unit-attention storms.
//! Every outcome is checked with sg_persist, sg_raw or dd in the guest. The
//! tests skip when the test bed is not built, unless
//! `FENCEKIT_TESTBED=require` is set.

use fencekit_tests::{guest_script, require_or_skip, Fabric, Guest};

#[test]
fn guest_faults_fence_relogin_storm_lost_paths() {
    if !require_or_skip("guest_faults_fence_relogin_storm_lost_paths") {
        return;
    }
    let out = Guest::new()
        .fabric(Fabric::Iscsi)
        .nodes(2)
        .luns(2)
        .paths_per_node(2)
        .tool("fencectl")
        .file(guest_script("steps.sh"))
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
    let out = Guest::new()
        .fabric(Fabric::Iscsi)
        .nodes(2)
        .luns(2)
        .paths_per_node(2)
        .multipath(true)
        .tool("prkeys")
        .tool("fencectl")
        .tool("qdisk")
        .file(guest_script("steps.sh"))
        .run_script_file(guest_script("faults_hang.sh"));
    out.assert_success()
        .assert_stdout_contains("LUN 0 fenced while LUN 1 hung")
        .assert_stdout_contains("PASS: hung LUN and partial register");
}
