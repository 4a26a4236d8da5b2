//! Golden files for every `--json` schema of the four programs
//! (`tools/tests/golden/`), compared by key path and value with
//! `fencekit_tests::golden`: a renamed, added or removed field fails here.
//! `FENCEKIT_BLESS=1 cargo test -p fencekit-tools --test golden_json`
//! rewrites them.
//!
//! The programs run on the host where they can: pathmap on the library's
//! sysfs fixture trees, qdisk on image files, fencectl and prkeys on a
//! device that does not exist (every command's report with a device
//! error). prkeys' per-device results need a real device; they are the
//! library types prkeys serializes, decoded from the LIO captures in
//! `lib/tests/data/sg_persist/`.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs::{self, File};
use std::path::Path;
use std::process::{Command, Output};

use fencekit::scsi::device::Identity;
use fencekit::scsi::inquiry::StandardInquiry;
use fencekit::scsi::pr::{Capabilities, FullStatus, ReadKeys, ReadReservation};
use fencekit::scsi::vpd;
use fencekit_tests::golden;
use serde_json::Value;

use common::{pathmap, text};

const MISSING: &str = "/nonexistent/sdq";

/// Compares `v` with `tools/tests/golden/NAME.json`.
#[track_caller]
fn check(name: &str, v: &Value) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.json"));
    golden::check(&file, v);
}

/// The JSON on stdout, with the machine-dependent parts of paths (the
/// workspace, a temporary directory) replaced by `$ROOT` and `$TMP`.
#[track_caller]
fn json(o: &Output, tmp: Option<&Path>) -> Value {
    let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
    if let Some(t) = tmp {
        s = s.replace(t.to_str().unwrap(), "$TMP");
    }
    let root = fencekit_tests::workspace_root();
    s = s.replace(root.to_str().unwrap(), "$ROOT");
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("not JSON: {e}\n{}", text(o)))
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env_remove("RUST_LOG")
        // No libvirt is needed for any of these: a call to it fails.
        .env("LIBVIRT_DEFAULT_URI", NO_LIBVIRT)
        .output()
        .unwrap()
}

/// A libvirt URI that cannot be reached, whether or not libvirtd runs.
const NO_LIBVIRT: &str = "qemu+unix:///system?socket=/nonexistent/fencekit-no-libvirt";

#[test]
fn pathmap_json_schemas() {
    check("pathmap_topology", &json(&pathmap("fc", &["--json"]), None));
    check(
        "pathmap_resolve",
        &json(&pathmap("fc", &["resolve", "sg2", "--json"]), None),
    );
    check(
        "pathmap_show",
        &json(&pathmap("sas", &["show", "sda2", "--json"]), None),
    );
    let t = tempfile::tempdir().unwrap();
    let vgs = t.path().join("vgs.json");
    fs::write(
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
            "--json",
        ],
    );
    check("pathmap_lvm_filter", &json(&o, Some(t.path())));
    let (a, b) = (t.path().join("a.json"), t.path().join("b.json"));
    fs::write(&a, pathmap("sas", &["--json"]).stdout).unwrap();
    fs::write(&b, pathmap("fc", &["--json"]).stdout).unwrap();
    let o = run(
        common::PATHMAP,
        &["diff", a.to_str().unwrap(), b.to_str().unwrap(), "--json"],
    );
    check("pathmap_diff", &json(&o, Some(t.path())));
}

