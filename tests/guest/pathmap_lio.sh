#!/bin/sh
# Guest test: pathmap against the reference tools on real LIO (tcm_loop)
# logical units. Runs in the guest test bed with pathmap on PATH; lsscsi
# and multipath are part of the guest.
#
# Environment (set by the test bed, scripts/testbed/README.md):
#   FK_LUNS, FK_NODES            number of units and of nexuses per unit
#   FK_LUN<i>_WWID               the unit's WWID (udev form, 3<naa>)
#   FK_LUN<i>_SERIAL             its unit serial number
#   FK_LUN<i>_MPATH              its multipath map, /dev/mapper/NAME (unset:
#                                no --multipath)
#   FK_LUN<i>_NODE<j>_SD/_SG     the j-th path's /dev/sdX and /dev/sgN
#   FK_LUN<i>_NODE<j>_BYPATH     its /dev/disk/by-path link
#   FK_LUN<i>_NODE<j>_HCTL       its H:C:T:L
# Indices start at 0.
#
# Checks:
#   pathmap --lsscsi             == lsscsi
#   pathmap --lsscsi -g -i       == lsscsi -g -i
#   pathmap --lsscsi -k -g       == lsscsi -k -g
#   with maps: multipath -ll, parsed and rendered by pathmap, == multipath
#   -ll; pathmap --multipath-ll == multipath -ll; pathmap --multipath-ll
#   --no-check == multipath -l, also from captured dmsetup table/status
#   resolve, show and by-path names in the model == the environment
# Exits 1 on any mismatch, after printing a unified diff or the mismatch.
set -u

. /fk/bin/steps.sh
scratch

for t in pathmap lsscsi; do
	command -v "$t" >/dev/null 2>&1 || { note "FAIL: $t is not on PATH"; exit 1; }
done

luns=${FK_LUNS:?}
nodes=${FK_NODES:?}

lsscsi >"$tmp/l.want" 2>&1
pathmap --lsscsi >"$tmp/l.got" 2>&1
n=$(grep -c 'LIO-ORG' "$tmp/l.want")
[ "$n" -eq $((luns * nodes)) ] || bad "lsscsi shows $n LIO devices, expected $((luns * nodes))"
same_files "lsscsi" "$tmp/l.want" "$tmp/l.got"

lsscsi -g -i >"$tmp/lgi.want" 2>&1
pathmap --lsscsi -g -i >"$tmp/lgi.got" 2>&1
grep -q "$FK_LUN0_WWID" "$tmp/lgi.want" || bad "lsscsi -g -i does not show $FK_LUN0_WWID"
same_files "lsscsi -g -i" "$tmp/lgi.want" "$tmp/lgi.got"

lsscsi -k -g >"$tmp/lkg.want" 2>&1
pathmap --lsscsi -k -g >"$tmp/lkg.got" 2>&1
same_files "lsscsi -k -g" "$tmp/lkg.want" "$tmp/lkg.got"

if [ -n "$(var FK_LUN0_MPATH)" ]; then
	# A map's first read makes its path group active; read each once so
	# that the group states hold still while the views are compared.
	i=0
	while [ "$i" -lt "$luns" ]; do
		dd if="$(var "FK_LUN${i}_MPATH")" of=/dev/null bs=4k count=1 2>/dev/null
		i=$((i + 1))
	done
	multipath -ll >"$tmp/mp.want" 2>/dev/null
	n=$(grep -c 'active ready running' "$tmp/mp.want")
	[ "$n" -eq $((luns * nodes)) ] || bad "multipath -ll shows $n active paths, expected $((luns * nodes))"
	if pathmap --from-multipath-ll "$tmp/mp.want" --multipath-ll >"$tmp/mp.got" 2>"$tmp/mp.err"; then
		same_files "multipath -ll (parse and render)" "$tmp/mp.want" "$tmp/mp.got"
	else
		bad "pathmap cannot parse multipath -ll: $(cat "$tmp/mp.err")"
		cat "$tmp/mp.want"
	fi
	# The live view: sysfs, device-mapper's tables and status, and the
	# paths' own answers (TEST UNIT READY, REPORT TARGET PORT GROUPS).
	pathmap --multipath-ll >"$tmp/mps.got" 2>"$tmp/mps.err" || bad "pathmap --multipath-ll: $(cat "$tmp/mps.err")"
	same_files "multipath -ll (live)" "$tmp/mp.want" "$tmp/mps.got"
	multipath -l >"$tmp/mpl.want" 2>/dev/null
	pathmap --multipath-ll --no-check >"$tmp/mpl.got" 2>"$tmp/mpl.err" || bad "pathmap --no-check: $(cat "$tmp/mpl.err")"
	same_files "multipath -l (live, no checks)" "$tmp/mpl.want" "$tmp/mpl.got"
	# A support bundle: the same maps from dmsetup's text.
	dmsetup table >"$tmp/dm.table"
	dmsetup status >"$tmp/dm.status"
	pathmap --multipath-ll --no-check --dmsetup-table "$tmp/dm.table" --dmsetup-status "$tmp/dm.status" \
		>"$tmp/mpd.got" 2>"$tmp/mpd.err" || bad "pathmap --dmsetup-table: $(cat "$tmp/mpd.err")"
	same_files "multipath -l (from dmsetup text)" "$tmp/mpl.want" "$tmp/mpd.got"
