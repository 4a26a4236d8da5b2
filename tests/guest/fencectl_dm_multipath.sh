#!/bin/sh
# fencectl on device-mapper multipath maps built without multipathd: two
# nodes, each with its own map over two nexuses to the same LUN (dmsetup
# create with an explicit multipath table). unfence registers every path of
# each map; fence removes both of the victim's paths through one preempt;
# a path added to a map afterwards is reported as lacking the key.
# Run by: scripts/testbed/run-in-guest --nodes 5 --luns 1 tests/guest/fencectl_dm_multipath.sh fencectl
set -u
. /fk/bin/steps.sh
devt() { cat "/sys/class/block/$(basename "$1")/dev"; }
sectors() { cat "/sys/class/block/$(basename "$1")/size"; }
# table DEV...: a one-group round-robin multipath table over DEVs.
table() {
    t="0 $(sectors "$1") multipath 0 0 1 1 round-robin 0 $# 1"
    for d in "$@"; do t="$t $(devt "$d") 1000"; done
    echo "$t"
}

P0=$FK_LUN0_NODE0_SD P1=$FK_LUN0_NODE1_SD
P2=$FK_LUN0_NODE2_SD P3=$FK_LUN0_NODE3_SD P4=$FK_LUN0_NODE4_SD
W=$FK_LUN0_WWID
step 0 "node1's map over nexuses 0 and 1" dmsetup create fk1 --uuid "mpath-$W-node1" --table "$(table "$P0" "$P1")"
step 0 "node2's map over nexuses 2 and 3" dmsetup create fk2 --uuid "mpath-$W-node2" --table "$(table "$P2" "$P3")"
dmsetup mknodes 2>/dev/null
step 0 "the maps" dmsetup table

cfg=/tmp/fk-cluster.toml
cat > $cfg <<EOC
cluster = "fkdm"
scheme = "id"
[[node]]
name = "node1"
id = 1
[[node]]
name = "node2"
id = 2
EOC
F="fencectl --config $cfg"
K1=$($F key --node-id 1 | tail -1 | sed 's/^0x//')
K2=$($F key --node-id 2 | tail -1 | sed 's/^0x//')
echo "keys: node1 $K1, node2 $K2"
step 0 "node1 unfences through its map" $F --state-file /tmp/n1.state unfence --node node1 -d /dev/mapper/fk1
step 0 "node2 unfences through its map" $F --state-file /tmp/n2.state unfence --node node2 -d /dev/mapper/fk2
step 0 "four registrations: every path of both maps" sg_persist -n -k "$P0"
[ "$(count_key "$P0" "0x$K1")" -eq 2 ] || fail "node1's key not on both of its paths"
[ "$(count_key "$P0" "0x$K2")" -eq 2 ] || fail "node2's key not on both of its paths"
step 0 "status through node1's map" $F status --node node1 -d /dev/mapper/fk1
step 0 "node1 fences node2 through one path of its map" \
    $F --state-file /tmp/n1.state fence --node node1 --victim node2 -d /dev/mapper/fk1 --preempt-only
expect "complete"
step 0 "node2's registrations are gone from both its paths" sg_persist -n -k "$P0"
[ "$(count_key "$P0" "0x$K2")" -eq 0 ] || fail "node2's key survived the fence"
[ "$(count_key "$P0" "0x$K1")" -eq 2 ] || fail "node1 lost a registration"
sg_turs "$P2" > /dev/null 2>&1 # absorb node2's unit attention
step 24 "node2 cannot write through its map's path" \
    sg_raw -s 512 -i /dev/zero "$P2" 2a 00 00 00 00 00 00 00 01 00

# A path added to node1's map after unfence has no registration.
step 0 "add nexus 4 to node1's map" dmsetup reload fk1 --table "$(table "$P0" "$P1" "$P4")"
step 0 "resume" dmsetup resume fk1
step 2 "status --probe finds the new path without node1's key" \
    $F status --node node1 -d /dev/mapper/fk1 --probe --json
expect "\"$P4\": false"
expect "\"$P0\": true"
step 0 "unfence again registers the new path" $F --state-file /tmp/n1.state unfence --node node1 -d /dev/mapper/fk1
[ "$(count_key "$P0" "0x$K1")" -eq 3 ] || fail "node1's key not on all three paths after unfence"

sg_persist -n -o -C -K "0x$K1" "$P0" > /dev/null
dmsetup remove fk1; dmsetup remove fk2
echo "PASS: fencectl on dm multipath maps ($n steps)"
