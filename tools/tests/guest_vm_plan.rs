//! vmguest-attach plan on a real LUN in the LIO guest bed
//! (`tests/guest/vm_plan.sh`): the LUN resolved from each of its names,
//! map mode's persistent name, paths mode's by-path names and its
//! refusal until the host is blacklisted and filtered. Skips when the
//! test bed is not built, unless `FENCEKIT_TESTBED=require`.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use fencekit_tests::{guest_script, require_or_skip, workspace_root};

#[test]
fn guest_vm_plan_resolves_a_multipathed_lun() {
    if !require_or_skip("guest_vm_plan_resolves_a_multipathed_lun") {
        return;
    }
    // The loop fabric: two nexuses to the LUN are this "host's" two paths
    // (by-path names from the bed), and it boots in seconds.
    let out = common::lio(2, 1)
        .multipath(true)
        .lun_size_mb(16)
        .file(common::VMGUEST_ATTACH)
        .file(workspace_root().join("lib/tests/fixtures/vm/node1.xml"))
        .timeout(Duration::from_secs(240))
        .run_script_file(guest_script("vm_plan.sh"));
    out.assert_success()
        .assert_stdout_contains("ok: every name of the LUN resolves to")
        .assert_stdout_contains("vm_plan: all checks passed");
}
