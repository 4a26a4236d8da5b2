//! heartbeatd in the guest test bed: three daemons on the iSCSI fabric,
//! a quorum disk and two data LUNs, eviction and fencing through PR
//! checked with sg_persist and a refused write (see
//! tests/guest/heartbeatd_three_nodes.sh); and two guests (two kernels) on
//! a tgtd LUN, where softdog resets the guest that was stopped and fenced
//! (tests/guest/twoguest_heartbeatd_softdog.sh).

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use fencekit_tests::{guest_script, require_or_skip, TwoGuests};

#[test]
fn guest_heartbeatd_three_nodes_evict_fence_and_self_fence() {
    if !require_or_skip("guest_heartbeatd_three_nodes_evict_fence_and_self_fence") {
        return;
    }
    let out = common::iscsi(3, 3, 1)
        .file(common::HEARTBEATD)
        .file(common::FENCECTL)
        .file(common::QDISK)
        .run_script_file(guest_script("heartbeatd_three_nodes.sh"));
    out.assert_success()
        .assert_stdout_contains("node 3 stopped: evicted after")
        .assert_stdout_contains("node 3 fenced itself")
        .assert_stdout_contains("master stopped: node 2 master")
        .assert_stdout_contains("PASS: heartbeatd_three_nodes");
    // The states heartbeatd status showed (node 1 and node 3 evicted, node
    // 2 master), read from the disk by a reader that is not fencekit.
    let b64: String = out
        .stdout
        .split("QDISK-BEGIN\n")
        .nth(1)
        .and_then(|s| s.split("QDISK-END").next())
        .expect("the quorum disk's dump")
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("qd.b64");
    let img = dir.path().join("qd.img");
    std::fs::write(&enc, b64).unwrap();
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!("base64 -d {} > {}", enc.display(), img.display()))
        .status()
        .unwrap();
    assert!(st.success());
    let o = Command::new("python3")
        .arg(fencekit_tests::harness_file("qdisk").join("independent_reader.py"))
        .arg(&img)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let node = |n: u64| {
        v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["node"] == n)
            .cloned()
            .unwrap()
    };
    // qdisk states: 1 EVICT, 6 MASTER; evictions written by their master.
    assert_eq!(
        (node(1)["state"].clone(), node(1)["update_node"].clone()),
        (1.into(), 2.into())
    );
    assert_eq!(
        (node(3)["state"].clone(), node(3)["update_node"].clone()),
        (1.into(), 1.into())
    );
    assert_eq!(node(2)["state"], 6);
    assert_eq!(node(2)["master"], serde_json::json!([2]));
}

/// Two guests with heartbeatd, fencectl and qdisk, running `script`.
fn softdog_guests(script: &str) -> fencekit_tests::GuestOutput {
    TwoGuests::new()
        .file(common::HEARTBEATD)
        .file(common::FENCECTL)
        .file(common::QDISK)
        .timeout(std::time::Duration::from_secs(420))
        .run_script_file(guest_script(script))
}

#[test]
fn twoguest_heartbeatd_softdog_resets_the_fenced_guest() {
    if !require_or_skip("twoguest_heartbeatd_softdog_resets_the_fenced_guest") {
        return;
    }
    softdog_guests("twoguest_heartbeatd_softdog.sh")
        .assert_success()
        .assert_stdout_contains("guest b stopped: node 2 fenced after")
        .assert_stdout_contains("reset by softdog")
        .assert_stdout_contains("PASS: heartbeatd softdog across two guests");
}

#[test]
fn twoguest_heartbeatd_softdog_resets_a_running_node_once_evicted() {
    if !require_or_skip("twoguest_heartbeatd_softdog_resets_a_running_node_once_evicted") {
        return;
    }
    softdog_guests("twoguest_heartbeatd_softdog_evict.sh")
        .assert_success()
        .assert_stdout_contains("reset by softdog")
        .assert_stdout_contains("PASS: heartbeatd softdog after an eviction across two guests");
}
