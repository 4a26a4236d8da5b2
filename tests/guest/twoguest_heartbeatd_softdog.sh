#!/usr/bin/env bash
# heartbeatd across two guests (two kernels) on one tgtd LUN, which is both
# the quorum disk (its first blocks) and the data device, with softdog as
# guest b's watchdog. Guest a self-fences by a command (it must never need
# to); guest b by the watchdog.
#
# Sequence: qdisk create; both nodes unfence; both daemons start (interval
# 1 s, tko 4); node 1 is master. Guest b writes a counter into one block of
# the LUN with dd oflag=direct every 200 ms. The host stops guest b's QEMU
# (SIGSTOP): node 1 evicts node 2 and preempts its key (sg_persist from a
# shows it gone), and the block holds the last count b wrote before the
# fence. The host resumes guest b (SIGCONT): b's heartbeatd stops feeding
# the watchdog, softdog resets the guest ("Initiating system reboot" on its
# console) and QEMU, run with -no-reboot, exits: the harness sees guest b
# reset. The block still holds the count of before the fence: none of b's
# writes reached the disk between the resume and the reset. Times from the
# stop and from the resume are printed.
#
# With FK_CASE=evict (twoguest_heartbeatd_softdog_evict.sh) guest b is not
# stopped: an administrator evicts node 2 from guest a (qdisk evict
# --writer 1) while b's daemon runs and could go on feeding its watchdog.
# It finds EVICT in its block and stops feeding; softdog resets guest b
# within the watchdog's timeout (interval * tko = 4 s) plus a cycle, and
# node 1 fences node 2 meanwhile; again no write of b reaches the LUN
# after its key is gone.
# Run by: scripts/testbed/two-guests --file target/debug/heartbeatd
#         --file target/debug/fencectl --file target/debug/qdisk
#         tests/guest/twoguest_heartbeatd_softdog.sh
set -u
FK_OUT=$(mktemp)
trap 'rm -f "$FK_OUT"' EXIT
. "$(dirname "$0")/steps.sh"

# The block b writes: 20 MiB into the LUN, far past the quorum disk's.
BLK=40960
lun_block() { dd if="$FK_LUN_IMG" bs=512 skip=$BLK count=1 2>/dev/null | tr -d '\0' | head -c 12; }
now() { date +%s%3N; }

cluster='mkdir -p /etc/fencekit && cat > /etc/fencekit/cluster.toml <<EOC
cluster = "fkhb"
scheme = "id"
devices = ["$FK_SG"]
[[node]]
name = "node1"
id = 1
[[node]]
name = "node2"
id = 2
EOC'
# heartbeat.toml for NODE with the self-fence section SELF.
hb_config() {
    cat <<EOC
cat > /etc/fencekit/heartbeat.toml <<EOT
cluster_config = "/etc/fencekit/cluster.toml"
node = "$1"
[quorum]
device = "\$FK_DISK"
interval = 1
tko = 4
[nodes]
node1 = 1
node2 = 2
[fence]
devices = ["\$FK_SG"]
timeout = 5
[self_fence]
$2
EOT
EOC
}
on_step 0 a "$cluster"
on_step 0 b "$cluster"
on_step 0 a 'qdisk create -l hb --yes $FK_DISK'
on_step 0 a 'fencectl unfence --node node1'
on_step 0 b 'fencectl unfence --node node2'
on_step 0 a "$(hb_config node1 'method = "command"
command = "echo \"\$FK_SELF_FENCE\" > /tmp/fenced"')"
on_step 0 b "$(hb_config node2 'method = "watchdog"
watchdog = "/dev/watchdog"')"
on_step 0 b 'modprobe softdog && ls -l /dev/watchdog'
on_step 0 b 'heartbeatd -c /etc/fencekit/heartbeat.toml --check-config'
expect "dead after 4s"

start='heartbeatd -c /etc/fencekit/heartbeat.toml run > /tmp/hb.log 2>&1 3>&- &'
on_step 0 a "$start"
on_step 0 b "$start"
# state GUEST ID: node ID's state as GUEST's `heartbeatd status` shows it.
state() { on "$1" 'heartbeatd -c /etc/fencekit/heartbeat.toml status' 2>/dev/null | awk -v n="$2" '$1 == n {print $3}'; }
wait_for() { # SECONDS COMMAND...
    local end=$((SECONDS + $1))
    shift
    while ((SECONDS < end)); do "$@" && return 0; sleep 0.5; done
    return 1
}
master_and_running() { [[ "$(state a 1)" == Master && "$(state a 2)" == Running ]]; }
wait_for 90 master_and_running || { on a "heartbeatd -c /etc/fencekit/heartbeat.toml status"; on a "cat /tmp/hb.log"; on b "cat /tmp/hb.log"; fail "node 1 not master with node 2 running after 90 s"; }
on_step 0 a 'heartbeatd -c /etc/fencekit/heartbeat.toml status'
expect "node1 +Master"
expect "node2 +Running"

