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

/// Two hosts' `pathmap --json` with LVM data (`lib/tests/fixtures/vgs`):
/// the same VG active on both.
fn vgs(args: &[&str]) -> std::process::Output {
    let f = fixture("vgs");
    let mut c = Command::new(common::PATHMAP);
    c.arg("vgs");
    for a in args {
        if let Some(name) = a.strip_prefix('@') {
            c.arg(f.join(name));
        } else {
            c.arg(a);
        }
    }
    c.output().unwrap()
}

#[test]
fn vgs_across_hosts_and_policy_findings() {
    let o = vgs(&["@kvm1.json", "@kvm2.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", common::text(&o));
    let s = out(&o);
    assert!(s.starts_with("VG guestvg: LUNs 36001405e6a3b4c5d6e7f8091a2b3c4d5; system ID -; lock type -\n  kvm1: active (data)\n  kvm2: active (data)\n"), "{s}");
    assert!(
        s.contains(
            "ERROR active-on-several-hosts: VG guestvg is not shared but active on kvm1, kvm2"
        ),
        "{s}"
    );
    assert!(!s.contains("guest-vg-on-host"), "{s}");
    // One host: nothing wrong without a policy.
    let o = vgs(&["@kvm1.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::text(&o));
    // The policy gives the VG to a guest: a finding on one host too.
    let o = vgs(&["--policy", "@policy.toml", "@kvm1.json", "--json"]);
    assert_eq!(o.status.code(), Some(2), "{}", common::text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["volume_groups"][0]["name"], "guestvg");
    assert_eq!(v["volume_groups"][0]["hosts"][0]["host"], "kvm1");
    assert_eq!(v["volume_groups"][0]["hosts"][0]["active"], true);
    assert_eq!(v["findings"][0]["kind"], "guest-vg-on-host");
    assert_eq!(v["findings"][0]["severity"], "error");
    // No VGs: no findings; a bad policy or model is bad input.
    let o = vgs(&["--policy", "@policy.toml", "@../vm/topology-map.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::text(&o));
    assert_eq!(out(&o), "no volume groups on the units\n");
    // A VG the policy does not name is a warning, not a failure.
    let p = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(p.path(), "[[vg]]\nname = \"other\"\nfailover = true\n").unwrap();
    let o = vgs(&["--policy", p.path().to_str().unwrap(), "@kvm1.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::text(&o));
    assert!(
        out(&o).contains("WARNING not-in-policy: VG guestvg is not named by the policy"),
        "{}",
        common::text(&o)
    );
    let o = vgs(&["--policy", "@kvm1.json", "@kvm1.json"]);
    assert_eq!(o.status.code(), Some(6), "{}", common::text(&o));
    let o = vgs(&["@policy.toml"]);
    assert_eq!(o.status.code(), Some(6), "{}", common::text(&o));
}

/// This host's VGs (here a sysfs fixture tree with captured pvs and lvs
/// reports): the PV on a path of the unit names the unit.
#[test]
fn vgs_of_this_host_from_lvm_reports() {
    let d = tempfile::tempdir().unwrap();
    let pvs = d.path().join("pvs.json");
    let lvs = d.path().join("lvs.json");
    std::fs::write(
        &pvs,
        r#"{"report":[{"pv":[{"pv_name":"/dev/sdb","vg_name":"hostvg","vg_attr":"wz--n-","vg_systemid":"kvm1","vg_lock_type":""}]}]}"#,
    )
    .unwrap();
    std::fs::write(
        &lvs,
        r#"{"report":[{"lv":[{"vg_name":"hostvg","lv_name":"srv","lv_attr":"-wi-a-----","lv_active":"active"}]}]}"#,
    )
    .unwrap();
    let o = pathmap(
        "iscsi",
        &[
            "--pvs-json",
            pvs.to_str().unwrap(),
            "--lvs-json",
            lvs.to_str().unwrap(),
            "vgs",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", common::text(&o));
    assert_eq!(
        out(&o),
        "VG hostvg: LUNs 36001405e6a3b4c5d6e7f8091a2b3c4d5; system ID kvm1; lock type -\n  this host: active (srv)\n"
    );
}
