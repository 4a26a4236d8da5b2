#!/bin/sh
# Guest side of scripts/bench/prkeys-vs-sg_persist: times prkeys against
# sg_persist on the LIO LUNs of the test bed. Prints one line per case:
#   case  runs  total_ms  per_run_ms
set -u
R=${FK_BENCH_RUNS:-5}
devs=""
i=0
while [ "$i" -lt "$FK_LUNS" ]; do
    eval "devs=\"\$devs \$FK_LUN${i}_NODE0_SG\""
    i=$((i + 1))
done
set -- $devs
one=$1
# Milliseconds since boot, at the 10 ms resolution of /proc/uptime.
now_ms() { read -r up _ < /proc/uptime; echo "$up" | awk '{ printf "%d\n", $1 * 1000 }'; }
report() { awk -v c="$1" -v n="$2" -v t="$3" 'BEGIN { printf "%-44s %4d %9d %10.2f\n", c, n, t, t / n }'; }

prkeys register --key 0xbe5c "$@" > /dev/null || { echo "register failed"; exit 1; }
printf '%-44s %4s %9s %9s\n' case runs total_ms per_run_ms

t0=$(now_ms)
r=0; while [ $r -lt $R ]; do for d in "$@"; do sg_persist -n -k "$d" > /dev/null || exit 1; done; r=$((r + 1)); done
t1=$(now_ms)
report "sg_persist -n -k, one run per LUN ($#)" "$R" $((t1 - t0))

t0=$(now_ms)
r=0; while [ $r -lt $R ]; do prkeys keys "$@" > /dev/null || exit 1; r=$((r + 1)); done
t1=$(now_ms)
report "prkeys keys, one call for $# LUNs" "$R" $((t1 - t0))

t0=$(now_ms)
r=0; while [ $r -lt $R ]; do prkeys keys --json "$@" > /dev/null || exit 1; r=$((r + 1)); done
t1=$(now_ms)
report "prkeys keys --json, one call for $# LUNs" "$R" $((t1 - t0))

N=$((R * 10))
t0=$(now_ms)
r=0; while [ $r -lt $N ]; do sg_persist -n -k "$one" > /dev/null || exit 1; r=$((r + 1)); done
t1=$(now_ms)
report "sg_persist -n -k, one LUN" "$N" $((t1 - t0))

t0=$(now_ms)
r=0; while [ $r -lt $N ]; do prkeys -n -k "$one" > /dev/null || exit 1; r=$((r + 1)); done
t1=$(now_ms)
report "prkeys -n -k (drop-in), one LUN" "$N" $((t1 - t0))

t0=$(now_ms)
r=0; while [ $r -lt $N ]; do prkeys keys "$one" > /dev/null || exit 1; r=$((r + 1)); done
t1=$(now_ms)
report "prkeys keys, one LUN" "$N" $((t1 - t0))

t0=$(now_ms)
r=0; while [ $r -lt $N ]; do sg_persist -k "$one" > /dev/null || exit 1; r=$((r + 1)); done
t1=$(now_ms)
report "sg_persist -k (with INQUIRY), one LUN" "$N" $((t1 - t0))

t0=$(now_ms)
r=0; while [ $r -lt $N ]; do prkeys -k "$one" > /dev/null || exit 1; r=$((r + 1)); done
t1=$(now_ms)
report "prkeys -k (drop-in, with INQUIRY), one LUN" "$N" $((t1 - t0))

prkeys clear --key 0xbe5c "$@" > /dev/null
