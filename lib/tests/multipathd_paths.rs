//! `multipathd show paths` outputs (captured in the test bed, and
//! reconstructed by libmultipath/print.c's rules) parsed into rows, malformed ones refused with the line named, and
//! the rows' path states merged into the model of the `fc` sysfs fixture.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use fencekit::topology::mpathd::{self, PathRow};
use fencekit::topology::{scan, Hctl, Roots, ScanOptions, Topology};

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/multipathd")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn fc_topology() -> Topology {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sysfs/fc");
    let mountinfo = base.join("proc/mountinfo");
    let roots = Roots {
        sys: base.join("sys"),
        dev: base.join("dev"),
    };
    let opts = ScanOptions {
        mountinfo: mountinfo.exists().then_some(mountinfo),
        ..ScanOptions::default()
    };
    scan(&roots, &opts).unwrap()
}

fn hctl(s: &str) -> Option<Hctl> {
    Some(s.parse().unwrap())
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// A map path's device, dm state, checker state and device state.
type MapPathState<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);

/// The fields `show paths` and the raw capture below have in common.
fn states(r: &PathRow) -> (Option<&str>, Option<&str>, Option<&str>, Option<&str>) {
    (
        r.dev.as_deref(),
        r.dm_state.as_deref(),
        r.checker_state.as_deref(),
        r.dev_state.as_deref(),
    )
}

#[test]
fn default_show_paths_on_the_fc_host() {
    let rows = mpathd::parse(&fixture("show-paths.txt")).unwrap();
    assert_eq!(rows.len(), 4);
    let devs: Vec<&str> = rows.iter().filter_map(|r| r.dev.as_deref()).collect();
    assert_eq!(devs, ["sdb", "sdc", "sdd", "sde"]);
    assert_eq!(
        rows[0],
        PathRow {
            line: 2,
            hctl: hctl("1:0:0:1"),
            dev: s("sdb"),
            devt: s("8:16"),
            prio: Some(50),
            dm_state: s("active"),
            checker_state: s("ready"),
            dev_state: s("running"),
            next_check: s("XXXXXXX... 14/20"),
            ..PathRow::default()
        }
    );
    assert_eq!(rows[1].prio, Some(10));
    assert_eq!(rows[1].next_check.as_deref(), Some("X......... 3/20"));
    let sde = &rows[3];
    assert_eq!(sde.hctl, hctl("2:0:1:1"));
    assert_eq!(sde.devt.as_deref(), Some("8:64"));
    assert_eq!(
        states(sde),
        (Some("sde"), Some("failed"), Some("faulty"), Some("offline"))
    );
    assert_eq!(sde.next_check.as_deref(), Some("XXXX...... 2/5"));
    // Columns this format does not print stay unknown.
    assert!(rows
        .iter()
        .all(|r| r.wwid.is_none() && r.multipath.is_none() && r.other.is_empty()));
}

#[test]
fn custom_format_with_uuid_and_map() {
    // multipathd show paths format "%w %i %d %D %t %T %o %m"
    let rows = mpathd::parse(&fixture("show-paths-format-custom.txt")).unwrap();
    assert_eq!(rows.len(), 4);
    for r in &rows {
        assert_eq!(r.wwid.as_deref(), Some("3600507680c8080a4c800000000000021"));
        assert_eq!(r.multipath.as_deref(), Some("mpatha"));
        assert_eq!((r.prio, r.next_check.as_deref()), (None, None));
    }
    assert_eq!(rows[2].hctl, hctl("2:0:0:1"));
    assert_eq!(
        states(&rows[2]),
        (Some("sdd"), Some("active"), Some("ready"), Some("running"))
    );
    assert_eq!(
        states(&rows[3]),
        (Some("sde"), Some("failed"), Some("faulty"), Some("offline"))
    );
}

