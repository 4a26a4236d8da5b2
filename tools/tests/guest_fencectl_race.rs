//! fencectl on LIO coordinator disks: the two-node race, many rounds, and
//! fence / read / rejoin on four LUNs. The tests skip when the test bed is
//! not built, unless `FENCEKIT_TESTBED=require` is set.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use fencekit_tests::{guest_script, require_or_skip};

#[test]
fn guest_fencectl_race_twenty_rounds() {
    if !require_or_skip("guest_fencectl_race_twenty_rounds") {
        return;
    }
    // node1 on nexus 0, node2 on nexus 1 of three LUNs; both race at once.
    let out = common::lio(2, 3)
        .timeout(Duration::from_secs(600))
        .file(common::FENCECTL)
        .run_script_file(guest_script("fencectl_race.sh"));
    out.assert_success()
        .assert_stdout_contains("wins: node1 ")
        .assert_stdout_contains("PASS: race 20 rounds");
}

#[test]
fn guest_fencectl_four_luns() {
    if !require_or_skip("guest_fencectl_four_luns") {
        return;
    }
    // After the fence node 2 may read but not write on every LUN; after it
    // unfences again it writes on every LUN.
    let out = common::lio(2, 4)
        .timeout(Duration::from_secs(600))
        .file(common::FENCECTL)
        .run_script_file(guest_script("fencectl_lio.sh"));
    out.assert_success()
        .assert_stdout_contains("cannot write on all 4 paths (4 LUNs)")
        .assert_stdout_contains("PASS: fencectl_lio");
}
