//! vmguest-attach against a real libvirtd (`scripts/testbed/libvirt-guests`,
//! `tests/guest/virt_vm_attach.sh`): four TCG domains share one tgtd LUN;
//! two cluster nodes get it from vmguest-attach live and persistently, each
//! with its own initiator, verify in the guests, the two-node PR test
//! across two kernels, the emulated disks refused in the guest and flagged
//! on the host, detach. Named twoguest_* so that it runs in the two-guest
//! suite; skips when the test bed is not built, unless
//! `FENCEKIT_TESTBED=require`.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use fencekit_tests::{guest_script, require_or_skip, DiskB, LibvirtGuests};

#[test]
fn twoguest_libvirt_vmguest_attach_attach_verify_pr_test_detach() {
    if !require_or_skip("twoguest_libvirt_vmguest_attach_attach_verify_pr_test_detach") {
        return;
    }
    let out = LibvirtGuests::new()
        .guests("abcd")
        .disk('c', DiskB::ScsiHd)
        .disk('d', DiskB::VirtioBlk)
        .file(common::VMGUEST_ATTACH)
        .env("FK_VMGUEST_ATTACH", common::VMGUEST_ATTACH)
        .timeout(Duration::from_secs(420))
        .run_script_file(guest_script("virt_vm_attach.sh"));
    out.assert_success()
        .assert_stdout_contains("ok: dumpxml (live and --inactive)")
        .assert_stdout_contains("pass expected-lun: serial")
        .assert_stdout_contains("FAIL pass-through: QEMU emulates")
        .assert_stdout_contains("FAIL pass-through: a virtio-blk")
        .assert_stdout_contains("B writes LBA 0 after the preempt: reservation conflict")
        .assert_stdout_contains("ok: detached live and persistently")
        .assert_stdout_contains("virt_vm_attach: all checks passed");
}
