//! heartbeatd on the host: the configuration checks, and two daemons on a
//! quorum-disk image file with the test self-fence command. The data
//! device is a regular file, so every fence fails (SG_IO is refused):
//! the survivor evicts the stopped node and never reports it dead; fencing
//! itself through PR is proven in the guest test bed.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{code, err, out, text, HEARTBEATD, QDISK};

fn root() -> PathBuf {
    fencekit_tests::workspace_root()
}

fn heartbeatd(args: &[&str]) -> Output {
    Command::new(HEARTBEATD).args(args).output().unwrap()
}

/// A heartbeat.toml for `node` in `dir`.
fn config(dir: &Path, node: &str, qdisk: &Path, data: &Path) -> PathBuf {
    let p = dir.join(format!("{node}.toml"));
    let text = format!(
        r#"cluster_config = "{cluster}"
node = "{node}"
[quorum]
device = "{qdisk}"
interval = 0.2
tko = 4
[nodes]
node1 = 1
node2 = 2
[fence]
devices = ["{data}"]
timeout = 1
unfit_without_data = false
[self_fence]
method = "command"
command = "echo \"$FK_SELF_FENCE\" > {dir}/{node}.fenced"
"#,
        cluster = root().join("docs/cluster.toml.example").display(),
        qdisk = qdisk.display(),
        data = data.display(),
        dir = dir.display(),
    );
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn the_example_configuration_checks_and_bad_ones_exit_6() {
    let t = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(root().join("docs/heartbeat.toml.example")).unwrap();
    let cfg = t.path().join("hb.toml");
    std::fs::write(
        &cfg,
        example.replace(
            "/etc/fencekit/cluster.toml",
            root().join("docs/cluster.toml.example").to_str().unwrap(),
        ),
    )
    .unwrap();
    let o = heartbeatd(&["-c", cfg.to_str().unwrap(), "--check-config"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(out(&o).contains("key 0x6c9d0001"), "{}", text(&o));
    assert!(
        out(&o).contains("takeover takes at most 24s"),
        "{}",
        text(&o)
    );
    // A token timeout too short for the takeover, and an unknown key.
    for (from, to, says) in [
        (
            "# token_timeout = 30",
            "token_timeout = 20",
            "token timeout",
        ),
        ("min_score = 1", "min_score = 1\nbogus = 1", "unknown field"),
        ("node2 = 2", "node2 = 1", "share qdisk slot 1"),
    ] {
        std::fs::write(&cfg, example.replace(from, to)).unwrap();
        let o = heartbeatd(&["-c", cfg.to_str().unwrap(), "--check-config"]);
        assert_eq!(code(&o), 6, "{to}: {}", text(&o));
        assert!(err(&o).contains(says), "{to}: {}", text(&o));
        assert!(err(&o).contains("hb.toml"), "{}", text(&o));
    }
    let o = heartbeatd(&["-c", "/nonexistent/hb.toml", "--check-config"]);
    assert_eq!(code(&o), 6, "{}", text(&o));
    let o = heartbeatd(&["--bogus"]);
    assert_eq!(code(&o), 1, "{}", text(&o));
}

fn signal(child: &Child, sig: &str) {
    let st = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

fn status_json(cfg: &Path) -> serde_json::Value {
    let o = heartbeatd(&["-c", cfg.to_str().unwrap(), "status", "--json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn node_state(v: &serde_json::Value, node: u64) -> Option<String> {
    v["nodes"]
        .as_array()?
        .iter()
        .find(|n| n["node"] == node)
        .and_then(|n| n["state"].as_str().map(str::to_string))
}

/// Waits until `pred` holds, up to `limit`.
fn wait_for(limit: Duration, mut pred: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if pred() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn two_daemons_on_an_image_evict_a_stopped_node_which_fences_itself_on_resume() {
    let t = tempfile::tempdir().unwrap();
    let qd = t.path().join("qdisk.img");
    std::fs::File::create(&qd)
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    let o = Command::new(QDISK)
        .args(["create", "-l", "hb", "--yes", qd.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", text(&o));
    let data = t.path().join("data.img");
    std::fs::write(&data, vec![0u8; 4096]).unwrap();
    let c1 = config(t.path(), "node1", &qd, &data);
    let c2 = config(t.path(), "node2", &qd, &data);
    let start = |cfg: &Path| {
        Command::new(HEARTBEATD)
            .args(["-c", cfg.to_str().unwrap(), "run"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut d1 = start(&c1);
    let mut d2 = start(&c2);
    let master = wait_for(Duration::from_secs(15), || {
        let v = status_json(&c1);
        node_state(&v, 1).as_deref() == Some("Master")
            && node_state(&v, 2).as_deref() == Some("Running")
    });
    assert!(master, "no master: {}", status_json(&c1));
    // Stop node 2: node 1 evicts it within (tko + 1) intervals, give or
    // take the test's own polling.
    signal(&d2, "STOP");
    let stopped = Instant::now();
    let evicted = wait_for(Duration::from_secs(10), || {
        node_state(&status_json(&c1), 2).as_deref() == Some("Evicted")
    });
    assert!(evicted, "node 2 not evicted: {}", status_json(&c1));
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "{:?}",
        stopped.elapsed()
    );
    // Node 2 resumes, finds itself evicted (or its writes too old), runs
    // the self-fence command and exits 2 without writing again.
    signal(&d2, "CONT");
    let o2 = {
        let ok = wait_for(Duration::from_secs(10), || d2.try_wait().unwrap().is_some());
        assert!(ok, "node 2 still running after its resume");
        d2.wait_with_output().unwrap()
    };
    assert_eq!(code(&o2), 2, "{}", text(&o2));
    assert!(err(&o2).contains("fencing this node"), "{}", text(&o2));
    let why = std::fs::read_to_string(t.path().join("node2.fenced")).unwrap();
    assert!(
        why.contains("evicted by node 1") || why.contains("not written"),
        "{why}"
    );
    assert_eq!(node_state(&status_json(&c1), 2).as_deref(), Some("Evicted"));
    // SIGTERM: node 1 writes state NONE and exits 0. Its log shows that
    // every fence of node 2 failed (a regular file takes no SG_IO) and
    // that node 2 was never reported dead.
    std::thread::sleep(Duration::from_millis(500));
    signal(&d1, "TERM");
    let ok = wait_for(Duration::from_secs(5), || d1.try_wait().unwrap().is_some());
    assert!(ok, "node 1 did not stop on SIGTERM");
    let o1 = d1.wait_with_output().unwrap();
    assert_eq!(code(&o1), 0, "{}", text(&o1));
    let log = err(&o1);
    assert!(log.contains("node 2 evicted; fencing it"), "{log}");
    assert!(log.contains("fencing node 2 failed"), "{log}");
    assert!(!log.contains("node 2 fenced"), "{log}");
    assert!(log.contains("stopped; state NONE written"), "{log}");
    let v = status_json(&c1);
    assert_eq!(
        node_state(&v, 1),
        None,
        "node 1 not shown after leaving: {v}"
    );
}
