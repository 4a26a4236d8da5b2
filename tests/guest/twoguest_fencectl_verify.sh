#!/usr/bin/env bash
# fencectl verify refuses disks that cannot carry fencing, with a reason:
# guest b sees the tgtd LUN as QEMU's emulated scsi-hd (PR commands refused)
# or as virtio-blk (no SCSI), while guest a's scsi-block pass-through passes.
# Run by: scripts/testbed/two-guests --disk-b scsi-hd|virtio-blk
#         --file target/debug/fencectl tests/guest/twoguest_fencectl_verify.sh
set -u
FK_OUT=$(mktemp)
trap 'rm -f "$FK_OUT"' EXIT
. "$(dirname "$0")/steps.sh"
on_step 0 a 'fencectl verify -d $FK_SG'
grep -q "can fence" "$FK_OUT" || fail "guest a's pass-through disk not accepted"
case "$FK_DISK_B" in
scsi-hd)
    on_step 2 b 'fencectl verify -d $FK_SG'
    grep -Eq "FAIL +not-emulated" "$FK_OUT" || fail "the emulated disk is not named as such"
    grep -Eq "FAIL +pr-in" "$FK_OUT" || fail "the refused PR IN is not reported"
    ;;
virtio-blk)
    on_step 2 b 'fencectl verify -d $FK_DISK'
    grep -Eq "FAIL +not-virtio-blk" "$FK_OUT" || fail "virtio-blk is not named as the reason"
    ;;
*) fail "run with --disk-b scsi-hd or virtio-blk" ;;
esac
echo "PASS: fencectl verify refuses $FK_DISK_B"
