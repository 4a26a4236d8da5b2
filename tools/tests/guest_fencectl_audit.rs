//! Regression tests of the safety audit (issue 11) on LIO (tcm_loop) in the
//! guest: what fencectl leaves on the device is checked with sg_persist,
//! independently of fencekit. They skip when the test bed is not built,
//! unless `FENCEKIT_TESTBED=require` is set.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use fencekit_tests::{guest_script, require_or_skip};

fn audit(name: &str, nodes: u32, luns: u32, script: &str, pass: &str) {
    if !require_or_skip(name) {
        return;
    }
    let out = common::lio(nodes, luns)
        .file(common::FENCECTL)
        .run_script_file(guest_script(script));
    out.assert_success().assert_stdout_contains(pass);
}

/// Item 1: verify sends no PR OUT to a unit in use; keys, reservation
/// and PTPL_A stay as they were, with --write-test-in-use too.
#[test]
fn guest_fencectl_audit_verify_leaves_a_unit_in_use_as_it_was() {
    audit(
        "guest_fencectl_audit_verify_leaves_a_unit_in_use_as_it_was",
        3,
        1,
        "fencectl_audit_verify.sh",
        "PASS: fencectl_audit_verify",
    );
}

/// Item 2: after `unfence --aptpl`, status --probe, fence, race and verify
/// leave PTPL_A = 1 (sg_persist -c).
#[test]
fn guest_fencectl_audit_aptpl_stays_as_the_unit_has_it() {
    audit(
        "guest_fencectl_audit_aptpl_stays_as_the_unit_has_it",
        3,
        1,
        "fencectl_audit_aptpl.sh",
        "PASS: fencectl_audit_aptpl",
    );
}

/// Items 3 and 4: the watchdog check fails safe and tells "key gone" from
/// "unreadable"; fence-agent mode refuses unknown plugs and never lets a
/// fenced node register again and fence back.
#[test]
fn guest_fencectl_audit_check_and_agent_keep_the_rules() {
    audit(
        "guest_fencectl_audit_check_and_agent_keep_the_rules",
        2,
        2,
        "fencectl_audit_check_agent.sh",
        "PASS: fencectl_audit_check_agent",
    );
}

/// Item 8: unfence refuses to self-preempt a key another initiator port
/// holds, and names the port.
#[test]
fn guest_fencectl_audit_unfence_never_fences_another_host() {
    audit(
        "guest_fencectl_audit_unfence_never_fences_another_host",
        2,
        1,
        "fencectl_audit_unfence.sh",
        "PASS: fencectl_audit_unfence",
    );
}

/// The simulator's differential test: the PR sequence of
/// `lib/tests/data/pr_differential/steps.txt` on LIO gives, after every
/// step, the exit status, keys, reservation, PTPL_A and unit attention of
/// `expected.txt` — which the simulator must give too
/// (`sim_answers_the_differential_sequence_as_lio_does`).
#[test]
fn guest_pr_differential_lio_answers_as_the_simulator() {
    if !require_or_skip("guest_pr_differential_lio_answers_as_the_simulator") {
        return;
    }
    let data = fencekit_tests::workspace_root().join("lib/tests/data/pr_differential");
    let out = common::lio(4, 1)
        .file(data.join("steps.txt"))
        .run_script_file(guest_script("pr_differential.sh"));
    out.assert_success()
        .assert_stdout_contains("PASS: pr_differential");
    let expected = std::fs::read_to_string(data.join("expected.txt")).unwrap();
    let got: String = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("DIFF: "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(got, expected, "LIO:\n{got}");
}