#[test]
fn qdisk_json_schemas() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    for d in ["proc", "dev"] {
        fs::create_dir_all(r.join(d)).unwrap();
    }
    fs::write(
        r.join("proc/partitions"),
        "major minor  #blocks  name\n\n   8       48       1024 sdd\n",
    )
    .unwrap();
    let img = r.join("dev/sdd");
    File::create(&img).unwrap().set_len(1 << 20).unwrap();
    let img = img.to_str().unwrap();
    let o = run(common::QDISK, &["create", "-l", "golden", "--yes", img]);
    assert_eq!(common::code(&o), 0, "{}", text(&o));
    let volatile = [
        "now",
        "age_seconds",
        "created",
        "created_text",
        "block_timestamp",
        "timestamp",
        "timestamp_text",
        "host",
    ];
    let root = r.to_str().unwrap();
    let mut v = json(
        &run(common::QDISK, &["list", "--json", "--root", root]),
        Some(r),
    );
    golden::mask(&mut v, &volatile);
    check("qdisk_list", &v);
    let o = run(common::QDISK, &["find", "golden", "--json", "--root", root]);
    let mut v = json(&o, Some(r));
    golden::mask(&mut v, &volatile);
    check("qdisk_find", &v);
    let mut v = json(&run(common::QDISK, &["dump", "--json", img]), Some(r));
    golden::mask(&mut v, &volatile);
    check("qdisk_dump", &v);
    let o = run(
        common::QDISK,
        &["watch", "--json", "--count", "1", "--interval", "0", img],
    );
    let mut v = json(&o, Some(r));
    golden::mask(&mut v, &volatile);
    check("qdisk_watch", &v);
}

#[test]
fn fencectl_json_schemas() {
    let cfg = fencekit_tests::workspace_root().join("docs/cluster.toml.example");
    let cfg = cfg.to_str().unwrap();
    let fencectl = |args: &[&str]| {
        let mut a = vec!["--config", cfg, "--no-multipath"];
        a.extend_from_slice(args);
        json(&run(common::FENCECTL, &a), None)
    };
    check("fencectl_list", &fencectl(&["list", "--json"]));
    let node = ["--node", "node1"];
    let dev = ["-d", MISSING];
    check(
        "fencectl_unfence",
        &fencectl(&[&["unfence", "--no-state", "--json"][..], &node, &dev].concat()),
    );
    check(
        "fencectl_fence",
        &fencectl(&[&["fence", "--victim", "node2", "--json"][..], &node, &dev].concat()),
    );
    check(
        "fencectl_race",
        &fencectl(
            &[
                &[
                    "race",
                    "--loser",
                    "node2",
                    "--coordinator",
                    MISSING,
                    "--json",
                ][..],
                &node,
            ]
            .concat(),
        ),
    );
    check(
        "fencectl_status",
        &fencectl(&[&["status", "--json"][..], &node, &dev].concat()),
    );
    check(
        "fencectl_verify",
        &fencectl(&[&["verify", "--json"][..], &dev].concat()),
    );
    check(
        "fencectl_verify_pair",
        &fencectl(&["verify", "--pair", MISSING, "/nonexistent/sdr", "--json"]),
    );
    let t = tempfile::tempdir().unwrap();
    let state = t.path().join("state");
    fs::write(
        &state,
        format!(r#"{{"node":"node1","key":"0x6c9d0001","devices":["{MISSING}"]}}"#),
    )
    .unwrap();
    let o = run(
        common::FENCECTL,
        &[
            "--state-file",
            state.to_str().unwrap(),
            "--no-multipath",
            "check",
            "--retry",
            "1",
            "--retry-sleep",
            "0",
            "--json",
        ],
    );
    check("fencectl_check", &json(&o, Some(t.path())));
}

/// A capture of `lib/tests/data/sg_persist/` (LIO's answers).
fn capture(name: &str) -> Vec<u8> {
    fs::read(
        fencekit_tests::workspace_root()
            .join("lib/tests/data/sg_persist")
            .join(name),
    )
    .unwrap()
}

/// LIO's VPD pages 0x80 and 0x83 for the unit of `inquiry.bin` (the same
/// capture as `lib/tests/lio_captures.rs`).
const VPD80: &str = "00 80 00 0b 66 6b 61 61 30 65 35 61 30 30 00";
const VPD83: &str = "00 83 00 8a 01 03 00 10 60 01 40 5f aa 0e 5a 00 \
    00 00 00 00 00 00 00 00 02 01 00 1a 4c 49 4f 2d \
    4f 52 47 20 46 49 4c 45 49 4f 3a 66 6b 61 61 30 \
    65 35 61 30 30 00 61 94 00 04 00 00 00 01 61 95 \
    00 04 00 00 00 00 01 06 00 04 00 00 00 00 63 98 \
    00 20 6e 61 61 2e 35 30 30 31 34 30 35 61 61 30 \
    65 35 61 61 30 30 2c 74 2c 30 78 30 30 30 31 00 \
    00 00 63 a8 00 18 6e 61 61 2e 35 30 30 31 34 30 \
    35 61 61 30 65 35 61 61 30 30 00 00 00 00";

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect()
}

