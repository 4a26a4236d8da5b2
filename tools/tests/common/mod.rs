//! Helpers shared by the tests in `tools/tests/`: the programs under test
//! (cargo builds them for the tests and names them in `CARGO_BIN_EXE_*`),
//! reading a finished process, and the guest runs that several guest tests
//! start the same way.

// Each test file uses its own subset of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fencekit_tests::{guest_script, Fabric, Guest};

/// The programs, as cargo built them for this test run.
pub const PRKEYS: &str = env!("CARGO_BIN_EXE_prkeys");
pub const PATHMAP: &str = env!("CARGO_BIN_EXE_pathmap");
pub const QDISK: &str = env!("CARGO_BIN_EXE_qdisk");
pub const FENCECTL: &str = env!("CARGO_BIN_EXE_fencectl");
pub const HEARTBEATD: &str = env!("CARGO_BIN_EXE_heartbeatd");
pub const VMGUEST_ATTACH: &str = env!("CARGO_BIN_EXE_vmguest-attach");

/// The exit code of a process that exited (not killed by a signal).
pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

/// Standard output, lossily decoded.
pub fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error, lossily decoded.
pub fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Both streams, labelled, for assertion messages.
pub fn text(o: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", out(o), err(o))
}

/// A fixture of the library's tests: `lib/tests/fixtures/NAME`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../lib/tests/fixtures")
        .join(name)
}

/// `pathmap ARGS` on the sysfs fixture tree `tree` (fc, iscsi, sas, virtio).
pub fn pathmap(tree: &str, args: &[&str]) -> Output {
    let base = fixture("sysfs").join(tree);
    Command::new(PATHMAP)
        .arg("--sysfs-root")
        .arg(base.join("sys"))
        .arg("--dev-root")
        .arg(base.join("dev"))
        .arg("--mountinfo")
        .arg(base.join("proc/mountinfo"))
        .args(args)
        .output()
        .unwrap()
}

/// One guest on tcm_loop with `nodes` nexuses to each of `luns` LUNs, with
/// the scripts' shared helpers (`tests/guest/steps.sh`) in `/fk/bin`.
pub fn lio(nodes: u32, luns: u32) -> Guest {
    Guest::new()
        .nodes(nodes)
        .luns(luns)
        .file(guest_script("steps.sh"))
}

/// The same on the iSCSI fabric, with `paths` sessions per node and LUN.
pub fn iscsi(nodes: u32, luns: u32, paths: u32) -> Guest {
    lio(nodes, luns).fabric(Fabric::Iscsi).paths_per_node(paths)
}
