#!/bin/sh
# Smoke test of the guest test bed's device map: with 3 nodes, 2 LUNs and
# scsi_debug, every FK_* variable names the right device, checked against
# sysfs, VPD pages, the real lsscsi and the udev database; LVM works on a LUN.
# Run by: scripts/testbed/run-in-guest --nodes 3 --luns 2 --scsi-debug "num_tgts=1" tests/guest/smoke_devices.sh steps.sh
set -u
. /fk/bin/steps.sh
[ "$FK_LUNS" = 2 ] || fail "FK_LUNS=$FK_LUNS"
[ "$FK_NODES" = 3 ] || fail "FK_NODES=$FK_NODES"
lsscsi -g > /tmp/lsscsi || fail "lsscsi -g: exit $?"
cat /tmp/lsscsi
lsscsi --version 2>&1 | grep -q 'version' || fail "lsscsi is not the real lsscsi"

seen=
i=0
while [ $i -lt "$FK_LUNS" ]; do
    eval "wwid=\$FK_LUN${i}_WWID serial=\$FK_LUN${i}_SERIAL"
    case "$wwid" in 36001405*) ;; *) fail "LUN $i: WWID '$wwid' is not in udev form 36001405..." ;; esac
    case " $seen " in *" $wwid "*|*" $serial "*) fail "LUN $i: WWID or serial not distinct" ;; esac
    seen="$seen $wwid $serial"
    j=0
    while [ $j -lt "$FK_NODES" ]; do
        eval "sg=\$FK_LUN${i}_NODE${j}_SG sd=\$FK_LUN${i}_NODE${j}_SD"
        eval "bypath=\$FK_LUN${i}_NODE${j}_BYPATH hctl=\$FK_LUN${i}_NODE${j}_HCTL"
        echo "LUN $i node $j: $hctl $sd $sg $bypath"
        [ -c "$sg" ] || fail "$sg is not a character device"
        [ -b "$sd" ] || fail "$sd is not a block device"
        case " $seen " in *" $sg "*|*" $sd "*|*" $hctl "*) fail "$sg, $sd or $hctl used twice" ;; esac
        seen="$seen $sg $sd $hctl"
        [ "$(readlink -f "$bypath")" = "$sd" ] || fail "$bypath -> $(readlink -f "$bypath"), expected $sd"
        [ -e "/sys/class/scsi_device/$hctl/device/block/${sd#/dev/}" ] || fail "$sd is not at $hctl in sysfs"
        [ -e "/sys/class/scsi_device/$hctl/device/scsi_generic/${sg#/dev/}" ] || fail "$sg is not at $hctl in sysfs"
        grep -q "^\[$hctl\] *disk *LIO-ORG .* $sd *$sg *\$" /tmp/lsscsi || fail "lsscsi -g has no line for $hctl $sd $sg"
        sg_inq -p 0x80 "$sg" > /tmp/vpd80 || fail "sg_inq -p 0x80 $sg: exit $?"
        grep -q "Unit serial number: $serial\$" /tmp/vpd80 || fail "$sg: serial is not $serial: $(cat /tmp/vpd80)"
        sg_inq -p 0x83 "$sg" > /tmp/vpd83 || fail "sg_inq -p 0x83 $sg: exit $?"
        grep -qi "\[0x${wwid#3}\]" /tmp/vpd83 || fail "$sg: NAA ${wwid#3} not in VPD page 0x83"
        mm=$(cat "/sys/block/${sd#/dev/}/dev")
        grep -qx "E:ID_SERIAL=$wwid" "/run/udev/data/b$mm" || fail "no udev database entry for $sd"
        j=$((j + 1))
    done
    [ "$(readlink -f "/dev/disk/by-id/scsi-$wwid")" = "$(eval echo "\$FK_LUN${i}_NODE0_SD")" ] ||
        fail "/dev/disk/by-id/scsi-$wwid does not point at node 0's path"
    i=$((i + 1))
done

[ -n "${FK_SCSI_DEBUG_SG:-}" ] || fail "FK_SCSI_DEBUG_SG is empty"
[ -n "${FK_SCSI_DEBUG_SD:-}" ] || fail "FK_SCSI_DEBUG_SD is empty"
for sg in $FK_SCSI_DEBUG_SG; do
    sg_inq "$sg" | grep -q 'scsi_debug' || fail "$sg is not a scsi_debug device"
done
for sd in $FK_SCSI_DEBUG_SD; do
    [ -b "$sd" ] || fail "$sd is not a block device"
done
echo "scsi_debug: $FK_SCSI_DEBUG_SG / $FK_SCSI_DEBUG_SD"

# LVM without udevd, on LUN 1 (seen through node 0's path only).
echo "--- LVM on $FK_LUN1_NODE0_SD"
F="devices { filter = [ \"a|^$FK_LUN1_NODE0_SD\$|\", \"r|.*|\" ] }"
pvcreate --config "$F" "$FK_LUN1_NODE0_SD" || fail "pvcreate: exit $?"
vgcreate --config "$F" fkvg "$FK_LUN1_NODE0_SD" || fail "vgcreate: exit $?"
lvcreate --config "$F" -L 8m -n lv0 fkvg || fail "lvcreate: exit $?"
[ -b /dev/fkvg/lv0 ] || [ -b /dev/mapper/fkvg-lv0 ] || fail "no device node for fkvg/lv0"
lvs --config "$F" fkvg || fail "lvs: exit $?"
vgchange --config "$F" -an fkvg || fail "vgchange -an: exit $?"
dmsetup ls
echo "PASS: device map of 2 LUNs x 3 nodes, scsi_debug and LVM"
