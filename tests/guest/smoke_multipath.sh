#!/bin/sh
# Smoke test of the guest test bed with --multipath: the two nexuses of one
# LUN form one dm-multipath map, both paths active ready running, and
# mpathpersist registers a key through the map on every path.
# Run by: scripts/testbed/run-in-guest --nodes 2 --luns 1 --multipath tests/guest/smoke_multipath.sh steps.sh
set -u
. /fk/bin/steps.sh

MAP=${FK_LUN0_MPATH:?FK_LUN0_MPATH not set (run with --multipath)}
NAME=${MAP#/dev/mapper/}
[ -b "$MAP" ] || fail "$MAP is not a block device"

show multipath -ll || fail "multipath -ll: exit $?"
grep -q "^$NAME ($FK_LUN0_WWID) dm-[0-9]* LIO-ORG" "$FK_OUT" || fail "map $NAME with WWID $FK_LUN0_WWID not listed"
paths=$(grep -c 'active ready running' "$FK_OUT")
[ "$paths" -eq 2 ] || fail "expected 2 paths active ready running, found $paths"
for dev in "$FK_LUN0_NODE0_SD" "$FK_LUN0_NODE1_SD"; do
    grep -q " ${dev#/dev/} [0-9]*:[0-9]* *active ready running" "$FK_OUT" || fail "path $dev not active ready running"
done

show multipathd show paths || fail "multipathd show paths: exit $?"
show dmsetup table "$NAME" || fail "dmsetup table: exit $?"
grep -q ' multipath ' "$FK_OUT" || fail "$NAME is not a multipath target"

show mpathpersist --out --register --param-sark=0x1 "$MAP" || fail "mpathpersist register: exit $?"
for sg in "$FK_LUN0_NODE0_SG" "$FK_LUN0_NODE1_SG"; do
    show sg_persist --in --read-keys "$sg" || fail "sg_persist -k $sg: exit $?"
    [ "$(grep -c '^ *0x1$' "$FK_OUT")" -eq 2 ] || fail "key 0x1 not registered on both paths"
done
show mpathpersist --in --read-keys "$MAP" || fail "mpathpersist read keys: exit $?"
grep -q '0x1' "$FK_OUT" || fail "mpathpersist does not show key 0x1"
show mpathpersist --out --clear --param-rk=0x1 "$MAP" || fail "mpathpersist clear: exit $?"
# CLEAR leaves a UNIT ATTENTION (reservations preempted) on the other path,
# unless multipathd's path checker has consumed it already.
show sg_turs "$FK_LUN0_NODE1_SG"
rc=$?
[ $rc -eq 0 ] || [ $rc -eq 6 ] || fail "sg_turs after clear: exit $rc"
show sg_persist --in --read-keys "$FK_LUN0_NODE1_SG" || fail "sg_persist -k: exit $?"
grep -q 'NO registered reservation keys' "$FK_OUT" || fail "keys left after clear"

show dd if="$MAP" of=/dev/null bs=4096 count=16 || fail "read through $MAP: exit $?"
echo "PASS: multipath map $NAME with 2 active paths"