#[test]
fn prkeys_json_schemas() {
    // The report around the results, for a read and for a change.
    let o = run(common::PRKEYS, &["keys", "--json", MISSING]);
    check("prkeys_report_read", &json(&o, None));
    let o = run(
        common::PRKEYS,
        &["register", "--key", "0x1", "--json", MISSING],
    );
    check("prkeys_report_change", &json(&o, None));
    // The `result` of each read, as prkeys serializes it.
    let to = |v: serde_json::Result<Value>| v.unwrap();
    let keys = ReadKeys::decode(&capture("read_keys_two.bin")).unwrap();
    check("prkeys_result_keys", &to(serde_json::to_value(keys)));
    let r = ReadReservation::decode(&capture("read_reservation.bin")).unwrap();
    check("prkeys_result_reservation", &to(serde_json::to_value(r)));
    let f = FullStatus::decode(&capture("full_status.bin")).unwrap();
    check("prkeys_result_status", &to(serde_json::to_value(f)));
    let c = Capabilities::decode(&capture("capabilities_lio.bin")).unwrap();
    check("prkeys_result_caps", &to(serde_json::to_value(c)));
    let designators = vpd::decode_device_identification(&hex(VPD83)).unwrap();
    let id = Identity {
        inquiry: StandardInquiry::decode(&capture("inquiry.bin")).unwrap(),
        serial: Some(vpd::decode_unit_serial(&hex(VPD80)).unwrap()),
        wwid: vpd::wwid(&designators),
        designators,
    };
    check("prkeys_result_inquiry", &to(serde_json::to_value(id)));
}

/// fencectl's reports on success, which need a device that answers: the
/// library's report types as fencectl prints them, from the scripted
/// logical unit of `fencekit::fence::sim` (two nodes, two paths each). The
/// envelopes (`command`, `devices`, `result`) are covered by the runs on a
/// missing device above; these cover every field a successful unfence,
/// fence, status, check, race, verify and verify --pair report carries.
#[test]
fn fencectl_success_reports_from_the_simulator() {
    use fencekit::fence::ops::{self, FenceHow, PreemptMode};
    use fencekit::fence::sim::{lu, SimOpener};
    use fencekit::fence::{race, verify};
    use fencekit::paths::Unit;
    use fencekit::scsi::pr::Key;

    let l = lu();
    let mut o = SimOpener::default();
    for (path, nexus) in [
        ("/a/sdb", "a1"),
        ("/a/sdc", "a2"),
        ("/b/sdb", "b1"),
        ("/b/sdc", "b2"),
    ] {
        o.add(path, &l, nexus);
    }
    let map = |paths: &[&str]| Unit {
        name: "/dev/mapper/mpatha".into(),
        paths: paths.iter().map(Into::into).collect(),
        unusable: Vec::new(),
        multipath: true,
    };
    let (da, db) = (map(&["/a/sdb", "/a/sdc"]), map(&["/b/sdb", "/b/sdc"]));
    let (a, b) = (Key(0xa), Key(0xb));
    let to_json = |v: &dyn erased::Ser| v.value();

    let unfence_a = ops::unfence(&o, std::slice::from_ref(&da), a, false);
    let unfence_b = ops::unfence(&o, std::slice::from_ref(&db), b, false);
    assert!(unfence_a[0].complete && unfence_b[0].complete);
    check("fencectl_sim_unfence", &to_json(&unfence_a));
    let st = ops::status(&o, std::slice::from_ref(&da), Some(a));
    let view = ops::cluster_view(&[("node1".into(), a), ("node2".into(), b)], &st);
    check(
        "fencectl_sim_status",
        &serde_json::json!({"devices": to_json(&st), "cluster": to_json(&view)}),
    );
    let c = ops::check(&o, std::slice::from_ref(&da), a);
    check(
        "fencectl_sim_check",
        &serde_json::json!({"verdict": to_json(&c.verdict()), "result": to_json(&c)}),
    );
    let how = FenceHow {
        mode: PreemptMode::PreemptAndAbort,
        register: false,
    };
    let res = ops::fence(&o, std::slice::from_ref(&da), a, b, how).unwrap();
    assert!(res.complete);
    check("fencectl_sim_fence", &to_json(&res));
    ops::unfence(&o, std::slice::from_ref(&db), b, false);
    let r = race::race(
        &o,
        std::slice::from_ref(&da),
        a,
        &[b],
        PreemptMode::PreemptAndAbort,
    )
    .unwrap();
    assert!(r.won());
    check("fencectl_sim_race", &to_json(&r));
    // verify on an idle unit, and the pair test.
    let l2 = lu();
    let mut o2 = SimOpener::default();
    o2.add("/v/sdb", &l2, "v1");
    o2.add("/v/sdc", &l2, "v2");
    let dv = Unit {
        name: "/v/sdb".into(),
        paths: vec!["/v/sdb".into()],
        unusable: Vec::new(),
        multipath: false,
    };
    let f = verify::gather(
        &o2,
        &dv,
        Path::new("/nonexistent"),
        verify::WriteTest::IfIdle,
    );
    let checks = verify::assess(&f);
    check(
        "fencectl_sim_verify",
        &serde_json::json!({"checks": to_json(&checks), "facts": to_json(&f)}),
    );
    let p = verify::pair(
        &o2,
        Path::new("/v/sdb"),
        &o2,
        Path::new("/v/sdc"),
        PreemptMode::PreemptAndAbort,
        false,
    );
    check("fencectl_sim_verify_pair", &to_json(&p));
}

