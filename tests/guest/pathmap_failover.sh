#!/bin/sh
# Guest test: pathmap's map of a multipath bed through a path failure and
# with a volume group on one map, checked against multipath -ll, multipath
# -l and pvs run side by side. Needs --multipath, 2 nodes, LUNs of 16 MiB
# or more; pathmap on PATH.
#
# Environment: the test bed's device map (scripts/testbed/README.md).
#
# Checks:
#   the tree shows every map with every path, each "map: active ready"
#   a VG made on LUN 0's map shows on LUN 0 (PV, VG, LV) as pvs says, and
#   not on LUN 1; lvm-filter reports it active, and its global_filter,
#   given to pvs, hides it
#   after `echo offline > /sys/block/sdX/device/state` on one path of LUN 1
#   and multipathd failing it: pathmap --multipath-ll == multipath -ll,
#   --no-check == multipath -l, and == multipath -ll again when the states
#   come from `multipathd show paths` (headed and raw); the tree marks the
#   path failed and the unit as having 1 failed path
# Exits 1 on any mismatch, after printing a unified diff or the mismatch.
set -u

. /fk/bin/steps.sh
scratch

# block WWID: the unit's block of the tree in $tmp/tree.
block() { awk -v w="$1" '$1 == w { p = 1 } p && /^$/ { exit } p' "$tmp/tree"; }

luns=${FK_LUNS:?}
nodes=${FK_NODES:?}
[ -n "$(var FK_LUN0_MPATH)" ] || { note "FAIL: run with --multipath"; exit 1; }
[ "$luns" -ge 2 ] || { note "FAIL: needs 2 LUNs"; exit 1; }

i=0
while [ "$i" -lt "$luns" ]; do
	dd if="$(var "FK_LUN${i}_MPATH")" of=/dev/null bs=4k count=1 2>/dev/null
	i=$((i + 1))
done

# --- the tree: every map, every path -----------------------------------
pathmap >"$tmp/tree" 2>"$tmp/tree.err" || bad "pathmap: $(cat "$tmp/tree.err")"
i=0
while [ "$i" -lt "$luns" ]; do
	wwid=$(var "FK_LUN${i}_WWID")
	map=$(var "FK_LUN${i}_MPATH")
	block "$wwid" >"$tmp/b"
	grep -q "^  map ${map#/dev/mapper/} (dm-[0-9]*)$" "$tmp/b" || bad "tree: LUN $i has no line 'map ${map#/dev/mapper/}'"
	j=0
	while [ "$j" -lt "$nodes" ]; do
		hctl=$(var "FK_LUN${i}_NODE${j}_HCTL")
		sd=$(var "FK_LUN${i}_NODE${j}_SD")
		grep -q "^  $hctl  ${sd#/dev/}  .*  running  map: active ready$" "$tmp/b" ||
			bad "tree: LUN $i path $hctl ${sd#/dev/} is not 'running  map: active ready'"
		j=$((j + 1))
	done
	i=$((i + 1))
done
[ "$failed" = 0 ] && note "ok: tree shows $luns maps with $nodes active paths each" || cat "$tmp/tree"

# --- a volume group on LUN 0's map ---------------------------------------
m0=$FK_LUN0_MPATH
pvcreate -q "$m0" >/dev/null && vgcreate -q fkvg "$m0" >/dev/null &&
	lvcreate -q -y -n lv0 -L 4m fkvg >/dev/null || bad "could not make a VG on $m0"
