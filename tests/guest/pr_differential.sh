#!/bin/sh
# Guest half of the differential test of the fence simulator: runs the PR
# commands of steps.txt (lib/tests/data/pr_differential/) on LIO with
# sg_persist and sg_turs, and after every step prints, as read through an
# observer nexus that never registers, the command's exit status, the keys,
# the reservation and PTPL_A, one "DIFF:" line per step. The host side
# (tools/tests/guest_fencectl_audit.rs) requires these lines to be those
# of expected.txt, which the simulator must produce too (its unit test
# sim_answers_the_differential_sequence_as_lio_does).
# Run by: scripts/testbed/run-in-guest --nodes 4 --luns 1 tests/guest/pr_differential.sh steps.sh steps.txt
set -u
. /fk/bin/steps.sh
a=$(dev "$FK_LUN0_NODE0_SG")
b=$(dev "$FK_LUN0_NODE1_SG")
c=$(dev "$FK_LUN0_NODE2_SG")
d=$(dev "$FK_LUN0_NODE3_SG")
type_code() {
    case "$1" in
    "Write Exclusive") echo 1 ;;
    "Exclusive Access") echo 3 ;;
    "Write Exclusive, registrants only") echo 5 ;;
    "Exclusive Access, registrants only") echo 6 ;;
    "Write Exclusive, all registrants") echo 7 ;;
    "Exclusive Access, all registrants") echo 8 ;;
    *) echo "?" ;;
    esac
}
n=0
grep -v '^#' /fk/bin/steps.txt | grep -v '^ *$' > /tmp/steps
while IFS= read -r line; do
    n=$((n + 1))
    set -- $line
    eval p=\$$1
    case "$2" in
    rik) sg_persist -n -o -I -S "$3" "$p" ;;
    rikz) sg_persist -n -o -I -S "$3" -Z "$p" ;;
    reg) sg_persist -n -o -G -K "$3" -S "$4" "$p" ;;
    res) sg_persist -n -o -R -K "$3" -T "$4" "$p" ;;
    rel) sg_persist -n -o -L -K "$3" -T "$4" "$p" ;;
    pre) sg_persist -n -o -P -K "$3" -S "$4" -T "$5" "$p" ;;
    clr) sg_persist -n -o -C -K "$3" "$p" ;;
    tur) sg_turs "$p" ;;
    *) fail "unknown op $2" ;;
    esac > /tmp/step.out 2>&1 < /dev/null
    rc=$?
    sed 's/^/    /' /tmp/step.out
    keys=$(sg_persist -n -i -k "$d" | sed -n 's/^ *\(0x[0-9a-f]*\)$/\1/p' | tr '\n' ',' | sed 's/,$//')
    [ -n "$keys" ] || keys=-
    sg_persist -n -i -r "$d" > /tmp/r.out 2>&1
    if grep -q 'NO reservation' /tmp/r.out; then
        res=-
    else
        k=$(sed -n 's/^ *Key=\(0x[0-9a-f]*\)$/\1/p' /tmp/r.out)
        t=$(sed -n 's/.*type: //p' /tmp/r.out)
        res="$k/$(type_code "$t")"
    fi
    ptpl=$(sg_persist -n -i -c "$d" | sed -n 's/.*(PTPL_A): //p')
    ua=
    if [ "$2" = tur ] && [ "$rc" -eq 6 ]; then
        ua=" ua=$(sed -n 's/.*Additional sense: //p' /tmp/step.out)"
    fi
    echo "DIFF: $n $line: rc=$rc keys=$keys res=$res ptpl=$ptpl$ua"
done < /tmp/steps
echo "PASS: pr_differential ran $n steps"
