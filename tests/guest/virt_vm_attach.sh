#!/usr/bin/env bash
# vmguest-attach against a real libvirtd: four TCG domains and one tgtd LUN.
# a and b are the cluster's nodes and get the LUN from vmguest-attach, each
# with its own initiator name, live and persistently; c has it defined as
# device='disk' (QEMU's scsi-hd) and d as virtio-blk. In the guests,
# `vmguest-attach verify --expect` (the host's list --json) passes on a and
# b and fails on c and d with their reasons; `verify --pr-test` from a with
# b as the peer (through fk-peer) fences across the two kernels; on the
# host, list flags c and d; one initiator for both nodes is refused; detach
# removes the disk live and persistently.
# Run by: scripts/testbed/libvirt-guests --guests "a b c d" --disk c=scsi-hd
#         --disk d=virtio-blk --file target/debug/vmguest-attach
#         tests/guest/virt_vm_attach.sh   (FK_VMGUEST_ATTACH: the host's binary)
set -u
FK_OUT=$(mktemp)
tmp=$(mktemp -d)
trap 'rm -rf "$FK_OUT" "$tmp"' EXIT
. "$(dirname "$0")/steps.sh"
va() { "${FK_VMGUEST_ATTACH:?set FK_VMGUEST_ATTACH to the vmguest-attach of the host}" "$@"; }
A=$FK_A_DOMAIN B=$FK_B_DOMAIN C=$FK_C_DOMAIN D=$FK_D_DOMAIN
cat > "$tmp/cluster.toml" <<TOML
name = "virt"
guests = ["$A", "$B", "$C", "$D"]
TOML
CL=(--cluster "$tmp/cluster.toml")

# The guest's disk, once the hot-plugged LUN has appeared.
disk_in() { # G
    local d
    for _ in $(seq 100); do
        d=$(on "$1" 'for b in /sys/block/sd*; do [ -e "$b" ] && echo /dev/${b##*/}; done' | head -n1)
        if [[ -n "$d" ]] && on "$1" "[ -b $d ]"; then echo "$d"; return 0; fi
        sleep 0.5
    done
    return 1
}
# FILE into guest G at PATH.
put() { # G FILE PATH
    on "$1" "echo $(base64 -w0 < "$2") | base64 -d > $3"
}

step 0 "plan: the LUN for $A with its own initiator" va "${CL[@]}" plan "$A" "$FK_ISCSI_URL" --initiator "$FK_A_INITIATOR"
expect "device=.lun."
expect "$FK_A_INITIATOR"
expect "ok +no two guests of one cluster behind one host initiator|ok .*initiator"
step 0 "attach to $A, live and persistent" va "${CL[@]}" attach "$A" "$FK_ISCSI_URL" --initiator "$FK_A_INITIATOR"
expect "live and persistent"
step 4 "attach to $B through $A's initiator is refused" va "${CL[@]}" attach "$B" "$FK_ISCSI_URL" --initiator "$FK_A_INITIATOR"
expect -i "initiator"
expect "nothing attached"
virsh dumpxml --inactive "$B" | grep -q "device='lun'" && fail "the refused attach changed $B's definition"
step 0 "attach to $B with its own initiator" va "${CL[@]}" attach "$B" "$FK_ISCSI_URL" --initiator "$FK_B_INITIATOR"

for g in a b; do
    v=FK_${g^^}_DOMAIN; dom=${!v}
    v=FK_${g^^}_INITIATOR; ini=${!v}
    for how in --inactive --live; do
        what="$dom $how"
        virsh dumpxml "$dom" $([[ $how == --inactive ]] && echo --inactive) > "$tmp/$g.xml" || fail "virsh dumpxml $what"
        grep -q "device='lun'" "$tmp/$g.xml" || fail "$what: no device='lun' disk"
        grep -q "<iqn name='$ini'/>" "$tmp/$g.xml" || fail "$what: not its own initiator"
        grep -q "protocol='iscsi' name='$FK_TGT_IQN/1'" "$tmp/$g.xml" || fail "$what: not the LUN"
        step 0 "virt-xml-validate ($what)" virt-xml-validate "$tmp/$g.xml" domain
    done
    grep -q "$FK_LUN_SERIAL" "$tmp/$g.xml" || fail "$dom: the LUN's serial is not in the metadata"
done
echo "ok: dumpxml (live and --inactive) of $A and $B show the LUN with their own initiators"

