//! The topology model on sysfs fixture trees (built by
//! `tests/fixtures/mkfixtures.sh`), and `lsscsi` output compared byte for
//! byte: with captures of lsscsi 0.31 run on the same trees, and, where
//! `lsscsi` is installed, with a live run.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use fencekit::topology::lsscsi::{self, Options};
use fencekit::topology::{
    compare, lvm, mpath_ll, resolve, scan, BlockKind, Roots, ScanOptions, Topology, Transport,
};

fn fixture(name: &str) -> (Roots, ScanOptions) {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sysfs")
        .join(name);
    let mountinfo = base.join("proc/mountinfo");
    (
        Roots {
            sys: base.join("sys"),
            dev: base.join("dev"),
        },
        ScanOptions {
            mountinfo: mountinfo.exists().then_some(mountinfo),
            ..ScanOptions::default()
        },
    )
}

fn topo(name: &str) -> (Topology, Roots) {
    let (r, o) = fixture(name);
    (scan(&r, &o).unwrap(), r)
}

fn expected(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/expected")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn fc_four_paths_two_hbas_one_map_with_an_offline_path() {
    let (t, _) = topo("fc");
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    assert_eq!(t.luns.len(), 1);
    let l = &t.luns[0];
    assert_eq!(l.wwid.as_deref(), Some("3600507680c8080a4c800000000000021"));
    assert_eq!(
        (l.vendor.as_str(), l.model.as_str(), l.revision.as_str()),
        ("IBM", "2145", "0000")
    );
    assert_eq!(l.serial.as_deref(), Some("0200a4c8000021"));
    assert_eq!(l.size_bytes, Some(20971520 * 512));
    assert_eq!(
        (l.logical_block_size, l.physical_block_size),
        (Some(512), Some(4096))
    );
    let hctls: Vec<String> = l.paths.iter().map(|p| p.hctl.to_string()).collect();
    assert_eq!(hctls, ["1:0:0:1", "1:0:1:1", "2:0:0:1", "2:0:1:1"]);
    let sds: Vec<&str> = l.paths.iter().filter_map(|p| p.sd.as_deref()).collect();
    assert_eq!(sds, ["sdb", "sdc", "sdd", "sde"]);
    assert_eq!(l.paths[3].state.as_deref(), Some("offline"));
    assert_eq!(l.paths[0].sg.as_deref(), Some("sg1"));
    assert_eq!(l.paths[0].queue_depth, Some(32));
    assert_eq!(
        l.paths[0].transport,
        Transport::Fc {
            host_wwpn: Some("0x10000090fa1b2c01".into()),
            target_wwpn: Some("0x500507680b21a4c9".into()),
            port_id: Some("0x010000".into()),
        }
    );
    assert_eq!(
        l.paths[0].by_path,
        ["pci-0000:05:00.0-fc-0x500507680b21a4c9-lun-1"]
    );
    assert_eq!(
        l.paths[3].by_path,
        ["pci-0000:05:00.1-fc-0x500507680b22a4ca-lun-1"]
    );
    // With a map, udev points the by-id names at the map.
    assert!(l.paths[0].by_id.is_empty());
    let m = l.multipath.as_ref().unwrap();
    assert_eq!((m.name.as_str(), m.dm.as_deref()), ("mpatha", Some("dm-0")));
    assert_eq!(m.size.as_deref(), Some("10G"));
    assert_eq!(m.paths().count(), 4);
    assert_eq!(m.failed_paths().len(), 1);
    assert_eq!(
        m.by_id,
        [
            "dm-name-mpatha",
            "dm-uuid-mpath-3600507680c8080a4c800000000000021",
            "scsi-3600507680c8080a4c800000000000021",
            "wwn-0x600507680c8080a4c800000000000021"
        ]
    );
    // kpartx partition, LVM LV on it, mounted.
    assert_eq!(l.holders.len(), 1);
    let p1 = &l.holders[0];
    assert_eq!(p1.kind, BlockKind::KpartxPartition { number: 1 });
    assert_eq!(p1.dm_name.as_deref(), Some("mpatha1"));
    let lv = &p1.holders[0];
    assert_eq!(
        lv.kind,
        BlockKind::LvmLv {
            vg: "vgshared".into(),
            lv: "lvdata".into()
        }
    );
    assert_eq!(lv.mounts, ["/srv/data"]);
    assert_eq!(l.volume_groups(), ["vgshared"]);
    assert_eq!(l.canonical_device().as_deref(), Some("/dev/mapper/mpatha"));
}

