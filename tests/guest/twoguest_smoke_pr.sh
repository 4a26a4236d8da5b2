#!/usr/bin/env bash
# Smoke test of the two-guest test bed: the reference persistent reservation
# sequence between two kernels (guests a and b) that share one tgtd iSCSI LUN
# through QEMU's scsi-block pass-through. Host-side script, run by:
#   scripts/testbed/two-guests tests/guest/twoguest_smoke_pr.sh
# tgt 1.0.85 differs from LIO: no READ FULL STATUS, no PREEMPT AND ABORT, and
# the preempted node's UNIT ATTENTION is 2A/03 (reservations preempted), not
# 2A/05 (registrations preempted).
set -u
KA=0xa1
KB=0xb2
FK_OUT=$(mktemp)
trap 'rm -f "$FK_OUT"' EXIT
. "$(dirname "$0")/steps.sh"
WRITE='dd if=/dev/zero of=/tmp/blk bs=512 count=1 2>/dev/null; sg_raw -s 512 -i /tmp/blk $FK_SG 2a 00 00 00 00 00 00 00 01 00'
READ='sg_raw -r 512 -o /dev/null $FK_SG 28 00 00 00 00 00 00 00 01 00'

echo "guest a: $FK_A_DISK $FK_A_SG ($FK_A_INITIATOR); guest b: $FK_B_DISK $FK_B_SG ($FK_B_INITIATOR)"
echo "LUN: $FK_ISCSI_URL"
[[ -n "$FK_A_SG" && -n "$FK_B_SG" ]] || { echo "FAIL: no sg device in a guest"; exit 1; }
step 0 "[a] INQUIRY through scsi-block reaches tgtd" on a 'sg_inq $FK_SG'
expect -i "FENCEKIT"
step 0 "[b] the same LUN in guest b" on b 'sg_inq $FK_SG'
expect -i "FENCEKIT"
step 0 "[a] a fresh LUN has no keys" on a 'sg_persist --in --read-keys $FK_SG'
expect -i "there are NO registered reservation keys"
step 0 "[a] a registers $KA" on a "sg_persist --out --register --param-sark=$KA \$FK_SG"
step 0 "[a] a reserves, type 5 (Write Exclusive, registrants only)" on a \
    "sg_persist --out --reserve --param-rk=$KA --prout-type=5 \$FK_SG"
step 0 "[b] b reads the reservation" on b 'sg_persist --in --read-reservation $FK_SG'
expect -i "Key=0xa1"
expect -i "Write Exclusive, registrants only"
step 0 "[a] a (registrant, holder) writes" on a "$WRITE"
step 24 "[b] b (not registered) cannot write: RESERVATION CONFLICT" on b "$WRITE"
step 0 "[b] b (not registered) can still read" on b "$READ"
step 0 "[b] b registers $KB" on b "sg_persist --out --register --param-sark=$KB \$FK_SG"
step 0 "[a] a reads the keys" on a 'sg_persist --in --read-keys $FK_SG'
expect -i "0xa1"
expect -i "0xb2"
step 0 "[b] b (now a registrant) writes" on b "$WRITE"
# tgt 1.0.85 rejects PREEMPT AND ABORT (ILLEGAL REQUEST); see
# tests/guest/twoguest_disk_b.sh, which checks that.
step 0 "[a] a preempts b" on a \
    "sg_persist --out --preempt --param-rk=$KA --param-sark=$KB --prout-type=5 \$FK_SG"
step 6 "[b] b's next command gets UNIT ATTENTION (tgt: 2A/03)" on b "$WRITE"
expect -i "Reservations preempted"
step 24 "[b] then b's write is refused: RESERVATION CONFLICT" on b "$WRITE"
step 0 "[a] only a's key is left" on a 'sg_persist --in --read-keys $FK_SG'
expect -i "0xa1"
reject -i "0xb2"
step 0 "[a] a still writes" on a "$WRITE"
step 0 "[a] a clears all registrations and the reservation" on a "sg_persist --out --clear --param-rk=$KA \$FK_SG"
step 0 "[b] no keys left" on b 'sg_persist --in --read-keys $FK_SG'
expect -i "there are NO registered reservation keys"
step 0 "[b] no reservation left" on b 'sg_persist --in --read-reservation $FK_SG'
expect -i "there is NO reservation held"
step 0 "[b] b writes again" on b "$WRITE"
echo "PASS: two-guest persistent reservation sequence ($n steps)"
