#!/bin/sh
# Guest test (issue 11, items 3 and 4) on two LIO units seen through two
# nexuses each (node1: A0 A1, node2: B0 B1).
# check: a vanished device never fails the check while the key is on
# another (exit 0); key gone after a fence is exit 2; no device readable is
# exit 5; --hard-reboot does not reboot on exit 5; a bad --retry-sleep is a
# usage error (3), not a panic.
# Fence-agent mode (stdin): an unlisted plug is refused (exit 2) and
# nothing changes on the units; off from node1 fences node2; node2, now
# fenced, asked to fence node1, does not register again (exit 1) and the
# keys stay as they were (sg_persist -k).
# Run by: scripts/testbed/run-in-guest --nodes 2 --luns 2 tests/guest/fencectl_audit_check_agent.sh fencectl steps.sh
set -u
. /fk/bin/steps.sh

base=0
luns=${FK_LUNS:?}
N1=$(paths 0)
N2=$(paths 1)
A0=${N1%% *}
cfg=/tmp/fk-cluster.toml
# The hash scheme: it can make a key for any name, so only the listed
# nodes may have one.
cat > $cfg <<EOT
cluster = "fkaudit"
scheme = "hash"
[[node]]
name = "node1"
[[node]]
name = "node2"
EOT
F="fencectl --config $cfg --no-multipath"
S1=/tmp/s1
S2=/tmp/s2
devs1=$(echo $N1 | tr ' ' ',')
devs2=$(echo $N2 | tr ' ' ',')

agent() {
    # agent NODE_STATE LINES...: fencectl in fence-agent mode
    st=$1
    shift
    printf 'config=%s\nstate_file=%s\n' "$cfg" "$st" > /tmp/agent.in
    for l in "$@"; do echo "$l" >> /tmp/agent.in; done
    cat /tmp/agent.in
    fencectl < /tmp/agent.in
}
keys() { sg_persist -n -i -k "$A0" | sed 's/generation=0x[0-9a-f]*/generation=X/'; }

step 0 "agent on for node1" agent $S1 action=on plug=node1 "devices=$devs1"
expect "Success: Powered ON"
step 0 "agent on for node2" agent $S2 action=on plug=node2 "devices=$devs2"
expect "Success: Powered ON"

step 0 "check node1" $F --state-file $S1 check
# A device that vanished: the key is still found on the others.
sed 's#"devices": *\[#"devices": ["/dev/sg-vanished", #' $S1 > /tmp/s1v
grep -q sg-vanished /tmp/s1v || { cat $S1; fail "could not edit the state file"; }
step 0 "check with a vanished device" $F --state-file /tmp/s1v check
expect "registered on"
printf '{"node":"node1","key":"0x1","devices":["/dev/sg-gone1","/dev/sg-gone2"]}\n' > /tmp/sgone
# Nothing readable, so the check would sleep between tries.
step 1 "check --retry-sleep nan" $F --state-file /tmp/sgone check --retry 1 --retry-sleep nan
grep -q panicked /tmp/fk.out && fail "check panicked"
step 3 "check with no readable device" $F --state-file /tmp/sgone check
expect "no device could be read"
step 3 "check --hard-reboot with no readable device does not reboot" \
    $F --state-file /tmp/sgone check --hard-reboot

keys > /tmp/k.before
step 2 "agent off with a plug not in the configuration" agent $S1 action=off plug=ndoe2 preempt_only=1
grep -q Success /tmp/fk.out && fail "an unknown plug reported success"
keys > /tmp/k.after
cmp -s /tmp/k.before /tmp/k.after || { cat /tmp/k.before /tmp/k.after; fail "an unknown plug changed the keys"; }

step 0 "agent off node2 from node1 (PREEMPT)" agent $S1 action=off plug=node2 preempt_only=1
expect "Success: Powered OFF"
step 2 "agent status of node2" agent $S1 action=status plug=node2
expect "Status: OFF"
step 2 "check node2: key gone" $F --state-file $S2 check
expect "registered on no device"

keys > /tmp/k.before
step 1 "fenced node2's agent asked to fence node1" agent $S2 action=off plug=node1 preempt_only=1
expect "not registered"
keys > /tmp/k.after
cmp -s /tmp/k.before /tmp/k.after || { cat /tmp/k.before /tmp/k.after; fail "the fenced node registered again"; }
step 0 "agent status of node1" agent $S1 action=status plug=node1
expect "Status: ON"
echo "PASS: fencectl_audit_check_agent"