#[test]
fn iscsi_two_sessions_map_named_by_wwid() {
    let (t, _) = topo("iscsi");
    assert_eq!(t.luns.len(), 1);
    let l = &t.luns[0];
    let w = "36001405e6a3b4c5d6e7f8091a2b3c4d5";
    assert_eq!(l.wwid.as_deref(), Some(w));
    assert_eq!(
        l.serial.as_deref(),
        Some("e6a3b4c5-d6e7-f809-1a2b-3c4d5e6f7081")
    );
    assert_eq!(l.paths.len(), 2);
    assert_eq!(
        l.paths[1].transport,
        Transport::Iscsi {
            target_name: Some("iqn.2003-01.org.linux-iscsi.stor1.x8664:sn.4f2b1c".into()),
            portal: Some("192.168.20.1:3260".into()),
            tpgt: Some(2),
            session: Some("session2".into()),
        }
    );
    assert_eq!(
        l.paths[0].by_path,
        ["ip-192.168.10.1:3260-iscsi-iqn.2003-01.org.linux-iscsi.stor1.x8664:sn.4f2b1c-lun-0"]
    );
    let m = l.multipath.as_ref().unwrap();
    assert_eq!(m.name, w);
    // multipath -ll prints no "(wwid)" when the alias is the wwid.
    let text = mpath_ll::render(std::slice::from_ref(m));
    assert!(
        text.starts_with(&format!("{w} dm-0 LIO-ORG,disk0\n")),
        "{text}"
    );
    assert_eq!(mpath_ll::parse(&text).unwrap()[0].name, w);
}

#[test]
fn sas_expander_partitions_and_lvm_on_a_partition() {
    let (t, _) = topo("sas");
    let l = &t.luns[0];
    assert_eq!(l.wwid.as_deref(), Some("35000c500a1b2c3d4"));
    assert_eq!(
        l.paths[0].transport,
        Transport::Sas {
            address: Some("0x5000c500a1b2c3d5".into())
        }
    );
    let bp = "pci-0000:02:00.0-sas-exp0x500605b0000272bf-phy5-lun-0";
    assert_eq!(l.paths[0].by_path, [bp]);
    assert_eq!(
        l.paths[0].by_id,
        ["scsi-35000c500a1b2c3d4", "wwn-0x5000c500a1b2c3d4"]
    );
    assert!(l.multipath.is_none());
    let names: Vec<&str> = l.holders.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["sda1", "sda2"]);
    assert_eq!(l.holders[0].mounts, ["/boot"]);
    assert_eq!(l.holders[0].by_path, [format!("{bp}-part1")]);
    assert_eq!(l.holders[1].holders[0].mounts, ["/"]);
    assert_eq!(l.volume_groups(), ["vglocal"]);
}

