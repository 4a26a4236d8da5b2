#!/usr/bin/env bash
# prkeys across two guests (two kernels) sharing one tgtd iSCSI LUN through
# QEMU scsi-block pass-through: the whole PR sequence, with prkeys (native
# and sg_persist mode) compared against sg_persist in each guest. tgt 1.0.85
# has no READ FULL STATUS and rejects PREEMPT AND ABORT (ILLEGAL REQUEST,
# invalid field in CDB): prkeys must say so and exit as sg_persist does.
# Run by: scripts/testbed/two-guests --file target/debug/prkeys
#         --file tests/guest/pr-compare tests/guest/twoguest_prkeys.sh
set -u
FK_OUT=$(mktemp)
trap 'rm -f "$FK_OUT"' EXIT
. "$(dirname "$0")/steps.sh"
compare() {
    local g=$1
    for o in -k -r -c "-n -k" "-n -r" "-n -c"; do
        on_step 0 "$g" "pr-compare \$FK_SG $o"
    done
}
write='dd if=/dev/zero of=/tmp/b bs=512 count=1 2>/dev/null; sg_raw -s 512 -i /tmp/b $FK_SG 2a 00 00 00 00 00 00 00 01 00'

on_step 0 a 'prkeys inquiry $FK_SG'
expect "IET|tgt|FENCEKIT|fencekit"
on_step 0 a 'prkeys register --key 0xa1 $FK_SG'
on_step 0 b 'prkeys register --key 0xb2 $FK_SG'
on_step 0 a 'prkeys reserve --key 0xa1 --type wero $FK_SG'
on_step 0 b 'prkeys keys $FK_SG'
expect "0xa1"
expect "0xb2"
on_step 0 b 'prkeys reservation $FK_SG'
expect "reserved by key 0xa1, type Write Exclusive, registrants only"
compare a
compare b
on_step 5 a 'prkeys status $FK_SG'
expect "READ FULL STATUS|Read full status"
expect "not support"
on_step 0 a "$write"
on_step 0 b "$write"
on_step 5 a 'prkeys preempt --key 0xa1 --victim 0xb2 --abort --type wero $FK_SG'
expect "does not support PERSISTENT RESERVE OUT\(Preempt and abort\)"
on_step 5 a 'pr-compare $FK_SG -n -o -A -T 5 -K 0xa1 -S 0xb2'
on_step 0 a 'prkeys preempt --key 0xa1 --victim 0xb2 --type wero $FK_SG'
on_step 6 b 'prkeys -n -k $FK_SG'
on_step 24 b "$write"
on_step 0 b 'prkeys keys $FK_SG'
expect "1 registered key"
on_step 0 b 'prkeys register --key 0xb2 $FK_SG'
on_step 0 a 'prkeys preempt --key 0xa1 --victim 0xb2 --type wero $FK_SG'
on_step 6 b 'sg_persist -n -k $FK_SG'
on_step 24 b 'pr-compare $FK_SG -n -o -R -T 5 -K 0xb2'
compare b
on_step 0 a 'prkeys clear --key 0xa1 $FK_SG'
on_step 0 b 'prkeys keys $FK_SG'
expect "no registered keys"
echo "PASS: prkeys across two guests on tgtd ($n steps)"
