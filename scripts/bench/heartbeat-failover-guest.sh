#!/bin/sh
# Guest side of scripts/bench/heartbeat-failover. Prints one line a round:
#   round  evicted_ms  key_gone_ms  write_refused_ms  self_fence_ms
# (the first three from the SIGSTOP of node 3, the last from its SIGCONT),
# the mean and maximum of each, and the master's idle CPU and RSS.
set -u
. /fk/bin/steps.sh
R=${FK_BENCH_ROUNDS:-20}
IDLE=${FK_BENCH_IDLE:-600}
sd() { dev "$(var "FK_LUN$1_NODE$2_SD")"; }
sg() { dev "$(var "FK_LUN$1_NODE$2_SG")"; }
heartbeat_setup hbbench
qdisk create -l hb --yes "$(sd 0 0)" > /dev/null || fail "qdisk create"
unfence() {
    fencectl --config /tmp/cluster.toml --no-multipath unfence --node "node$1" --no-state \
        -d "$(sg 1 $(($1 - 1)))" -d "$(sg 2 $(($1 - 1)))" > /dev/null 2>&1 || fail "unfence node$1"
}
is() { [ "$(hb_state "$1" "$2")" = "$3" ]; }
key3="0x$(fencectl --config /tmp/cluster.toml list | sed -n 's/^node3,//p')"
has_key3() { sg_persist -n -k "$1" 2>/dev/null | grep -q "^    $key3\$"; }
key3_gone() { ! has_key3 "$(sg 1 0)" && ! has_key3 "$(sg 2 0)"; }
refused() { write "$(sg 1 2)" > /dev/null 2>&1; [ $? -eq 24 ]; }
evictions() { grep -c "node 3 evicted" /tmp/node1.log; }

for j in 1 2; do unfence $j; done
heartbeatd -c /tmp/node1.toml run > /tmp/node1.log 2>&1 & pid1=$!
heartbeatd -c /tmp/node2.toml run > /tmp/node2.log 2>&1 & pid2=$!
until_ok 60 is 1 1 Master || fail "no master"
echo "round evicted_ms key_gone_ms write_refused_ms self_fence_ms" | tee /tmp/rounds
r=1
while [ "$r" -le "$R" ]; do
    rm -f /tmp/node3.fenced
    unfence 3
    heartbeatd -c /tmp/node3.toml run >> /tmp/node3.log 2>&1 & pid3=$!
    until_ok 60 is 1 3 Running || fail "round $r: node 3 not running"
    sleep 2
    before=$(evictions)
    t0=$(now_ms)
    kill -STOP "$pid3"
    until_ok 30 sh -c "[ \$(grep -c 'node 3 evicted' /tmp/node1.log) -gt $before ]" || fail "round $r: no eviction"
    te=$(( $(now_ms) - t0 ))
    until_ok 30 key3_gone || fail "round $r: key still there"
    tg=$(( $(now_ms) - t0 ))
    until_ok 30 refused || fail "round $r: write not refused"
    tw=$(( $(now_ms) - t0 ))
    t1=$(now_ms)
    kill -CONT "$pid3"
    until_ok 30 test -s /tmp/node3.fenced || fail "round $r: no self-fence"
    ts=$(( $(now_ms) - t1 ))
    wait "$pid3"
    echo "$r $te $tg $tw $ts" | tee -a /tmp/rounds
    r=$((r + 1))
done
awk 'NR > 1 { for (i = 2; i <= 5; i++) { s[i] += $i; if ($i > m[i]) m[i] = $i } n++ }
     END { printf "mean %d %d %d %d\nmax  %d %d %d %d\n", s[2]/n, s[3]/n, s[4]/n, s[5]/n, m[2], m[3], m[4], m[5] }' /tmp/rounds
# The master idle: CPU ticks (utime + stime) and peak RSS over IDLE s.
hz=100
ticks() { awk '{ print $14 + $15 }' /proc/$pid1/stat; }
c0=$(ticks); w0=$(now_ms); peak=0
while [ $(( $(now_ms) - w0 )) -lt $((IDLE * 1000)) ]; do
    rss=$(awk '/^VmRSS/ { print $2 }' /proc/$pid1/status)
    [ "$rss" -gt "$peak" ] && peak=$rss
    sleep 5
done
c1=$(ticks); w1=$(now_ms)
echo "idle master over $(( (w1 - w0) / 1000 )) s: CPU $(( (c1 - c0) * 1000 / hz )) ms ($(awk -v c=$((c1 - c0)) -v w=$((w1 - w0)) -v hz=$hz 'BEGIN { printf "%.3f", 100 * c * 1000 / hz / w }') % of one CPU), peak RSS $peak kB"
kill -TERM "$pid1" "$pid2"
wait
echo "PASS: heartbeat-failover"
