#!/bin/sh
# Guest test (issue 15): Pacemaker drives fencectl as a stonith device in
# place of fence_scsi. iSCSI fabric, 2 LUNs, 2 nodes with 2 paths each,
# multipath: bed node 0 is cluster node node1 (its maps FK_LUN<i>_MPATH),
# bed node 1 is node2, which is not in the cluster and is registered by
# hand. A one-node corosync and Pacemaker cluster (fk-pacemaker) runs on
# node1; fencectl is /usr/sbin/fence_fencekit (a link, as installed), and
# the stonith resource is created with cibadmin with exactly a fence_scsi
# resource's parameters: devices=<node1's maps>, pcmk_host_list, meta
# provides=unfencing. The keys come from /etc/fencekit/cluster.toml (node1
# id 1, node2 id 2), in fence_scsi's id form.
# Everything on the units is checked with sg_persist and sg_raw.
# Run by: scripts/testbed/run-in-guest --pacemaker --fabric iscsi --nodes 2
#   --paths-per-node 2 --luns 2 --multipath tests/guest/pacemaker_fence.sh
#   fencectl steps.sh
set -u
. /fk/bin/steps.sh

cluster=fkpcmk
[ "$FK_FABRIC" = iscsi ] && [ "$FK_LUNS" -ge 2 ] && [ -n "${FK_LUN1_MPATH:-}" ] ||
    fail "needs the iSCSI fabric, 2 LUNs and --multipath"
trap 'status=$?; [ $status -ne 0 ] && { echo "--- cluster logs"; fk-pacemaker logs 40; }' EXIT

# fence_scsi's id form of the key of node id N in cluster C:
# "%.4s%.4d" % (md5(C), N),
# as sg_persist prints it (0x, lower-case hex, no leading zeros).
md=$(printf %s "$cluster" | md5sum | cut -c1-4)
K1=$(printf '0x%x' "0x${md}0001")
K2=$(printf '0x%x' "0x${md}0002")
echo "keys: node1 $K1, node2 $K2"

mkdir -p /etc/fencekit
cluster_toml /etc/fencekit/cluster.toml "$cluster"
ln -s /fk/bin/fencectl /usr/sbin/fence_fencekit

# Every path of each LUN, per node (sg nodes).
P1="" P2=""
for i in 0 1; do
    for p in 0 1; do
        P1="$P1 $(var FK_LUN${i}_NODE0_PATH${p}_SG)"
        P2="$P2 $(var FK_LUN${i}_NODE1_PATH${p}_SG)"
    done
done
DEVICES="$FK_LUN0_MPATH,$FK_LUN1_MPATH"
echo "node1 paths:$P1; node2 paths:$P2; devices=$DEVICES"

# READ FULL STATUS of a LUN: "KEY INITIATOR,i,ISID" per registration.
regs() {
    sg_persist -n -i -s "$1" | awk '
        /Key=/ { k = $1; sub(/.*Key=/, "", k) }
        match($0, /iqn\.[^ ,]*,i,0x[0-9a-fA-F]+/) { print tolower(k), substr($0, RSTART, RLENGTH) }'
}
# on_every_path KEY J: KEY registered through each of bed node J's 2
# nexuses (its initiator name, 2 ISIDs) on both LUNs.
on_every_path() {
    for i in 0 1; do
        regs "$(var FK_LUN${i}_NODE0_SG)" > /tmp/regs
        c=$(grep -c "^$1 $(var FK_NODE$2_IQN)," /tmp/regs)
        [ "$c" -eq 2 ] || { cat /tmp/regs; fail "LUN $i: $1 on $c of bed node $2's 2 nexuses"; }
    done
}

step 0 "corosync and pacemaker on node1" fk-pacemaker start node1 "$cluster"
step 0 "the cluster" crm_mon -1
expect "Current DC: node1"

step 0 "stonith_admin --list-installed" stonith_admin --list-installed
expect "^ *fence_fencekit$"

step 0 "stonith_admin --metadata -a fence_fencekit" stonith_admin --metadata -a fence_fencekit
cp "$FK_OUT" /tmp/metadata.xml
step 0 "the metadata parses" xmllint --noout /tmp/metadata.xml
step 0 "resource-agent fence_fencekit" xmllint --xpath 'string(/resource-agent/@name)' /tmp/metadata.xml
expect "^fence_fencekit$"
for p in devices plug key key_value aptpl; do
    step 0 "parameter $p" xmllint --xpath "count(//parameters/parameter[@name='$p'])" /tmp/metadata.xml
    expect "^1$"
done
step 0 "action on: on_target, automatic (unfencing)" \
    xmllint --xpath "count(//actions/action[@name='on'][@on_target='1'][@automatic='1'])" /tmp/metadata.xml
