//! pathmap on the library's sysfs fixture trees: output modes, subcommands
//! and exit codes.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{fixture, out, pathmap};

#[test]
fn lsscsi_modes_match_captured_lsscsi() {
    for (args, suffix) in [
        (&["--lsscsi"][..], "lsscsi"),
        (&["--lsscsi", "-g"][..], "lsscsi-g"),
        (&["--lsscsi", "-g", "--wwid"][..], "lsscsi-gi"),
        (&["--lsscsi", "-k", "-g", "-i"][..], "lsscsi-kgi"),
    ] {
        for tree in ["fc", "virtio"] {
            let o = pathmap(tree, args);
            assert!(o.status.success());
            let want =
                std::fs::read_to_string(fixture("expected").join(format!("{tree}.{suffix}")))
                    .unwrap();
            assert_eq!(out(&o), want, "{tree} {args:?}");
        }
    }
}

#[test]
fn tree_resolve_show_and_exit_codes() {
    let o = pathmap("fc", &[]);
    assert!(o.status.success());
    let s = out(&o);
    assert!(s.contains("map mpatha (dm-0)  1 failed path(s)"), "{s}");
    assert!(s.contains("mounted on /srv/data"), "{s}");
    let o = pathmap("fc", &["resolve", "sg2"]);
    assert_eq!((o.status.code(), out(&o).as_str()), (Some(0), "/dev/sdc\n"));
    let o = pathmap("fc", &["resolve", "wwn-0x600507680c8080a4c800000000000021"]);
    assert_eq!(out(&o), "/dev/mapper/mpatha\n");
    assert_eq!(pathmap("fc", &["resolve", "sdz"]).status.code(), Some(2));
    let o = pathmap("sas", &["show", "sda2", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["wwid"], "35000c500a1b2c3d4");
    let o = Command::new(common::PATHMAP)
        .args(["--sysfs-root", "/nonexistent-sysfs"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent-sysfs"));
}

#[test]
fn multipath_ll_from_capture_and_diff() {
    let cap = fixture("multipath/alua-two-maps-failed.txt");
    let o = pathmap(
        "fc",
        &[
            "--from-multipath-ll",
            cap.to_str().unwrap(),
            "--multipath-ll",
        ],
    );
    assert_eq!(out(&o), std::fs::read_to_string(&cap).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    std::fs::write(&a, pathmap("sas", &["--json"]).stdout).unwrap();
    std::fs::write(&b, pathmap("sas", &["--json"]).stdout).unwrap();
    let same = Command::new(common::PATHMAP)
        .arg("diff")
        .args([&a, &b])
        .output()
        .unwrap();
    assert_eq!(same.status.code(), Some(0), "{}", out(&same));
    std::fs::write(&b, pathmap("fc", &["--json"]).stdout).unwrap();
    let d = Command::new(common::PATHMAP)
        .arg("diff")
        .args([&a, &b])
        .output()
        .unwrap();
    assert_eq!(d.status.code(), Some(2));
    assert!(
        out(&d).contains("35000c500a1b2c3d4: only on A"),
        "{}",
        out(&d)
    );
}

#[test]
fn lvm_filter_with_vgs_report() {
    let dir = tempfile::tempdir().unwrap();
    let vgs = dir.path().join("vgs.json");
    std::fs::write(
        &vgs,
        r#"{"report":[{"vg":[{"vg_name":"vglocal","pv_name":"/dev/sda2","lv_active":"active"}]}]}"#,
    )
    .unwrap();
    let o = pathmap(
        "sas",
        &[
            "lvm-filter",
            "35000c500a1b2c3d4",
            "--vgs-json",
            vgs.to_str().unwrap(),
        ],
    );
    assert!(o.status.success());
    let s = out(&o);
    assert!(s.contains("\"r|^/dev/sda[0-9]*$|\""), "{s}");
    assert!(
        s.contains("# VG vglocal on 35000c500a1b2c3d4: ACTIVE on this host"),
        "{s}"
    );
    assert_eq!(
        pathmap("sas", &["lvm-filter", "nope"]).status.code(),
        Some(2)
    );
}