key2=0x$(on a 'fencectl list' | sed -n 's/^node2,//p')
[[ "$key2" != 0x ]] || fail "no key for node2 in fencectl list"
on_step 0 a 'sg_persist -n -k $FK_SG'
expect "$key2"

# Guest b's writer: a counter into block BLK, every 200 ms.
on_step 0 b "sh -c 'i=0; while :; do i=\$((i + 1)); printf \"fkb%09d\" \$i | dd of=\$FK_DISK bs=512 seek=$BLK count=1 conv=sync oflag=direct 2>/dev/null; sleep 0.2; done' > /dev/null 2>&1 3>&- &"
b_writes() { [[ "$(lun_block)" == fkb* ]]; }
wait_for 20 b_writes || fail "guest b's writes do not reach the LUN"
first=$(lun_block)
b_advances() { [[ "$(lun_block)" != "$first" ]]; }
wait_for 20 b_advances || fail "guest b's counter does not advance past $first"
echo "guest b writes: $first, then $(lun_block)"

if [[ "${FK_CASE:-stop}" == evict ]]; then
    echo "--- evicting node 2 while it runs"
    t0=$(now)
    on_step 0 a 'qdisk evict --node 2 --writer 1 $FK_DISK'
    reset() { [[ "$(guest-state b)" == exited ]]; }
    wait_for 60 reset || fail "guest b still $(guest-state b) 60 s after its eviction: its watchdog did not reset it"
    t_reset=$(($(now) - t0))
    grep -q "Initiating system reboot" "$FK_TWO_LOGDIR/b-console.log" ||
        { tail -n 30 "$FK_TWO_LOGDIR/b-console.log"; fail "guest b exited, but its console does not show the watchdog's reset"; }
    echo "guest b evicted: reset by softdog $t_reset ms after the eviction"
    # The watchdog's timeout is 4 s; b notices the eviction within a cycle.
    ((t_reset <= 4000 + 2000 + 1500)) || fail "reset $t_reset ms after the eviction: more than timeout + 2 cycles (+ 1.5 s polling)"
    fenced() { on a 'grep -q "node 2 fenced" /tmp/hb.log'; }
    wait_for 30 fenced || { on a 'cat /tmp/hb.log'; fail "node 1 did not fence node 2"; }
    on_step 0 a 'sg_persist -n -k $FK_SG'
    reject "$key2"
    before=$(lun_block)
    sleep 2
    [[ "$(lun_block)" == "$before" ]] || fail "the block changed after guest b's reset and fence"
    on_step 0 a 'heartbeatd -c /etc/fencekit/heartbeat.toml status'
    expect "node1 +Master"
    expect "node2 +Evicted"
    echo "PASS: heartbeatd softdog after an eviction across two guests ($n steps)"
    exit 0
fi

echo "--- stopping guest b (QEMU pid $FK_B_QPID)"
t0=$(now)
kill -STOP "$FK_B_QPID"
[[ "$(guest-state b)" == stopped ]] || fail "guest b is $(guest-state b), not stopped"
evicted() { on a 'grep -q "node 2 fenced" /tmp/hb.log'; }
wait_for 30 evicted || { on a 'cat /tmp/hb.log'; fail "node 1 did not fence node 2"; }
t_fenced=$(($(now) - t0))
on_step 0 a 'sg_persist -n -k $FK_SG'
reject "$key2"
[[ "$(state a 2)" == Evicted ]] || fail "node 1's status shows node 2 $(state a 2), not Evicted"
before=$(lun_block)
echo "guest b stopped: node 2 fenced after $t_fenced ms (interval 1 s, tko 4); the block holds $before"

echo "--- resuming guest b"
t1=$(now)
kill -CONT "$FK_B_QPID"
reset() { [[ "$(guest-state b)" == exited ]]; }
wait_for 60 reset || fail "guest b still $(guest-state b) 60 s after the resume: its watchdog did not reset it"
t_reset=$(($(now) - t1))
grep -q "Initiating system reboot" "$FK_TWO_LOGDIR/b-console.log" ||
    { tail -n 30 "$FK_TWO_LOGDIR/b-console.log"; fail "guest b exited, but its console does not show the watchdog's reset"; }
after=$(lun_block)
echo "guest b reset by softdog $t_reset ms after the resume; the block holds $after"
[[ "$after" == "$before" ]] || fail "a write of guest b reached the LUN after its fence: $before became $after"
on_step 0 a 'sg_persist -n -k $FK_SG'
reject "$key2"
on_step 0 a 'heartbeatd -c /etc/fencekit/heartbeat.toml status'
expect "node1 +Master"
on_step 1 a 'test -e /tmp/fenced'
echo "PASS: heartbeatd softdog across two guests ($n steps)"
