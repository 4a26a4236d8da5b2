//! Responses captured from the LIO target in the guest test bed (Linux 6.1
//! target_core_mod, fileio backstore, tcm_loop initiators; two nodes
//! registered as 0xa1 and 0xb2, 0xa1 holding a type 5 reservation), decoded
//! by the library. Captured with `sg_raw -r 8192 -o FILE DEV <cdb>` and
//! `od -An -tx1 -v FILE` in `scripts/testbed/run-in-guest --nodes 2`.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fencekit::scsi::capacity::Capacity;
use fencekit::scsi::inquiry::StandardInquiry;
use fencekit::scsi::pr::{Capabilities, FullStatus, Key, PrType, ReadKeys, ReadReservation};
use fencekit::scsi::sense::Sense;
use fencekit::scsi::transport_id::TransportId;
use fencekit::scsi::vpd;

fn bytes(lines: &[&str]) -> Vec<u8> {
    lines
        .iter()
        .flat_map(|l| l.split_whitespace())
        .map(|h| u8::from_str_radix(h, 16).expect("hex"))
        .collect()
}

const INQUIRY: &[&str] = &[
    "00 00 06 02 5b b8 10 02 4c 49 4f 2d 4f 52 47 20",
    "46 49 4c 45 49 4f 20 20 20 20 20 20 20 20 20 20",
    "34 2e 30 20 00 00 00 00 00 00 00 00 00 00 00 00",
    "00 00 00 00 00 00 00 00 00 00 00 a0 0c 60 04 60",
    "04 c0 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
];

const VPD80: &[&str] = &["00 80 00 0b 66 6b 61 61 30 65 35 61 30 30 00"];

const VPD83: &[&str] = &[
    "00 83 00 8a 01 03 00 10 60 01 40 5f aa 0e 5a 00",
    "00 00 00 00 00 00 00 00 02 01 00 1a 4c 49 4f 2d",
    "4f 52 47 20 46 49 4c 45 49 4f 3a 66 6b 61 61 30",
    "65 35 61 30 30 00 61 94 00 04 00 00 00 01 61 95",
    "00 04 00 00 00 00 01 06 00 04 00 00 00 00 63 98",
    "00 20 6e 61 61 2e 35 30 30 31 34 30 35 61 61 30",
    "65 35 61 61 30 30 2c 74 2c 30 78 30 30 30 31 00",
    "00 00 63 a8 00 18 6e 61 61 2e 35 30 30 31 34 30",
    "35 61 61 30 65 35 61 61 30 30 00 00 00 00",
];

const READ_CAPACITY_16: &[&str] = &[
    "00 00 00 00 00 01 ff ff 00 00 02 00 00 00 00 00",
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
];

const READ_KEYS: &[&str] = &[
    "00 00 00 02 00 00 00 10 00 00 00 00 00 00 00 a1",
    "00 00 00 00 00 00 00 b2",
];

const READ_RESERVATION: &[&str] = &[
    "00 00 00 02 00 00 00 10 00 00 00 00 00 00 00 a1",
    "00 00 00 00 00 05 00 00",
];

const REPORT_CAPABILITIES: &[&str] = &["00 08 1d 90 ea 01 00 00"];

const READ_FULL_STATUS: &[&str] = &[
    "00 00 00 02 00 00 00 60 00 00 00 00 00 00 00 a1",
    "00 00 00 00 01 05 00 00 00 00 00 01 00 00 00 18",
    "06 00 00 00 50 01 40 5a a0 e5 ab 00 00 00 00 00",
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 b2",
    "00 00 00 00 00 00 00 00 00 00 00 02 00 00 00 18",
    "06 00 00 00 50 01 40 5a a0 e5 ab 01 00 00 00 00",
    "00 00 00 00 00 00 00 00",
];

const UA_SENSE: &[&str] = &["70 00 06 00 00 00 00 0a 00 00 00 00 2a 05 00 00", "00 00"];

#[test]
fn lio_standard_inquiry() {
    let i = StandardInquiry::decode(&bytes(INQUIRY)).unwrap();
    assert_eq!(
        (
            i.vendor_str().as_str(),
            i.product_str().as_str(),
            i.revision_str().as_str()
        ),
        ("LIO-ORG", "FILEIO", "4.0")
    );
    assert_eq!((i.peripheral_device_type, i.version, i.tpgs), (0, 6, 3));
}

#[test]
fn lio_vpd_pages() {
    assert_eq!(
        vpd::decode_unit_serial(&bytes(VPD80)).unwrap(),
        "fkaa0e5a00"
    );
    let d = vpd::decode_device_identification(&bytes(VPD83)).unwrap();
    assert_eq!(d.len(), 7);
    assert_eq!(vpd::wwid(&d).unwrap(), "36001405faa0e5a000000000000000000");
    assert_eq!(d[1].value_string(), "LIO-ORG FILEIO:fkaa0e5a00");
    assert_eq!(d[2].relative_target_port(), Some(1));
    assert_eq!(d[5].value_string(), "naa.5001405aa0e5aa00,t,0x0001");
    assert_eq!(d[6].value_string(), "naa.5001405aa0e5aa00");
}

#[test]
fn lio_read_capacity_16() {
    let c = Capacity::decode(&bytes(READ_CAPACITY_16)).unwrap();
    assert_eq!((c.block_len, c.bytes()), (512, 64 << 20));
}

#[test]
fn lio_persistent_reserve_in() {
    let k = ReadKeys::decode(&bytes(READ_KEYS)).unwrap();
    assert_eq!(
        (k.generation, k.keys.clone()),
        (2, vec![Key(0xa1), Key(0xb2)])
    );
    let r = ReadReservation::decode(&bytes(READ_RESERVATION))
        .unwrap()
        .reservation
        .unwrap();
    assert_eq!(
        (r.key, r.scope, r.pr_type),
        (Key(0xa1), 0, PrType::WriteExclusiveRegistrantsOnly)
    );
    let c = Capabilities::decode(&bytes(REPORT_CAPABILITIES)).unwrap();
    assert!(c.crh && c.sip_c && c.atp_c && c.ptpl_c && c.tmv && !c.rlr_c);
    assert_eq!(c.allow_commands, 1);
    assert_eq!(c.supported_types().len(), 6);
    let f = FullStatus::decode(&bytes(READ_FULL_STATUS)).unwrap();
    assert_eq!(f.descriptors.len(), 2);
    let (a, b) = (&f.descriptors[0], &f.descriptors[1]);
    assert!(a.r_holder && !b.r_holder);
    assert_eq!(
        (a.key, a.relative_target_port, b.key, b.relative_target_port),
        (Key(0xa1), 1, Key(0xb2), 2)
    );
    assert_eq!(
        a.transport_id().unwrap(),
        TransportId::Sas {
            address: 0x5001405aa0e5ab00
        }
    );
}

#[test]
fn lio_unit_attention_after_preempt() {
    let s = Sense::decode(&bytes(UA_SENSE)).unwrap();
    assert_eq!((s.key, s.asc, s.ascq), (6, 0x2a, 0x05));
    assert_eq!(s.asc_text(), "Registrations preempted");
}
