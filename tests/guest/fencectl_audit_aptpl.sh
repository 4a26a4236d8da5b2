#!/bin/sh
# Guest test (issue 11, item 2): APTPL belongs to the logical unit. After
# node1's `unfence --aptpl`, every PR OUT fencectl sends on the side keeps
# PTPL_A = 1, checked with sg_persist -c after each command: node2's
# unfence (no --aptpl), status --probe, fence, fence --register (the
# survivor's own registration), race and verify (--write-test-in-use).
# Three nexuses to one LIO unit: node1 (A), node2 (B), and C unregistered.
# Run by: scripts/testbed/run-in-guest --nodes 3 --luns 1 tests/guest/fencectl_audit_aptpl.sh fencectl steps.sh
set -u
. /fk/bin/steps.sh

A=$(dev "$FK_LUN0_NODE0_SG")
B=$(dev "$FK_LUN0_NODE1_SG")
C=$(dev "$FK_LUN0_NODE2_SG")
cfg=/tmp/fk-cluster.toml
cluster_toml "$cfg" fkaudit
F="fencectl --config $cfg --no-multipath"

ptpl() {
    sg_persist -n -i -c "$A" > /tmp/c 2>&1 || { cat /tmp/c; fail "sg_persist -c"; }
    grep -q 'Persist Through Power Loss Active(PTPL_A): 1' /tmp/c || {
        cat /tmp/c
        fail "PTPL_A is not 1 after: $1"
    }
    echo "PTPL_A=1 after: $1"
}

step 0 "unfence node1 --aptpl" $F --state-file /tmp/s1 unfence --node node1 -d "$A" --aptpl
ptpl "unfence node1 --aptpl"
step 0 "unfence node2 (no --aptpl)" $F --state-file /tmp/s2 unfence --node node2 -d "$B"
ptpl "unfence node2"
step 0 "status --probe" $F status --probe --node node1 -d "$A"
ptpl "status --probe"
step 0 "fence node2 (PREEMPT)" \
    $F --state-file /tmp/s1 fence --victim node2 --node node1 -d "$A" --preempt-only
expect "complete"
ptpl "fence"
# The survivor's own registration: node1's is removed (sg_persist -Z keeps
# the unit APTPL), node2 joins again, and fence --register registers node1
# before the preempt.
K1=$($F list | sed -n 's/^node1,//p')
step 0 "remove node1's registration (with -Z)" sg_persist -n -o -G -K "0x$K1" -S 0 -Z "$A"
ptpl "sg_persist -Z unregister"
step 0 "unfence node2 again" $F --state-file /tmp/s2 unfence --node node2 -d "$B"
ptpl "unfence node2 again"
step 0 "fence --register (node1 registers first)" \
    $F --state-file /tmp/s1 fence --victim node2 --node node1 -d "$A" --preempt-only --register
expect "register-and-ignore $A: ok"
ptpl "fence --register"
step 0 "unfence node2 once more" $F --state-file /tmp/s2 unfence --node node2 -d "$B"
ptpl "unfence node2 once more"
step 0 "race: node1 against node2" \
    $F race --node node1 --loser node2 --coordinator "$A" --preempt-only
expect "race WON"
ptpl "race"
step 0 "verify" $F verify -d "$C"
ptpl "verify"
step 0 "verify --write-test-in-use" $F verify -d "$C" --write-test-in-use
expect "pass register-test-key"
ptpl "verify --write-test-in-use"
echo "PASS: fencectl_audit_aptpl"
