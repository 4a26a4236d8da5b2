#!/bin/sh
# Guest test: the coordinator-disk race between two nodes, many rounds.
#
# Two nodes on one guest (node1 on nexus 0 of every unit, node2 on nexus 1)
# use all units as coordinator disks. Each round both register (unfence),
# then both start `fencectl race` against the other at the same moment (two
# FIFOs released together). Exactly one must win (exit 0) and the other
# lose (exit 2); on every unit the winner's key must be registered and the
# loser's gone (sg_persist -k). Between rounds every unit is cleared.
#
# Environment (set by the test bed): FK_LUNS (odd), FK_NODES >= 2,
# FK_LUN<i>_NODE<j>_SG/_SD. FK_RACE_ROUNDS overrides the 20 rounds.
# LIO deadlocks in PREEMPT AND ABORT through tcm_loop: --preempt-only.
# Run by: scripts/testbed/run-in-guest --nodes 2 --luns 3 tests/guest/fencectl_race.sh fencectl
set -u

. /fk/bin/steps.sh

base=0
[ -z "$(var FK_LUN0_NODE0_SG)$(var FK_LUN0_NODE0_SD)" ] && base=1
luns=${FK_LUNS:?}
[ "${FK_NODES:?}" -ge 2 ] || fail "needs FK_NODES >= 2"
[ $((luns % 2)) -eq 1 ] || fail "needs an odd FK_LUNS, got $luns"
rounds=${FK_RACE_ROUNDS:-20}

N1=$(paths $base)
N2=$(paths $((base + 1)))
echo "node1 coordinators: $N1"
echo "node2 coordinators: $N2"

cfg=/tmp/fk-cluster.toml
cluster_toml "$cfg" fkrace
F="fencectl --config $cfg --no-multipath"
K1=$($F list | sed -n 's/^node1,//p')
K2=$($F list | sed -n 's/^node2,//p')
[ -n "$K1" ] && [ -n "$K2" ] || fail "no keys from fencectl list"
CK=0xc1ea4

# sg_persist, again on a unit attention (exit 6).
persist() {
    for try in 1 2 3 4; do
        sg_persist "$@" > /tmp/fk.sgp 2>&1
        rc=$?
        [ "$rc" -ne 6 ] && return $rc
    done
    return $rc
}

# has DEV KEY: KEY is registered on DEV.
has() {
    persist -n -i -k "$1" || { cat /tmp/fk.sgp; fail "read keys of $1"; }
    grep -Eiq "^ *0x0*$2\$" /tmp/fk.sgp
}

clear_all() {
    for d in $N1; do
        persist -n -o -I -S $CK "$d" || { cat /tmp/fk.sgp; fail "register cleanup key on $d"; }
        persist -n -o -C -K $CK "$d" || { cat /tmp/fk.sgp; fail "clear $d"; }
        persist -n -i -k "$d" || fail "read keys of $d"
        grep -q "NO registered" /tmp/fk.sgp || { cat /tmp/fk.sgp; fail "$d not cleared"; }
    done
}

wins1=0 wins2=0
clear_all
r=1
while [ "$r" -le "$rounds" ]; do
    $F unfence --no-state --node node1 -d $N1 > /tmp/fk.u1 2>&1 || { cat /tmp/fk.u1; fail "round $r: unfence node1"; }
    $F unfence --no-state --node node2 -d $N2 > /tmp/fk.u2 2>&1 || { cat /tmp/fk.u2; fail "round $r: unfence node2"; }

    # Barrier: each racer blocks reading its FIFO; closing both write ends
    # releases them together.
    rm -f /tmp/fk.go1 /tmp/fk.go2
    mkfifo /tmp/fk.go1 /tmp/fk.go2 || fail "mkfifo"
    (read -r _ < /tmp/fk.go1; exec $F race --node node1 --loser node2 --coordinator $N1 --preempt-only) > /tmp/fk.r1 2>&1 &
    p1=$!
    (read -r _ < /tmp/fk.go2; exec $F race --node node2 --loser node1 --coordinator $N2 --preempt-only) > /tmp/fk.r2 2>&1 &
    p2=$!
    exec 3> /tmp/fk.go1 4> /tmp/fk.go2
    exec 3>&- 4>&-
    wait $p1; rc1=$?
    wait $p2; rc2=$?
    echo "--- round $r: node1 exit $rc1, node2 exit $rc2"
    sed 's/^/  node1: /' /tmp/fk.r1
    sed 's/^/  node2: /' /tmp/fk.r2

    if [ "$rc1" -eq 0 ] && [ "$rc2" -eq 2 ]; then
        wk=$K1 lk=$K2 wins1=$((wins1 + 1))
    elif [ "$rc1" -eq 2 ] && [ "$rc2" -eq 0 ]; then
        wk=$K2 lk=$K1 wins2=$((wins2 + 1))
    else
        fail "round $r: exits $rc1/$rc2, expected one 0 and one 2"
    fi
    for d in $N1; do
        has "$d" "$wk" || { cat /tmp/fk.sgp; fail "round $r: winner's key 0x$wk missing on $d"; }
        has "$d" "$lk" && { cat /tmp/fk.sgp; fail "round $r: loser's key 0x$lk still on $d"; }
    done
    clear_all
    r=$((r + 1))
done
echo "wins: node1 $wins1, node2 $wins2"
echo "PASS: race $rounds rounds"
