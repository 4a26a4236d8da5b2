#!/bin/sh
# Guest test: qdisk reports a timeout (exit 3, a device error) within its
# deadline when the device stops answering, instead of waiting for the
# device.
#
# Two ways of hanging reads, both over LUN 0 of the test bed:
#   1. a device-mapper delay target whose delay is far above the deadline;
#   2. a linear map suspended with --noflush, so every read waits in the
#      kernel until the map is resumed.
# In both, `qdisk dump --timeout 1000` must print its timeout error within
# the deadline plus a margin (process start and polling under TCG).
#
# The read itself cannot be interrupted: the thread stuck in it is in
# uninterruptible sleep, and the kernel reaps the process only when that
# thread is gone. So the error is timed when it appears, and the process's
# exit (status 3) once the read has completed (the delay ran out, or the
# map was resumed). See --timeout in qdisk(8).
#
# Needs: root, dmsetup, dm-delay, a scratch disk in FK_LUN0_NODE0_SD whose
# first MiB is overwritten, qdisk and steps.sh on PATH.
set -u

DISK=${FK_LUN0_NODE0_SD:?}
NAME=fk_qdisk_hang
DEADLINE_MS=1000
MARGIN_MS=2000
DELAY_MS=6000
SECTORS=2048	# 1 MiB in 512-byte units

. /fk/bin/steps.sh

cleanup() {
	dmsetup resume "$NAME" 2>/dev/null
	dmsetup remove "$NAME" 2>/dev/null
}
trap cleanup EXIT

modprobe -a dm_mod dm_delay 2>/dev/null
qdisk create -l hangtest --yes --force "$DISK" >/dev/null || fail "create on $DISK"

# hung_dump WHAT: runs qdisk dump on the map in the background and checks
# that its timeout error appears within the deadline; leaves the pid in $pid.
hung_dump() {
	rm -f /tmp/hang.err
	: >/tmp/hang.err
	start=$(now_ms)
	qdisk dump --timeout "$DEADLINE_MS" "/dev/mapper/$NAME" >/tmp/hang.out 2>/tmp/hang.err &
	pid=$!
	while ! grep -q . /tmp/hang.err; do
		[ $(($(now_ms) - start)) -lt $((DELAY_MS + 5000)) ] || fail "$1: no error after $((DELAY_MS + 5000)) ms"
		sleep 0.05
	done
	took=$(($(now_ms) - start))
	cat /tmp/hang.err
	grep -q "^qdisk: /dev/mapper/$NAME: no answer within 1s" /tmp/hang.err ||
		fail "$1: not a timeout error: $(cat /tmp/hang.err)"
	[ "$took" -lt $((DEADLINE_MS + MARGIN_MS)) ] ||
		fail "$1: error after $took ms for a $DEADLINE_MS ms deadline"
	echo "ok: $1: timeout error after $took ms (deadline $DEADLINE_MS ms)"
}

# reap WHAT: waits for the dump started by hung_dump; it must exit with 3.
reap() {
	wait "$pid"
	rc=$?
	[ "$rc" -eq 3 ] || fail "$1: exit $rc, expected 3 (timeout: a device error)"
	[ ! -s /tmp/hang.out ] || fail "$1: printed a dump: $(cat /tmp/hang.out)"
	echo "ok: $1: exit status 3 after $(($(now_ms) - start)) ms"
}

# 1. Delay target.
dmsetup create "$NAME" --table "0 $SECTORS delay $DISK 0 $DELAY_MS" || fail "dmsetup create delay"
hung_dump "delay target ($DELAY_MS ms)"
reap "delay target"
dmsetup remove "$NAME" || fail "dmsetup remove"

# 2. Suspended linear map; first show that the map itself is readable.
dmsetup create "$NAME" --table "0 $SECTORS linear $DISK 0" || fail "dmsetup create linear"
qdisk dump --timeout "$DEADLINE_MS" "/dev/mapper/$NAME" | grep -q "Label: *hangtest$" ||
	fail "dump of the linear map before suspending"
dmsetup suspend --noflush "$NAME" || fail "dmsetup suspend"
hung_dump "suspended map"
sleep 1
if [ -d "/proc/$pid/task" ]; then
	echo "note: $(ls "/proc/$pid/task" | wc -l) thread(s) of qdisk left while its read waits on the suspended map"
fi
dmsetup resume "$NAME" || fail "dmsetup resume"
reap "suspended map"
dmsetup remove "$NAME" || fail "dmsetup remove"
trap - EXIT
echo "qdisk hang test passed"
