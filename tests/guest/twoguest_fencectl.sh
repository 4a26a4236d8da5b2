#!/usr/bin/env bash
# fencectl across two guests (two kernels, two cluster nodes) sharing one
# tgtd iSCSI LUN through scsi-block pass-through. Each guest runs fencectl
# with the same cluster configuration and its own node name. tgt 1.0.85
# rejects PREEMPT AND ABORT, so the fence falls back to PREEMPT and says so.
# Run by: scripts/testbed/two-guests --file target/debug/fencectl tests/guest/twoguest_fencectl.sh
set -u
n=0
fail() { echo "FAIL: $*"; exit 1; }
step() {
    local want=$1 g=$2 cmd=$3 rc
    n=$((n + 1))
    echo "--- $n. [$g] $cmd"
    on "$g" "$cmd" > /tmp/fk-2gf.out 2>&1
    rc=$?
    cat /tmp/fk-2gf.out
    [ "$rc" -eq "$want" ] || fail "step $n: exit status $rc, expected $want"
}
expect() { grep -Eq -- "$1" /tmp/fk-2gf.out || fail "step $n: output does not match '$1'"; }

# After a rejoin node 2 can write again (the block it reads, written back).
write_ok='dd if=$FK_DISK of=/tmp/blk bs=512 count=1 skip=1 iflag=direct 2>/dev/null && dd if=/tmp/blk of=$FK_DISK bs=512 count=1 seek=1 oflag=direct 2>/dev/null'
config='mkdir -p /etc/fencekit /var/run/cluster && cat > /etc/fencekit/cluster.toml <<EOC
cluster = "fktwo"
scheme = "id"
devices = ["$FK_SG"]
[[node]]
name = "guest1"
id = 1
[[node]]
name = "guest2"
id = 2
EOC'
step 0 a "$config"
step 0 b "$config"
step 0 a 'fencectl list'
expect "guest1"
step 0 a 'fencectl verify -d $FK_SG'
expect "can fence"
step 0 a 'fencectl unfence --node guest1'
step 0 b 'fencectl unfence --node guest2'
step 0 a 'fencectl status'
expect "guest1"
expect "guest2"
step 0 a 'fencectl fence --node guest1 --victim guest2'
expect "preempt-and-abort not supported"
expect "complete"
step 1 b 'dd if=/dev/zero of=$FK_DISK bs=512 count=1 seek=1 oflag=direct 2>/dev/null'
step 2 b 'fencectl check'
step 0 a 'fencectl check'
step 3 b 'fencectl fence --node guest2 --victim guest1'
step 0 b 'fencectl unfence --node guest2'
step 0 a 'printf "action=status\nplug=guest2\n" | fencectl agent'
expect "Status: ON"
step 0 a 'printf "action=off\nplug=guest2\n" | fencectl agent'
expect "Success: Powered OFF"
step 2 a 'printf "action=status\nplug=guest2\n" | fencectl agent'
expect "Status: OFF"
step 0 b 'printf "action=on\nplug=guest2\n" | fencectl agent'
expect "Success: Powered ON"
step 0 a 'printf "action=status\nplug=guest2\n" | fencectl agent'
expect "Status: ON"
step 0 b "$write_ok"
step 0 a 'printf "action=metadata\n" | fencectl agent'
expect '<resource-agent name="fencectl"'
expect '<action name="on" on_target="1" automatic="1"/>'
echo "PASS: fencectl across two guests on tgtd ($n steps)"
