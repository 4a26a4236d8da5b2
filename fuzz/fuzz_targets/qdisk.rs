//! Quorum-disk blocks (shared header + quorum header or status block), as
//! read from a shared disk any node may have written, and the signature
//! detection run on a device before it is labelled.
#![no_main]

use fencekit::qdisk::format::{decode_block, encode_block_vec, QuorumHeader, StatusBlock};
use fencekit::qdisk::signature::detect;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((meta, h)) = decode_block::<QuorumHeader>(data) {
        let _ = h.label();
        let _ = h.host();
        let _ = h.is_v2();
        // What decodes encodes again, and decodes to the same.
        if let Ok(b) = encode_block_vec(meta, &h, data.len()) {
            assert_eq!(decode_block::<QuorumHeader>(&b).ok(), Some((meta, h)));
        }
    }
    if let Ok((meta, s)) = decode_block::<StatusBlock>(data) {
        let _ = s.online_mask.nodes();
        let _ = s.master_mask.nodes();
        if let Ok(b) = encode_block_vec(meta, &s, data.len()) {
            assert_eq!(decode_block::<StatusBlock>(&b).ok(), Some((meta, s)));
        }
    }
    for sig in detect(data) {
        let _ = sig.describe();
    }
});
