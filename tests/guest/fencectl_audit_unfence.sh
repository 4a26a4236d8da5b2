#!/bin/sh
# Guest test (issue 11, item 8): unfence never fences someone else. node1
# and node2 are configured with the same key by mistake. node2 unfences
# through its nexus; node1's unfence then finds the key registered, and
# READ FULL STATUS shows it held through node2's initiator port, which is
# not one of node1's: it refuses (exit 4), names that port, and sends
# nothing (sg_persist -s shows node2's registration and reservation as
# before). Then node2 unfences again (a re-join through its own nexus: the
# self-preempt is allowed).
# Run by: scripts/testbed/run-in-guest --nodes 2 --luns 1 tests/guest/fencectl_audit_unfence.sh fencectl steps.sh
set -u
. /fk/bin/steps.sh

A=$(dev "$FK_LUN0_NODE0_SG")
B=$(dev "$FK_LUN0_NODE1_SG")
cfg=/tmp/fk-cluster.toml
cluster_toml "$cfg" fkaudit
# Each host's own configuration gave it this key: one key, two hosts.
K=0x6c9d0042
F="fencectl --config $cfg --no-multipath"

step 0 "unfence node2" $F --state-file /tmp/s2 unfence --key $K -d "$B"
sg_persist -n -i -s "$A" > /tmp/fs.before 2>&1 || fail "sg_persist -s"
cat /tmp/fs.before
port=$(sed -n 's/.*SAS address: 0x//p' /tmp/fs.before | head -1)
[ -n "$port" ] || fail "no SAS address in READ FULL STATUS"
step 4 "unfence node1 with the same key" $F --state-file /tmp/s1 unfence --key $K -d "$A"
expect "refused: .*initiator port sas,$port"
sg_persist -n -i -s "$A" > /tmp/fs.after 2>&1 || fail "sg_persist -s"
cmp -s /tmp/fs.before /tmp/fs.after || { cat /tmp/fs.after; fail "node1's unfence changed the unit"; }
step 0 "node2 unfences again (its own nexus)" $F --state-file /tmp/s2 unfence --key $K -d "$B"
expect "re-registered after self-preempt"
echo "PASS: fencectl_audit_unfence"
