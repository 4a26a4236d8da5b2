#!/usr/bin/env bash
# A walk through fencekit in the guest test bed: one LIO LUN exported over
# iSCSI on 127.0.0.1 and seen by two nodes (two open-iscsi initiators, two
# I_T nexuses); prkeys, then pathmap, qdisk and fencectl, with PREEMPT AND
# ABORT as fence_scsi sends it; then vmguest-attach with libvirt
# (scripts/demo-vm.sh). Each command is printed ("$ ...") before its output.
#
# Usage: scripts/demo.sh     (or: make demo)
# Needs the programs in target/debug (cargo build -p fencekit-tools; make
# demo builds them) and the test bed (make testbed; built on first use).
set -euo pipefail
cd "$(dirname "$0")/.."

prkeys=${PRKEYS:-target/debug/prkeys}
if [[ ! -x "$prkeys" ]]; then
    echo "demo: $prkeys not found; build it first: cargo build -p fencekit-tools (or cargo build)" >&2
    exit 1
fi

script=$(mktemp)
trap 'rm -f "$script"' EXIT
cat > "$script" <<'GUEST'
N1=$FK_LUN0_NODE0_SD
N2=$FK_LUN0_NODE1_SD
N2SG=$FK_LUN0_NODE1_SG
bad=0
note() { echo; for l in "$@"; do echo "# $l"; done; }
# run EXPECTED_STATUS COMMAND...: print the command, run it, show a status
# that is not the expected one.
run() {
    want=$1
    shift
    echo "\$ $*"
    "$@" 2>&1
    rc=$?
    [ "$rc" -eq 0 ] || echo "[exit status $rc]"
    if [ "$rc" -ne "$want" ]; then
        echo "!! expected exit status $want"
        bad=1
    fi
}
dd if=/dev/zero of=/tmp/block bs=512 count=1 2>/dev/null

note "One LUN ($FK_LUN0_WWID), two nodes: node 1 ($FK_NODE0_IQN) sees it as $N1," \
    "node 2 ($FK_NODE1_IQN) as $N2, each through its own iSCSI session."
run 0 lsscsi -t
note "Both nodes register a key (REGISTER AND IGNORE EXISTING KEY)."
run 0 prkeys register --key 0x1 "$N1"
run 0 prkeys register --key 0x2 "$N2"
note "Node 1 takes a Write Exclusive, Registrants Only reservation (type 5)."
run 0 prkeys reserve --key 0x1 --type wero "$N1"
run 0 prkeys keys "$N1"
run 0 prkeys reservation "$N2"
note "Node 1 writes: accepted."
run 0 dd if=/tmp/block of="$N1" bs=512 count=1 oflag=direct
note "Node 1 fences node 2: PREEMPT AND ABORT removes its key and aborts its" \
    "queued commands."
run 0 prkeys preempt --key 0x1 --victim 0x2 --type wero --abort "$N1"
run 0 prkeys keys "$N1"
note "Node 2 writes one block (WRITE(10) with sg_raw): its first command" \
    "reports the preemption (UNIT ATTENTION, status 6)..."
run 6 sg_raw -s 512 -i /tmp/block "$N2SG" 2a 00 00 00 00 00 00 00 01 00
note "... and from then on it gets RESERVATION CONFLICT (status 24)."
run 24 sg_raw -s 512 -i /tmp/block "$N2SG" 2a 00 00 00 00 00 00 00 01 00
note "Clean up: node 1 clears all registrations and the reservation."
run 0 prkeys clear --key 0x1 "$N1"
run 0 prkeys keys "$N1"
run 0 prkeys reservation "$N1"

note "pathmap: the same LUN through both nodes' paths, and lsscsi's format."
run 0 pathmap
run 0 pathmap --lsscsi -g
run 0 pathmap resolve "$FK_LUN0_WWID"

note "qdisk: a quorum disk on the LUN, found by its label (through both nodes' paths:" \
    "without a multipath map over them they are two block devices), and its header."
run 0 qdisk create --yes -l demo-quorum "$N1"
run 0 qdisk list
run 0 qdisk dump "$N1"

note "fencectl: two nodes of cluster 'demo' join; node1 fences node2, whose" \
    "writes are then refused; node2's watchdog check fails (exit 2)."
mkdir -p /tmp/fk
cat > /tmp/fk/cluster.toml <<EOC
cluster = "demo"
scheme = "id"
[[node]]
name = "node1"
id = 1
[[node]]
name = "node2"
id = 2
EOC
F="fencectl --config /tmp/fk/cluster.toml --no-multipath"
run 0 $F --state-file /tmp/fk/node1.state unfence --node node1 -d "$N1"
run 0 $F --state-file /tmp/fk/node2.state unfence --node node2 -d "$N2"
run 0 $F status -d "$N1"
run 0 $F --state-file /tmp/fk/node1.state fence --node node1 --victim node2 -d "$N1"
run 6 sg_raw -s 512 -i /tmp/block "$N2SG" 2a 00 00 00 00 00 00 00 01 00
run 24 sg_raw -s 512 -i /tmp/block "$N2SG" 2a 00 00 00 00 00 00 00 01 00
run 2 $F --state-file /tmp/fk/node2.state check
run 0 $F --state-file /tmp/fk/node1.state check
note "Clean up: node 1 replaces its key and clears everything."
run 0 prkeys register --key 0xfeed "$N1"
run 0 prkeys clear --key 0xfeed "$N1"
note "pathmap and multipath: a multipath map over the LUN's two paths; pathmap" \
    "prints it as multipath -ll does (device-mapper table and status, TEST UNIT" \
    "READY and ALUA priority per path), then one path goes offline (no multipathd" \
    "runs here to fail it in device-mapper, so its dm state stays active)."
modprobe -a dm_multipath dm_service_time
run 0 multipath
run 0 multipath -ll
run 0 pathmap --multipath-ll
echo offline > "/sys/block/${N2#/dev/}/device/state"
run 0 multipath -ll
run 0 pathmap --multipath-ll
run 0 pathmap show "$FK_LUN0_WWID"
echo running > "/sys/block/${N2#/dev/}/device/state"
run 0 multipath -F
if [ "$bad" -ne 0 ]; then
    note "Some commands did not exit as expected (marked !! above)."
    exit 1
fi
note "Done."
GUEST
bin=$(dirname "$prkeys")
scripts/testbed/run-in-guest --fabric iscsi --nodes 2 --luns 1 "$script" "$prkeys" "$bin/pathmap" "$bin/qdisk" "$bin/fencectl"
# Then vmguest-attach with libvirt: plan, attach, verify, check.
VMGUEST_ATTACH=$bin/vmguest-attach scripts/demo-vm.sh
