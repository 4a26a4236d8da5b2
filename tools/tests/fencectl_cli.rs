//! End-to-end tests of `fencectl` that need no SCSI device: key printing,
//! the configuration, fence-agent mode (parsing, metadata, exit codes) and
//! the refusals that come before any I/O.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use common::{code, err, out};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut c = Command::new(common::FENCECTL);
    c.args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("run fencectl");
    {
        let mut i = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            i.write_all(s.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

fn example() -> String {
    manifest_dir()
        .join("../docs/cluster.toml.example")
        .display()
        .to_string()
}

#[test]
fn key_helper_prints_fence_scsi_keys() {
    // python3: "%.4s%.4d" % (md5(b"mycluster").hexdigest(), 12) -> 6c9d0012
    let o = run(
        &[
            "key",
            "--cluster",
            "mycluster",
            "--node-id",
            "12",
            "--scheme",
            "id",
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(out(&o), "6c9d0012\n");
    let o = run(
        &[
            "key",
            "--cluster",
            "mycluster",
            "--node-name",
            "node2",
            "--scheme",
            "hash",
        ],
        None,
    );
    assert_eq!(out(&o), "6c9d7888\n");
    // md5("fencekit") starts 0ad5: the leading zero is stripped.
    let o = run(&["key", "--cluster", "fencekit", "--node-id", "1"], None);
    assert_eq!(out(&o), "ad50001\n");
    let o = run(
        &[
            "key",
            "--scheme",
            "vxfen",
            "--cluster-id",
            "0xdeed",
            "--node-id",
            "0",
        ],
        None,
    );
    assert_eq!(out(&o), "0x5646444545443030 VFDEED00\n");
    // md5("c2327") starts 0000: node 0 gives key 0, which is refused.
    let o = run(&["key", "--cluster", "c2327", "--node-id", "0"], None);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("is 0"), "{}", err(&o));
}

#[test]
fn list_reads_the_example_configuration() {
    let cfg = example();
    let o = run(&["--config", &cfg, "list"], None);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(
        out(&o),
        "node1,6c9d0001\nnode2,6c9d0002\nnode3,6c9d1315\nnode4,6c9d00aa\n"
    );
    let o = run(&["--config", &cfg, "list", "--json"], None);
    let v: Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["cluster"], "mycluster");
    assert_eq!(v["nodes"][1]["key"], "0x6c9d0002");
}

#[test]
fn corosync_text_gives_fence_scsi_positions() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("cmap.txt");
    std::fs::write(
        &f,
        "nodelist.node.0.name (str) = node1\nnodelist.node.0.nodeid (u32) = 1\n\
         nodelist.node.1.name (str) = node2\nnodelist.node.1.nodeid (u32) = 2\n\
         totem.cluster_name (str) = mycluster\n",
    )
    .unwrap();
    let o = run(&["--corosync-file", f.to_str().unwrap(), "list"], None);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(out(&o), "node1,6c9d0000\nnode2,6c9d0001\n");
}

#[test]
fn bad_configuration_exits_6_and_usage_1() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("c.toml");
    std::fs::write(&f, "clustr = \"x\"\n").unwrap();
    let o = run(&["--config", f.to_str().unwrap(), "list"], None);
    assert_eq!(code(&o), 6);
    assert!(err(&o).contains("c.toml"), "{}", err(&o));
    assert_eq!(code(&run(&["frobnicate"], None)), 1);
    let o = run(
        &[
            "--config",
            &example(),
            "fence",
            "--victim",
            "node9",
            "--node",
            "node1",
        ],
        None,
    );
    assert_eq!(code(&o), 6);
    assert!(err(&o).contains("node9"), "{}", err(&o));
}

#[test]
fn fence_refuses_to_fence_itself() {
    let o = run(
        &[
            "--config",
            &example(),
            "fence",
            "--victim",
            "node1",
            "--node",
            "node1",
            "-d",
            "/dev/null",
        ],
        None,
    );
    assert_eq!(code(&o), 4, "{}", err(&o));
    assert!(
        err(&o).contains("refusing to fence this node"),
        "{}",
        err(&o)
    );
}

#[test]
fn check_without_state_file_is_a_bad_input() {
    let t = tempfile::tempdir().unwrap();
    let s = t.path().join("none.state");
    let o = run(&["--state-file", s.to_str().unwrap(), "check"], None);
    assert_eq!(code(&o), 6);
    assert!(err(&o).contains("none.state"), "{}", err(&o));
}

