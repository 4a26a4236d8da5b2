//! The text forms of TransportIDs that sg_persist's `--transport-id=`
//! takes: the inline argument and the file (or stdin) form.
#![no_main]

use fencekit::scsi::transport_id::{
    parse_transport_id_args, parse_transport_id_hex_text, transport_id_arg_source, TransportId,
    FIXED_LEN, MAX_TIDS,
};
use libfuzzer_sys::fuzz_target;

fn check(tids: &[TransportId]) {
    for t in tids {
        let _ = t.validate();
        let _ = t.to_string();
        let bytes = t.encode();
        if let TransportId::Raw(raw) = t {
            // Hex bytes are kept as given, padded as sg_persist pads them
            // (to 24 bytes even for an iSCSI header whose additional length
            // says less), so they need not decode as one TransportID.
            assert!(raw.len() >= FIXED_LEN);
            let _ = TransportId::decode(raw);
            continue;
        }
        // A typed TransportID from a parser decodes to itself.
        let (back, used) = TransportId::decode(&bytes).expect("a parsed TransportID decodes");
        assert_eq!(used, bytes.len());
        assert_eq!(&back, t);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = transport_id_arg_source(s);
    if let Ok(tids) = parse_transport_id_args(s) {
        check(&tids);
    }
    if let Ok(tids) = parse_transport_id_hex_text(s) {
        assert!(tids.len() <= MAX_TIDS);
        check(&tids);
    }
});
