#!/bin/sh
# Guest test: fencectl on real LIO (tcm_loop) logical units.
#
# On one guest the "nodes" are different I_T nexuses to the same units, so
# every fencectl call names its node (--node, with a cluster configuration
# written here) and its devices (--devices) explicitly, and each node has
# its own state file.
#
# Environment (set by the test bed):
#   FK_LUNS, FK_NODES            number of units and of nexuses per unit
#                                (FK_NODES >= 2)
#   FK_LUN<i>_NODE<j>_SG/_SD     the unit's j-th path (kernel name or /dev path)
#   FK_LUN<i>_MPATH              its multipath map (with --multipath)
# Indices start at 0, or at 1 when FK_LUN0_NODE0_SG is unset.
# Binaries on PATH: fencectl, sg_raw, sg_persist.
#
# Sequence: verify (test key) on node 1's paths; verify --pair on two
# nexuses of the first unit; unfence node1 (node-0 paths) and node2
# (node-1 paths); status; fence node2 from node1, with PREEMPT AND ABORT on
# the iSCSI fabric and with --preempt-only on tcm_loop (the guest's LIO
# deadlocks in PREEMPT AND ABORT through tcm_loop); on every
# unit node 2 gets the unit attention of the preempt, its READ(10) still
# works and its WRITE(10) is refused (sg_raw exit 24); check exits 2 for
# node 2 and 0 for node 1; node 2 unfences again and writes the blocks it
# read back on every unit; clean up.
# Run by: scripts/testbed/run-in-guest --nodes 2 --luns 2 tests/guest/fencectl_lio.sh fencectl
# (any number of units: guest_fencectl_four_luns runs it with --luns 4)
set -u

multipath=0
[ "${1:-}" = "--multipath" ] && multipath=1

. /fk/bin/steps.sh

base=0
[ -z "$(var FK_LUN0_NODE0_SG)$(var FK_LUN0_NODE0_SD)" ] && base=1
luns=${FK_LUNS:?}
[ "${FK_NODES:?}" -ge 2 ] || fail "needs FK_NODES >= 2"
# PREEMPT AND ABORT where the fabric runs it; plain PREEMPT on tcm_loop.
PO=--preempt-only
[ "${FK_FABRIC:-loop}" = iscsi ] && PO=

N1=$(paths $base)
N2=$(paths $((base + 1)))
A=${N1%% *}
B=${N2%% *}
echo "node1 paths: $N1"
echo "node2 paths: $N2"

cfg=/tmp/fk-cluster.toml
cluster_toml "$cfg" fkguest
S1=/tmp/fk-node1.state
S2=/tmp/fk-node2.state
rm -f $S1 $S2
F="fencectl --config $cfg --no-multipath"
K1=$($F list | sed -n 's/^node1,//p')
K2=$($F list | sed -n 's/^node2,//p')
[ -n "$K1" ] && [ -n "$K2" ] || fail "no keys from fencectl list"

step 0 "verify node 1's devices (test key registered and removed)" $F verify -d $N1
expect "can fence"
step 0 "verify --pair on two nexuses of one unit" $F verify --pair "$A" "$B" $PO
expect "can fence"
step 0 "verify --pair left no keys" sg_persist -n -i -k "$A"
expect "there are NO registered reservation keys"

step 0 "unfence node1" $F --state-file $S1 unfence --node node1 -d $N1
step 0 "unfence node2" $F --state-file $S2 unfence --node node2 -d $N2
step 0 "node2 unfence again (self-preempt path)" $F --state-file $S2 unfence --node node2 -d $N2
expect "re-registered after self-preempt"
step 0 "status" $F status -d $N1
expect "0x$K1 node1"
expect "0x$K2 node2"
expect "held by node1"
step 0 "status --json" $F status -d $N1 --json
expect '"missing_on": \[\]'

step 0 "fence node2 from node1 (${PO:-PREEMPT AND ABORT})" \
    $F --state-file $S1 fence --victim node2 --node node1 -d $N1 $PO
