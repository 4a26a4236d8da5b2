//! Domain XML fixtures (`fixtures/vm/`): the cluster guides' own disk
//! elements and a libvirt `dumpxml` of a cluster node read into the model,
//! and every disk written back reads as the same disk.

// Tests: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use fencekit::vm::metadata::{Mode, Record};
use fencekit::vm::xml::{Disk, Domain, DriveAddress};

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vm")
        .join(name);
    std::fs::read_to_string(p).unwrap()
}

const ALL: [&str; 4] = [
    "guide-reservations.xml",
    "guide-iscsi.xml",
    "cluster-node.xml",
    "wrong-ways.xml",
];

#[test]
fn every_disk_of_every_fixture_round_trips() {
    for f in ALL {
        let d = Domain::parse(&fixture(f)).unwrap();
        assert!(!d.devices.disks.is_empty(), "{f}");
        for disk in &d.devices.disks {
            let x = disk.to_xml().unwrap();
            assert_eq!(&Disk::parse(&x).unwrap(), disk, "{f}: {x}");
        }
    }
}

#[test]
fn libvirts_reservations_example_reads() {
    let d = Domain::parse(&fixture("guide-reservations.xml")).unwrap();
    assert_eq!(d.name, "QEMUGuest1");
    assert_eq!(d.virtio_scsi_controllers(), [0]);
    let disk = &d.devices.disks[0];
    assert!(disk.is_lun() && disk.unfiltered() && disk.is_shareable());
    assert!(disk.managed_reservations());
    assert_eq!(disk.rawio.as_deref(), Some("yes"));
}

#[test]
fn the_guides_iscsi_lun_reads() {
    let d = Domain::parse(&fixture("guide-iscsi.xml")).unwrap();
    let disk = &d.devices.disks[0];
    let s = disk.iscsi().unwrap();
    assert_eq!(
        s.name.as_deref(),
        Some("iqn.2026-01.invalid.fencekit:lun/1")
    );
    assert_eq!(s.hosts[0].name.as_deref(), Some("127.0.0.1"));
    assert_eq!(s.hosts[0].port.as_deref(), Some("3260"));
    assert_eq!(
        s.initiator.as_ref().unwrap().iqn.name,
        "iqn.2026-01.invalid.fencekit:guest-a"
    );
}

#[test]
fn a_dumpxml_with_every_kind_of_device_reads() {
    let xml = fixture("cluster-node.xml");
    let d = Domain::parse(&xml).unwrap();
    assert_eq!(d.name, "node1");
    // Disks and controllers interleaved with other devices are all found.
    let targets: Vec<_> = d.devices.disks.iter().map(|x| x.target_dev()).collect();
    assert_eq!(
        targets,
        [Some("vda"), Some("sda"), Some("sdb"), Some("sdc")]
    );
    assert_eq!(d.devices.controllers.len(), 3);
    assert_eq!(d.virtio_scsi_controllers(), [0]);
    let sdc = d.disk_by_target("sdc").unwrap();
    assert_eq!(
        sdc.drive_address(),
        Some(DriveAddress {
            controller: 0,
            bus: 0,
            target: 1,
            unit: 0
        })
    );
    assert_eq!(sdc.driver.as_ref().unwrap().io.as_deref(), Some("native"));
    let r = Record::from_domain_xml(&xml).unwrap();
    assert_eq!(r.luns.len(), 1);
    let l = &r.luns[0];
    assert_eq!(l.mode, Some(Mode::Paths));
    assert_eq!(l.size_bytes, Some(1 << 30));
    assert_eq!(l.disks.len(), 2);
    assert_eq!(
        r.lun_of_target("sdc").unwrap().host.as_deref(),
        Some("kvm1")
    );
}

#[test]
fn the_wrong_ways_fixture_is_refused_for_each_reason() {
    use fencekit::topology::Topology;
    use fencekit::vm::rules::{check_domain, Rule};
    let d = Domain::parse(&fixture("wrong-ways.xml")).unwrap();
    let rules: Vec<Rule> = check_domain(&d, &Topology::default())
        .iter()
        .map(|f| f.rule)
        .collect();
    assert_eq!(
        rules,
        [
            Rule::VirtioBlk,
            Rule::NotPersistent,
            Rule::HostCache,
            Rule::PartitionSource,
            Rule::LvSource,
            Rule::NotShareable,
        ]
    );
    // The guides' own elements pass every rule but one: libvirt now
    // refuses their sgio='unfiltered' (a warning).
    for f in [
        "guide-reservations.xml",
        "guide-iscsi.xml",
        "cluster-node.xml",
    ] {
        let d = Domain::parse(&fixture(f)).unwrap();
        let found = check_domain(&d, &Topology::default());
        assert!(
            found
                .iter()
                .all(|x| x.rule == Rule::UnfilteredSgio && !x.blocks(false)),
            "{f}: {found:?}"
        );
    }
}
