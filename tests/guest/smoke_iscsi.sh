#!/bin/sh
# Smoke test of the iSCSI fabric and of fk-fault, with sg3-utils, dd and
# multipath-tools only (no fencekit program).
# Run by: scripts/testbed/run-in-guest --fabric iscsi --nodes 2 --luns 2
#         --paths-per-node 2 --multipath tests/guest/smoke_iscsi.sh steps.sh
set -u
. /fk/bin/steps.sh

[ "$FK_FABRIC" = iscsi ] || fail "FK_FABRIC is '$FK_FABRIC'"
[ "$FK_PATHS" = 2 ] || fail "FK_PATHS is '$FK_PATHS'"

# The device map: every path of every node, distinct, with udev's by-path
# name pointing at its sd node and its own iSCSI session.
seen=" "
i=0
while [ $i -lt "$FK_LUNS" ]; do
    j=0
    while [ $j -lt "$FK_NODES" ]; do
        p=0
        while [ $p -lt "$FK_PATHS" ]; do
            pre=FK_LUN${i}_NODE${j}_PATH${p}
            sd=$(var ${pre}_SD) sg=$(var ${pre}_SG) bp=$(var ${pre}_BYPATH) s=$(var ${pre}_SESSION)
            [ -n "$sd" ] && [ -n "$sg" ] && [ -n "$bp" ] && [ -n "$s" ] || fail "$pre incomplete"
            case "$seen" in *" $sd "*) fail "$sd appears twice" ;; esac
            seen="$seen$sd "
            [ "$(readlink -f "$bp")" = "$sd" ] || fail "$bp does not point at $sd"
            case "$bp" in */ip-127.0.0.1:*-iscsi-iqn.2024-01.org.fencekit:testbed.lun$i-lun-0) ;;
                *) fail "by-path name $bp is not udev's iSCSI form" ;; esac
            read -r ini < /sys/class/iscsi_session/$s/initiatorname
            [ "$ini" = "$(var FK_NODE${j}_IQN)" ] || fail "$s belongs to $ini, not node $j"
            p=$((p + 1))
        done
        [ "$(var FK_LUN${i}_NODE${j}_SD)" = "$(var FK_LUN${i}_NODE${j}_PATH0_SD)" ] ||
            fail "FK_LUN${i}_NODE${j}_SD is not path 0"
        j=$((j + 1))
    done
    i=$((i + 1))
done
echo "device map: $FK_LUNS LUNs x $FK_NODES nodes x $FK_PATHS paths, all distinct"

M=$FK_LUN0_MPATH
step 0 "node 0's map of LUN 0 has its 2 paths" multipath -ll "$M"
[ "$(grep -c 'active ready running' /tmp/fk.out)" = 2 ] || fail "map $M: not 2 active paths"
grep -q "${FK_LUN0_NODE1_SD#/dev/} " /tmp/fk.out && fail "node 1's path is in node 0's map"
[ "$FK_LUN0_NODE0_MPATH" = "$M" ] || fail "FK_LUN0_NODE0_MPATH is not node 0's map"
M1=$FK_LUN0_NODE1_MPATH
step 0 "node 1's own map of LUN 0" dmsetup table "${M1#/dev/mapper/}"
for sd in $FK_LUN0_NODE1_PATH0_SD $FK_LUN0_NODE1_PATH1_SD; do
    read -r mm < "/sys/block/${sd#/dev/}/dev"
    expect " $mm "
done
echo "node 1's map $M1 holds its two paths"

# Every session is its own nexus: register through every path of LUN 0.
A0=$FK_LUN0_NODE0_PATH0_SG A1=$FK_LUN0_NODE0_PATH1_SG B0=$FK_LUN0_NODE1_PATH0_SG B1=$FK_LUN0_NODE1_PATH1_SG
for d in $A0 $A1; do step 0 "node 0 registers 0xa1 on $d" sg_persist -n -o -G -S 0xa1 "$d"; done
for d in $B0 $B1; do step 0 "node 1 registers 0xb2 on $d" sg_persist -n -o -G -S 0xb2 "$d"; done
step 0 "reserve" sg_persist -n -o -R -T 5 -K 0xa1 "$A0"
step 0 "READ FULL STATUS: four nexuses" sg_persist -n -i -s "$A0"
[ "$(grep -c 'Key=' /tmp/fk.out)" = 4 ] || fail "not four registrations"
grep -o "$FK_NODE0_IQN,i,0x[0-9a-f]*" /tmp/fk.out | sort > /tmp/isid.before
[ "$(wc -l < /tmp/isid.before)" = 2 ] || fail "node 0 has not two ISIDs"
sessions_before="$FK_LUN0_NODE0_PATH0_SESSION $FK_LUN0_NODE0_PATH1_SESSION"

