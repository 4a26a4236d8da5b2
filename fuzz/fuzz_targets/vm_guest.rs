//! What the guest side and the iSCSI probe read from outside: the host's
//! `vmguest-attach list --json` given to `verify --expect` (copied into
//! the guest, untrusted), and the output of libiscsi's tools.
#![no_main]

use fencekit::vm::guest::expected_from_list;
use fencekit::vm::probe::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = expected_from_list(s, None);
    let _ = expected_from_list(s, Some("a"));
    let mut mid = s.len() / 2;
    while !s.is_char_boundary(mid) {
        mid -= 1;
    }
    let (a, rest) = s.split_at(mid);
    let _ = parse(a, rest, s);
});
