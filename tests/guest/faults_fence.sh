#!/bin/sh
# Guest test: fencectl under the faults cluster administrators meet, on the
# iSCSI fabric (PREEMPT AND ABORT), each outcome checked with sg_persist and
# sg_raw, independent of fencekit.
#
#   1. re-login (fence-agents issue 517): node1's sessions get new ISIDs;
#      status --probe reports the new nexuses without the key; unfence
#      repairs them without touching node2's registrations or the
#      reservation, and node1's PR commands work again from the new nexuses;
#   2. a unit-attention storm on every LUN right before the fence: absorbed;
#   3. one of the survivor's paths is lost (offline) on every LUN: the fence
#      completes through the other path, the victim is refused on every LUN,
#      and the lost path is reported;
#   3b. the path the fence is using hangs mid-fence (fk-fault hang-path):
#      the fence completes through the other path;
#   4. all of the victim's paths logged out: the fence still succeeds (the
#      preempt is the target's business); when the victim logs in again its
#      writes are refused.
# Run by: scripts/testbed/run-in-guest --fabric iscsi --nodes 2 --luns 2
#         --paths-per-node 2 tests/guest/faults_fence.sh fencectl steps.sh
set -u
. /fk/bin/steps.sh

base=0
luns=${FK_LUNS:?}
[ "${FK_FABRIC:-}" = iscsi ] || fail "needs the iscsi fabric"
[ "${FK_PATHS:-1}" -ge 2 ] || fail "needs 2 paths per node"

cfg=/tmp/fk-cluster.toml
cluster_toml "$cfg" fkfaults
S1=/tmp/fk-node1.state
S2=/tmp/fk-node2.state
F="fencectl --config $cfg --no-multipath --timeout 10"
K1=$($F list | sed -n 's/^node1,//p')
K2=$($F list | sed -n 's/^node2,//p')

# count KEY DEV: registrations of KEY in READ FULL STATUS through DEV.
count() { sg_persist -n -i -s "$2" 2>/dev/null | grep -c "Key=0x$1\$"; }
# write_refused DEV: WRITE(10) of LBA 0 through DEV is refused (24); one
# unit attention (6) before it is allowed.
write_status() {
    for try in 1 2 3 4 5; do
        sg_raw -s 512 -i /tmp/fk-zero "$1" 2a 00 00 00 00 00 00 00 01 00 > /tmp/fk.raw 2>&1
        rc=$?
        [ "$rc" -ne 6 ] && break
    done
    echo "$rc"
}
dd if=/dev/zero of=/tmp/fk-zero bs=512 count=1 2>/dev/null

N1=$(paths 0)
N2=$(paths 1)
step 0 "unfence node1 on every path" $F --state-file $S1 unfence --node node1 -d $N1
step 0 "unfence node2 on every path" $F --state-file $S2 unfence --node node2 -d $N2
i=0
while [ $i -lt "$luns" ]; do
    d=$(var FK_LUN${i}_NODE0_SG)
    [ "$(count "$K1" "$d")" = 2 ] && [ "$(count "$K2" "$d")" = 2 ] ||
        fail "LUN $i: not 2 nexuses per node after unfence"
    i=$((i + 1))
done

