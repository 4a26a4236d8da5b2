#!/usr/bin/env bash
# A walk through SCSI-3 persistent reservations with prkeys, in the guest
# test bed: one LIO LUN seen by two nodes (two I_T nexuses). Each command is
# printed ("$ ...") before its output.
#
# Usage: scripts/demo.sh     (or: make demo)
# Needs target/debug/prkeys (cargo build) and the test bed (make testbed;
# built on first use).
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

note "One LUN ($FK_LUN0_WWID), two nodes: node 1 sees it as $N1, node 2 as $N2."
run 0 lsscsi
note "Both nodes register a key (REGISTER AND IGNORE EXISTING KEY)."
run 0 prkeys register --key 0x1 "$N1"
run 0 prkeys register --key 0x2 "$N2"
note "Node 1 takes a Write Exclusive, Registrants Only reservation (type 5)."
run 0 prkeys reserve --key 0x1 --type wero "$N1"
run 0 prkeys keys "$N1"
run 0 prkeys reservation "$N2"
note "Node 1 writes: accepted."
run 0 dd if=/tmp/block of="$N1" bs=512 count=1 oflag=direct
note "Node 1 fences node 2: its key is preempted." \
    "(Plain PREEMPT: PREEMPT AND ABORT, prkeys preempt --abort, deadlocks LIO's" \
    "tcm_loop target on this guest kernel; see scripts/testbed/README.md.)"
run 0 prkeys preempt --key 0x1 --victim 0x2 --type wero "$N1"
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
if [ "$bad" -ne 0 ]; then
    note "Some commands did not exit as expected (marked !! above)."
    exit 1
fi
note "Done."
GUEST
exec scripts/testbed/run-in-guest --nodes 2 --luns 1 "$script" "$prkeys"
