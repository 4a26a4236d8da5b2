//! End-to-end tests of `prkeys` that need no SCSI device: usage errors
//! exit 1 (sg3_utils' syntax error), before any device is opened.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Output};

use common::{code, err};

fn run(args: &[&str]) -> Output {
    Command::new(common::PRKEYS)
        .args(args)
        .output()
        .expect("run prkeys")
}

#[test]
fn prkeys_usage_errors_exit_1() {
    // The device does not exist: a usage error must be found first.
    let dev = "/nonexistent/sdq";
    let cases: Vec<Vec<&str>> = vec![
        vec!["keys", "--timeout", "nan", dev],
        vec!["keys", "--timeout", "0", dev],
        vec!["keys", "--timeout", "99999", dev],
        vec!["preempt", "-k", "0x1", "--victim", "0", dev],
        vec![
            "move",
            "-k",
            "0x1",
            "--to-key",
            "0x2",
            "--transport-id",
            "nonsense,zz",
            dev,
        ],
        vec![
            "move",
            "-k",
            "0x1",
            "--to-key",
            "0x2",
            "--transport-id",
            "sas,5000000000000001,sas,5000000000000002",
            dev,
        ],
    ];
    for c in cases {
        let o = run(&c);
        assert_eq!(code(&o), 1, "{c:?}: {}", err(&o));
        assert!(err(&o).starts_with("prkeys: "), "{c:?}: {}", err(&o));
    }
    // A device that does not exist is not a usage error.
    let o = run(&["keys", dev]);
    assert_ne!(code(&o), 1, "{}", err(&o));
}
