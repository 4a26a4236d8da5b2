//! Every XML element fencekit writes for a domain is valid for libvirt:
//! the disks of each mode, a new controller and the metadata record, put in
//! a minimal domain and checked with `virt-xml-validate FILE domain`
//! (libvirt's RelaxNG schema). Skipped, with a note, where libvirt's
//! client tools are not installed (scripts/setup-deps.sh installs them).

// Tests: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use fencekit::vm::metadata::{LunRecord, Mode, Record, NAMESPACE, PREFIX};
use fencekit::vm::plan::{block_disk, iscsi_disk, IscsiUrl};
use fencekit::vm::xml::{Controller, Disk, DriveAddress};

fn have_validator() -> bool {
    Command::new("virt-xml-validate")
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A minimal domain around `devices` and `metadata`; `virt-xml-validate`'s
/// verdict and its output.
fn validate(metadata: &str, devices: &str) -> (bool, String) {
    let doc = format!(
        "<domain type='qemu'>\n  <name>fk-validate</name>\n  <metadata>\n{metadata}  </metadata>\n  \
         <memory unit='KiB'>131072</memory>\n  <os>\n    <type arch='x86_64'>hvm</type>\n  </os>\n  \
         <devices>\n{devices}  </devices>\n</domain>\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("domain.xml");
    std::fs::write(&f, &doc).unwrap();
    let o = Command::new("virt-xml-validate")
        .arg(&f)
        .arg("domain")
        .output()
        .unwrap();
    let text = format!(
        "{doc}\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

fn at(target: u32) -> DriveAddress {
    DriveAddress {
        controller: 0,
        bus: 0,
        target,
        unit: 0,
    }
}

fn written() -> (String, String) {
    let disks: Vec<Disk> = vec![
        block_disk(
            "/dev/disk/by-id/dm-uuid-mpath-36001405aaaa",
            "sda",
            at(0),
            true,
        ),
        block_disk(
            "/dev/disk/by-path/ip-10.0.0.1:3260-iscsi-iqn.2003-01.org.x:t-lun-0",
            "sdb",
            at(1),
            false,
        ),
        iscsi_disk(
            &IscsiUrl::parse("iscsi://127.0.0.1:3260/iqn.2026-01.invalid.fencekit:lun/1").unwrap(),
            "iqn.2026-01.invalid.fencekit:guest-a",
            "sdc",
            at(2),
        ),
    ];
    let mut devices = Controller::virtio_scsi(0).to_xml().unwrap();
    for d in &disks {
        devices.push_str(&d.to_xml().unwrap());
    }
    let record = Record {
        luns: vec![LunRecord {
            wwid: Some("36001405aaaa".into()),
            serial: Some("aaaa".into()),
            vendor: Some("LIO-ORG".into()),
            product: Some("disk0".into()),
            size_bytes: Some(1 << 30),
            host: Some("kvm1".into()),
            mode: Some(Mode::Map),
            disks: vec![],
        }],
    };
    // libvirt adds the namespace to the element it is given; a definition
    // file carries it on the element.
    let meta = record
        .to_xml()
        .unwrap()
        .replacen(
            "<luns>",
            &format!("<{PREFIX}:luns xmlns:{PREFIX}=\"{NAMESPACE}\">"),
            1,
        )
        .replace("</luns>", &format!("</{PREFIX}:luns>"));
    (meta, devices)
}

#[test]
fn written_disks_controllers_and_metadata_validate() {
    if !have_validator() {
        eprintln!("skipped: virt-xml-validate is not installed (scripts/setup-deps.sh)");
        return;
    }
    let (meta, devices) = written();
    let (ok, text) = validate(&meta, &devices);
    assert!(ok, "{text}");
}

#[test]
fn the_validator_refuses_what_libvirt_refuses() {
    if !have_validator() {
        eprintln!("skipped: virt-xml-validate is not installed (scripts/setup-deps.sh)");
        return;
    }
    // rawio on a disk with a bad value: the check is a real one.
    let (_, devices) = written();
    let bad = devices.replacen("rawio=\"yes\"", "rawio=\"sometimes\"", 1);
    let (ok, text) = validate("", &bad);
    assert!(!ok, "{text}");
}