#[test]
fn orphan_pending_and_failed_paths() {
    let rows = mpathd::parse(&fixture("show-paths-pending.txt")).unwrap();
    assert_eq!(rows.len(), 4);
    // A path in no map: undef, undef, unknown, orphan.
    let sda = &rows[0];
    assert_eq!(sda.hctl, hctl("0:0:0:0"));
    assert_eq!(states(sda), (Some("sda"), None, None, None));
    assert_eq!((sda.prio, sda.next_check.as_deref()), (Some(1), None));
    let sdg = &rows[2];
    assert_eq!(
        states(sdg),
        (
            Some("sdg"),
            Some("active"),
            Some("i/o pending"),
            Some("running")
        )
    );
    assert_eq!(sdg.next_check.as_deref(), Some(".......... 0/5"));
    let sdh = &rows[3];
    assert_eq!(sdh.devt.as_deref(), Some("8:112"));
    assert_eq!(
        states(sdh),
        (Some("sdh"), Some("failed"), Some("faulty"), Some("offline"))
    );
}

#[test]
fn raw_format_reads_like_the_padded_one() {
    let fmt = "%d %i %t %T %o %C %m %s";
    let rows = mpathd::parse_raw(fmt, &fixture("show-paths-raw.txt")).unwrap();
    let padded = mpathd::parse(&fixture("show-paths-pending.txt")).unwrap();
    assert_eq!(rows.len(), padded.len());
    for (r, p) in rows.iter().zip(&padded) {
        assert_eq!(states(r), states(p));
        assert_eq!((r.hctl, &r.next_check), (p.hctl, &p.next_check));
    }
    let sda = &rows[0];
    assert_eq!(sda.multipath, None);
    assert_eq!(
        (
            sda.vendor.as_deref(),
            sda.product.as_deref(),
            sda.rev.as_deref()
        ),
        (Some("ATA"), Some("Samsung SSD 870"), Some("1B6Q"))
    );
    let sdg = &rows[2];
    assert_eq!(sdg.checker_state.as_deref(), Some("i/o pending"));
    assert_eq!(
        sdg.multipath.as_deref(),
        Some("36001405e6a3b4c5d6e7f8091a2b3c4d5")
    );
    assert_eq!(
        (
            sdg.vendor.as_deref(),
            sdg.product.as_deref(),
            sdg.rev.as_deref()
        ),
        (Some("LIO-ORG"), Some("disk0"), Some("4.0"))
    );
}

#[test]
fn malformed_captures_name_the_line() {
    let cases = [
        (
            "malformed-header.txt",
            1,
            "timeout receiving packet",
            "header",
        ),
        ("malformed-hcil.txt", 3, "1:0:x:1 sdc", "hcil"),
        (
            "malformed-misaligned.txt",
            4,
            "2:0:0:1 sdd 8:48 50",
            "line up",
        ),
    ];
    for (name, line, text, reason) in cases {
        let e = mpathd::parse(&fixture(name)).unwrap_err();
        assert_eq!(e.line, line, "{name}: {e}");
        assert!(e.text.contains(text), "{name}: {e}");
        assert!(e.reason.contains(reason), "{name}: {e}");
        assert!(e.to_string().starts_with(&format!("line {line}: ")), "{e}");
    }
    let e =
        mpathd::parse_raw("%d %i %t %T %o %C %m %s", &fixture("malformed-raw.txt")).unwrap_err();
    assert_eq!(e.line, 3);
    assert_eq!(e.text, "sdz 9:0:0:0 active ready");
}

