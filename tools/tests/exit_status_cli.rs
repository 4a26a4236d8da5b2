//! The family's exit table (fencekit(7), EXIT STATUS) as the programs give
//! it, for the cases that need no SCSI device: usage errors exit 1 in every
//! program, bad configuration and input files 6, a false condition 2, and
//! prkeys keeps sg3_utils' statuses.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin).args(args).output().unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sysfs_fixture(tree: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../lib/tests/fixtures/sysfs")
        .join(tree)
}

fn example_config() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/cluster.toml.example")
        .display()
        .to_string()
}

const PRKEYS: &str = env!("CARGO_BIN_EXE_prkeys");
const PATHMAP: &str = env!("CARGO_BIN_EXE_pathmap");
const QDISK: &str = env!("CARGO_BIN_EXE_qdisk");
const FENCECTL: &str = env!("CARGO_BIN_EXE_fencectl");

#[test]
fn usage_errors_exit_1_in_every_program_and_help_0() {
    for bin in [PRKEYS, PATHMAP, QDISK, FENCECTL] {
        // After a command name: prkeys with an option first is sg_persist,
        // which exits 0 after an unknown option (prkeys(8), COMPATIBILITY).
        let o = run(bin, &["list", "--no-such-option"]);
        assert_eq!(code(&o), 1, "{bin}: {}", err(&o));
        let o = run(bin, &["--help"]);
        assert_eq!(code(&o), 0, "{bin} --help: {}", err(&o));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("fencekit(7)"),
            "{bin} --help does not refer to fencekit(7)"
        );
    }
    assert_eq!(code(&run(QDISK, &["evict", "--node", "17", "x"])), 1);
}

#[test]
fn bad_configuration_and_input_files_exit_6() {
    let t = tempfile::tempdir().unwrap();
    let missing = t.path().join("missing");
    let missing = missing.to_str().unwrap();
    // fencectl: a configuration file or corosync text that is not there.
    let o = run(FENCECTL, &["--config", missing, "list"]);
    assert_eq!(code(&o), 6, "{}", err(&o));
    let o = run(FENCECTL, &["--corosync-file", missing, "list"]);
    assert_eq!(code(&o), 6, "{}", err(&o));
    // A state file that is not a state file.
    let state = t.path().join("bad.state");
    std::fs::write(&state, "not json").unwrap();
    let o = run(
        FENCECTL,
        &["--state-file", state.to_str().unwrap(), "check"],
    );
    assert_eq!(code(&o), 6, "{}", err(&o));
    // pathmap: a capture or JSON input that is missing or does not parse.
    let bad = t.path().join("bad.json");
    std::fs::write(&bad, "{").unwrap();
    let bad = bad.to_str().unwrap();
    let o = run(PATHMAP, &["diff", bad, bad]);
    assert_eq!(code(&o), 6, "{}", err(&o));
    let o = run(PATHMAP, &["diff", missing, missing]);
    assert_eq!(code(&o), 6, "{}", err(&o));
    let base = sysfs_fixture("fc");
    let sys = base.join("sys");
    let sys = sys.to_str().unwrap();
    let o = run(
        PATHMAP,
        &["--sysfs-root", sys, "--from-multipath-ll", missing],
    );
    assert_eq!(code(&o), 6, "{}", err(&o));
    let junk = t.path().join("junk.txt");
    std::fs::write(&junk, "this is not multipath -ll output\n").unwrap();
    let o = run(
        PATHMAP,
        &[
            "--sysfs-root",
            sys,
            "--from-multipath-ll",
            junk.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&o), 6, "{}", err(&o));
    let o = run(PATHMAP, &["--sysfs-root", sys, "--pvs-json", bad]);
    assert_eq!(code(&o), 6, "{}", err(&o));
    // A sysfs tree that cannot be read is a device error, not an input file.
    let o = run(PATHMAP, &["--sysfs-root", missing]);
    assert_eq!(code(&o), 3, "{}", err(&o));
}

#[test]
fn refusals_and_device_errors_of_fencectl() {
    // Fencing this node's own key: refused (4) before any device is used.
    let cfg = example_config();
    let o = run(
        FENCECTL,
        &[
            "--config",
            &cfg,
            "fence",
            "--victim",
            "node1",
            "--node",
            "node1",
            "-d",
            "/dev/null",
        ],
    );
    assert_eq!(code(&o), 4, "{}", err(&o));
    // A device that does not exist: a device error (3), nothing done.
    let o = run(
        FENCECTL,
        &[
            "--config",
            &cfg,
            "--no-multipath",
            "status",
            "-d",
            "/nonexistent/sdq",
        ],
    );
    assert_eq!(code(&o), 3, "{}", err(&o));
}

#[test]
fn prkeys_keeps_sg3_utils_statuses() {
    // No such device node: 50 + ENOENT, as sg_persist.
    let o = run(PRKEYS, &["keys", "/nonexistent/sdq"]);
    assert_eq!(code(&o), 52, "{}", err(&o));
    let o = run(PRKEYS, &["keys", "--timeout", "0", "/nonexistent/sdq"]);
    assert_eq!(code(&o), 1, "{}", err(&o));
}