# --- 1. re-login -------------------------------------------------------------
old_sessions="$FK_LUN0_NODE0_PATH0_SESSION $FK_LUN0_NODE0_PATH1_SESSION"
step 0 "fk-fault relogin 0 (node1: new ISIDs)" fk-fault relogin 0
reload_devices
N1=$(paths 0)
case " $old_sessions " in *" $FK_LUN0_NODE0_PATH0_SESSION "*) fail "no new session" ;; esac
step 2 "status --probe from node1's new nexuses" $F status --probe --node node1 -d $N1
expect "lacks this node's key"
[ "$(grep -c "lacks this node's key" /tmp/fk.out)" = $((luns * 2)) ] ||
    fail "status --probe did not report all $((luns * 2)) new nexuses"
step 24 "node1's own PREEMPT from its new nexus conflicts (517)" \
    sg_persist -n -o -P -T 5 -K "0x$K1" -S "0x$K2" "$FK_LUN0_NODE0_SG"
step 0 "unfence node1 repairs its new nexuses" $F --state-file $S1 unfence --node node1 -d $N1
i=0
while [ $i -lt "$luns" ]; do
    d=$(var FK_LUN${i}_NODE1_SG)
    [ "$(count "$K1" "$d")" = 2 ] || fail "LUN $i: node1 not on exactly its 2 new nexuses"
    [ "$(count "$K2" "$d")" = 2 ] || fail "LUN $i: unfence of node1 touched node2's registrations"
    sg_persist -n -i -r "$d" | grep -q "Key=0x" || fail "LUN $i: no reservation after the repair"
    i=$((i + 1))
done
step 0 "status --probe: nothing lacking now" $F status --probe --node node1 -d $N1
grep -q "lacks this node's key" /tmp/fk.out && fail "still a nexus without the key"
[ "$(write_status "$FK_LUN0_NODE0_SG")" = 0 ] || fail "node1 cannot write after the repair"
echo "re-login repaired: node1 registered on its new nexuses, node2 untouched"

# --- 2. unit-attention storm -------------------------------------------------
i=0
while [ $i -lt "$luns" ]; do
    step 0 "fk-fault ua $i" fk-fault ua $i
    i=$((i + 1))
done
step 0 "status after the storm (unit attentions absorbed)" $F status -d $N1
grep -q "ERROR" /tmp/fk.out && fail "a unit attention surfaced as an error"
i=0
while [ $i -lt "$luns" ]; do
    step 0 "fk-fault ua $i (again, right before the fence)" fk-fault ua $i
    i=$((i + 1))
done

# --- 3. a survivor path lost -------------------------------------------------
# Path 1 of node1 goes offline on every LUN (the device stays, every command
# to it fails at once, as after a transport loss).
lost=
i=0
while [ $i -lt "$luns" ]; do
    d=$(var FK_LUN${i}_NODE0_PATH1_SG)
    lost="$lost $d"
    step 0 "fk-fault offline $d (node1's path 1 to LUN $i)" fk-fault offline "$d"
    i=$((i + 1))
done
step 0 "fence node2 from node1 (PREEMPT AND ABORT) with path 1 lost" \
    $F --state-file $S1 fence --victim node2 --node node1 -d $N1
expect "fence of 0x$K2 complete"
expect "preempt-and-abort"
for d in $lost; do
    grep "$d" /tmp/fk.out | grep -qi "fail\|error" || fail "the lost path $d is not reported as failed"
done
i=0
while [ $i -lt "$luns" ]; do
    for p in 0 1; do
        d=$(var FK_LUN${i}_NODE1_PATH${p}_SG)
        rc=$(write_status "$d")
        [ "$rc" = 24 ] || { cat /tmp/fk.raw; fail "LUN $i: victim path $p ($d) write exit $rc, expected 24"; }
    done
    d=$(var FK_LUN${i}_NODE0_SG)
    [ "$(count "$K2" "$d")" = 0 ] || fail "LUN $i: the victim's key is still registered"
    i=$((i + 1))
done
for d in $lost; do
    step 0 "fk-fault online $d" fk-fault online "$d"
done

# --- 3b. the path the fence uses hangs in the middle of the fence -----------
# Path 0 of node1 (the first path fencectl reads and preempts through) stops
# answering on every LUN: each command on it is abandoned at its deadline
# (--timeout 3, plus 2 s), the keys are read back through path 1 before the
# preempt is sent there, and the fence completes.
step 0 "node2 rejoins" $F --state-file $S2 unfence --node node2 -d $N2
step 0 "fk-fault hang-path 0 0 (node1's path 0 to every LUN stalls)" fk-fault hang-path 0 0
step 0 "fence node2 through the hung path's sibling" \
    fencectl --config $cfg --no-multipath --timeout 3 --state-file $S1 fence --victim node2 --node node1 -d $N1
expect "fence of 0x$K2 complete"
grep "$FK_LUN0_NODE0_PATH0_SG" /tmp/fk.out | grep -qi "timed out\|transport error" ||
    fail "the hung path $FK_LUN0_NODE0_PATH0_SG is not reported"
i=0
while [ $i -lt "$luns" ]; do
    d=$(var FK_LUN${i}_NODE1_SG)
    rc=$(write_status "$d")
    [ "$rc" = 24 ] || { cat /tmp/fk.raw; fail "LUN $i: victim write exit $rc after the fence, expected 24"; }
    [ "$(count "$K2" "$(var FK_LUN${i}_NODE0_PATH1_SG)")" = 0 ] || fail "LUN $i: victim key left"
    i=$((i + 1))
done
step 0 "fk-fault unhang-path 0 0" fk-fault unhang-path 0 0
wait_answers "$FK_LUN0_NODE0_PATH0_SG"
echo "fence completed through path 1 while path 0 hung"
echo "fence through the remaining path: victim refused on every path of every LUN"

# --- 4. the victim's paths all logged out ------------------------------------
N2=$(paths 1)
step 0 "node2 rejoins" $F --state-file $S2 unfence --node node2 -d $N2
step 0 "fk-fault logout 1 (node2 loses every path)" fk-fault logout 1
step 0 "fence node2 while it has no session at all" \
    $F --state-file $S1 fence --victim node2 --node node1 -d $N1
expect "fence of 0x$K2 complete"
i=0
while [ $i -lt "$luns" ]; do
    [ "$(count "$K2" "$(var FK_LUN${i}_NODE0_SG)")" = 0 ] || fail "LUN $i: victim key left"
    i=$((i + 1))
done
step 0 "fk-fault login 1 (node2 back, new ISIDs)" fk-fault login 1
reload_devices
i=0
while [ $i -lt "$luns" ]; do
    d=$(var FK_LUN${i}_NODE1_SG)
    rc=$(write_status "$d")
    [ "$rc" = 24 ] || { cat /tmp/fk.raw; fail "LUN $i: the fenced node writes after its login (exit $rc)"; }
    i=$((i + 1))
done
echo "victim fenced while logged out; refused after it logged in again"

# Clean up.
i=0
while [ $i -lt "$luns" ]; do
    sg_persist -n -o -C -K "0x$K1" "$(var FK_LUN${i}_NODE0_SG)" > /dev/null 2>&1 || fail "clear LUN $i"
    i=$((i + 1))
done
echo "PASS: fencectl under faults ($n steps)"
