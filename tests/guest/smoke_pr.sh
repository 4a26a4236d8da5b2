#!/bin/sh
# Smoke test of the guest test bed: the reference SCSI-3 persistent
# reservation sequence with sg_persist and sg_raw, across two I_T nexuses
# (nodes A and B) to one LIO LUN. Every step checks its exit status.
# Run by: scripts/testbed/run-in-guest --nodes 2 --luns 1 tests/guest/smoke_pr.sh steps.sh
set -u
A=$FK_LUN0_NODE0_SG
B=$FK_LUN0_NODE1_SG
KA=0xa1
KB=0xb2
. /fk/bin/steps.sh

echo "LUN $FK_LUN0_WWID (serial $FK_LUN0_SERIAL): node A $A ($FK_LUN0_NODE0_HCTL), node B $B ($FK_LUN0_NODE1_HCTL)"
[ "$A" != "$B" ] || { echo "FAIL: both nodes have the same sg device"; exit 1; }
step 0 "TEST UNIT READY on A" sg_turs "$A"
step 0 "TEST UNIT READY on B" sg_turs "$B"
step 0 "INQUIRY on B" sg_inq "$B"
expect -i "LIO-ORG"
step 0 "A and B see the same LUN (VPD 0x83)" sg_inq -p 0x83 "$A"
cp "$FK_OUT" /tmp/vpd_a
step 0 "VPD 0x83 on B" sg_inq -p 0x83 "$B"
grep -qi "${FK_LUN0_WWID#3}" /tmp/vpd_a && grep -qi "${FK_LUN0_WWID#3}" "$FK_OUT" ||
    { echo "FAIL: WWID $FK_LUN0_WWID not in VPD page 0x83 of both paths"; exit 1; }

step 0 "no keys at start" sg_persist --in --read-keys "$A"
expect -i "there are NO registered reservation keys"
step 0 "A registers $KA" sg_persist --out --register --param-sark=$KA "$A"
step 0 "A reserves, type 5 (Write Exclusive, registrants only)" \
    sg_persist --out --reserve --param-rk=$KA --prout-type=5 "$A"
step 0 "B reads the reservation" sg_persist --in --read-reservation "$B"
expect -i "Key=0xa1"
expect -i "Write Exclusive, registrants only"
step 0 "A (registrant, holder) writes" write "$A"
step 24 "B (not registered) cannot write: RESERVATION CONFLICT" write "$B"
step 0 "B (not registered) can still read under Write Exclusive" read10 "$B"
step 0 "B registers $KB" sg_persist --out --register --param-sark=$KB "$B"
step 0 "B reads the keys" sg_persist --in --read-keys "$B"
expect -i "0xa1"
expect -i "0xb2"
step 0 "READ FULL STATUS shows both initiator ports" sg_persist --in --read-full-status "$A"
expect -i "Key=0xa1"
expect -i "Key=0xb2"
if [ "${FK_FABRIC:-loop}" = iscsi ]; then
    # iSCSI TransportIDs: initiator name, ",i,0x" and the session's ISID.
    expect -i "${FK_NODE0_IQN},i,0x"
    expect -i "${FK_NODE1_IQN},i,0x"
fi
step 0 "B (now a registrant) writes" write "$B"
# On the iSCSI fabric PREEMPT AND ABORT, as fence_scsi sends it; on tcm_loop
# plain PREEMPT (PREEMPT AND ABORT deadlocks LIO's tcm_loop fabric on the
# Debian 6.1 kernel, see scripts/testbed/README.md).
if [ "${FK_FABRIC:-loop}" = iscsi ]; then
    step 0 "A preempts and aborts B (PREEMPT AND ABORT)" \
        sg_persist --out --preempt-abort --param-rk=$KA --param-sark=$KB --prout-type=5 "$A"
else
    step 0 "A preempts B" \
        sg_persist --out --preempt --param-rk=$KA --param-sark=$KB --prout-type=5 "$A"
fi
step 6 "B's next command gets UNIT ATTENTION" write "$B"
expect -i "Registrations preempted|2a/05|asc=0x2a"
step 24 "then B's write is refused: RESERVATION CONFLICT" write "$B"
step 0 "only A's key is left" sg_persist --in --read-keys "$A"
expect -i "0xa1"
reject -i "0xb2"
step 0 "A still writes" write "$A"
step 0 "A clears all registrations and the reservation" sg_persist --out --clear --param-rk=$KA "$A"
step 0 "no keys left" sg_persist --in --read-keys "$B"
expect -i "there are NO registered reservation keys"
step 0 "no reservation left" sg_persist --in --read-reservation "$B"
expect -i "there is NO reservation held"
step 0 "B writes again" write "$B"
echo "PASS: persistent reservation sequence ($n steps)"