expect "^1$"
for a in off status monitor; do
    step 0 "action $a" xmllint --xpath "count(//actions/action[@name='$a'])" /tmp/metadata.xml
    expect "^1$"
done

# A fence_scsi resource's parameters, with fence_fencekit as the type.
step 0 "stonith-enabled=true" crm_attribute -t crm_config -n stonith-enabled -v true
step 0 "create the stonith resource" cibadmin -C -o resources -X "
<primitive id=\"fk-scsi\" class=\"stonith\" type=\"fence_fencekit\">
  <instance_attributes id=\"fk-scsi-ia\">
    <nvpair id=\"fk-scsi-devices\" name=\"devices\" value=\"$DEVICES\"/>
    <nvpair id=\"fk-scsi-hosts\" name=\"pcmk_host_list\" value=\"node1 node2\"/>
  </instance_attributes>
  <meta_attributes id=\"fk-scsi-meta\">
    <nvpair id=\"fk-scsi-provides\" name=\"provides\" value=\"unfencing\"/>
  </meta_attributes>
</primitive>"
step 0 "crm_verify -L" crm_verify -L
step 0 "the fence daemon registers fk-scsi" fk-pacemaker wait-device fk-scsi 90
step 0 "stonith_admin --list-registered" stonith_admin --list-registered
expect "fk-scsi"

step 0 "stonith_admin --unfence node1" stonith_admin --unfence node1
on_every_path "$K1" 0
step 0 "node1 holds the reservation, write exclusive registrants only" sg_persist -n -i -r "$FK_LUN0_NODE0_SG"
expect -i "key=$K1"
expect -i "write exclusive, registrants only"
echo "node1's key $K1 is on each of node1's 4 nexuses"

for d in $P2; do
    step 0 "node2 registers $K2 through $d" sg_persist -n -o -G -S "$K2" "$d"
done
on_every_path "$K2" 1
echo "node2's key $K2 is on each of node2's 4 nexuses"

step 0 "stonith_admin --fence node2" stonith_admin --fence node2
for i in 0 1; do
    step 0 "LUN $i: keys" sg_persist -n -i -k "$(var FK_LUN${i}_NODE0_SG)"
    reject -i "$K2\$"
    expect -i "$K1\$"
    step 0 "LUN $i: reservation" sg_persist -n -i -r "$(var FK_LUN${i}_NODE0_SG)"
    expect -i "key=$K1"
done
# LIO queues the unit attention of the preempt once per initiator and LUN:
# the first of node2's paths to a LUN asked gets it (exit 6), then every
# WRITE(10) is a reservation conflict (24).
for d in $P2; do
    n=$((n + 1))
    for try in 1 2 3; do
        write "$d" > "$FK_OUT" 2>&1
        rc=$?
        [ "$rc" -ne 6 ] && break
    done
    echo "--- $n. node2's WRITE(10) through $d: exit $rc"
    [ "$rc" -eq 24 ] || { cat "$FK_OUT"; fail "node2's write through $d: exit $rc, expected 24"; }
done
echo "node2's writes are refused on all 4 of its paths"

step 0 "stonith_admin --history node2" stonith_admin --history node2
expect "turning off of node2 successful: delegate=node1"

# A node whose key nobody holds: fence_scsi finds it off on every device
# and says "Success: Already OFF" (exit 0); so does the agent, and the
# cluster records another success.
sg_persist -n -i -k "$FK_LUN0_NODE0_SG" > /tmp/keys.before
step 0 "stonith_admin --fence node2 again" stonith_admin --fence node2
sg_persist -n -i -k "$FK_LUN0_NODE0_SG" > /tmp/keys.after
cmp -s /tmp/keys.before /tmp/keys.after || { cat /tmp/keys.before /tmp/keys.after; fail "the second fence changed the keys"; }
# The history folds repeated successes into one entry; the fence daemon's
# log has each result.
step 0 "stonith_admin --history node2" stonith_admin --history node2
expect "turning off of node2 successful: delegate=node1"
[ "$(grep -c "Operation 'off' targeting node2 by node1 for stonith_admin.*: OK" /var/log/pacemaker/pacemaker.log)" -eq 2 ] ||
    fail "pacemaker-fenced did not log two successful fences of node2"
printf 'action=off\nnodename=node2\nport=node2\ndevices=%s\n' "$DEVICES" > /tmp/off.in
step 0 "the agent as fenced calls it, for node2" sh -c 'fence_fencekit < /tmp/off.in'
expect "^Success: Already OFF$"

echo "PASS: pacemaker_fence"
