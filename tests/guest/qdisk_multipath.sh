#!/bin/sh
# Guest test: a quorum disk created on a multipath map is listed once, under
# the map's /dev/mapper name, and not under its paths.
#
# Environment (the guest test bed's contract):
#   FK_LUN0_MPATH      the map over LUN 0, e.g. /dev/mapper/mpatha
#   FK_LUN0_NODE0_SD   one path of LUN 0, e.g. /dev/sdb
#   FK_LUN0_NODE1_SD   another path of LUN 0, e.g. /dev/sdc
# qdisk must be on PATH. The first 72 KiB of LUN 0 are overwritten.
set -eu

MAP=${FK_LUN0_MPATH:?}
P0=${FK_LUN0_NODE0_SD:?}
P1=${FK_LUN0_NODE1_SD:?}
LABEL=fk-mpath-$$

fail() { echo "FAIL: $*" >&2; exit 1; }

qdisk create -l "$LABEL" --yes --force "$MAP"

out=$(qdisk list)
echo "$out"
n=$(printf '%s\n' "$out" | grep -c "^$MAP:\$" || true)
[ "$n" -eq 1 ] || fail "$MAP listed $n times, expected once"
for p in "$P0" "$P1"; do
	if printf '%s\n' "$out" | grep -q "^$p:\$"; then
		fail "path $p listed besides its map"
	fi
done
n=$(printf '%s\n' "$out" | grep -c "Label: *$LABEL\$" || true)
[ "$n" -eq 1 ] || fail "label $LABEL listed $n times, expected once"

found=$(qdisk find "$LABEL")
[ "$found" = "$MAP" ] || fail "find gave '$found', expected '$MAP'"

qdisk list --json | grep -q "\"multipath\": true" || fail "JSON does not mark the map as multipath"
echo "ok: $MAP listed once, under its map name"