fi

# What udev's path_id would derive: nothing. tcm_loop hosts hang off a
# virtual tcm_loop_0 root device, not a PCI, platform or other bus that
# path_id knows, so udev makes no by-path link for them. The test bed makes
# its own links (loopback-<target wwn>-lun-<n>, in the style of path_id's
# fc-<wwpn>-lun-<n>); pathmap must report those links as they are, and
# derive nothing when there are none (a /dev without disk/by-path).
mkdir -p "$tmp/dev"
pathmap --dev-root "$tmp/dev" --json >"$tmp/nolinks.json" 2>&1 || bad "pathmap --dev-root: $(cat "$tmp/nolinks.json")"
grep -q '"by_path": \[\]' "$tmp/nolinks.json" || bad "no empty by_path without links"
if grep -q 'loopback-\|"by_path": \[$' "$tmp/nolinks.json"; then
	bad "by-path names derived for tcm_loop paths, which udev does not name:"
	grep -A2 '"by_path"' "$tmp/nolinks.json"
else
	note "ok: no by-path names derived for tcm_loop paths, as udev's path_id"
fi

i=0
while [ "$i" -lt "$luns" ]; do
	wwid=$(var "FK_LUN${i}_WWID")
	serial=$(var "FK_LUN${i}_SERIAL")
	mpath=$(var "FK_LUN${i}_MPATH")
	got=$(pathmap resolve "$wwid" 2>&1)
	if [ -n "$mpath" ]; then
		[ "$got" = "$mpath" ] || bad "LUN $i: resolve $wwid gave '$got', expected $mpath"
		for n in "${mpath#/dev/mapper/}" "$mpath" "$serial"; do
			got=$(pathmap resolve "$n" 2>&1)
			[ "$got" = "$mpath" ] || bad "LUN $i: resolve $n gave '$got', expected $mpath"
		done
	else
		# No map: one of the unit's own paths.
		ok=0
		j=0
		while [ "$j" -lt "$nodes" ]; do
			[ "$got" = "$(var "FK_LUN${i}_NODE${j}_SD")" ] && ok=1
			j=$((j + 1))
		done
		[ "$ok" = 1 ] || bad "LUN $i: resolve $wwid gave '$got', not a path of the unit"
	fi
	j=0
	while [ "$j" -lt "$nodes" ]; do
		p="FK_LUN${i}_NODE${j}"
		sd=$(var "${p}_SD")
		sg=$(var "${p}_SG")
		bp=$(var "${p}_BYPATH")
		hctl=$(var "${p}_HCTL")
		for n in "$sd" "${sd#/dev/}" "$sg" "$hctl" "$bp" "${bp##*/}"; do
			got=$(pathmap resolve "$n" 2>&1)
			[ "$got" = "$sd" ] || bad "LUN $i node $j: resolve $n gave '$got', expected $sd"
		done
		line=$(pathmap --lsscsi -k -g | grep -F "[$hctl]")
		case "$line" in
		*"$sd "*"$sg"*) ;;
		*) bad "LUN $i node $j: lsscsi line for $hctl is '$line'" ;;
		esac
		pathmap show "$sd" >"$tmp/show" 2>&1 || bad "LUN $i node $j: show $sd: $(cat "$tmp/show")"
		grep -qF "by-path ${bp##*/}" "$tmp/show" || {
			bad "LUN $i node $j: by-path ${bp##*/} not shown for $sd"
			cat "$tmp/show"
		}
		head -1 "$tmp/show" | grep -qF "$wwid" || bad "LUN $i node $j: $sd does not show WWID $wwid"
		head -1 "$tmp/show" | grep -qF "serial $serial" || bad "LUN $i node $j: $sd does not show serial $serial"
		j=$((j + 1))
	done
	note "ok: LUN $i: resolve, show and by-path for $nodes path(s)"
	i=$((i + 1))
done

[ "$failed" = 0 ] && note "pathmap_lio: all checks passed"
exit "$failed"