step 0 "list --json on the host" va "${CL[@]}" list --json
cp "$FK_OUT" "$tmp/host.json"
step 0 "list: the emulated disks are flagged" va "${CL[@]}" list
expect "sda lun scsi $FK_TGT_IQN/1 wwid=\? serial=$FK_LUN_SERIAL mode=lun"
expect "$C:"
expect "REFUSED.*(device='disk'|pass-through)"
expect "REFUSED.*virtio"

step 2 "check: this host's audit flags $C and $D" va "${CL[@]}" check
expect "$C:"
expect "REFUSED.*device='disk'"
expect "REFUSED.*virtio-blk"
reject "$A:.*REFUSED"
step 2 "check --json" va "${CL[@]}" check --json
expect '"refused": 2'

# The block form (a host multipath map in map mode) through libvirt's own
# QEMU command line: this host has no SCSI disk to attach it to.
FIX=$(dirname "$0")/../../lib/tests/fixtures/vm
step 0 "plan the block form from fixtures" va --domain-xml "$FIX/node1.xml" --topology "$FIX/topology-map.json" \
    --multipath-conf /nonexistent --lvm-conf /nonexistent plan node1 36001405e6a3b4c5d6e7f8091a2b3c4d5 --json
python3 - "$FK_OUT" "$tmp/native.xml" <<'PY' || fail "no disk in the plan"
import json, sys
p = json.load(open(sys.argv[1]))[0]
open(sys.argv[2], "w").write(
    "<domain type='qemu'><name>fk-native</name><memory unit='MiB'>256</memory>"
    "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
    + (p["controller"] or "") + "".join(p["disks"]) + "</devices></domain>")
PY
step 0 "virt-xml-validate the planned block disk" virt-xml-validate "$tmp/native.xml" domain
step 0 "virsh domxml-to-native qemu-argv" virsh domxml-to-native qemu-argv "$tmp/native.xml"
expect '"driver":"scsi-block"'
expect '"driver":"host_device","filename":"/dev/disk/by-id/dm-uuid-mpath-36001405e6a3b4c5d6e7f8091a2b3c4d5"'
expect '"qom-type":"pr-manager-helper"'
echo "ok: the block form is scsi-block on a host_device with qemu-pr-helper"

DA=$(disk_in a) || fail "the LUN did not appear in guest a"
DB=$(disk_in b) || fail "the LUN did not appear in guest b"
echo "guest a: $DA, guest b: $DB"
for g in a b; do
    put "$g" "$tmp/host.json" /tmp/host.json
    v=FK_${g^^}_DOMAIN
    on_step 0 "$g" "vmguest-attach verify --expect /tmp/host.json --domain ${!v}"
    expect "pass +pass-through"
    expect "pass +pr-in"
    expect "pass +expected-lun: serial $FK_LUN_SERIAL"
done
on_step 2 c "vmguest-attach verify"
expect "FAIL +pass-through: QEMU emulates"
expect "FAIL +pr-in"
on_step 2 d "vmguest-attach verify"
expect "FAIL +pass-through: a virtio-blk"
put c "$tmp/host.json" /tmp/host.json
on_step 2 c "vmguest-attach verify /dev/sda --expect /tmp/host.json --domain $A"

on_step 0 a "vmguest-attach verify --pr-test --peer-cmd fk-peer --peer-dev $DB $DA"
expect "can fence"
expect -i "refused|conflict"
on_step 0 a "sg_persist -n -k $DA"
expect "there are NO registered reservation keys"
# A disk that carries keys is refused.
on_step 0 b "sg_persist -n --out --register --param-sark=0xb0b $DB"
on_step 4 a "vmguest-attach verify --pr-test --peer-cmd fk-peer --peer-dev $DB $DA"
expect "registrations exist"
on_step 0 b "sg_persist -n --out --register --param-rk=0xb0b --param-sark=0 $DB"

step 0 "detach from $A" va "${CL[@]}" detach "$A" "$FK_ISCSI_URL"
expect "live and persistent"
virsh dumpxml --inactive "$A" | grep -q "device='lun'" && fail "detach left the disk in $A's definition"
virsh dumpxml "$A" | grep -q "device='lun'" && fail "detach left the disk in the running $A"
for _ in $(seq 60); do
    on a 'ls /sys/block' | grep -q '^sd' || break
    sleep 0.5
done
on a 'ls /sys/block' | grep -q '^sd' && fail "the disk is still in guest a"
echo "ok: detached live and persistently"
echo "virt_vm_attach: all checks passed"
