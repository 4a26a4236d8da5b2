//! vmguest-attach on the host, without a daemon: domains from definition
//! files (`--domain-xml`) or from libvirt's test driver (`--connect
//! test:///FILE`), the host's storage from a `pathmap --json` capture
//! (`--topology`), and the host's multipath and LVM configuration from
//! files. Also: only vmguest-attach links libvirt.

// Tests: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::{code, err, fixture, out, text, VMGUEST_ATTACH};

const WWID: &str = "36001405e6a3b4c5d6e7f8091a2b3c4d5";

fn vm(name: &str) -> PathBuf {
    fixture("vm").join(name)
}

/// `vmguest-attach` with the fixtures' host: no multipath.conf or
/// lvm.conf unless the arguments give them.
fn run(topology: &str, args: &[&str]) -> Output {
    Command::new(VMGUEST_ATTACH)
        // Without --connect these need no libvirt: a call to it fails,
        // whether or not libvirtd runs here.
        .env(
            "LIBVIRT_DEFAULT_URI",
            "qemu+unix:///system?socket=/nonexistent/fencekit-no-libvirt",
        )
        .arg("--topology")
        .arg(vm(topology))
        .arg("--multipath-conf")
        .arg("/nonexistent/multipath.conf")
        .arg("--lvm-conf")
        .arg("/nonexistent/lvm.conf")
        .args(args)
        .output()
        .unwrap()
}

