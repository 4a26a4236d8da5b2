//! The text forms of TransportIDs that sg_persist's `--transport-id=`
//! takes: the inline argument and the file (or stdin) form.
#![no_main]

use fencekit::scsi::transport_id::{
    parse_transport_id_args, parse_transport_id_hex_text, transport_id_arg_source, TransportId,
    MAX_TIDS,
};
use libfuzzer_sys::fuzz_target;

fn check(tids: &[TransportId]) {
    for t in tids {
        let _ = t.validate();
        let _ = t.to_string();
        let bytes = t.encode();
        // What a parser produced decodes, and re-encodes the same.
        let (back, used) = TransportId::decode(&bytes).expect("a parsed TransportID decodes");
        assert_eq!(used, bytes.len());
        assert_eq!(back.encode(), bytes);
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
