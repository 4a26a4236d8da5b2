#!/usr/bin/env bash
# Negative cases of the two-guest test bed: guest b sees the shared LUN not
# through SCSI pass-through but as QEMU's emulated scsi-hd (PR commands are
# refused by QEMU) or as a virtio-blk disk (no SCSI at all), while guest a
# (scsi-block) still reaches tgtd. Host-side script, run by:
#   scripts/testbed/two-guests --disk-b scsi-hd tests/guest/twoguest_disk_b.sh
#   scripts/testbed/two-guests --disk-b virtio-blk tests/guest/twoguest_disk_b.sh
set -u
FK_OUT=$(mktemp)
trap 'rm -f "$FK_OUT"' EXIT
. "$(dirname "$0")/steps.sh"

echo "guest a: $FK_DISK_A $FK_A_DISK $FK_A_SG; guest b: $FK_DISK_B $FK_B_DISK ${FK_B_SG:-(no sg)}"
show on a 'sg_persist --in --read-keys $FK_SG' || fail "guest a (scsi-block) cannot read keys"
grep -q 'NO registered reservation keys' "$FK_OUT" || fail "fresh LUN has keys"
show on a 'sg_persist --out --register --param-sark=0xa1 $FK_SG' || fail "guest a cannot register"
# tgt 1.0.85 does not implement PREEMPT AND ABORT: ILLEGAL REQUEST (exit 5).
show on a 'sg_persist --out --preempt-abort --param-rk=0xa1 --param-sark=0xa1 --prout-type=5 $FK_SG'
rc=$?
[ $rc -eq 5 ] || fail "tgt answered PREEMPT AND ABORT with exit $rc; expected 5 (ILLEGAL REQUEST); update the README if tgt now supports it"

case "$FK_DISK_B" in
    scsi-hd)
        [[ "$FK_B_DISK" == /dev/sd* && -n "$FK_B_SG" ]] || fail "scsi-hd: expected an sd disk with an sg node"
        show on b 'sg_inq $FK_SG' || fail "INQUIRY on scsi-hd failed"
        grep -q 'QEMU' "$FK_OUT" || fail "scsi-hd should answer INQUIRY as QEMU"
        show on b 'sg_persist --in --read-keys $FK_SG'
        rc=$?
        [ $rc -ne 0 ] || fail "QEMU's emulated scsi-hd accepted PERSISTENT RESERVE IN"
        grep -Eqi 'illegal request|invalid (command )?operation code|not supported' "$FK_OUT" ||
            fail "expected ILLEGAL REQUEST for PR IN on scsi-hd"
        ;;
    virtio-blk)
        [[ "$FK_B_DISK" == /dev/vd* ]] || fail "virtio-blk: expected a /dev/vd* disk, got $FK_B_DISK"
        [ -z "$FK_B_SG" ] || fail "virtio-blk: expected no sg node, got $FK_B_SG"
        show on b 'sg_inq $FK_DISK' && fail "SG_IO on a virtio-blk disk should fail"
        show on b 'dd if=$FK_DISK of=/dev/null bs=4096 count=4' || fail "cannot read the virtio-blk disk"
        ;;
    *) fail "FK_DISK_B=$FK_DISK_B: run with --disk-b scsi-hd or virtio-blk" ;;
esac
show on a 'sg_persist --out --clear --param-rk=0xa1 $FK_SG' || fail "guest a cannot clear"
echo "PASS: guest b with $FK_DISK_B"