pvs --noheadings -o pv_name,vg_name | awk '$2 == "fkvg" { print $1 }' >"$tmp/pv.want"
[ "$(cat "$tmp/pv.want")" = "$m0" ] || bad "pvs puts fkvg on '$(cat "$tmp/pv.want")', not $m0"
pathmap show "$FK_LUN0_WWID" >"$tmp/show0" 2>&1
grep -q "^  PV $(cat "$tmp/pv.want")  VG fkvg (wz--n-)$" "$tmp/show0" || bad "show LUN 0: no 'PV $m0  VG fkvg'"
grep -q "^      LV lv0  active$" "$tmp/show0" || bad "show LUN 0: no active LV lv0"
grep -q "fkvg-lv0" "$tmp/show0" || bad "show LUN 0: the LV's dm device fkvg-lv0 is not stacked on the map"
pathmap show "$FK_LUN1_WWID" >"$tmp/show1" 2>&1
grep -q "fkvg" "$tmp/show1" && bad "show LUN 1 mentions fkvg, which is on LUN 0"
pathmap show --json "$FK_LUN0_WWID" | grep -q '"vg": "fkvg"' || bad "show --json LUN 0: no \"vg\": \"fkvg\""
pathmap lvm-filter "$FK_LUN0_WWID" >"$tmp/filter" 2>&1
grep -q "^# VG fkvg on $FK_LUN0_WWID: ACTIVE on this host$" "$tmp/filter" || bad "lvm-filter does not report fkvg active"
# The filter, given to LVM, hides the VG: pvs no longer sees it.
filt=$(grep '^global_filter = ' "$tmp/filter")
[ -n "$filt" ] || bad "lvm-filter printed no global_filter line"
pvs --noheadings -o pv_name,vg_name --config "devices { $filt }" >"$tmp/pvs.filtered" 2>&1
if grep -q fkvg "$tmp/pvs.filtered"; then
	bad "with pathmap's global_filter, pvs still sees fkvg:"
	cat "$tmp/filter" "$tmp/pvs.filtered"
fi
pvs --noheadings -o vg_name 2>/dev/null | grep -q fkvg || bad "without the filter pvs does not see fkvg"
if [ "$failed" = 0 ]; then
	note "ok: VG fkvg on ${m0#/dev/mapper/} shows on LUN 0 only, as pvs says"
else
	cat "$tmp/show0" "$tmp/show1"
fi

# --- a path taken offline ------------------------------------------------
sd=$(var FK_LUN1_NODE0_SD)
sd=${sd#/dev/}
echo offline >"/sys/block/$sd/device/state"
n=0
until multipath -ll 2>/dev/null | grep -q " $sd .* failed faulty offline"; do
	n=$((n + 1))
	[ "$n" -gt 30 ] && { bad "multipath -ll does not show $sd failed after 30 s"; break; }
	sleep 1
done
multipath -ll >"$tmp/mp.want" 2>/dev/null
pathmap --multipath-ll >"$tmp/mp.got" 2>"$tmp/mp.err" || bad "pathmap --multipath-ll: $(cat "$tmp/mp.err")"
same_files "multipath -ll with $sd offline" "$tmp/mp.want" "$tmp/mp.got"
multipath -l >"$tmp/mpl.want" 2>/dev/null
pathmap --multipath-ll --no-check >"$tmp/mpl.got" 2>&1
same_files "multipath -l with $sd offline" "$tmp/mpl.want" "$tmp/mpl.got"
grep -q " $sd .*failed faulty offline" "$tmp/mp.got" || bad "pathmap --multipath-ll does not show $sd failed"
# multipathd's own view, captured as text, read back into the map.
multipathd show paths >"$tmp/show" 2>&1
pathmap --multipath-ll --no-check --from-multipathd-paths "$tmp/show" >"$tmp/mpd.got" 2>&1
same_files "multipath -ll from multipathd show paths" "$tmp/mp.want" "$tmp/mpd.got"
fmt='%d %D %t %T %o %p'
multipathd show paths raw format "$fmt" >"$tmp/raw" 2>&1
pathmap --multipath-ll --no-check --from-multipathd-paths "$tmp/raw" --multipathd-raw-format "$fmt" \
	>"$tmp/mpr.got" 2>&1
same_files "multipath -ll from multipathd show paths raw format" "$tmp/mp.want" "$tmp/mpr.got"
pathmap >"$tmp/tree" 2>&1
block "$FK_LUN1_WWID" >"$tmp/b"
grep -q "^  $FK_LUN1_NODE0_HCTL  $sd  .*  offline  map: failed faulty$" "$tmp/b" || bad "tree: $sd is not 'offline  map: failed faulty'"
grep -q "^  map .*  1 failed path(s)$" "$tmp/b" || bad "tree: LUN 1 does not count 1 failed path"
pathmap --json | grep -q '"dm_state": "failed"' || bad "--json: no path with dm_state failed"
if [ "$failed" = 0 ]; then
	note "ok: $sd offline shows failed in pathmap as in multipath -ll"
else
	cat "$tmp/b"
fi

[ "$failed" = 0 ] && note "pathmap_failover: all checks passed"
exit "$failed"
