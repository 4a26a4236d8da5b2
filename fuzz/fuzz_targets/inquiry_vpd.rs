//! Standard INQUIRY data and the VPD pages 0x00 (supported pages), 0x80
//! (unit serial number) and 0x83 (device identification), with what is
//! derived from them: the WWID and the /dev/disk/by-id names.
#![no_main]

use fencekit::compat::sg_persist::inquiry_header_from_response;
use fencekit::scsi::inquiry::{ascii_trim, StandardInquiry};
use fencekit::scsi::vpd;
use fencekit::topology::by_id;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(inq) = StandardInquiry::decode(data) {
        let _ = inq.vendor_str();
        let _ = inq.product_str();
        let _ = inq.revision_str();
    }
    let _ = inquiry_header_from_response(data);
    let _ = ascii_trim(data);

    let needed = vpd::page_needed_len(data);
    if let Ok(pages) = vpd::decode_supported_pages(data) {
        // A page that decodes arrived whole: header and body.
        assert!(needed.is_some_and(|n| n <= data.len()));
        assert!(pages.len() + 4 <= data.len());
    }
    if let Ok(serial) = vpd::decode_unit_serial(data) {
        // One character per byte at most ('?' for what is not printable).
        assert!(serial.chars().count() <= data.len());
    }
    if let Ok(ds) = vpd::decode_device_identification(data) {
        let mut total = 0;
        for d in &ds {
            total += 4 + d.designator.len();
            let _ = d.value_string();
            let _ = d.naa_type();
            let _ = d.relative_target_port();
        }
        // Each designator is a 4-byte header and its value, inside the body.
        assert!(total + 4 <= data.len());
        let wwid = vpd::wwid(&ds);
        let _ = by_id::wwn(&ds);
        let _ = by_id::derive_disk(wwid.as_deref(), &ds);
        if let Some(w) = &wwid {
            let _ = by_id::derive_map("mpatha", w);
        }
    }
    let _ = vpd::hex(data);
});
