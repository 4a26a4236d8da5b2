#!/bin/sh
# Guest test: three heartbeatd daemons, one per node, on the iSCSI fabric:
# LUN 0 is the quorum disk, LUNs 1 and 2 carry the data. Every node reaches
# every LUN through its own iSCSI session (its own I_T nexus).
#
# Sequence: qdisk create on LUN 0; fencectl unfence of each node on its
# nexuses to LUNs 1 and 2; the three daemons start (interval 1 s, tko 4,
# self-fence by a command that writes /tmp/nodeJ.fenced); one master
# (node 1); kill -STOP node 3: node 1 evicts it within interval * (tko + 1)
# and node 3's key is gone from both data LUNs within one more interval
# (times measured from the stop and printed; keys read with sg_persist);
# node 3's WRITE(10) is refused (sg_raw exit 24) while it is stopped;
# kill -CONT: node 3 runs its self-fence within one interval and exits 2;
# kill -STOP of the master: node 2 takes over, evicts node 1 and fences it;
# an independent reader of the quorum disk (qdisk dump) sees the states
# heartbeatd status reports; SIGTERM stops node 2 cleanly (state NONE).
# Run by: scripts/testbed/run-in-guest --fabric iscsi --nodes 3 --luns 3
#         --paths-per-node 1 tests/guest/heartbeatd_three_nodes.sh heartbeatd fencectl qdisk
set -u
. /fk/bin/steps.sh

[ "${FK_NODES:?}" -ge 3 ] || fail "needs FK_NODES >= 3"
sd() { dev "$(var "FK_LUN$1_NODE$2_SD")"; }   # LUN i, node j (0-based)
sg() { dev "$(var "FK_LUN$1_NODE$2_SG")"; }

heartbeat_setup hbtest
step 0 "a quorum disk on LUN 0" qdisk create -l hb --yes "$(sd 0 0)"

for j in 1 2 3; do
    k=$((j - 1))
    step 0 "node$j unfences on its nexuses to the data LUNs" \
        fencectl --config /tmp/cluster.toml --no-multipath unfence --node node$j \
        --no-state -d "$(sg 1 $k)" -d "$(sg 2 $k)"
done
step 0 "node1's configuration checks" heartbeatd -c /tmp/node1.toml --check-config
expect "dead after 4s"

for j in 1 2 3; do
    heartbeatd -c /tmp/node$j.toml run > /tmp/node$j.log 2>&1 &
    eval "pid$j=\$!"
done

is() { [ "$(hb_state "$1" "$2")" = "$3" ]; }

until_ok 40 is 1 1 Master || { cat /tmp/node*.log; fail "no master after 40 s"; }
until_ok 20 is 1 3 Running || fail "node 3 not running"
step 0 "status" heartbeatd -c /tmp/node2.toml status
expect "node1 +Master"
expect "node2 +Running"
expect "node3 +Running"
# key J: node J's key as sg_persist prints it.
key() { echo "0x$(fencectl --config /tmp/cluster.toml list | sed -n "s/^node$1,//p")"; }
key3=$(key 3)
step 0 "node 3's key is registered on LUN 1" sg_persist -n -k "$(sg 1 0)"
expect "$key3"

echo "--- stopping node 3 (pid $pid3)"
t0=$(now_ms)
kill -STOP "$pid3"
until_ok 15 grep -q "node 3 evicted" /tmp/node1.log || { cat /tmp/node1.log; fail "node 3 not evicted"; }
t_evict=$(( $(now_ms) - t0 ))
is 1 3 Evicted || fail "node 1 logged the eviction but status does not show it"
until_ok 10 sh -c "[ \$(sg_persist -n -k $(sg 1 0) | grep -c '^    $key3\$') -eq 0 ] && [ \$(sg_persist -n -k $(sg 2 0) | grep -c '^    $key3\$') -eq 0 ]" \
    || { cat /tmp/node1.log; fail "node 3's key still registered"; }
t_gone=$(( $(now_ms) - t0 ))
echo "node 3 stopped: evicted after $t_evict ms, its key gone from both data LUNs after $t_gone ms"
# The bound is interval * (tko + 1) = 5000 ms; the log is polled every
# 50 ms by a process that takes about as long again under TCG, and a
# loaded host delays the daemons' cycles a little.
[ "$t_evict" -le 5500 ] || fail "evicted after $t_evict ms, more than interval * (tko + 1) = 5000 ms (+ 500 ms polling)"
[ $((t_gone - t_evict)) -le 1500 ] || fail "fence took $((t_gone - t_evict)) ms after the eviction"
step 6 "node 3's next command on LUN 1 gets the unit attention of the preempt" write "$(sg 1 2)"
expect "Registrations preempted"
step 24 "node 3's write to LUN 1 is refused while it is stopped" write "$(sg 1 2)"
step 0 "the keys on LUN 2 (sg_persist)" sg_persist -n -k "$(sg 2 0)"
reject "$key3"
# The daemon collects the fence's result at its next cycle.
until_ok 3 grep -q "node 3 fenced" /tmp/node1.log || { cat /tmp/node1.log; fail "node 1 did not report node 3 fenced"; }

echo "--- resuming node 3"
t1=$(now_ms)
kill -CONT "$pid3"
until_ok 5 test -s /tmp/node3.fenced || { cat /tmp/node3.log; fail "node 3 did not fence itself"; }
echo "node 3 fenced itself $(( $(now_ms) - t1 )) ms after it resumed: $(cat /tmp/node3.fenced)"
wait "$pid3"; rc=$?
[ "$rc" -eq 2 ] || { cat /tmp/node3.log; fail "node 3's heartbeatd exited $rc, expected 2"; }
is 2 3 Evicted || fail "node 3's block was written after its self-fence"

echo "--- stopping the master, node 1"
t0=$(now_ms)
kill -STOP "$pid1"
until_ok 20 is 2 2 Master || { cat /tmp/node2.log; fail "node 2 did not take over"; }
until_ok 10 is 2 1 Evicted || { cat /tmp/node2.log; fail "node 1 not evicted"; }
key1=$(key 1)
until_ok 10 sh -c "[ \$(sg_persist -n -k $(sg 1 1) | grep -c '^    $key1\$') -eq 0 ]" \
    || { cat /tmp/node2.log; fail "node 1's key still registered"; }
echo "master stopped: node 2 master, node 1 evicted and fenced after $(( $(now_ms) - t0 )) ms"
step 0 "an independent reader of the quorum disk" qdisk dump "$(sd 0 1)"
expect "Evicted"
step 0 "heartbeatd status" heartbeatd -c /tmp/node2.toml status
expect "node1 +Evicted"
expect "node2 +Master"
expect "node3 +Evicted"
# The quorum disk's first 18 blocks, for the host's independent reader
# (tests/qdisk/independent_reader.py, which does not use fencekit).
dd if="$(sd 0 1)" bs=4096 count=18 iflag=direct 2>/dev/null | base64 > /tmp/qd.b64 \
    || fail "cannot read the quorum disk"
echo "QDISK-BEGIN"
cat /tmp/qd.b64
echo "QDISK-END"

kill -TERM "$pid2"
wait "$pid2"; rc=$?
[ "$rc" -eq 0 ] || { cat /tmp/node2.log; fail "node 2 exited $rc on SIGTERM"; }
kill -KILL "$pid1" 2>/dev/null
step 0 "node 2 left cleanly" heartbeatd -c /tmp/node3.toml status
reject "node2 "
echo "PASS: heartbeatd_three_nodes"
