#!/bin/sh
# Guest test: vmguest-attach plan on a real LUN of the LIO guest bed (two
# tcm_loop nexuses to one LUN, seen as one host's two paths, multipath): the LUN is resolved from
# each of its names (WWID, map, by-path, sd, H:C:T:L) to the same unit; map
# mode gives the map's persistent dm-uuid name with managed reservations;
# paths mode gives each path's by-path name and is refused until
# `vmguest-attach hide` has blacklisted the WWID in multipath.conf, filtered
# the LUN's names in lvm.conf and flushed the map.
# No libvirt in the guest: the domain is a definition file (node1.xml).
# Files: vmguest-attach, steps.sh, node1.xml.
set -u
. /fk/bin/steps.sh
W=$FK_LUN0_WWID
M=$FK_LUN0_MPATH
P0=$FK_LUN0_NODE0_BYPATH
P1=$FK_LUN0_NODE1_BYPATH
D="--domain-xml /fk/bin/node1.xml --lvm-conf /nonexistent/lvm.conf"
for name in "$W" "$M" "${M#/dev/mapper/}" "$P0" "$FK_LUN0_NODE1_SD" "$FK_LUN0_NODE0_HCTL"; do
    step 0 "plan by $name" vmguest-attach $D plan node1 "$name" --json
    expect "\"wwid\": \"$W\""
    expect "\"mode\": \"map\""
    expect "dm-uuid-mpath-$W"
    expect "reservations managed=..yes"
    expect "\"serial\": \"$FK_LUN0_SERIAL\""
done
echo "ok: every name of the LUN resolves to $W, map mode"
step 4 "paths mode: refused while the host multipaths the WWID and LVM scans the paths" \
    vmguest-attach $D plan node1 "$W" --mode paths --json
expect "$P0"
expect "$P1"
expect '"rule": "mapped-and-paths"'
expect '"rule": "not-lvm-filtered"'

# The hygiene the rules ask for, written by vmguest-attach hide (the map
# flushed by --reload); LVM's file is a copy so the bed's own stays.
cp /etc/lvm/lvm.conf /tmp/lvm.conf
step 0 "hide --apply --reload" vmguest-attach --lvm-conf /tmp/lvm.conf hide --apply --reload "$W"
until_ok 20 sh -c "! dmsetup info ${M#/dev/mapper/} > /dev/null 2>&1" || fail "the map is still there"
step 0 "paths mode once hidden" \
    vmguest-attach --domain-xml /fk/bin/node1.xml --lvm-conf /tmp/lvm.conf \
    plan node1 "$W" --mode paths --json
expect "$P0"
expect "$P1"
expect "\"mode\": \"paths\""
echo "vm_plan: all checks passed"