#[test]
fn merge_fills_path_states_into_the_fc_model() {
    let mut topo = fc_topology();
    let before = topo.luns[0].multipath.clone().unwrap();
    assert!(before
        .paths()
        .all(|p| p.dm_state.is_none() && p.checker_state.is_none()));

    let rows = mpathd::parse(&fixture("show-paths.txt")).unwrap();
    let warnings = mpathd::merge_into(&mut topo, &rows);
    assert!(warnings.is_empty(), "{warnings:?}");
    let m = topo.luns[0].multipath.as_ref().unwrap();
    let mut got: Vec<MapPathState<'_>> = m
        .paths()
        .map(|p| {
            (
                p.dev.as_str(),
                p.dm_state.as_deref(),
                p.checker_state.as_deref(),
                p.dev_state.as_deref(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("sdb", Some("active"), Some("ready"), Some("running")),
            ("sdc", Some("active"), Some("ready"), Some("running")),
            ("sdd", Some("active"), Some("ready"), Some("running")),
            ("sde", Some("failed"), Some("faulty"), Some("offline")),
        ]
    );
    assert_eq!(m.failed_paths().len(), 1);
    assert_eq!(m.failed_paths()[0].dev, "sde");

    // The custom capture agrees on the map and the WWID: no warnings.
    let rows = mpathd::parse(&fixture("show-paths-format-custom.txt")).unwrap();
    assert_eq!(mpathd::merge_into(&mut topo, &rows), Vec::<String>::new());

    // Rows of another host match nothing; each one is reported.
    let rows = mpathd::parse(&fixture("show-paths-pending.txt")).unwrap();
    let warnings = mpathd::merge_into(&mut topo, &rows);
    assert_eq!(warnings.len(), 4, "{warnings:?}");
    assert_eq!(
        warnings[0],
        "line 2: path sda (8:0): matches no path of the topology"
    );
    assert!(warnings[3].starts_with("line 5: path sdh (8:112)"));

    // A row that puts a path in another map, or gives another WWID.
    let mut odd = mpathd::parse(&fixture("show-paths-format-custom.txt")).unwrap();
    odd.truncate(1);
    odd[0].multipath = s("mpathz");
    odd[0].wwid = Some("36001405000000000000000000000000".into());
    odd[0].checker_state = s("ghost");
    let warnings = mpathd::merge_into(&mut topo, &odd);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("map mpathz, the topology in map mpatha"));
    assert!(warnings[1].contains("WWID 36001405000000000000000000000000"));
    let m = topo.luns[0].multipath.as_ref().unwrap();
    let sdb = m.paths().find(|p| p.dev == "sdb").unwrap();
    assert_eq!(sdb.checker_state.as_deref(), Some("ghost"));
}

/// (dev, dm state, checker state, device state, prio) of every row.
fn row_states(rows: &[PathRow]) -> Vec<(String, String, String, String, Option<i32>)> {
    rows.iter()
        .map(|r| {
            let o = |v: &Option<String>| v.clone().unwrap_or_default();
            (
                o(&r.dev),
                o(&r.dm_state),
                o(&r.checker_state),
                o(&r.dev_state),
                r.prio,
            )
        })
        .collect()
}

/// The three forms multipathd printed in the test bed with one path
/// offline give the same states.
#[test]
fn captured_lio_outputs_with_an_offline_path() {
    let want: Vec<(String, String, String, String, Option<i32>)> = [
        ("sda", "active", "ready", "running"),
        ("sdb", "failed", "faulty", "offline"),
        ("sdc", "active", "ready", "running"),
        ("sdd", "active", "ready", "running"),
    ]
    .iter()
    .map(|(a, b, c, d)| {
        (
            a.to_string(),
            b.to_string(),
            c.to_string(),
            d.to_string(),
            Some(50),
        )
    })
    .collect();
    let plain = mpathd::parse(&fixture("lio-offline-show-paths.txt")).unwrap();
    assert_eq!(row_states(&plain), want);
    assert_eq!(plain[1].hctl, hctl("0:0:1:1"));
    assert_eq!(plain[1].next_check.as_deref(), Some("XXXXXXXXXX 2/2"));
    let fmt = mpathd::parse(&fixture("lio-offline-show-paths-format.txt")).unwrap();
    assert_eq!(row_states(&fmt), want);
    assert_eq!(fmt[1].multipath.as_deref(), Some("mpathb"));
    assert_eq!(
        fmt[1].wwid.as_deref(),
        Some("36001405f7ebd5d010000000000000000")
    );
    let raw = mpathd::parse_raw(
        "%d %D %t %T %o %p",
        &fixture("lio-offline-show-paths-raw.txt"),
    )
    .unwrap();
    assert_eq!(row_states(&raw), want);
    assert_eq!(raw[3].devt.as_deref(), Some("8:48"));
}
