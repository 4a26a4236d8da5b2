#!/usr/bin/env bash
# A walk through vmguest-attach against a real libvirtd: three TCG domains
# and one tgtd iSCSI LUN on 127.0.0.1. Two cluster nodes get the LUN as a
# pass-through disk (plan, attach), each with its own initiator name;
# inside the guests, verify checks it is the LUN the host meant and proves
# fencing across the two kernels; check audits the host, where a third
# domain has the LUN as an emulated disk. Each command is printed ("$ ...")
# before its output.
#
# Usage: scripts/demo-vm.sh     (make demo runs it after scripts/demo.sh)
# Needs target/debug/vmguest-attach and the test bed; libvirtd is started
# by scripts/testbed/libvirt-host when it is not running.
set -euo pipefail
cd "$(dirname "$0")/.."
va=$(realpath "${VMGUEST_ATTACH:-target/debug/vmguest-attach}")
[[ -x "$va" ]] || { echo "demo-vm: $va not found; build it first: cargo build -p fencekit-tools" >&2; exit 1; }

script=$(mktemp)
trap 'rm -f "$script"' EXIT
cat > "$script" <<'HOST'
set -u
bad=0
note() { echo; for l in "$@"; do echo "# $l"; done; }
run() { # EXPECTED_STATUS COMMAND...
    local want=$1 rc=0
    shift
    echo "\$ $*"
    "$@" 2>&1 || rc=$?
    ((rc == 0)) || echo "[exit status $rc]"
    ((rc == want)) || { echo "!! expected exit status $want"; bad=1; }
}
guest() { # G EXPECTED_STATUS COMMAND: in guest G
    local g=$1 want=$2 rc=0
    echo "[$g]\$ $3"
    on "$g" "$3" 2>&1 || rc=$?
    ((rc == 0)) || echo "[exit status $rc]"
    ((rc == want)) || { echo "!! expected exit status $want"; bad=1; }
}
va() { "$VA" "$@"; }
A=$FK_A_DOMAIN B=$FK_B_DOMAIN C=$FK_C_DOMAIN
printf 'name = "demo"\nguests = ["%s", "%s", "%s"]\n' "$A" "$B" "$C" > /tmp/fk-demo-cluster.toml
CL=(--cluster /tmp/fk-demo-cluster.toml)
note "libvirt's domains: $A and $B are the cluster's nodes, $C has the LUN as" \
    "device='disk' (QEMU emulates it). The LUN: $FK_ISCSI_URL"
run 0 virsh list
note "plan: the disk element for $A, with the guest's own initiator, and every rule checked."
run 0 va "${CL[@]}" plan "$A" "$FK_ISCSI_URL" --initiator "$FK_A_INITIATOR"
note "attach: both nodes, live and persistently. The same initiator twice is refused."
run 0 va "${CL[@]}" attach "$A" "$FK_ISCSI_URL" --initiator "$FK_A_INITIATOR"
run 4 va "${CL[@]}" attach "$B" "$FK_ISCSI_URL" --initiator "$FK_A_INITIATOR"
run 0 va "${CL[@]}" attach "$B" "$FK_ISCSI_URL" --initiator "$FK_B_INITIATOR"
run 0 va "${CL[@]}" list
note "check: the host's audit flags $C's emulated disk and a host carrying the whole cluster."
run 2 va "${CL[@]}" check
note "In the guests: verify with the host's list (by serial: the host has no device for an iSCSI URL)."
va "${CL[@]}" list --json > /tmp/fk-demo-host.json
for _ in $(seq 60); do on a 'ls /sys/block' | grep -q '^sd' && on b 'ls /sys/block' | grep -q '^sd' && break; sleep 0.5; done
on a "echo $(base64 -w0 < /tmp/fk-demo-host.json) | base64 -d > /tmp/host.json"
guest a 0 "vmguest-attach verify --expect /tmp/host.json --domain $A"
guest c 2 "vmguest-attach verify"
note "The two-node PR test from $A, with $B reached through fk-peer: b's write is refused once a preempts it."
guest a 0 "vmguest-attach verify --pr-test --peer-cmd fk-peer --peer-dev /dev/sda /dev/sda"
note "detach: live and persistently."
run 0 va "${CL[@]}" detach "$A" "$FK_ISCSI_URL"
run 0 va "${CL[@]}" detach "$B" "$FK_ISCSI_URL"
rm -f /tmp/fk-demo-cluster.toml /tmp/fk-demo-host.json
if ((bad)); then note "Some commands did not exit as expected (marked !! above)."; exit 1; fi
note "Done."
HOST
VA=$va exec scripts/testbed/libvirt-guests --guests "a b c" --disk c=scsi-hd --file "$va" "$script"