#[test]
fn virtio_scsi_guest_links_derivation_and_big_lun() {
    let (t, r) = topo("virtio");
    assert_eq!(t.luns.len(), 4);
    let l = &t.luns[1];
    assert_eq!(l.wwid.as_deref(), Some("36001405aa11bb22cc33dd44ee55ff661"));
    assert_eq!(l.paths[0].transport, Transport::VirtioScsi);
    // Read from /dev/disk/by-path, and equal to what path_id derives.
    assert_eq!(l.paths[0].by_path, ["pci-0000:00:05.0-scsi-0:0:0:1"]);
    let dir = r.sys.join("class/scsi_device/0:0:0:1/device");
    let dir = std::fs::canonicalize(dir).unwrap();
    assert_eq!(
        fencekit::topology::path_id::derive(&r.sys, &dir).as_deref(),
        Some("pci-0000:00:05.0-scsi-0:0:0:1")
    );
    // QEMU disk: T10 vendor id WWID.
    assert_eq!(
        t.luns[0].wwid.as_deref(),
        Some("1QEMU_QEMU_HARDDISK_drive-scsi0-0-0-0")
    );
    // LUN 300 (no links for it): derived name.
    let big = &t.luns[2];
    assert_eq!(big.paths[0].hctl.lun, 300);
    let dir = std::fs::canonicalize(r.sys.join("class/scsi_device/0:0:1:300/device")).unwrap();
    assert_eq!(
        fencekit::topology::path_id::derive(&r.sys, &dir).as_deref(),
        Some("pci-0000:00:05.0-scsi-0:0:1:300")
    );
    assert_eq!(t.luns[3].device_type, Some(5));
    // resolve
    let res = resolve::resolve(&t, "/dev/disk/by-path/pci-0000:00:05.0-scsi-0:0:0:1").unwrap();
    assert_eq!(res.device, "/dev/sdb");
    assert_eq!(resolve::resolve(&t, "sg1").unwrap().device, "/dev/sdb");
    assert_eq!(
        resolve::resolve(&t, "aa11bb22-cc33-dd44-ee55-ff6611223344")
            .unwrap()
            .lun,
        1
    );
    assert!(resolve::resolve(&t, "sdz").is_none());
}

#[test]
fn resolve_names_of_a_multipath_unit() {
    let (t, _) = topo("fc");
    for n in [
        "mpatha",
        "/dev/mapper/mpatha",
        "dm-0",
        "3600507680c8080a4c800000000000021",
        "/dev/disk/by-id/wwn-0x600507680c8080a4c800000000000021",
        "/dev/disk/by-id/dm-uuid-mpath-3600507680c8080a4c800000000000021",
        "mpatha1",
        "vgshared-lvdata",
    ] {
        let r = resolve::resolve(&t, n).unwrap_or_else(|| panic!("{n}"));
        assert_eq!(r.device, "/dev/mapper/mpatha", "{n}");
    }
    assert_eq!(resolve::resolve(&t, "sdc").unwrap().device, "/dev/sdc");
    assert_eq!(
        resolve::resolve(&t, "pci-0000:05:00.0-fc-0x500507680b21a4c9-lun-1-part1")
            .unwrap()
            .device,
        "/dev/sdb"
    );
}

#[test]
fn json_round_trip() {
    for f in ["fc", "iscsi", "sas", "virtio"] {
        let (t, _) = topo(f);
        let j = serde_json::to_string_pretty(&t).unwrap();
        let back: Topology = serde_json::from_str(&j).unwrap();
        assert_eq!(back, t, "{f}");
    }
}

#[test]
fn diff_two_hosts() {
    let (a, _) = topo("fc");
    let mut b = a.clone();
    assert!(compare::compare(&a, &b)
        .iter()
        .all(|d| matches!(d, compare::Difference::FailedPaths { .. })));
    b.luns[0].multipath.as_mut().unwrap().name = "shared0".into();
    b.luns[0].paths.pop();
    b.luns[0].paths[0].by_path = vec!["pci-0000:06:00.0-fc-0x1-lun-1".into()];
    let (c, _) = topo("sas");
    b.luns.push(c.luns[0].clone());
    let d = compare::compare(&a, &b);
    let kinds: Vec<String> = d
        .iter()
        .map(|x| {
            serde_json::to_value(x).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "by_path",
            "map_alias",
            "path_count",
            "failed_paths",
            "failed_paths",
            "only_in"
        ],
        "{d:?}"
    );
}

#[test]
fn lvm_filter_and_vgs_on_luns() {
    let (t, _) = topo("fc");
    let l = &t.luns[0];
    let f = lvm::global_filter(&[l]);
    assert!(
        f.starts_with("# reject 3600507680c8080a4c800000000000021 (mpatha)\n"),
        "{f}"
    );
    assert!(f.contains("\"r|^/dev/mapper/mpatha(p?[0-9]+)?$|\""), "{f}");
    assert!(f.contains("\"r|^/dev/sdb[0-9]*$|\""), "{f}");
    assert!(
        f.contains("\"r|^/dev/disk/by-id/wwn-0x600507680c8080a4c800000000000021(-part[0-9]+)?$|\""),
        "{f}"
    );
    assert!(f.trim_end().ends_with("\"a|.*|\" ]"), "{f}");
    let rows = lvm::parse_vgs_json(
        r#"{"report":[{"vg":[{"vg_name":"vgshared","pv_name":"/dev/mapper/mpatha1","lv_active":"active"},
        {"vg_name":"other","pv_name":"/dev/vda2","lv_active":"active"}]}]}"#,
    )
    .unwrap();
    let v = lvm::vgs_on(&[l], &rows);
    assert_eq!(v.len(), 1);
    assert!(v[0].active && v[0].vg == "vgshared");
}

