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
n=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# step GUEST EXPECTED_STATUS DESCRIPTION COMMAND: run COMMAND in GUEST.
step() {
    local g=$1 want=$2 what=$3 cmd=$4 rc
    n=$((n + 1))
    echo "--- $n. [$g] $what"
    echo "$g\$ $cmd"
    on "$g" "$cmd" > "$out" 2>&1
    rc=$?
    cat "$out"
    if [[ "$rc" != "$want" ]]; then
        echo "FAIL: step $n ($what): exit status $rc, expected $want"
        exit 1
    fi
}
expect() {
    grep -Eqi -- "$1" "$out" || { echo "FAIL: step $n: output does not match '$1'"; exit 1; }
}
reject() {
    if grep -Eqi -- "$1" "$out"; then echo "FAIL: step $n: output matches '$1'"; exit 1; fi
}
WRITE='dd if=/dev/zero of=/tmp/blk bs=512 count=1 2>/dev/null; sg_raw -s 512 -i /tmp/blk $FK_SG 2a 00 00 00 00 00 00 00 01 00'
READ='sg_raw -r 512 -o /dev/null $FK_SG 28 00 00 00 00 00 00 00 01 00'

echo "guest a: $FK_A_DISK $FK_A_SG ($FK_A_INITIATOR); guest b: $FK_B_DISK $FK_B_SG ($FK_B_INITIATOR)"
echo "LUN: $FK_ISCSI_URL"
[[ -n "$FK_A_SG" && -n "$FK_B_SG" ]] || { echo "FAIL: no sg device in a guest"; exit 1; }
step a 0 "INQUIRY through scsi-block reaches tgtd" 'sg_inq $FK_SG'
expect "FENCEKIT"
step b 0 "the same LUN in guest b" 'sg_inq $FK_SG'
expect "FENCEKIT"
step a 0 "a fresh LUN has no keys" 'sg_persist --in --read-keys $FK_SG'
expect "there are NO registered reservation keys"
step a 0 "a registers $KA" "sg_persist --out --register --param-sark=$KA \$FK_SG"
step a 0 "a reserves, type 5 (Write Exclusive, registrants only)" \
    "sg_persist --out --reserve --param-rk=$KA --prout-type=5 \$FK_SG"
step b 0 "b reads the reservation" 'sg_persist --in --read-reservation $FK_SG'
expect "Key=0xa1"
expect "Write Exclusive, registrants only"
step a 0 "a (registrant, holder) writes" "$WRITE"
step b 24 "b (not registered) cannot write: RESERVATION CONFLICT" "$WRITE"
step b 0 "b (not registered) can still read" "$READ"
step b 0 "b registers $KB" "sg_persist --out --register --param-sark=$KB \$FK_SG"
step a 0 "a reads the keys" 'sg_persist --in --read-keys $FK_SG'
expect "0xa1"
expect "0xb2"
step b 0 "b (now a registrant) writes" "$WRITE"
# tgt 1.0.85 rejects PREEMPT AND ABORT (ILLEGAL REQUEST); see
# tests/guest/twoguest_disk_b.sh, which checks that.
step a 0 "a preempts b" \
    "sg_persist --out --preempt --param-rk=$KA --param-sark=$KB --prout-type=5 \$FK_SG"
step b 6 "b's next command gets UNIT ATTENTION (tgt: 2A/03)" "$WRITE"
expect "Reservations preempted"
step b 24 "then b's write is refused: RESERVATION CONFLICT" "$WRITE"
step a 0 "only a's key is left" 'sg_persist --in --read-keys $FK_SG'
expect "0xa1"
reject "0xb2"
step a 0 "a still writes" "$WRITE"
step a 0 "a clears all registrations and the reservation" "sg_persist --out --clear --param-rk=$KA \$FK_SG"
step b 0 "no keys left" 'sg_persist --in --read-keys $FK_SG'
expect "there are NO registered reservation keys"
step b 0 "no reservation left" 'sg_persist --in --read-reservation $FK_SG'
expect "there is NO reservation held"
step b 0 "b writes again" "$WRITE"
echo "PASS: two-guest persistent reservation sequence ($n steps)"
