#!/bin/sh
# Guest test: vmguest-attach hide/unhide and pathmap vgs on a host whose
# multipath and LVM see a LUN that belongs to a guest. Runs in the guest
# test bed (iSCSI fabric, --multipath, two LUNs, node 0's maps are
# multipathd's) with vmguest-attach and pathmap on PATH.
#
# Steps:
#   a VG on LUN 0's map, active: pathmap vgs --policy (the VG belongs to a
#   guest) reports it active on this host; hide --apply refuses (4) and
#   changes nothing
#   vgchange -an; hide --apply --reload: multipath -ll no longer shows
#   LUN 0 (LUN 1 stays), pvs no longer sees a PV on it, and a second hide
#   changes nothing
#   unhide --apply --reload: both files are byte for byte what they were,
#   multipath -ll shows LUN 0 again and pvs sees the VG on it
# Exits 1 on any failure.
set -u

. /fk/bin/steps.sh
scratch

for t in vmguest-attach pathmap multipath pvs; do
	command -v "$t" >/dev/null 2>&1 || fail "$t is not on PATH"
done

w0=${FK_LUN0_WWID:?}
w1=${FK_LUN1_WWID:?}
m0=${FK_LUN0_MPATH:?}
vg=guestvg0
mp=/etc/multipath.conf
lvmc=/etc/lvm/lvm.conf
# LIO's backing devices for the LUNs (loop devices, dm maps fk-lun<i>)
# are in this kernel too and carry the same PVs: the host's own filter,
# which hide must extend (rejects only, one line). Every name of those
# devices is rejected (/dev/dm-N, /dev/disk/by-diskseq/K, ... too), so
# that the accept-all case below accepts none of them by another name.
bed=
for d in /dev/loop[0-9]* /dev/mapper/fk-*; do
	[ -b "$d" ] && bed="$bed $(stat -L -c '%t:%T' "$d")"
done
rejects='"r|^/dev/loop[0-9]+$|", "r|^/dev/mapper/fk-|"'
for n in $(find /dev -type b -o -type l 2>/dev/null | grep -v '^/dev/mapper/fk-\|^/dev/loop'); do
	[ -b "$n" ] || continue
	case " $bed " in *" $(stat -L -c '%t:%T' "$n") "*)
		rejects="$rejects, \"r|^$(printf '%s' "$n" | sed 's/[.+]/\\&/g')\$|\"" ;;
	esac
done
R=$rejects awk '{ print } /^devices \{/ { print "    global_filter = [ " ENVIRON["R"] " ]" }' \
	"$lvmc" >"$tmp/lvm.new" && cat "$tmp/lvm.new" >"$lvmc" || fail "could not write $lvmc"
grep -q 'global_filter = \[ "r|^/dev/loop' "$lvmc" || fail "no bed filter in $lvmc"
grep -q "\"r|^/dev/dm-[0-9]*\$|\"" "$lvmc" || fail "the bed filter does not reject the backing maps by their dm-N names"
cp "$mp" "$tmp/mp.orig"
cp "$lvmc" "$tmp/lvm.orig"

# The map's path group becomes active on first read.
dd if="$m0" of=/dev/null bs=4k count=1 2>/dev/null
pvcreate -q "$m0" >/dev/null && vgcreate -q "$vg" "$m0" >/dev/null &&
	lvcreate -q -y -n lv0 -L 4m "$vg" >/dev/null || fail "could not make a VG on $m0"

printf '[[vg]]\nname = "guestvg*"\nguest = "node1"\n' >"$tmp/policy.toml"
pathmap vgs --policy "$tmp/policy.toml" >"$tmp/vgs" 2>&1
rc=$?
cat "$tmp/vgs"
[ "$rc" = 2 ] || bad "pathmap vgs --policy exited $rc, expected 2"
grep -q "^ERROR guest-vg-on-host: VG $vg belongs to guest node1 but is active on host " "$tmp/vgs" &&
	grep -q "^VG $vg: LUNs $w0;" "$tmp/vgs" &&
	note "ok: pathmap vgs reports $vg active on $w0, a guest's LUN"

vmguest-attach hide --apply "$w0" >"$tmp/h1" 2>&1
rc=$?
[ "$rc" = 4 ] || { bad "hide --apply with an active VG exited $rc, expected 4"; cat "$tmp/h1"; }
grep -q "VG $vg on $w0 is active on this host" "$tmp/h1" || { bad "the refusal does not name $vg"; cat "$tmp/h1"; }
cmp -s "$mp" "$tmp/mp.orig" && cmp -s "$lvmc" "$tmp/lvm.orig" || bad "a refused hide changed the files"
[ "$failed" = 0 ] && note "ok: hide refuses while $vg is active"

vgchange -q -an "$vg" >/dev/null || fail "vgchange -an $vg"
vmguest-attach hide --apply --reload "$w0" >"$tmp/h2" 2>&1
rc=$?
cat "$tmp/h2"
[ "$rc" = 0 ] || bad "hide --apply --reload exited $rc"
shows_map() { multipath -ll 2>/dev/null | grep -q "$1"; }
if until_ok 20 sh -c "! multipath -ll 2>/dev/null | grep -q $w0"; then
	note "ok: multipath -ll no longer shows $w0"