const OPTS: [(&str, Options); 4] = [
    (
        "lsscsi",
        Options {
            generic: false,
            scsi_id: false,
            kname: false,
        },
    ),
    (
        "lsscsi-g",
        Options {
            generic: true,
            scsi_id: false,
            kname: false,
        },
    ),
    (
        "lsscsi-gi",
        Options {
            generic: true,
            scsi_id: true,
            kname: false,
        },
    ),
    (
        "lsscsi-kgi",
        Options {
            generic: true,
            scsi_id: true,
            kname: true,
        },
    ),
];

#[test]
fn lsscsi_format_matches_captured_lsscsi_byte_for_byte() {
    for f in ["fc", "iscsi", "sas", "virtio"] {
        let (t, r) = topo(f);
        for (suffix, o) in OPTS {
            let want = expected(&format!("{f}.{suffix}"));
            assert_eq!(lsscsi::render(&t, &r, &o), want, "{f}.{suffix}");
            // The lean reader that pathmap --lsscsi uses prints the same.
            let rows = lsscsi::read_devices(&r.sys).unwrap();
            assert_eq!(
                rows.len(),
                t.luns.iter().map(|l| l.paths.len()).sum::<usize>()
            );
            let lean = lsscsi::render_rows(rows.iter().map(|(p, t)| (p, *t)).collect(), &r, &o);
            assert_eq!(lean, want, "{f}.{suffix} (lean reader)");
        }
    }
}

fn lsscsi_binary() -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join("lsscsi"))
        .find(|p| p.is_file())
}

#[test]
fn lsscsi_format_matches_live_lsscsi_when_installed() {
    let Some(bin) = lsscsi_binary() else {
        eprintln!("skipped: lsscsi is not installed (apt-get install lsscsi)");
        return;
    };
    let args: [(&[&str], Options); 4] = [
        (&[], OPTS[0].1),
        (&["-g"], OPTS[1].1),
        (&["-g", "-i"], OPTS[2].1),
        (&["-k", "-g", "-i"], OPTS[3].1),
    ];
    for f in ["fc", "iscsi", "sas", "virtio"] {
        let (mut r, o) = fixture(f);
        let sys = std::fs::canonicalize(&r.sys).unwrap();
        // lsscsi always looks in the real /dev.
        r.dev = PathBuf::from("/dev");
        let t = scan(&r, &o).unwrap();
        for (a, opts) in args {
            let out = Command::new(&bin)
                .args(a)
                .arg("-y")
                .arg(&sys)
                .output()
                .unwrap();
            assert!(out.status.success(), "{bin:?} {a:?} -y {sys:?}");
            assert_eq!(
                lsscsi::render(&t, &r, &opts),
                String::from_utf8_lossy(&out.stdout),
                "{f} {a:?}"
            );
        }
    }
}

fn mp(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/multipath")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn multipath_ll_captures_parse_and_render_back() {
    for f in ["anchor.txt", "alua-two-maps-failed.txt"] {
        let text = mp(f);
        let maps = mpath_ll::parse(&text).unwrap();
        assert_eq!(mpath_ll::render(&maps), text, "{f}");
    }
    let maps = mpath_ll::parse(&mp("alua-two-maps-failed.txt")).unwrap();
    assert_eq!(maps.len(), 2);
    let a = &maps[0];
    assert_eq!(a.name, "mpatha");
    assert_eq!(a.wwid, "3600507680c8080a4c800000000000021");
    assert_eq!(a.features.as_deref(), Some("1 queue_if_no_path"));
    assert_eq!(a.hwhandler.as_deref(), Some("1 alua"));
    assert_eq!(a.groups[0].prio, Some(50));
    assert_eq!(a.groups[0].policy.as_deref(), Some("service-time 0"));
    let failed = a.failed_paths();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (
            failed[0].dev.as_str(),
            failed[0].dm_state.as_deref(),
            failed[0].checker_state.as_deref(),
            failed[0].dev_state.as_deref()
        ),
        ("sde", Some("failed"), Some("faulty"), Some("offline"))
    );
    let b = &maps[1];
    assert_eq!(b.name, b.wwid);
    assert_eq!(
        b.features.as_deref(),
        Some("3 queue_if_no_path queue_mode mq")
    );
    assert_eq!(
        b.groups[0].paths[1].checker_state.as_deref(),
        Some("i/o pending")
    );
}