expect "fence of 0x$K2 complete"
if [ -z "$PO" ]; then
    grep -q "preempt-and-abort" /tmp/fk.out ||
        fail "the fence report does not say PREEMPT AND ABORT was sent"
    grep -q "not supported" /tmp/fk.out && fail "the fence fell back to PREEMPT"
fi
step 0 "node2's key is gone" sg_persist -n -i -k "$A"
grep -q "0x$K2" /tmp/fk.out && fail "node2's key still registered"

# On every unit, through node 2's nexus: absorb the unit attention of the
# preempt (sg_raw exit 6, once), READ(10) LBA 0 still works (WEAR, type 5,
# only refuses writes), WRITE(10) of the same block back is refused
# (sg_raw exit 24, reservation conflict).
sgraw() { # sgraw WANT WHAT ARGS...: sg_raw, again after a unit attention
    want=$1 what=$2
    shift 2
    for try in 1 2 3; do
        sg_raw "$@" > /tmp/fk.out 2>&1
        rc=$?
        [ "$rc" -ne 6 ] && break
    done
    n=$((n + 1))
    echo "--- $n. $what: exit $rc"
    [ "$rc" -eq "$want" ] || { cat /tmp/fk.out; fail "step $n ($what): sg_raw exit $rc, expected $want"; }
}
# LIO queues unit attentions per initiator and LUN, not per nexus: of a
# node's paths to one LUN (iSCSI fabric, FK_PATHS > 1) the first one asked
# gets it.
i=0
for d in $N2; do
    sg_raw "$d" 00 00 00 00 00 00 > /tmp/fk.out 2>&1 # TEST UNIT READY
    rc=$?
    if [ $((i % ${FK_PATHS:-1})) -ne 0 ] && [ "$rc" -eq 0 ]; then
        :
    elif [ "$rc" -ne 6 ]; then
        cat /tmp/fk.out; fail "node2 on $d: no unit attention after the preempt (sg_raw exit $rc)"
    fi
    sgraw 0 "node2 READ(10) LBA 0 on $d" -r 512 -o /tmp/fk-blk$i "$d" 28 00 00 00 00 00 00 00 01 00
    sgraw 24 "node2 WRITE(10) LBA 0 on $d refused" -s 512 -i /tmp/fk-blk$i "$d" 2a 00 00 00 00 00 00 00 01 00
    i=$((i + 1))
done
echo "node2 reads but cannot write on all $i paths ($luns LUNs)"

step 2 "check node2: key gone" $F --state-file $S2 check
step 0 "check node1: key registered" $F --state-file $S1 check
step 4 "node1 refuses to fence itself" $F --state-file $S1 fence --victim node1 --node node1 -d $N1
step 3 "fenced node2 cannot fence node1" $F --state-file $S2 fence --victim node1 --node node2 -d $N2

# Rejoin: node 2 unfences again and writes the blocks it read back.
step 0 "node2 unfences again" $F --state-file $S2 unfence --node node2 -d $N2
step 0 "check node2: key back" $F --state-file $S2 check
i=0
for d in $N2; do
    sgraw 0 "node2 WRITE(10) LBA 0 on $d after rejoin" -s 512 -i /tmp/fk-blk$i "$d" 2a 00 00 00 00 00 00 00 01 00
    i=$((i + 1))
done
echo "node2 writes again on all $i paths"

if [ "$multipath" -eq 1 ]; then
    M=$(var "FK_LUN${base}_MPATH")
    [ -n "$M" ] || fail "--multipath without FK_LUN${base}_MPATH"
    M=$(dev "$M")
    step 0 "status on the map expands its paths" fencectl --config $cfg status -d "$M" --json
    expect '"paths": \['
fi

# Clean up: node1 clears every unit.
# (With several paths per LUN the unit is already clear after its first.)
for d in $N1; do
    sg_persist -n -o -C -K "0x$K1" "$d" > /dev/null 2>&1 ||
        sg_persist -n -i -k "$d" 2>/dev/null | grep -q "NO registered" || fail "clear $d"
done
echo "PASS: fencectl_lio ($n steps)"