/// `serde_json::to_value` behind a trait object, so one closure serializes
/// every report type.
mod erased {
    pub trait Ser {
        fn value(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap()
        }
    }
}

#[test]
fn vm_attach_json_schemas() {
    let vm = |f: &str| common::fixture("vm").join(f).display().to_string();
    let base = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "--topology",
            &vm("topology-map.json"),
            "--multipath-conf",
            "/nonexistent/multipath.conf",
            "--lvm-conf",
            "/nonexistent/lvm.conf",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let args = base(&[
        "--domain-xml",
        &vm("node1.xml"),
        "--domain-xml",
        &vm("node2-with-lun.xml"),
        "--cluster",
        &vm("cluster.toml"),
        "plan",
        "node1",
        "36001405e6a3b4c5d6e7f8091a2b3c4d5",
        "--json",
    ]);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    check(
        "vmguest_attach_plan",
        &json(&run(common::VMGUEST_ATTACH, &a), None),
    );
    let uri = format!("test://{}", vm("test-driver-node.xml"));
    let args = base(&["--connect", &uri, "list", "--json"]);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    check(
        "vmguest_attach_list",
        &json(&run(common::VMGUEST_ATTACH, &a), None),
    );
    let args = base(&[
        "--cluster",
        &vm("cluster-three.toml"),
        "check",
        &vm("check-kvm1.json"),
        &vm("check-kvm2.json"),
        "--json",
    ]);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    check(
        "vmguest_attach_check",
        &json(&run(common::VMGUEST_ATTACH, &a), None),
    );
    // attach and detach need a hypervisor that attaches: their report is
    // the library's, made here on the in-memory one.
    use fencekit::vm::{apply, hypervisor::Fake, hypervisor::Hypervisor, plan, xml::Domain};
    let h = Fake::new();
    h.define(&fs::read_to_string(vm("node1.xml")).unwrap(), true)
        .unwrap();
    let t: fencekit::topology::Topology =
        serde_json::from_str(&fs::read_to_string(vm("topology-map.json")).unwrap()).unwrap();
    let d = Domain::parse(&h.domain_xml("node1", false).unwrap()).unwrap();
    let ctx = plan::Context {
        topology: Some(&t),
        ..plan::Context::default()
    };
    let ps = plan::plan_all(&d, &[plan::LunRef::Host(&t.luns[0])], None, &ctx);
    let a = apply::attach(&h, "node1", &ps).unwrap();
    check("vmguest_attach_attach", &serde_json::to_value(&a).unwrap());
    let a = apply::detach(&h, "node1", &["sda".into()]).unwrap();
    check("vmguest_attach_detach", &serde_json::to_value(&a).unwrap());
}
