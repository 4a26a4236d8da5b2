//! fencectl against real targets: two LUNs on LIO seen through two I_T
//! nexuses (two nodes in one guest), and two guests sharing a tgtd LUN.
//! The tests skip when the test bed is not built, unless
//! `FENCEKIT_TESTBED=require` is set.

use fencekit_tests::{guest_script, require_or_skip, Guest, TwoGuests};

#[test]
fn guest_fencectl_lio() {
    if !require_or_skip("guest_fencectl_lio") {
        return;
    }
    let out = Guest::new()
        .nodes(2)
        .luns(2)
        .tool("fencectl")
        .run_script_file(guest_script("fencectl_lio.sh"));
    out.assert_success()
        .assert_stdout_contains("PASS: fencectl_lio");
}

#[test]
fn twoguest_fencectl_fence_and_agent() {
    if !require_or_skip("twoguest_fencectl_fence_and_agent") {
        return;
    }
    let out = TwoGuests::new()
        .tool("fencectl")
        .run_script_file(guest_script("twoguest_fencectl.sh"));
    out.assert_success()
        .assert_stdout_contains("PASS: fencectl across two guests on tgtd");
}