fn files(extra: &[&str]) -> Vec<String> {
    let mut v = vec![
        "--domain-xml".to_string(),
        vm("node1.xml").display().to_string(),
        "--domain-xml".to_string(),
        vm("node2-with-lun.xml").display().to_string(),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

fn rules(plan: &serde_json::Value) -> Vec<String> {
    plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn plan_map_mode_prints_the_disk_and_every_check() {
    let v = files(&["plan", "node1", WWID]);
    let o = run("topology-map.json", &args(&v));
    assert_eq!(code(&o), 0, "{}", text(&o));
    let s = out(&o);
    assert!(s.contains("domain node1: map mode, 1 disk(s)"), "{s}");
    assert!(
        s.contains("<controller type=\"scsi\" index=\"0\" model=\"virtio-scsi\"/>"),
        "{s}"
    );
    assert!(
        s.contains(&format!(
            "<source dev=\"/dev/disk/by-id/dm-uuid-mpath-{WWID}\">"
        )),
        "{s}"
    );
    assert!(s.contains("<reservations managed=\"yes\"/>"), "{s}");
    assert!(!s.contains("sgio=\""), "{s}");
    assert!(s.contains("ok       the map is active-active"), "{s}");
}

#[test]
fn plan_json_has_the_xml_the_record_and_the_checks() {
    let v = files(&["plan", "node1", WWID, "--json"]);
    let o = run("topology-map.json", &args(&v));
    assert_eq!(code(&o), 0, "{}", text(&o));
    let j = json(&o);
    let p = &j[0];
    assert_eq!(p["domain"], "node1");
    assert_eq!(p["mode"], "map");
    assert!(p["disks"][0]
        .as_str()
        .unwrap()
        .starts_with("<disk type=\"block\" device=\"lun\""));
    assert_eq!(p["record"]["wwid"], WWID);
    assert_eq!(p["record"]["vendor"], "LIO-ORG");
    assert_eq!(p["record"]["disk"][0]["target"], "sda");
    assert!(p["checked"].as_array().unwrap().len() >= 10);
    assert_eq!(rules(p), Vec::<String>::new());
}

#[test]
fn an_active_passive_map_is_refused() {
    let v = files(&["plan", "node1", WWID, "--mode", "map", "--json"]);
    let o = run("topology-active-passive.json", &args(&v));
    assert_eq!(code(&o), 4, "{}", text(&o));
    assert_eq!(rules(&json(&o)[0]), ["active-passive-map"]);
}

#[test]
fn paths_mode_needs_the_hosts_blacklist_and_lvm_filter() {
    let v = files(&["plan", "node1", WWID, "--json"]);
    let o = run("topology-paths.json", &args(&v));
    assert_eq!(code(&o), 4, "{}", text(&o));
    let p = &json(&o)[0];
    assert_eq!(p["mode"], "paths");
    assert_eq!(p["disks"].as_array().unwrap().len(), 2);
    assert_eq!(rules(p), ["not-blacklisted", "not-lvm-filtered"]);

    // The same host with the WWID blacklisted and its paths filtered.
    let dir = tempfile::tempdir().unwrap();
    let t: fencekit::topology::Topology =
        serde_json::from_str(&std::fs::read_to_string(vm("topology-paths.json")).unwrap()).unwrap();
    let mp = dir.path().join("multipath.conf");
    std::fs::write(&mp, format!("blacklist {{\n    wwid \"{WWID}\"\n}}\n")).unwrap();
    let lvm = dir.path().join("lvm.conf");
    let filter = fencekit::topology::lvm::global_filter(&[&t.luns[0]]);
    std::fs::write(&lvm, format!("devices {{\n{filter}}}\n")).unwrap();
    let mut v = files(&["plan", "node1", WWID, "--json"]);
    v.extend([
        "--multipath-conf".into(),
        mp.display().to_string(),
        "--lvm-conf".into(),
        lvm.display().to_string(),
    ]);
    let o = Command::new(VMGUEST_ATTACH)
        .arg("--topology")
        .arg(vm("topology-paths.json"))
        .args(&v)
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(rules(&json(&o)[0]), Vec::<String>::new());
}

#[test]
fn one_initiator_for_two_guests_of_the_cluster_is_refused() {
    let cluster = vm("cluster.toml").display().to_string();
    let v = files(&["--cluster", &cluster, "plan", "node1", WWID, "--json"]);
    let o = run("topology-map.json", &args(&v));
    assert_eq!(code(&o), 4, "{}", text(&o));
    let p = &json(&o)[0];
    assert_eq!(rules(p), ["shared-initiator"]);
    assert_eq!(p["findings"][0]["severity"], "forcible");
}

#[test]
fn a_partition_or_an_lv_is_refused_not_taken_for_its_lun() {
    for (name, rule) in [
        ("/dev/sdb1", "PartitionSource"),
        ("/dev/vg_shared/data", "LvSource"),
    ] {
        let v = files(&["plan", "node1", name]);
        let o = run("topology-map.json", &args(&v));
        assert_eq!(code(&o), 4, "{name}: {}", text(&o));
        assert!(
            err(&o).contains("not a SCSI logical unit"),
            "{rule}: {}",
            text(&o)
        );
        assert!(out(&o).is_empty(), "{}", text(&o));
    }
    let v = files(&["plan", "node1", "iscsi://host/iqn-only"]);
    let o = run("topology-map.json", &args(&v));
    assert_eq!(code(&o), 1, "{}", text(&o));
}

#[test]
fn names_that_do_not_exist_exit_2() {
    let v = files(&["plan", "node9", WWID]);
    let o = run("topology-map.json", &args(&v));
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(err(&o).contains("node9: no such domain"), "{}", text(&o));
    let v = files(&["plan", "node1", "/dev/disk/by-id/wwn-0x5000"]);
    let o = run("topology-map.json", &args(&v));
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(err(&o).contains("no such LUN"), "{}", text(&o));
}

#[test]
fn bad_inputs_exit_6_and_changes_need_libvirt() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, "<domain><name>x</name><devices><disk").unwrap();
    let o = run(
        "topology-map.json",
        &["--domain-xml", bad.to_str().unwrap(), "list"],
    );
    assert_eq!(code(&o), 6, "{}", text(&o));
    let toml = dir.path().join("c.toml");
    std::fs::write(&toml, "guests = 1\n").unwrap();
    let v = files(&["--cluster", toml.to_str().unwrap(), "plan", "node1", WWID]);
    let o = run("topology-map.json", &args(&v));
    assert_eq!(code(&o), 6, "{}", text(&o));
    let v = files(&["attach", "node1", WWID]);
    let o = run("topology-map.json", &args(&v));
    assert_eq!(code(&o), 1, "{}", text(&o));
}

#[test]
fn list_through_libvirts_test_driver() {
    let uri = format!("test://{}", vm("test-driver-node.xml").display());
    let o = run("topology-map.json", &["--connect", &uri, "list", "--json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let j = json(&o);
    assert_eq!(j["host"], "kvm1");
    // The test driver runs its domains.
    assert_eq!(j["running"], serde_json::json!(["node1", "node2"]));
    assert_eq!(j["topology"]["luns"][0]["wwid"], WWID);
    let j = &j["domains"];
    let names: Vec<&str> = j
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["domain"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["node1", "node2"]);
    let d = &j[1]["disks"][0];
    assert_eq!(d["target"], "sda");
    assert_eq!(d["mode"], "map");
    assert_eq!(d["lun"]["wwid"], WWID);
    assert_eq!(d["findings"].as_array().unwrap().len(), 0);
    // One domain, in text.
    let o = run("topology-map.json", &["--connect", &uri, "list", "node2"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(out(&o).contains(&format!(
        "sda lun scsi /dev/disk/by-id/dm-uuid-mpath-{WWID}"
    )));
    let o = run("topology-map.json", &["--connect", &uri, "list", "node9"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    // With the cluster: node2's LUN reaches no other guest yet.
    let cluster = vm("cluster.toml").display().to_string();
    let o = run(
        "topology-map.json",
        &["--connect", &uri, "--cluster", &cluster, "list", "--json"],
    );
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(
        json(&o)["domains"][1]["findings"].as_array().unwrap().len(),
        0
    );
}

#[test]
fn an_unreachable_libvirt_is_a_device_error() {
    let o = run(
        "topology-map.json",
        &["--connect", "test:///nonexistent/node.xml", "list"],
    );
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(err(&o).contains("cannot connect"), "{}", text(&o));
}

/// The rules of every finding of a `check --json` report: each disk's,
/// each domain's, then the report's own.
fn check_rules(j: &serde_json::Value) -> Vec<String> {
    let mut v = Vec::new();
    for h in j["hosts"].as_array().unwrap() {
        for d in h["domains"].as_array().unwrap() {
            for x in d["disks"].as_array().unwrap() {
                v.extend(rules(x));
            }
            v.extend(rules(d));
        }
    }
    v.extend(rules(j));
    v
}

#[test]
fn check_audits_this_host() {
    // A clean host: a map given with managed reservations, no cluster.
    let v = files(&["check", "--json"]);
    let o = run("topology-map.json", &args(&v));
    assert_eq!(code(&o), 0, "{}", text(&o));
    let j = json(&o);
    assert_eq!(check_rules(&j), Vec::<String>::new());
    assert_eq!(j["summary"]["disks"], 1);
    assert_eq!(j["migration"][0]["domain"], "node2");
    assert_eq!(j["migration"][0]["migratable"], false);
    // Both guests of the cluster on this host: refused unless forced.
    let cluster = vm("cluster.toml").display().to_string();
    let v = files(&["--cluster", &cluster, "check"]);
    let o = run("topology-map.json", &args(&v));
    assert_eq!(code(&o), 2, "{}", text(&o));
    let s = out(&o);
    assert!(
        s.contains("kvm1 carries 2 of the 2 guests of cluster prod"),
        "{s}"
    );
    assert!(
        s.contains("node2: cannot be live-migrated from kvm1"),
        "{s}"
    );
    assert!(s.contains("1 refused unless forced, 0 warning(s)"), "{s}");
    // lvmetad on, with a guest's LUN on the host.
    let dir = tempfile::tempdir().unwrap();
    let lvm = dir.path().join("lvm.conf");
    std::fs::write(&lvm, "global {\n    use_lvmetad = 1\n}\n").unwrap();
    let mut v = files(&["check", "--json"]);
    v.extend(["--lvm-conf".into(), lvm.display().to_string()]);
    let o = run("topology-map.json", &args(&v));
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert_eq!(check_rules(&json(&o)), ["lvmetad"]);
}

#[test]
fn check_finds_the_wrong_ways_on_this_host() {
    // A host VG active on the LUN node2 is given.
    let v = files(&["check", "--json"]);
    let o = run("topology-map-vg.json", &args(&v));
    assert_eq!(code(&o), 2, "{}", text(&o));
    let j = json(&o);
    assert_eq!(check_rules(&j), ["host-vg-active"]);
    assert_eq!(j["summary"]["refused"], 1);
    // Paths mode without the host's blacklist and LVM filter.
    let p = vm("node-paths.xml").display().to_string();
    let o = run(
        "topology-paths.json",
        &["--domain-xml", &p, "check", "--json"],
    );
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert_eq!(
        check_rules(&json(&o)),
        ["not-blacklisted", "not-lvm-filtered"]
    );
    // Every rule of plan: the guides' wrong ways, each refused.
    let w = vm("wrong-ways.xml").display().to_string();
    let o = run(
        "topology-map.json",
        &["--domain-xml", &w, "check", "--json"],
    );
    assert_eq!(code(&o), 2, "{}", text(&o));
    let r = check_rules(&json(&o));
    for rule in [
        "virtio-blk",
        "not-persistent",
        "partition-source",
        "lv-source",
    ] {
        assert!(r.iter().any(|x| x == rule), "{rule}: {r:?}");
    }
    // Warnings alone exit 0 and are printed.
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("cached.xml");
    let xml = std::fs::read_to_string(vm("node2-with-lun.xml"))
        .unwrap()
        .replace("cache='none'", "cache='writeback'");
    std::fs::write(&x, xml).unwrap();
    let o = run(
        "topology-map.json",
        &["--domain-xml", x.to_str().unwrap(), "check"],
    );
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(out(&o).contains("WARNING"), "{}", text(&o));
    assert!(out(&o).contains("0 refused, 0 refused unless forced, 1 warning(s)"));
}

/// The `list --json` of three hosts: kvm1 runs node1 and node2 (the LUN
/// by its map, pass-through); kvm2 node3 (the same LUN as
/// `device='disk'`, reached through other portals); kvm3's is the array
/// of earlier versions (node2 again). Made with `list --json` from
/// node1.xml and node2-with-lun.xml on topology-map.json, node3-disk.xml
/// on topology-map.json with host kvm2 and portals 192.168.30.1 and .40.1.
fn host_files() -> Vec<String> {
    ["check-kvm1.json", "check-kvm2.json", "check-kvm3-old.json"]
        .iter()
        .map(|f| vm(f).display().to_string())
        .collect()
}

#[test]
fn check_audits_the_cluster_from_the_hosts_lists() {
    let h = host_files();
    let three = vm("cluster-three.toml").display().to_string();
    let o = run(
        "topology-map.json",
        &["--cluster", &three, "check", &h[0], &h[1], &h[2], "--json"],
    );
    assert_eq!(code(&o), 2, "{}", text(&o));
    let j = json(&o);
    assert_eq!(
        check_rules(&j),
        [
            "not-pass-through",
            "half-the-cluster",
            "names-differ",
            "definition-differs"
        ]
    );
    let f = &j["findings"];
    assert_eq!(f[0]["subject"], "kvm1");
    assert_eq!(f[0]["severity"], "forcible");
    assert!(f[1]["reason"].as_str().unwrap().contains("192.168.30.1"));
    // The map is named by by-id: other by-path names are a warning.
    assert_eq!(f[1]["severity"], "warning");
    assert!(f[2]["reason"].as_str().unwrap().contains("kvm2:node3:sda"));
    let hosts: Vec<&str> = j["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts[..2], ["kvm1", "kvm2"]);
    assert!(hosts[2].ends_with("check-kvm3-old.json"), "{hosts:?}");
    let pinned: Vec<&str> = j["migration"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["migratable"] == false)
        .map(|m| m["domain"].as_str().unwrap())
        .collect();
    assert_eq!(pinned, ["node2", "node2"]);
    // Two hosts that agree: kvm1 and the earlier array of node2 alone.
    let o = run("topology-map.json", &["check", &h[0], &h[2]]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(out(&o).contains("2 host(s), 2 domain(s) with 2 shared disk(s)"));
}

#[test]
fn a_bad_host_file_exits_6_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let h = host_files();
    for (name, body) in [
        ("truncated.json", "{\"host\": \"kvm1\", \"domains\": ["),
        ("wrong.json", "{\"host\": 3, \"domains\": []}"),
        ("other.json", "[{\"report\": []}]"),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        let o = run("topology-map.json", &["check", &h[0], p.to_str().unwrap()]);
        assert_eq!(code(&o), 6, "{name}: {}", text(&o));
        assert!(err(&o).contains(name), "{}", text(&o));
        assert!(out(&o).is_empty(), "{}", text(&o));
    }
    let o = run("topology-map.json", &["check", "/nonexistent/kvm9.json"]);
    assert_eq!(code(&o), 6, "{}", text(&o));
    assert!(err(&o).contains("/nonexistent/kvm9.json"), "{}", text(&o));
}

/// The other programs must run on hosts without libvirt: only
/// vmguest-attach may have libvirt.so in its DT_NEEDED entries.
#[test]
fn only_the_vm_attach_program_links_libvirt() {
    let needed = |bin: &str| -> Option<String> {
        let o = Command::new("objdump").args(["-p", bin]).output().ok()?;
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let Some(v) = needed(VMGUEST_ATTACH) else {
        eprintln!("skipped: objdump (binutils) is not installed");
        return;
    };
    assert!(v.contains("libvirt.so"), "{v}");
    for bin in [
        common::PRKEYS,
        common::PATHMAP,
        common::QDISK,
        common::FENCECTL,
        common::HEARTBEATD,
    ] {
        let p = needed(bin).unwrap();
        let libvirt: Vec<&str> = p
            .lines()
            .filter(|l| l.contains("NEEDED") && l.contains("libvirt"))
            .collect();
        assert!(libvirt.is_empty(), "{bin}: {libvirt:?}");
    }
}

fn verify(args: &[&str]) -> Output {
    Command::new(VMGUEST_ATTACH)
        .arg("verify")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn verify_without_disks_fails_and_says_so() {
    let empty = tempfile::tempdir().unwrap();
    let root = empty.path().display().to_string();
    let o = verify(&["--sysfs-root", &root]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(out(&o).contains("no disks found"), "{}", text(&o));
    let o = verify(&["--sysfs-root", &root, "--json"]);
    let v = json(&o);
    assert_eq!(v["passed"], false);
    assert_eq!(v["devices"].as_array().unwrap().len(), 0);
}

#[test]
fn verify_of_a_device_that_is_not_there_cannot_fence() {
    let o = verify(&["/nonexistent/sdq", "--json"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let v = json(&o);
    let checks = v["devices"][0]["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c["name"] == "pr-in" && c["state"] == "fail"),
        "{v}"
    );
}

#[test]
fn verify_expect_needs_a_list_of_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"not\": \"a list\"}").unwrap();
    let o = verify(&["/nonexistent/sdq", "--expect", bad.to_str().unwrap()]);
    assert_eq!(code(&o), 6, "{}", text(&o));
    assert!(err(&o).contains("bad.json"), "{}", text(&o));
    // The host's list as list --json prints it: a LUN the guest lacks.
    let list = run("topology-map.json", &args(&files(&["list", "--json"])));
    assert_eq!(code(&list), 0, "{}", text(&list));
    let host = dir.path().join("host.json");
    std::fs::write(&host, &list.stdout).unwrap();
    let o = verify(&[
        "/nonexistent/sdq",
        "--expect",
        host.to_str().unwrap(),
        "--domain",
        "node2",
        "--json",
    ]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let v = json(&o);
    let e = &v["expected"][0];
    assert_eq!(e["name"], "expected-lun", "{v}");
    assert_eq!(e["state"], "fail", "{v}");
}

#[test]
fn pr_test_takes_one_disk_and_a_peer() {
    let o = verify(&["--pr-test", "/dev/sda"]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let o = verify(&[
        "--pr-test",
        "--peer-cmd",
        "true",
        "--peer-dev",
        "/dev/sdb",
        "/dev/sda",
        "/dev/sdc",
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(err(&o).contains("one disk"), "{}", text(&o));
}

#[test]
fn plan_in_paths_mode_shows_what_hide_would_write() {
    let v = files(&["plan", "node1", WWID, "--mode", "paths", "--json"]);
    let o = run("topology-paths.json", &args(&v));
    let p = &json(&o)[0];
    let h = p["hygiene"].as_str().unwrap_or_else(|| panic!("{p}"));
    assert!(h.contains(&format!("wwid \"^{WWID}$\"")), "{h}");
    assert!(h.contains("global_filter"), "{h}");
    let v = files(&["plan", "node1", WWID, "--mode", "paths"]);
    let o = run("topology-paths.json", &args(&v));
    assert!(
        out(&o).contains("hygiene (vmguest-attach hide --apply would write)"),
        "{}",
        text(&o)
    );
    // Map mode changes nothing on the host: no hygiene.
    let v = files(&["plan", "node1", WWID, "--json"]);
    let o = run("topology-map.json", &args(&v));
    assert!(json(&o)[0].get("hygiene").is_none(), "{}", text(&o));
}

/// Every element plan writes, put into the fixture domain, passes libvirt's
/// own schema (`virt-xml-validate FILE domain`): map mode (block source,
/// managed reservations), paths mode (by-path sources) and an iSCSI URL
/// (network source with the guest's initiator).
#[test]
fn planned_disks_validate_against_libvirts_schema() {
    let Some(validate) = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("virt-xml-validate"))
            .find(|f| f.is_file())
    }) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "virt-xml-validate is missing (libvirt-clients, scripts/setup-deps.sh)"
        );
        eprintln!("skipped: virt-xml-validate not installed");
        return;
    };
    let domain = std::fs::read_to_string(vm("node1.xml")).unwrap();
    let url = "iscsi://192.168.10.1:3260/iqn.2003-01.org.example:san/0";
    let cases: [(&str, Vec<&str>); 3] = [
        ("topology-map.json", vec![WWID]),
        (
            "topology-paths.json",
            vec![WWID, "--mode", "paths", "--force"],
        ),
        (
            "topology-map.json",
            vec![url, "--initiator", "iqn.2026-01.org.example:node1"],
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (topo, extra)) in cases.iter().enumerate() {
        let mut a = files(&["plan", "node1"]);
        a.extend(
            extra
                .iter()
                .filter(|x| **x != "--force")
                .map(|s| s.to_string()),
        );
        a.push("--json".into());
        let o = run(topo, &args(&a));
        let p = &json(&o)[0];
        let mut devices = String::new();
        if let Some(c) = p["controller"].as_str() {
            devices.push_str(c);
        }
        for d in p["disks"].as_array().unwrap() {
            devices.push_str(d.as_str().unwrap());
        }
        assert!(!devices.is_empty(), "case {i}: {}", text(&o));
        let doc = domain.replacen("</devices>", &format!("{devices}</devices>"), 1);
        let f = dir.path().join(format!("case{i}.xml"));
        std::fs::write(&f, &doc).unwrap();
        let v = Command::new(&validate)
            .arg(&f)
            .arg("domain")
            .output()
            .unwrap();
        assert!(v.status.success(), "case {i}: {}\n{doc}", text(&v));
    }
}
