#!/bin/sh
# prkeys on a dm-multipath map: registration reaches every path (checked
# through each path with sg_persist -k), reads go through one path, and
# unregistration removes the key from every path again. For contrast,
# sg_persist on the map registers through one path only.
# Run by: scripts/testbed/run-in-guest --nodes 2 --luns 1 --multipath tests/guest/prkeys_multipath.sh prkeys
set -u
M=$FK_LUN0_MPATH
P0=$FK_LUN0_NODE0_SD
P1=$FK_LUN0_NODE1_SD
. /fk/bin/steps.sh
echo "map $M over $P0 and $P1"
multipath -ll || fail "multipath -ll"


echo "\$ prkeys register --key 0x5151 $M"
prkeys register --key 0x5151 "$M" || fail "register on the map"
for p in "$P0" "$P1"; do
    c=$(count_key "$p" 0x5151)
    echo "$p: key 0x5151 seen $c time(s) through this path"
done
sg_persist -n -k "$P0"
# Two I_T nexuses registered: READ KEYS (through any path) lists the key twice.
[ "$(count_key "$P0" 0x5151)" -eq 2 ] || fail "key not registered on both paths"
[ "$(count_key "$P1" 0x5151)" -eq 2 ] || fail "path $P1 does not see both registrations"

echo "\$ prkeys keys --json $M"
prkeys keys --json "$M" > /tmp/k.json || fail "read keys through the map"
cat /tmp/k.json
grep -q '"kind": "multipath"' /tmp/k.json || fail "map not reported as multipath"
grep -q '"0x5151"' /tmp/k.json || fail "key missing from the map's keys"
echo "\$ prkeys keys $M"
prkeys keys "$M" || fail "read keys (text)"

echo "\$ prkeys reserve --key 0x5151 --type wero $M"
prkeys reserve --key 0x5151 --type wero "$M" || fail "reserve through the map"
prkeys reservation "$M" | tee /tmp/r.txt
grep -q "reserved by key 0x5151" /tmp/r.txt || fail "reservation not seen through the map"
# Both paths are registrants, so I/O through the map works on either path.
dd if=/dev/zero of="$M" bs=4096 count=1 oflag=direct 2>/dev/null || fail "write through the reserved map"

echo "\$ prkeys release --key 0x5151 --type wero $M"
prkeys release --key 0x5151 --type wero "$M" || fail "release"
echo "\$ prkeys unregister --key 0x5151 $M"
prkeys unregister --key 0x5151 "$M" || fail "unregister on every path"
[ "$(count_key "$P0" 0x5151)" -eq 0 ] || fail "key left behind after unregister"

echo "--- contrast: sg_persist on the map registers one path only"
sg_persist -n -o -I -S 0x6262 "$M" || fail "sg_persist register on the map"
n=$(count_key "$P0" 0x6262)
echo "sg_persist on $M: key registered through $n path(s)"
[ "$n" -eq 1 ] || fail "expected sg_persist to register one path, got $n"
prkeys clear --key 0x6262 "$M" || fail "clear"
echo "prkeys multipath test passed"
