//! TransportIDs as a device returns them (READ FULL STATUS) or a target
//! receives them (SPEC_I_PT lists): decoding, the canonical re-encoding
//! and the sg_persist text form of each.
#![no_main]

use fencekit::scsi::transport_id::TransportId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((tid, used)) = TransportId::decode(data) {
        assert!(used <= data.len());
        // What decodes re-encodes to the bytes it came from.
        assert_eq!(tid.encode(), &data[..used]);
        let _ = tid.protocol();
        let _ = tid.validate();
        let _ = tid.to_string();
    }
    if let Ok(list) = TransportId::decode_list(data) {
        // A list that decodes fills the buffer exactly, so it re-encodes
        // to it.
        assert_eq!(TransportId::encode_list(&list), data);
    }
});