#[test]
fn multipath_ll_malformed_captures_name_the_line() {
    let e = mpath_ll::parse(&mp("malformed-path.txt")).unwrap_err();
    assert_eq!(e.line, 5, "{e}");
    let e = mpath_ll::parse(&mp("malformed-props.txt")).unwrap_err();
    assert_eq!(e.line, 2, "{e}");
}

#[test]
fn multipath_ll_merges_into_the_sysfs_model() {
    let (mut t, _) = topo("fc");
    let maps = mpath_ll::parse(&mp("alua-two-maps-failed.txt")).unwrap();
    fencekit::topology::scan::merge_multipath(&mut t, maps);
    assert_eq!(t.luns.len(), 2);
    let m = t.luns[0].multipath.as_ref().unwrap();
    assert_eq!(m.groups.len(), 2);
    assert_eq!(m.by_id[0], "dm-name-mpatha");
    assert_eq!(t.luns[1].paths.len(), 2);
}

/// udev's database and the sysfs derivation give the same model: a
/// database holding, for every disk, the links the sysfs scan found or
/// derived changes nothing, and a name only the database has shows up.
#[test]
fn udev_database_and_sysfs_give_the_same_model() {
    use fencekit::topology::udev_db::UdevLinks;
    let mut overridden = 0;
    for name in ["fc", "iscsi", "sas", "virtio"] {
        let (roots, opts) = fixture(name);
        let plain = scan(&roots, &opts).unwrap();
        let mut devlinks: Vec<(String, String)> = Vec::new();
        for l in &plain.luns {
            for p in &l.paths {
                let Some(sd) = &p.sd else { continue };
                let mut v: Vec<String> = p
                    .by_path
                    .iter()
                    .map(|b| format!("/dev/disk/by-path/{b}"))
                    .collect();
                v.extend(p.by_id.iter().map(|b| format!("/dev/disk/by-id/{b}")));
                v.push(format!("/dev/{sd}-alias"));
                devlinks.push((sd.clone(), v.join(" ")));
            }
        }
        assert!(!devlinks.is_empty(), "{name}: no disks");
        let with_db = |db: UdevLinks| {
            let o = ScanOptions {
                udev: Some(db),
                ..opts.clone()
            };
            scan(&roots, &o).unwrap()
        };
        let db = UdevLinks::from_pairs(devlinks.iter().map(|(a, b)| (a.as_str(), b.as_str())));
        assert_eq!(plain, with_db(db), "{name}: udev database and sysfs differ");

        // A disk whose by-id names are its own (not moved to a map).
        let Some(sd) = plain
            .luns
            .iter()
            .flat_map(|l| &l.paths)
            .find(|p| !p.by_id.is_empty())
            .and_then(|p| p.sd.as_ref())
        else {
            continue;
        };
        let with = with_db(UdevLinks::from_pairs([(
            sd.as_str(),
            "/dev/disk/by-id/scsi-from-udev",
        )]));
        let p = with
            .luns
            .iter()
            .flat_map(|l| &l.paths)
            .find(|p| p.sd.as_ref() == Some(sd))
            .unwrap();
        assert_eq!(p.by_id, vec!["scsi-from-udev"], "{name}");
        assert!(
            p.by_path.is_empty(),
            "{name}: udev recorded no by-path link"
        );
        overridden += 1;
    }
    assert!(
        overridden >= 2,
        "only {overridden} fixtures had a disk of its own"
    );
}
