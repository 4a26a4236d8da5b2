#!/bin/sh
# Guest test (issue 11, item 1): fencectl verify on a unit in use leaves the
# keys, the reservation and PTPL_A exactly as they were, checked with
# sg_persist. Three nexuses to one LIO unit: node1 (A) and node2 (B) are
# unfenced, node1 holds the type 5 reservation and made the unit APTPL; C
# is a nexus with no registration.
#   - verify (default) through A, B and C: no PR OUT at all, the write test
#     is skipped as "in use"; sg_persist -k, -r and -c print the same bytes
#     before and after (the PR generation included).
#   - verify --write-test-in-use through A (registered, the holder): the
#     test key is refused by the device, nothing changes.
#   - verify --write-test-in-use through C: the test key comes and goes;
#     the keys, the reservation and PTPL_A are as before.
# Run by: scripts/testbed/run-in-guest --nodes 3 --luns 1 tests/guest/fencectl_audit_verify.sh fencectl steps.sh
set -u
. /fk/bin/steps.sh

A=$(dev "$FK_LUN0_NODE0_SG")
B=$(dev "$FK_LUN0_NODE1_SG")
C=$(dev "$FK_LUN0_NODE2_SG")
cfg=/tmp/fk-cluster.toml
cluster_toml "$cfg" fkaudit
F="fencectl --config $cfg --no-multipath"

step 0 "unfence node1 with APTPL (takes the reservation)" \
    $F --state-file /tmp/s1 unfence --node node1 -d "$A" --aptpl
step 0 "unfence node2" $F --state-file /tmp/s2 unfence --node node2 -d "$B"

snap() {
    sg_persist -n -i -k "$A" > "$1.k" 2>&1 || fail "sg_persist -k"
    sg_persist -n -i -r "$A" > "$1.r" 2>&1 || fail "sg_persist -r"
    sg_persist -n -i -c "$A" | grep 'PTPL_A' > "$1.c" || fail "sg_persist -c"
}
same() {
    for x in k r c; do
        cmp -s "/tmp/before.$x" "/tmp/after.$x" || {
            echo "before:"; cat "/tmp/before.$x"; echo "after:"; cat "/tmp/after.$x"
            fail "$1: sg_persist -$x changed"
        }
    done
}
snap /tmp/before
cat /tmp/before.k /tmp/before.r /tmp/before.c
grep -q 'PTPL_A): 1' /tmp/before.c || fail "the unit is not APTPL after unfence --aptpl"
grep -q 'Reservation follows' /tmp/before.r || fail "no reservation"

for P in "$A" "$B" "$C"; do
    step 0 "verify through $P on a unit in use" $F verify -d "$P"
    expect "skip register-test-key: skipped: the device is in use \(2 registrations, reservation held by"
    snap /tmp/after
    same "verify -d $P"
done

step 0 "verify --write-test-in-use through the holder's nexus" \
    $F verify -d "$A" --write-test-in-use
expect "skip register-test-key: skipped: .* is registered with a key verify does not own"
snap /tmp/after
same "verify --write-test-in-use -d $A"

step 0 "verify --write-test-in-use through an unregistered nexus" \
    $F verify -d "$C" --write-test-in-use
expect "pass register-test-key: registered and removed"
snap /tmp/after
# The PR generation moved (two REGISTERs); the keys, the reservation and
# PTPL_A did not.
for x in k r; do
    sed 's/generation=0x[0-9a-f]*/generation=X/' /tmp/before.$x > /tmp/b.$x
    sed 's/generation=0x[0-9a-f]*/generation=X/' /tmp/after.$x > /tmp/a.$x
    cmp -s /tmp/b.$x /tmp/a.$x || { cat /tmp/b.$x /tmp/a.$x; fail "--write-test-in-use through C changed -$x"; }
done
cmp -s /tmp/before.c /tmp/after.c || { cat /tmp/after.c; fail "--write-test-in-use through C changed PTPL_A"; }

echo "PASS: fencectl_audit_verify"