#[test]
fn agent_metadata_both_spellings() {
    for a in ["metadata", "meta-data"] {
        let o = run(&[], Some(&format!("action={a}\n")));
        assert_eq!(code(&o), 0, "{}", err(&o));
        let x = out(&o);
        assert!(x.starts_with("<?xml version=\"1.0\" ?>\n<resource-agent name=\"fencectl\""));
        assert!(x.contains("<action name=\"on\" on_target=\"1\" automatic=\"1\"/>"));
        assert!(x.contains("<parameter name=\"devices\" unique=\"0\" required=\"0\">"));
        assert!(x.trim_end().ends_with("</resource-agent>"));
    }
    let o = run(&["agent"], Some("# comment\n\naction = \"metadata\"\n"));
    assert_eq!(code(&o), 0);
}

/// Called through the link Pacemaker finds (`/usr/sbin/fence_fencekit`),
/// with no arguments and the request on stdin, as pacemaker-fenced calls
/// agents: fence-agent mode, and the metadata bears that name.
#[test]
fn agent_named_by_the_link_it_is_called_through() {
    let t = tempfile::tempdir().unwrap();
    let link = t.path().join("fence_fencekit");
    std::os::unix::fs::symlink(common::FENCECTL, &link).unwrap();
    let mut child = Command::new(&link)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"action=metadata\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(
        out(&o).contains("<resource-agent name=\"fence_fencekit\""),
        "{}",
        out(&o)
    );
}

#[test]
fn agent_parse_errors_and_validation() {
    let o = run(&[], Some("action=explode\n"));
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("unknown action"), "{}", err(&o));
    let o = run(&[], Some("this is not an option\n"));
    assert_eq!(code(&o), 2);
    let o = run(&[], Some("action=validate-all\n"));
    assert_eq!(code(&o), 2);
    assert!(
        err(&o).contains("nodename or key is required"),
        "{}",
        err(&o)
    );
    let cfg = example();
    let o = run(
        &[],
        Some(&format!(
            "action=validate-all\nconfig={cfg}\nport=node2\nsome-option=1\n"
        )),
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(
        err(&o).contains("Ignoring unknown option 'some_option'"),
        "{}",
        err(&o)
    );
    let o = run(
        &[],
        Some(&format!(
            "action=validate-all\nconfig={cfg}\nkey-value=bogus\nplug=node2\n"
        )),
    );
    assert_eq!(code(&o), 2);
    let o = run(&[], Some("action=list\n"));
    assert_eq!(code(&o), 0);
    let o = run(&[], Some(&format!("action=list\nconfig={cfg}\n")));
    assert_eq!(out(&o), "node1,\nnode2,\nnode3,\nnode4,\n");
}

#[test]
fn agent_off_refuses_self_and_monitor_needs_state() {
    let t = tempfile::tempdir().unwrap();
    let st = t.path().join("fk.state");
    std::fs::write(
        &st,
        "{\"node\":\"node1\",\"key\":\"0x6c9d0001\",\"devices\":[\"/dev/null\"]}\n",
    )
    .unwrap();
    let cfg = example();
    let input = format!(
        "action=off\nconfig={cfg}\nstate_file={}\nplug=node1\ndevices=/dev/null\n",
        st.display()
    );
    let o = run(&[], Some(&input));
    assert_eq!(code(&o), 2, "{}{}", out(&o), err(&o));
    assert!(
        err(&o).contains("refusing to fence this node"),
        "{}",
        err(&o)
    );
    let o = run(
        &[],
        Some(&format!("action=monitor\nstate_file={}\n", st.display())),
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let o = run(
        &[],
        Some(&format!(
            "action=monitor\nstate_file={}/x\n",
            t.path().display()
        )),
    );
    assert_eq!(code(&o), 1);
}

#[test]
fn check_bad_retry_sleep_is_a_usage_error_not_a_panic() {
    let t = tempfile::tempdir().unwrap();
    let s = t.path().join("state");
    std::fs::write(
        &s,
        r#"{"node":"node1","key":"0x6c9d0001","devices":["/nonexistent/sdq"]}"#,
    )
    .unwrap();
    for bad in ["nan", "-1", "inf", "1e9"] {
        let o = run(
            &[
                "--state-file",
                s.to_str().unwrap(),
                "--no-multipath",
                "check",
                "--retry",
                "1",
                "--retry-sleep",
                bad,
            ],
            None,
        );
        assert_eq!(code(&o), 1, "{bad}: {}", err(&o));
        assert!(!err(&o).contains("panicked"), "{bad}: {}", err(&o));
    }
}
