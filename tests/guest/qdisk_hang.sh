#!/bin/sh
# Guest test: qdisk gives a timeout (exit 4) within its deadline when the
# device stops answering, instead of hanging.
#
# Needs: root, dmsetup, a scratch SCSI disk in $FK_LUN0_NODE0_SD (its first
# 1 MiB is overwritten), and qdisk on PATH. Not run on the host: it needs
# device-mapper, which only the guest test bed has.
set -eu

DISK=${FK_LUN0_NODE0_SD:?set FK_LUN0_NODE0_SD to a scratch disk, e.g. /dev/sdb}
NAME=fk_qdisk_hang
DEADLINE_MS=1000
SECTORS=2048	# 1 MiB in 512-byte units

cleanup() {
	dmsetup resume "$NAME" 2>/dev/null || true
	dmsetup remove "$NAME" 2>/dev/null || true
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. A linear map over the disk, and a quorum disk on it.
dmsetup create "$NAME" --table "0 $SECTORS linear $DISK 0"
qdisk create -l hangtest --yes "/dev/mapper/$NAME"
qdisk dump "/dev/mapper/$NAME" >/dev/null || fail "dump before suspend"

# 2. Suspend the map (with --noflush so queued I/O just waits): every read
#    now blocks in the kernel until the map is resumed.
dmsetup suspend --noflush "$NAME"
start=$(date +%s%N)
set +e
qdisk dump --timeout "$DEADLINE_MS" "/dev/mapper/$NAME" >/dev/null 2>&1
rc=$?
set -e
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
dmsetup resume "$NAME"
[ "$rc" -eq 4 ] || fail "suspended map: exit $rc, expected 4 (timeout)"
[ "$took_ms" -lt $((DEADLINE_MS + 1500)) ] || fail "took ${took_ms} ms for a ${DEADLINE_MS} ms deadline"
echo "ok: suspended map timed out in ${took_ms} ms (deadline ${DEADLINE_MS} ms)"

# 3. A delay target slower than the deadline: same result.
dmsetup remove "$NAME"
dmsetup create "$NAME" --table "0 $SECTORS delay $DISK 0 60000"
start=$(date +%s%N)
set +e
qdisk evict --node 3 --timeout "$DEADLINE_MS" "/dev/mapper/$NAME" >/dev/null 2>&1
rc=$?
set -e
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$rc" -eq 4 ] || fail "delay target: exit $rc, expected 4 (timeout)"
[ "$took_ms" -lt $((DEADLINE_MS * 2 + 1500)) ] || fail "took ${took_ms} ms"
echo "ok: 60 s delay target timed out in ${took_ms} ms (deadline ${DEADLINE_MS} ms)"
