#!/usr/bin/env bash
# fencectl across two guests (two kernels, two cluster nodes) sharing one
# tgtd iSCSI LUN through scsi-block pass-through. Each guest runs fencectl
# with the same cluster configuration and its own node name. tgt 1.0.85
# rejects PREEMPT AND ABORT, so the fence falls back to PREEMPT and says so.
# Run by: scripts/testbed/two-guests --file target/debug/fencectl tests/guest/twoguest_fencectl.sh
set -u
FK_OUT=$(mktemp)
trap 'rm -f "$FK_OUT"' EXIT
. "$(dirname "$0")/steps.sh"

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
on_step 0 a "$config"
on_step 0 b "$config"
on_step 0 a 'fencectl list'
expect "guest1"
on_step 0 a 'fencectl verify -d $FK_SG'
expect "can fence"
on_step 0 a 'fencectl unfence --node guest1'
on_step 0 b 'fencectl unfence --node guest2'
on_step 0 a 'fencectl status'
expect "guest1"
expect "guest2"
on_step 0 a 'fencectl fence --node guest1 --victim guest2'
expect "preempt-and-abort not supported"
expect "complete"
on_step 1 b 'dd if=/dev/zero of=$FK_DISK bs=512 count=1 seek=1 oflag=direct 2>/dev/null'
on_step 2 b 'fencectl check'
on_step 0 a 'fencectl check'
on_step 3 b 'fencectl fence --node guest2 --victim guest1'
on_step 0 b 'fencectl unfence --node guest2'
on_step 0 a 'printf "action=status\nplug=guest2\n" | fencectl agent'
expect "Status: ON"
on_step 0 a 'printf "action=off\nplug=guest2\n" | fencectl agent'
expect "Success: Powered OFF"
on_step 2 a 'printf "action=status\nplug=guest2\n" | fencectl agent'
expect "Status: OFF"
on_step 0 b 'printf "action=on\nplug=guest2\n" | fencectl agent'
expect "Success: Powered ON"
on_step 0 a 'printf "action=status\nplug=guest2\n" | fencectl agent'
expect "Status: ON"
on_step 0 b "$write_ok"
on_step 0 a 'printf "action=metadata\n" | fencectl agent'
expect '<resource-agent name="fencectl"'
expect '<action name="on" on_target="1" automatic="1"/>'
echo "PASS: fencectl across two guests on tgtd ($n steps)"
