#!/usr/bin/env bash
# fencectl verify refuses disks that cannot carry fencing, with a reason:
# guest b sees the tgtd LUN as QEMU's emulated scsi-hd (PR commands refused)
# or as virtio-blk (no SCSI), while guest a's scsi-block pass-through passes.
# Run by: scripts/testbed/two-guests --disk-b scsi-hd|virtio-blk
#         --file target/debug/fencectl tests/guest/twoguest_fencectl_verify.sh
set -u
fail() { echo "FAIL: $*"; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
run() { # EXPECTED GUEST COMMAND
    echo "[$2] \$ $3"
    on "$2" "$3" > "$out" 2>&1
    local rc=$?
    cat "$out"
    [ "$rc" -eq "$1" ] || fail "exit $rc, expected $1"
}
run 0 a 'fencectl verify -d $FK_SG'
grep -q "can fence" "$out" || fail "guest a's pass-through disk not accepted"
case "$FK_DISK_B" in
scsi-hd)
    run 2 b 'fencectl verify -d $FK_SG'
    grep -Eq "FAIL +not-emulated" "$out" || fail "the emulated disk is not named as such"
    grep -Eq "FAIL +pr-in" "$out" || fail "the refused PR IN is not reported"
    ;;
virtio-blk)
    run 2 b 'fencectl verify -d $FK_DISK'
    grep -Eq "FAIL +not-virtio-blk" "$out" || fail "virtio-blk is not named as the reason"
    ;;
*) fail "run with --disk-b scsi-hd or virtio-blk" ;;
esac
echo "PASS: fencectl verify refuses $FK_DISK_B"
