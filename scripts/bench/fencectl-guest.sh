#!/bin/sh
# Guest side of scripts/bench/fencectl-vs-fence_scsi: times fence_scsi's
# command sequence against one fencectl call, fencing a victim on every LIO
# LUN of the test bed (iSCSI fabric): node 0 is the survivor, node 1 the
# victim, each with FK_PATHS paths (sessions) to every LUN. Prints
# one line per round and case:
#   round  case  ms  luns_fenced
# and at the end the mean of each case and their ratio.
set -u
R=${FK_BENCH_ROUNDS:-3}
L=$FK_LUNS
fail() { echo "FAIL: $*"; exit 1; }
var() { eval "printf '%s' \"\${$1:-}\""; }
# paths J P: node J's path P to every LUN.
paths() {
    out=""
    i=0
    while [ "$i" -lt "$L" ]; do
        out="$out $(var "FK_LUN${i}_NODE$1_PATH$2_SG")"
        i=$((i + 1))
    done
    echo $out
}
[ "${FK_FABRIC:-}" = iscsi ] || fail "needs the iscsi fabric"
S=$(paths 0 0); V=$(paths 1 0); S2=""; V2=""
if [ "${FK_PATHS:-1}" -ge 2 ]; then
    S2=$(paths 0 1); V2=$(paths 1 1)
fi
# The survivor fences through its first path of each LUN, as fence_scsi
# does through a multipath map (one path per device).

cfg=/tmp/fk-bench.toml
cat > $cfg <<EOT
cluster = "fkbench"
scheme = "id"
[[node]]
name = "survivor"
id = 1
[[node]]
name = "victim"
id = 2
EOT
F="fencectl --config $cfg --no-multipath"
KS=$($F list | sed -n 's/^survivor,//p')
KV=$($F list | sed -n 's/^victim,//p')
[ -n "$KS" ] && [ -n "$KV" ] || fail "no keys from fencectl list"
echo "# survivor key 0x$KS on $(echo $S $S2 | wc -w) paths, victim key 0x$KV on $(echo $V $V2 | wc -w) paths, $L LUNs"

# Milliseconds since boot, at the 10 ms resolution of /proc/uptime.
now_ms() { read -r up _ < /proc/uptime; echo "$up" | awk '{ printf "%d\n", $1 * 1000 }'; }

# Untimed: a clean slate, both nodes registered on all their paths, the
# survivor holding a type 5 reservation. prkeys re-sends on the unit
# attention a CLEAR leaves on the other nexuses.
setup() {
    prkeys clear --key "0x$KS" $S > /dev/null 2>&1 || true
    prkeys register --retry-ua 3 --key "0x$KS" $S $S2 > /dev/null || fail "survivor register"
    prkeys register --retry-ua 3 --key "0x$KV" $V $V2 > /dev/null || fail "victim register"
    prkeys reserve --retry-ua 3 --key "0x$KS" --type 5 $S > /dev/null || fail "reserve"
    n=$(count_victim)
    [ "$n" -eq "$L" ] || fail "victim registered on $n of $L LUNs after setup"
}
# LUNs where sg_persist still reads the victim's key (untimed, one process
# per LUN).
count_victim() {
    c=0
    for d in $S; do
        sg_persist -n -i -k "$d" 2> /dev/null | grep -qi "0x$KV\$" && c=$((c + 1))
    done
    echo $c
}
report() { printf '%-6s %-52s %8d %5d/%d\n' "$1" "$2" "$3" "$4" "$L"; }

printf '%-6s %-52s %8s %8s\n' round case ms fenced
ta=0; tb=0; ok=1
r=1
while [ "$r" -le "$R" ]; do
    setup
    # (a) fence_scsi's sequence per device: TEST UNIT READY, read keys,
    # PREEMPT AND ABORT, read keys.
    t0=$(now_ms)
    for d in $S; do
        sg_turs "$d" > /dev/null 2>&1
        sg_persist -n -i -k -d "$d" > /dev/null 2>&1
        sg_persist -n -o -A -T 5 -K "0x$KS" -S "0x$KV" -d "$d" > /dev/null 2>&1 || echo "preempt and abort failed on $d"
        sg_persist -n -i -k -d "$d" > /dev/null 2>&1
    done
    t1=$(now_ms)
    gone=$((L - $(count_victim)))
    [ "$gone" -eq "$L" ] || ok=0
    report "$r" "fence_scsi sequence ($((4 * L)) processes)" $((t1 - t0)) "$gone"
    ta=$((ta + t1 - t0))

    setup
    # (b) one fencectl call for every LUN.
    t0=$(now_ms)
    $F --state-file /tmp/fk-survivor.state fence --victim victim --node survivor \
        -d $S > /tmp/fk-fence.out 2>&1 || { cat /tmp/fk-fence.out; echo "fencectl failed"; }
    t1=$(now_ms)
    gone=$((L - $(count_victim)))
    [ "$gone" -eq "$L" ] || ok=0
    report "$r" "fencectl fence (PREEMPT AND ABORT), one call" $((t1 - t0)) "$gone"
    tb=$((tb + t1 - t0))
    r=$((r + 1))
done
tail -n 3 /tmp/fk-fence.out | sed 's/^/# last fencectl output: /'
awk -v a="$ta" -v b="$tb" -v r="$R" 'BEGIN {
    printf "mean fence_scsi sequence %.0f ms, fencectl %.0f ms, ratio %.1f\n", a / r, b / r, (b > 0 ? a / b : 0) }'
prkeys clear --key "0x$KS" $S > /dev/null 2>&1
[ "$ok" -eq 1 ] || fail "the victim was not fenced on every LUN in every round"
