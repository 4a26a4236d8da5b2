#!/bin/sh
# Guest test: pathmap against the reference tools on real LIO (tcm_loop)
# logical units. Run inside the guest test bed, with pathmap, lsscsi and
# (optionally) multipath on PATH.
#
# Environment (set by the test bed):
#   FK_LUNS, FK_NODES            number of units and of nexuses per unit
#   FK_LUN<i>_WWID               the unit's WWID (udev form)
#   FK_LUN<i>_MPATH              its multipath map alias (empty: no map)
#   FK_LUN<i>_NODE<j>_SD/_SG     kernel names of the unit's j-th path
#   FK_LUN<i>_NODE<j>_BYPATH     its by-path name (without /dev/disk/by-path/)
#   FK_LUN<i>_NODE<j>_HCTL       its H:C:T:L
# Indices start at 0, or at 1 when FK_LUN0_WWID is unset.
#
# Checks:
#   pathmap --lsscsi             == lsscsi
#   pathmap --lsscsi -g -i       == lsscsi -g -i
#   pathmap --lsscsi -k -g       == lsscsi -k -g
#   multipath -ll, parsed and rendered by pathmap, == multipath -ll
#   maps, WWIDs, paths and by-path names in the model == the environment
# Exits 1 on any mismatch, after printing a unified diff or the mismatch.
set -u

fail=0
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

note() { printf '%s\n' "$*"; }
bad() { printf 'FAIL: %s\n' "$*"; fail=1; }

# same NAME WANT-FILE GOT-FILE
same() {
	if diff -u "$2" "$3" >"$tmp/d"; then
		note "ok: $1"
	else
		bad "$1 differs (- reference, + pathmap):"
		cat "$tmp/d"
	fi
}

get() { eval "printf '%s' \"\${$1:-}\""; }

for t in pathmap lsscsi; do
	command -v "$t" >/dev/null 2>&1 || { note "FAIL: $t is not on PATH"; exit 1; }
done

lsscsi >"$tmp/l.want" 2>&1
pathmap --lsscsi >"$tmp/l.got" 2>&1
same "lsscsi" "$tmp/l.want" "$tmp/l.got"

lsscsi -g -i >"$tmp/lgi.want" 2>&1
pathmap --lsscsi -g -i >"$tmp/lgi.got" 2>&1
same "lsscsi -g -i" "$tmp/lgi.want" "$tmp/lgi.got"

lsscsi -k -g >"$tmp/lkg.want" 2>&1
pathmap --lsscsi -k -g >"$tmp/lkg.got" 2>&1
same "lsscsi -k -g" "$tmp/lkg.want" "$tmp/lkg.got"

if command -v multipath >/dev/null 2>&1; then
	multipath -ll >"$tmp/mp.want" 2>/dev/null
	if pathmap --from-multipath-ll "$tmp/mp.want" --multipath-ll >"$tmp/mp.got" 2>"$tmp/mp.err"; then
		same "multipath -ll (parse and render)" "$tmp/mp.want" "$tmp/mp.got"
	else
		bad "pathmap cannot parse multipath -ll: $(cat "$tmp/mp.err")"
		cat "$tmp/mp.want"
	fi
	# The sysfs view must name the same maps over the same paths.
	pathmap --multipath-ll >"$tmp/mps.got" 2>/dev/null
	grep -v '^[|` ]' "$tmp/mp.want" | grep -v '^size=' | sort >"$tmp/mph.want"
	grep -v '^[|` ]' "$tmp/mps.got" | grep -v '^size=' | sort >"$tmp/mph.got"
	same "multipath map headers from sysfs" "$tmp/mph.want" "$tmp/mph.got"
else
	note "skip: multipath is not installed"
fi

luns=${FK_LUNS:-0}
nodes=${FK_NODES:-0}
first=0
[ -z "$(get FK_LUN0_WWID)" ] && first=1
i=$first
while [ "$i" -lt $((luns + first)) ]; do
	wwid=$(get "FK_LUN${i}_WWID")
	mpath=$(get "FK_LUN${i}_MPATH")
	if [ -n "$mpath" ]; then
		want="/dev/mapper/$mpath"
		got=$(pathmap resolve "$wwid" 2>&1)
		[ "$got" = "$want" ] || bad "LUN $i: resolve $wwid gave '$got', expected $want"
		got=$(pathmap resolve "$mpath" 2>&1)
		[ "$got" = "$want" ] || bad "LUN $i: resolve $mpath gave '$got', expected $want"
	else
		pathmap resolve "$wwid" >/dev/null 2>&1 || bad "LUN $i: WWID $wwid not found"
	fi
	j=$first
	while [ "$j" -lt $((nodes + first)) ]; do
		p="FK_LUN${i}_NODE${j}"
		sd=$(get "${p}_SD")
		sg=$(get "${p}_SG")
		bp=$(get "${p}_BYPATH")
		hctl=$(get "${p}_HCTL")
		for n in "$sd" "$sg" "$hctl" "$bp"; do
			[ -n "$n" ] || continue
			got=$(pathmap resolve "$n" 2>&1)
			[ "$got" = "/dev/$sd" ] || bad "LUN $i node $j: resolve $n gave '$got', expected /dev/$sd"
		done
		if [ -n "$hctl" ]; then
			line=$(pathmap --lsscsi -k -g | grep -F "[$hctl]")
			case "$line" in
			*"/dev/$sd "*"/dev/$sg"*) ;;
			*) bad "LUN $i node $j: lsscsi line for $hctl is '$line'" ;;
			esac
		fi
		if [ -n "$bp" ] && ! pathmap show "$sd" | grep -qF "by-path $bp"; then
			bad "LUN $i node $j: by-path $bp not shown for $sd"
			pathmap show "$sd"
		fi
		if ! pathmap show "$sd" | head -1 | grep -qF "$wwid"; then
			bad "LUN $i node $j: $sd does not show WWID $wwid"
		fi
		j=$((j + 1))
	done
	i=$((i + 1))
done

[ "$fail" = 0 ] && note "pathmap_lio: all checks passed"
exit "$fail"