else
	bad "multipath -ll still shows $w0 after hide"
	multipath -ll
fi
shows_map "$w1" || bad "multipath -ll lost $w1, which was not hidden"
sed -n '/global_filter/,/fencekit-hide: end/p' "$lvmc"
# The filter itself, not LVM's multipath component detection (the WWID is
# still in /etc/multipath/wwids), keeps the LUN's paths out.
pvs --config 'devices { multipath_component_detection = 0 }' --noheadings -o pv_name,vg_name \
	>"$tmp/pvs" 2>"$tmp/pvs.err"
if grep -q "$vg" "$tmp/pvs"; then
	bad "pvs still sees $vg after hide"
	cat "$tmp/pvs" "$tmp/pvs.err"
else
	note "ok: pvs no longer sees a PV on $w0"
fi
vmguest-attach hide --apply "$w0" >"$tmp/h3" 2>&1 || bad "second hide failed: $(cat "$tmp/h3")"
grep -q "^$mp: unchanged" "$tmp/h3" && grep -q "^$lvmc: unchanged" "$tmp/h3" ||
	{ bad "second hide was not a no-op"; cat "$tmp/h3"; }
[ "$(ls "$mp".fencekit-* "$lvmc".fencekit-* 2>/dev/null | wc -l)" = 2 ] || bad "expected one backup of each file"

vmguest-attach unhide --apply --reload "$w0" >"$tmp/u1" 2>&1
rc=$?
cat "$tmp/u1"
[ "$rc" = 0 ] || bad "unhide --apply --reload exited $rc"
if cmp -s "$mp" "$tmp/mp.orig" && cmp -s "$lvmc" "$tmp/lvm.orig"; then
	note "ok: unhide restored both files byte for byte"
else
	bad "unhide did not restore the files"
	diff -u "$tmp/mp.orig" "$mp"
	diff -u "$tmp/lvm.orig" "$lvmc"
fi
if until_ok 30 shows_map "$w0"; then
	note "ok: multipath -ll shows $w0 again"
else
	bad "multipath -ll does not show $w0 after unhide"
	multipath -ll
fi
pvscan --cache >/dev/null 2>&1
if until_ok 20 sh -c "pvs --noheadings -o vg_name 2>/dev/null | grep -q $vg"; then
	note "ok: pvs sees $vg again"
else
	bad "pvs does not see $vg after unhide"
	pvs
fi
# Visible, not active: still a guest's VG on this host.
pathmap vgs --policy "$tmp/policy.toml" >"$tmp/vgs2" 2>&1
grep -q "^ERROR guest-vg-on-host: VG $vg belongs to guest node1 but is visible on host " "$tmp/vgs2" ||
	{ bad "pathmap vgs does not report $vg visible"; cat "$tmp/vgs2"; }

# Again under a filter that ends in an accept-all pattern: LVM accepts a
# device when any of its names reaches an accept pattern first, so hide
# must reject every name of the LUN, kernel names too.
sed 's/^\(    global_filter = \[ "r|^\/dev\/loop.*\) \]$/\1, "a|.*|" ]/' "$tmp/lvm.orig" >"$tmp/lvm.acc"
grep -q '"a|\.\*|" \]' "$tmp/lvm.acc" || fail "could not add an accept pattern to the filter"
cat "$tmp/lvm.acc" >"$lvmc"
vmguest-attach hide --apply --reload "$w0" >"$tmp/h4" 2>&1 || { bad "hide under an accept-all filter failed"; cat "$tmp/h4"; }
grep -q '"r|^/dev/sd[a-z]*\[0-9\]\*\$|",' "$lvmc" || { bad "no kernel-name rejects under an accept-all filter"; cat "$lvmc"; }
pvs --config 'devices { multipath_component_detection = 0 }' --noheadings -o pv_name,vg_name \
	>"$tmp/pvs4" 2>"$tmp/pvs4.err"
if grep -q "$vg" "$tmp/pvs4"; then
	bad "pvs still sees $vg after hide under an accept-all filter"
	cat "$tmp/pvs4" "$tmp/pvs4.err"
	ls -l /dev/disk/by-id /dev/disk/by-path
else
	note "ok: pvs no longer sees a PV on $w0 under an accept-all filter"
fi
vmguest-attach unhide --apply --reload "$w0" >"$tmp/u2" 2>&1 || { bad "second unhide failed"; cat "$tmp/u2"; }
cmp -s "$lvmc" "$tmp/lvm.acc" && cmp -s "$mp" "$tmp/mp.orig" ||
	{ bad "the second unhide did not restore the files"; diff -u "$tmp/lvm.acc" "$lvmc"; }

[ "$failed" = 0 ] && note "vm_hide: all checks passed"
exit "$failed"
