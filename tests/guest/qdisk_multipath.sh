#!/bin/sh
# Guest test: a quorum disk created on a multipath map is listed once, under
# the map's /dev/mapper name and not under its paths, and each node's path
# (one tcm_loop nexus per node) reads the same quorum disk.
#
# Environment (the guest test bed's contract, scripts/testbed/README.md):
#   FK_NODES               number of nexuses (nodes), at least 2
#   FK_LUN0_MPATH          the map over LUN 0, e.g. /dev/mapper/mpatha
#   FK_LUN0_NODE<j>_SD     node j's path to LUN 0, e.g. /dev/sdb
# qdisk and steps.sh must be on PATH. The first 72 KiB of LUN 0 are overwritten.
set -eu

MAP=${FK_LUN0_MPATH:?run with --multipath}
NODES=${FK_NODES:?}
LABEL=fk-mpath-$$

. /fk/bin/steps.sh
path_of() { eval "printf '%s' \"\${FK_LUN0_NODE$1_SD:?}\""; }

[ "$NODES" -ge 2 ] || fail "needs at least 2 nodes, have $NODES"

qdisk create -l "$LABEL" --yes --force "$MAP" >/tmp/create.out ||
	fail "create on $MAP: exit $?: $(cat /tmp/create.out)"
grep -q "^created quorum disk '$LABEL' on $MAP: 17 blocks" /tmp/create.out ||
	fail "create said: $(cat /tmp/create.out)"

# A path under the map is in use by the map: create must refuse it.
P0=$(path_of 0)
if qdisk create -l other --yes --force "$P0" >/tmp/o 2>&1; then
	fail "create on $P0, a path held by $MAP, succeeded"
else
	rc=$?
fi
[ "$rc" -eq 4 ] || fail "create on held path $P0: exit $rc, expected 4 (refused): $(cat /tmp/o)"
grep -q "held by" /tmp/o || fail "create on held path $P0 does not say why: $(cat /tmp/o)"

qdisk list >/tmp/list.out 2>/tmp/list.err || fail "list: exit $?: $(cat /tmp/list.err)"
cat /tmp/list.out
[ ! -s /tmp/list.err ] || fail "list complained: $(cat /tmp/list.err)"
n=$(grep -c "^$MAP:\$" /tmp/list.out || true)
[ "$n" -eq 1 ] || fail "$MAP listed $n times, expected once"
n=$(grep -c "^/dev/" /tmp/list.out || true)
[ "$n" -eq 1 ] || fail "$n devices listed, expected 1 (the map)"
n=$(grep -c "Label: *$LABEL\$" /tmp/list.out || true)
[ "$n" -eq 1 ] || fail "label $LABEL listed $n times, expected once"

found=$(qdisk find "$LABEL") || fail "find $LABEL: exit $?"
[ "$found" = "$MAP" ] || fail "find gave '$found', expected '$MAP'"

json=$(qdisk list --json)
printf '%s\n' "$json" | grep -q "\"device\": \"$MAP\"" || fail "JSON does not name $MAP: $json"
printf '%s\n' "$json" | grep -q '"multipath": true' || fail "JSON does not mark the map as multipath: $json"
printf '%s\n' "$json" | grep -q '"kernel_name": "dm-' || fail "JSON kernel name is not a dm device: $json"

# Every node's own path reads the quorum disk written through the map.
j=0
while [ "$j" -lt "$NODES" ]; do
	p=$(path_of "$j")
	qdisk dump "$p" >/tmp/dump.out 2>&1 || fail "dump through node $j's path $p: exit $?: $(cat /tmp/dump.out)"
	grep -q "Label: *$LABEL\$" /tmp/dump.out || fail "node $j's path $p does not show $LABEL: $(cat /tmp/dump.out)"
	echo "ok: node $j's path $p reads label $LABEL"
	j=$((j + 1))
done

echo "ok: $MAP listed once, under its map name"
echo "qdisk multipath test passed"
