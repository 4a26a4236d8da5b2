//! prkeys against real SPC-4 targets: LIO in the guest test bed (one LUN,
//! several I_T nexuses, dm-multipath) and tgtd shared by two guests. Each
//! test runs a script from `tests/guest/` that compares prkeys with the real
//! sg_persist step by step (`tests/guest/pr-compare`). The tests skip when
//! the test bed is not built, unless `FENCEKIT_TESTBED=require` is set.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use fencekit_tests::{guest_script, require_or_skip, TwoGuests};

#[test]
fn guest_prkeys_sequence_matches_sg_persist() {
    if !require_or_skip("guest_prkeys_sequence_matches_sg_persist") {
        return;
    }
    let out = common::lio(3, 1)
        .file(common::PRKEYS)
        .file(guest_script("pr-compare"))
        .run_script_file(guest_script("prkeys_sequence.sh"));
    out.assert_success()
        .assert_stdout_contains("prkeys sequence passed");
}

#[test]
fn guest_prkeys_multipath_registers_every_path() {
    if !require_or_skip("guest_prkeys_multipath_registers_every_path") {
        return;
    }
    let out = common::lio(2, 1)
        .multipath(true)
        .file(common::PRKEYS)
        .run_script_file(guest_script("prkeys_multipath.sh"));
    out.assert_success()
        .assert_stdout_contains("prkeys multipath test passed");
}

#[test]
fn guest_prkeys_many_luns_in_one_call() {
    if !require_or_skip("guest_prkeys_many_luns_in_one_call") {
        return;
    }
    // Eight LUNs, one node: one prkeys call registers, reads and clears all
    // of them, and a missing device among them is reported without
    // stopping the others.
    let out = common::lio(1, 8).lun_size_mb(4).file(common::PRKEYS).run_script(
        r#"set -u
devs=""; i=0
while [ $i -lt $FK_LUNS ]; do eval "devs=\"\$devs \$FK_LUN${i}_NODE0_SG\""; i=$((i + 1)); done
prkeys register --key 0x77 $devs || exit 1
n=$(prkeys keys --json $devs | grep -c '"0x77"')
[ "$n" -eq 8 ] || { echo "key seen on $n LUNs, expected 8"; exit 1; }
for d in $devs; do sg_persist -n -k $d | grep -q '^    0x77$' || { echo "sg_persist does not see the key on $d"; exit 1; }; done
prkeys keys $devs /dev/sg-missing > /tmp/o 2> /tmp/e; rc=$?
cat /tmp/o /tmp/e
[ "$rc" -eq 52 ] || { echo "exit $rc, expected 52 for the missing device"; exit 1; }
[ "$(grep -c 'registered key' /tmp/o)" -eq 8 ] || { echo "the 8 good LUNs were not all reported"; exit 1; }
grep -q '/dev/sg-missing' /tmp/e || { echo "missing device not named"; exit 1; }
prkeys clear --key 0x77 $devs || exit 1
echo "many LUNs passed""#,
    );
    out.assert_success()
        .assert_stdout_contains("many LUNs passed");
}

#[test]
fn twoguest_prkeys_sequence_on_tgtd() {
    if !require_or_skip("twoguest_prkeys_sequence_on_tgtd") {
        return;
    }
    let out = TwoGuests::new()
        .file(common::PRKEYS)
        .file(guest_script("pr-compare"))
        .run_script_file(guest_script("twoguest_prkeys.sh"));
    out.assert_success()
        .assert_stdout_contains("PASS: prkeys across two guests on tgtd");
}
