//! libvirt domain XML (untrusted: any domain on the host): the domain
//! model, fencekit's metadata record, and the rules and inventory over an
//! (empty) topology, a disk element and its written form.
#![no_main]

use fencekit::topology::Topology;
use fencekit::vm::inventory::shared_disks;
use fencekit::vm::metadata::Record;
use fencekit::vm::plan::{free_addresses, free_targets};
use fencekit::vm::rules::check_domain;
use fencekit::vm::xml::{Disk, Domain};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let record = Record::from_domain_xml(s).unwrap_or_default();
    if let Ok(d) = Domain::parse(s) {
        let t = Topology::default();
        let _ = check_domain(&d, &t);
        let _ = shared_disks(&d, &record, &t);
        let _ = free_targets(&d, 2);
        let _ = free_addresses(&d, 2);
        for disk in &d.devices.disks {
            let _ = disk.to_xml();
        }
    }
    if let Ok(disk) = Disk::parse(s) {
        let _ = disk.to_xml();
    }
});
