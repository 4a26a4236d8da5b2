#!/bin/sh
# Guest test: a hung LUN (fk-fault hang: its iSCSI sessions stall) during
# prkeys keys, fencectl fence and qdisk list; each returns within its
# deadline with an error naming the device and the timeout, and the other
# LUNs are still done. Then prkeys register on a multipath map with one path
# offline: registered on the other path, the failed path named, exit 4
# (partial). Outcomes checked with sg_persist.
# Run by: scripts/testbed/run-in-guest --fabric iscsi --nodes 2 --luns 2
#         --paths-per-node 2 --multipath tests/guest/faults_hang.sh
#         prkeys fencectl qdisk steps.sh
set -u
. /fk/bin/steps.sh

[ "${FK_FABRIC:-}" = iscsi ] || fail "needs the iscsi fabric"
luns=2 base=0
# timed WANT LIMIT_MS WHAT CMD...: step, and fail if it took longer.
timed() {
    _want=$1 _limit=$2 _what=$3
    shift 3
    _t0=$(now_ms)
    step "$_want" "$_what" "$@"
    _ms=$(( $(now_ms) - _t0 ))
    echo "    (returned after $_ms ms, limit $_limit ms)"
    [ "$_ms" -le "$_limit" ] || fail "$_what took $_ms ms, more than $_limit ms"
}

cfg=/tmp/fk-cluster.toml
cluster_toml "$cfg" fkhang
F="fencectl --config $cfg --no-multipath"
K1=$($F list | sed -n 's/^node1,//p')
K2=$($F list | sed -n 's/^node2,//p')
# One path per node is enough for the hang.
A0=$FK_LUN0_NODE0_SG A1=$FK_LUN1_NODE0_SG B0=$FK_LUN0_NODE1_SG B1=$FK_LUN1_NODE1_SG
# prkeys register on node 0's map of LUN 0 with one path offline.
M=$FK_LUN0_MPATH
off=$FK_LUN0_NODE0_PATH1_SD
step 0 "fk-fault offline $off (path 1 of the map)" fk-fault offline "$off"
step 4 "prkeys register on the map with a path offline: partial" prkeys register --key 0xabc "$M"
expect "partial"
expect "$off"
step 4 "the same with --json" prkeys register --key 0xabc --json "$M"
expect '"status": 4'
step 0 "READ FULL STATUS: 0xabc on path 0's nexus" sg_persist -n -i -s "$B0"
[ "$(grep -c 'Key=0xabc$' /tmp/fk.out)" = 1 ] || fail "0xabc not registered through exactly one path"
step 0 "fk-fault online $off" fk-fault online "$off"
step 0 "clear 0xabc again" sg_persist -n -o -C -K 0xabc "$FK_LUN0_NODE0_PATH0_SG"
step 0 "a quorum disk on LUN 0 (node 0's map)" qdisk create -l fkhang --yes --force "$FK_LUN0_MPATH"
step 0 "unfence node1" $F --state-file /tmp/n1.state unfence --node node1 -d $A0 $A1
step 0 "unfence node2" $F --state-file /tmp/n2.state unfence --node node2 -d $B0 $B1

step 0 "fk-fault hang 1" fk-fault hang 1

# prkeys: --timeout 3 -> at most 3 + 2 s on the hung LUN; LUN 0 answered.
timed 33 9000 "prkeys keys with LUN 1 hung" prkeys keys --timeout 3 "$A0" "$A1"
expect "$A1"
expect "timed out"
grep -q "^$A0: PR generation" /tmp/fk.out || fail "LUN 0 was not read"
grep -q "0x$K2" /tmp/fk.out || fail "LUN 0's keys missing"

# fencectl: the fence completes on LUN 0, reports LUN 1's failure (the
# deadline, or the transport error of the session in recovery) by name, and
# exits 5 (partial: done on one device, failed on the other).
timed 5 30000 "fencectl fence with LUN 1 hung: partial" \
    $F --timeout 3 --state-file /tmp/n1.state fence --victim node2 --node node1 -d $A0 $A1
grep "$A1" /tmp/fk.out | grep -q "timed out\|transport error" ||
    fail "the hung device is not named with its timeout or transport error"
expect "INCOMPLETE"
sg_persist -n -i -k "$A0" | grep -q "0x$K2" && fail "LUN 0 not fenced while LUN 1 hung"
echo "LUN 0 fenced while LUN 1 hung"

# qdisk list: the quorum disk on LUN 0 is found within the deadlines. Its
# reads of LUN 1's sd nodes cannot be interrupted (see qdisk(8) --timeout),
# so the process exits only after the unhang: its output is timed instead.
t0=$(now_ms)
qdisk list --timeout 2000 > /tmp/fk-q.out 2>&1 &
qpid=$!
while ! grep -q "fkhang" /tmp/fk-q.out && [ $(( $(now_ms) - t0 )) -lt 30000 ]; do sleep 0.2; done
ms=$(( $(now_ms) - t0 ))
cat /tmp/fk-q.out
grep -q "fkhang" /tmp/fk-q.out || fail "qdisk list found no quorum disk within 30 s with LUN 1 hung"
echo "qdisk list reported the quorum disk after $ms ms with LUN 1 hung"

step 0 "fk-fault unhang 1" fk-fault unhang 1
wait_answers "$A1"
wait $qpid
echo "qdisk list exited with status $? after the unhang"
step 0 "fence again after the unhang: LUN 1 done too" \
    $F --state-file /tmp/n1.state fence --victim node2 --node node1 -d $A0 $A1
expect "complete"
sg_persist -n -i -k "$A1" | grep -q "0x$K2" && fail "LUN 1 not fenced after unhang"

echo "PASS: hung LUN and partial register ($n steps)"