# relogin: node 0's sessions get new ISIDs; its registrations stay with the
# old (now absent) nexuses, so its new sessions are not registered.
step 0 "fk-fault relogin 0" fk-fault relogin 0
reload_devices
for s in $FK_LUN0_NODE0_PATH0_SESSION $FK_LUN0_NODE0_PATH1_SESSION; do
    case " $sessions_before " in *" $s "*) fail "session $s survived the relogin" ;; esac
done
# The registrations stay with the old nexuses (the old ISIDs).
step 0 "READ FULL STATUS after the relogin" sg_persist -n -i -s "$B0"
grep -o "$FK_NODE0_IQN,i,0x[0-9a-f]*" /tmp/fk.out | sort > /tmp/isid.after
cmp -s /tmp/isid.before /tmp/isid.after || fail "registrations changed by the relogin"
# The new nexus is not registered: a PR OUT with node 0's key from it is a
# reservation conflict (fence-agents issue 517). (LIO still lets its writes
# through: it checks write access per initiator name, not per nexus.)
step 24 "node 0's PREEMPT from its new nexus conflicts" \
    sg_persist -n -o -P -T 5 -K 0xa1 -S 0xb2 "$FK_LUN0_NODE0_SG"
step 0 "node 0 registers its new nexus (REGISTER AND IGNORE)" sg_persist -n -o -I -S 0xa1 "$FK_LUN0_NODE0_SG"
step 0 "READ FULL STATUS: five registrations now" sg_persist -n -i -s "$B0"
[ "$(grep -c 'Key=' /tmp/fk.out)" = 5 ] || fail "not five registrations"
step 0 "clear (node 1)" sg_persist -n -o -C -K 0xb2 "$B0"

# logout / login of one path.
old=$FK_LUN0_NODE1_PATH1_SESSION
step 0 "fk-fault logout 1 1" fk-fault logout 1 1
reload_devices
[ -z "$(var FK_LUN0_NODE1_PATH1_SD)" ] || fail "path 1 of node 1 still in the map"
[ -e "/sys/class/iscsi_session/$old" ] && fail "session $old still there"
[ -n "$(var FK_LUN0_NODE1_PATH0_SD)" ] || fail "path 0 of node 1 lost too"
step 0 "fk-fault login 1 1" fk-fault login 1 1
reload_devices
[ -n "$(var FK_LUN0_NODE1_PATH1_SD)" ] || fail "path 1 of node 1 not back"
step 0 "path 1 of node 1 answers again" sg_turs "$FK_LUN0_NODE1_PATH1_SG"

# offline / online.
D=$FK_LUN1_NODE1_SG
step 0 "fk-fault offline $D" fk-fault offline "$D"
sg_turs "$D" > /tmp/fk.out 2>&1 && fail "TEST UNIT READY succeeds on an offline device"
step 0 "fk-fault online $D" fk-fault online "$D"
step 0 "TEST UNIT READY after online" sg_turs "$D"

# error / unerror: I/O fails, PR still answers.
step 0 "fk-fault error 1" fk-fault error 1
dd if="$FK_LUN1_NODE0_SD" of=/dev/null bs=4096 count=1 iflag=direct > /tmp/fk.out 2>&1 &&
    fail "read from an erroring LUN succeeded"
step 0 "PR IN still answers on the erroring LUN" sg_persist -n -i -k "$FK_LUN1_NODE0_SG"
step 0 "fk-fault unerror 1" fk-fault unerror 1
step 0 "read after unerror" dd if="$FK_LUN1_NODE0_SD" of=/dev/null bs=4096 count=1 iflag=direct

# ua: every nexus of LUN 1 gets a unit attention.
step 0 "fk-fault ua 1" fk-fault ua 1
for d in $FK_LUN1_NODE0_SG $FK_LUN1_NODE1_SG; do
    sg_turs "$d" > /tmp/fk.out 2>&1
    rc=$?
    [ "$rc" = 6 ] || { cat /tmp/fk.out; fail "no unit attention on $d after fk-fault ua (exit $rc)"; }
done
echo "unit attention on every nexus of LUN 1"

# hang / unhang: a command to the hung LUN does not return; after unhang the
# session recovers and it answers.
step 0 "fk-fault hang 1" fk-fault hang 1
t0=$(date +%s)
timeout 8 sg_persist -n -i -k "$FK_LUN1_NODE0_SG" > /tmp/fk.out 2>&1
rc=$?
[ "$rc" = 124 ] || { cat /tmp/fk.out; fail "PR IN on a hung LUN returned (exit $rc) instead of stalling"; }
echo "PR IN on the hung LUN stalled for $(( $(date +%s) - t0 )) s (killed by timeout)"
step 0 "LUN 0 still answers while LUN 1 hangs" sg_persist -n -i -k "$FK_LUN0_NODE0_SG"
step 0 "fk-fault unhang 1" fk-fault unhang 1
wait_answers "$FK_LUN1_NODE0_SG"
echo "LUN 1 answers again after unhang"
echo "PASS: iscsi fabric and faults ($n steps)"
