#!/bin/sh
# Guest test: pathmap's model from udev's database equals its model from
# sysfs alone. The guest normally runs without udevd; this script starts
# the image's systemd-udevd (with udev's 50-udev-default and
# 60-persistent-storage rules), lets it name every disk, then compares:
#   1. pathmap --json (names from udev's database, the udev crate) with
#      pathmap --json --no-udev (names from the links in /dev/disk): equal;
#   2. with /dev/disk/by-id removed, the udev view (which still has the
#      names) with the sysfs view, which must derive them as udev's rules
#      did (scsi-3<naa>, wwn-0x<naa>): equal, and non-empty.
# Run without --multipath (the image has no dm udev rules, so udev would
# not point the unit's names at a map as a full host does).
# Exits 1 on any mismatch, after printing a unified diff.
set -u

. /fk/bin/steps.sh
scratch

mkdir -p /run/udev
/lib/systemd/systemd-udevd --daemon >/dev/null 2>&1 || { note "FAIL: udevd does not start"; exit 1; }
udevadm trigger --action=add --subsystem-match=block --subsystem-match=scsi
udevadm settle -t 60 || bad "udevadm settle timed out"
[ -d /run/udev/data ] || { note "FAIL: no udev database"; exit 1; }
n=$(ls /dev/disk/by-id 2>/dev/null | grep -c '^scsi-3')
[ "$n" -ge "${FK_LUNS:?}" ] || bad "udev made $n scsi-3... links for $FK_LUNS LUNs"

pathmap --json --no-check >"$tmp/udev.json" 2>"$tmp/err" || bad "pathmap: $(cat "$tmp/err")"
pathmap --json --no-check --no-udev >"$tmp/links.json" 2>"$tmp/err" || bad "pathmap --no-udev: $(cat "$tmp/err")"
same_files "udev database == links in /dev/disk" "$tmp/udev.json" "$tmp/links.json" "udev database" "links"

rm -rf /dev/disk/by-id
pathmap --json --no-check >"$tmp/udev2.json" 2>"$tmp/err" || bad "pathmap: $(cat "$tmp/err")"
pathmap --json --no-check --no-udev >"$tmp/derived.json" 2>"$tmp/err" || bad "pathmap --no-udev: $(cat "$tmp/err")"
same_files "udev database == derived from sysfs" "$tmp/udev2.json" "$tmp/derived.json" "udev database" "sysfs"
grep -q "\"scsi-$FK_LUN0_WWID\"" "$tmp/udev2.json" || bad "the udev view lacks scsi-$FK_LUN0_WWID"
grep -q "\"wwn-0x${FK_LUN0_WWID#3}\"" "$tmp/derived.json" || bad "the derived view lacks wwn-0x${FK_LUN0_WWID#3}"

[ "$failed" = 0 ] && note "pathmap_udev: all checks passed"
exit "$failed"
