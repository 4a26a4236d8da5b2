//! vmguest-attach's host-side hygiene on real iSCSI LUNs with dm-multipath
//! and LVM in the guest test bed (`tests/guest/vm_hide.sh`): hide refuses
//! while a VG on the LUN is active, hide makes multipath and LVM let go of
//! the LUN, unhide brings both back with the files byte for byte as they
//! were, and pathmap vgs reports a guest's VG on the host. The tests skip
//! when the test bed is not built, unless `FENCEKIT_TESTBED=require` is
//! set.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use fencekit_tests::{guest_script, require_or_skip};

#[test]
fn guest_vmguest_attach_hide_and_unhide() {
    if !require_or_skip("guest_vmguest_attach_hide_and_unhide") {
        return;
    }
    let out = common::iscsi(1, 2, 2)
        .lun_size_mb(16)
        .multipath(true)
        .file(common::VMGUEST_ATTACH)
        .file(common::PATHMAP)
        .timeout(Duration::from_secs(300))
        .run_script_file(guest_script("vm_hide.sh"));
    out.assert_success()
        .assert_stdout_contains("ok: pathmap vgs reports guestvg0 active on")
        .assert_stdout_contains("ok: hide refuses while guestvg0 is active")
        .assert_stdout_contains("ok: multipath -ll no longer shows")
        .assert_stdout_contains("ok: pvs no longer sees a PV on")
        .assert_stdout_contains("ok: unhide restored both files byte for byte")
        .assert_stdout_contains("ok: multipath -ll shows")
        .assert_stdout_contains("ok: pvs sees guestvg0 again")
        .assert_stdout_contains("under an accept-all filter")
        .assert_stdout_contains("vm_hide: all checks passed");
}
