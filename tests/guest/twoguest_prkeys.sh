#!/usr/bin/env bash
# prkeys across two guests (two kernels) sharing one tgtd iSCSI LUN through
# QEMU scsi-block pass-through: the whole PR sequence, with prkeys (native
# and sg_persist mode) compared against sg_persist in each guest. tgt 1.0.85
# has no READ FULL STATUS and rejects PREEMPT AND ABORT (ILLEGAL REQUEST,
# invalid field in CDB): prkeys must say so and exit as sg_persist does.
# Run by: scripts/testbed/two-guests --file target/debug/prkeys
#         --file tests/guest/pr-compare tests/guest/twoguest_prkeys.sh
set -u
n=0
fail() { echo "FAIL: $*"; exit 1; }
# step EXPECTED GUEST COMMAND: run COMMAND in GUEST, check its status.
step() {
    local want=$1 g=$2 cmd=$3 rc
    n=$((n + 1))
    echo "--- $n. [$g] $cmd"
    on "$g" "$cmd" > /tmp/fk-2g.out 2>&1
    rc=$?
    cat /tmp/fk-2g.out
    [ "$rc" -eq "$want" ] || fail "step $n: exit status $rc, expected $want"
}
expect() { grep -Eq -- "$1" /tmp/fk-2g.out || fail "step $n: output does not match '$1'"; }
compare() {
    local g=$1
    for o in -k -r -c "-n -k" "-n -r" "-n -c"; do
        step 0 "$g" "pr-compare \$FK_SG $o"
    done
}
write='dd if=/dev/zero of=/tmp/b bs=512 count=1 2>/dev/null; sg_raw -s 512 -i /tmp/b $FK_SG 2a 00 00 00 00 00 00 00 01 00'

step 0 a 'prkeys inquiry $FK_SG'
expect "IET|tgt|FENCEKIT|fencekit"
step 0 a 'prkeys register --key 0xa1 $FK_SG'
step 0 b 'prkeys register --key 0xb2 $FK_SG'
step 0 a 'prkeys reserve --key 0xa1 --type wero $FK_SG'
step 0 b 'prkeys keys $FK_SG'
expect "0xa1"
expect "0xb2"
step 0 b 'prkeys reservation $FK_SG'
expect "reserved by key 0xa1, type Write Exclusive, registrants only"
compare a
compare b
step 5 a 'prkeys status $FK_SG'
expect "READ FULL STATUS|Read full status"
expect "not support"
step 0 a "$write"
step 0 b "$write"
step 5 a 'prkeys preempt --key 0xa1 --victim 0xb2 --abort --type wero $FK_SG'
expect "does not support PERSISTENT RESERVE OUT\(Preempt and abort\)"
step 5 a 'pr-compare $FK_SG -n -o -A -T 5 -K 0xa1 -S 0xb2'
step 0 a 'prkeys preempt --key 0xa1 --victim 0xb2 --type wero $FK_SG'
step 6 b 'prkeys -n -k $FK_SG'
step 24 b "$write"
step 0 b 'prkeys keys $FK_SG'
expect "1 registered key"
step 0 b 'prkeys register --key 0xb2 $FK_SG'
step 0 a 'prkeys preempt --key 0xa1 --victim 0xb2 --type wero $FK_SG'
step 6 b 'sg_persist -n -k $FK_SG'
step 24 b 'pr-compare $FK_SG -n -o -R -T 5 -K 0xb2'
compare b
step 0 a 'prkeys clear --key 0xa1 $FK_SG'
step 0 b 'prkeys keys $FK_SG'
expect "no registered keys"
echo "PASS: prkeys across two guests on tgtd ($n steps)"
