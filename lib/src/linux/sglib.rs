//! Safe wrappers over libsgutils2's text tables (`sg_lib.h`).
//!
//! fencekit's messages use sg3_utils' own words for sense keys, ASC/ASCQ
//! codes, peripheral device types and TransportIDs, so that what an
//! administrator reads matches `sg_persist` and `sg_inq` exactly. Every
//! function here writes into a buffer that this module owns and copies the
//! NUL-terminated result out; none keeps a pointer.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, CStr};

use fencekit_sys as sys;

/// Size of the buffers handed to sg_lib; its longest strings (a decoded
/// TransportID with a long iSCSI name) fit easily.
const BUF: usize = 1024;

/// Zero bytes after the TransportIDs handed to sg_lib: the farthest any of
/// its decoders reads past the start of a TransportID (an iSCSI one's
/// 4-byte header plus its 16-bit ADDITIONAL LENGTH).
const TID_PAD: usize = 4 + 0xffff;

/// `buf`'s length as sg_lib's `int` length argument. Saturates: a length
/// shorter than the buffer is always safe to pass.
fn c_len(buf: &[u8]) -> c_int {
    c_int::try_from(buf.len()).unwrap_or(c_int::MAX)
}

/// Converts the NUL-terminated contents of `buf` to a `String`.
fn from_buf(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Converts a static string returned by sg_lib (or NULL) to a `String`.
fn from_static(p: *const c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: sg_lib returns pointers into its own static, NUL-terminated
    // string tables; they live for the whole program and are never written.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// sg3_utils' name of a sense key ("Unit Attention", "Illegal Request", ...).
pub fn sense_key_str(key: u8) -> String {
    let mut buf = [0u8; BUF];
    // SAFETY: `buf` is writable for BUF bytes and the length passed is at
    // most that (`c_len`); sg_lib writes at most that many bytes, NUL
    // included.
    unsafe { sys::sg_get_sense_key_str(c_int::from(key), c_len(&buf), buf.as_mut_ptr().cast()) };
    from_buf(&buf)
}

/// sg3_utils' text of an additional sense code and qualifier, as sg_lib
/// prints it ("Additional sense: Registrations preempted").
pub fn asc_ascq_str(asc: u8, ascq: u8) -> String {
    let mut buf = [0u8; BUF];
    // SAFETY: as in `sense_key_str`: the buffer and its length match.
    unsafe {
        sys::sg_get_asc_ascq_str(
            c_int::from(asc),
            c_int::from(ascq),
            c_len(&buf),
            buf.as_mut_ptr().cast(),
        )
    };
    from_buf(&buf)
}

/// sg3_utils' name of a peripheral device type ("disk", "tape", ...).
pub fn pdt_str(pdt: u8) -> String {
    let mut buf = [0u8; BUF];
    // SAFETY: as in `sense_key_str`: the buffer and its length match.
    unsafe { sys::sg_get_pdt_str(c_int::from(pdt), c_len(&buf), buf.as_mut_ptr().cast()) };
    from_buf(&buf)
}

/// sg3_utils' name of a transport protocol identifier.
pub fn trans_proto_str(proto: u8) -> String {
    let mut buf = [0u8; BUF];
    // SAFETY: as in `sense_key_str`: the buffer and its length match.
    unsafe {
        sys::sg_get_trans_proto_str(c_int::from(proto), c_len(&buf), buf.as_mut_ptr().cast())
    };
    from_buf(&buf)
}

/// sg3_utils' text for an exit status / result category
/// (`sg_get_category_sense_str`), e.g. "Reservation conflict" for 24.
pub fn category_str(category: u8, verbose: bool) -> String {
    let mut buf = [0u8; BUF];
    // SAFETY: as in `sense_key_str`: the buffer and its length match. The
    // returned pointer is `buf` itself (or a static string), and is not kept.
    unsafe {
        sys::sg_get_category_sense_str(
            c_int::from(category),
            c_len(&buf),
            buf.as_mut_ptr().cast(),
            c_int::from(verbose),
        )
    };
    from_buf(&buf)
}

/// sg3_utils' short text for an exit status (`sg_exit2str`), e.g.
/// "Reservation conflict" for 24, or the OS error text for 51..96. None for
/// 0 and for statuses sg_lib has no text for.
pub fn exit_str(status: u8, longer: bool) -> Option<String> {
    if status == 0 {
        return None;
    }
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is writable for its full length, and the length passed
    // is at most that (`c_len`).
    let ok = unsafe {
        sys::sg_exit2str(
            c_int::from(status),
            longer,
            c_len(&buf),
            buf.as_mut_ptr().cast(),
        )
    };
    ok.then(|| from_buf(&buf))
}

/// Decodes one or more TransportIDs the way sg3_utils prints them, each line
/// prefixed with `leadin` (`sg_decode_transportid_str`).
pub fn decode_transport_ids(leadin: &str, tids: &[u8], only_one: bool) -> String {
    let mut lead = leadin.as_bytes().to_vec();
    lead.retain(|&b| b != 0);
    lead.push(0);
    // sg_lib's prototype takes a mutable pointer but only reads: decode a
    // private copy so the caller's bytes are never at risk.
    let Ok(len) = c_int::try_from(tids.len()) else {
        return String::new();
    };
    let mut copy = tids.to_vec();
    copy.resize(tids.len() + TID_PAD, 0);
    let mut buf = vec![0u8; 8 * BUF];
    let blen = c_int::try_from(buf.len()).unwrap_or(c_int::MAX);
    // SAFETY: `lead` is NUL-terminated and lives across the call; `buf` is
    // writable for `blen` bytes and sg_lib bounds every write by `blen`.
    // The reads are what needs care: sg_lib uses `len` only to decide
    // where each TransportID starts (while fewer than `len` bytes have been
    // stepped over), not how far a decoder reads from there. A fixed-size
    // decoder reads up to 24 bytes from the start of each TransportID; the
    // iSCSI decoder reads ADDITIONAL LENGTH (bytes 2-3, up to 0xffff) + 4
    // bytes, `%.*s` for format 0 and 1 (stopping at a NUL) and a hex dump
    // with no NUL stop for any other format code. A TransportID starts
    // before `len`, so no read goes past `len + 4 + 0xffff`: `copy` holds
    // `len` bytes of input followed by `TID_PAD` = 4 + 0xffff zero bytes,
    // which is what makes every read stay inside it. (An earlier 256-byte
    // pad covered the fixed-size decoders but not the iSCSI hex dump.)
    unsafe {
        sys::sg_decode_transportid_str(
            lead.as_ptr().cast(),
            copy.as_mut_ptr(),
            len,
            only_one,
            blen,
            buf.as_mut_ptr().cast(),
        )
    };
    from_buf(&buf)
}

/// sg3_utils' name of a designator type (VPD page 0x83), if defined.
pub fn desig_type_str(t: u8) -> Option<String> {
    // SAFETY: a table lookup that takes any int and returns a static string
    // or NULL.
    from_static(unsafe { sys::sg_get_desig_type_str(c_int::from(t)) })
}

/// sg3_utils' name of a designator code set, if defined.
pub fn desig_code_set_str(c: u8) -> Option<String> {
    // SAFETY: a table lookup that returns a static string or NULL.
    from_static(unsafe { sys::sg_get_desig_code_set_str(c_int::from(c)) })
}

/// sg3_utils' name of a designator association, if defined.
pub fn desig_assoc_str(a: u8) -> Option<String> {
    // SAFETY: a table lookup that returns a static string or NULL.
    from_static(unsafe { sys::sg_get_desig_assoc_str(c_int::from(a)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sense_texts_are_sg3_utils_words() {
        assert_eq!(sense_key_str(6), "Unit Attention");
        assert_eq!(sense_key_str(5), "Illegal Request");
        assert_eq!(
            asc_ascq_str(0x2a, 0x05),
            "Additional sense: Registrations preempted"
        );
        assert_eq!(
            asc_ascq_str(0x24, 0x00),
            "Additional sense: Invalid field in cdb"
        );
        assert_eq!(pdt_str(0), "disk");
        assert_eq!(category_str(24, false), "Reservation conflict");
        assert_eq!(exit_str(24, false).as_deref(), Some("Reservation conflict"));
        assert_eq!(
            exit_str(52, false).as_deref(),
            Some("No such file or directory")
        );
        assert_eq!(exit_str(0, false), None);
    }

    #[test]
    fn transport_id_decoding_handles_iscsi_and_garbage() {
        // iSCSI TransportID, format 0: protocol 5, length 0x0c, name.
        let mut tid = vec![0x05, 0x00, 0x00, 0x0c];
        tid.extend_from_slice(b"iqn.2024-01\0");
        let s = decode_transport_ids("      ", &tid, true);
        assert!(s.contains("iqn.2024-01"), "{s}");
        // Short and odd inputs must not crash sg_lib.
        let _ = decode_transport_ids("", &[], true);
        let _ = decode_transport_ids("", &[0xff; 3], false);
        assert_eq!(desig_type_str(3).as_deref(), Some("NAA"));
    }

    #[test]
    fn iscsi_transport_id_with_an_unexpected_format_is_dumped_from_the_padded_copy() {
        // Byte 0 = 0x85: iSCSI with format code 2, which sg_lib hex-dumps
        // for ADDITIONAL LENGTH + 4 bytes (here 0xffff + 4) from a 24-byte
        // input. The dump must come from the zero padding: under valgrind
        // a pad shorter than TID_PAD shows as an invalid read.
        let mut tid = vec![0x85, 0x00, 0xff, 0xff];
        tid.resize(24, 0x41);
        let s = decode_transport_ids("", &tid, true);
        assert!(s.contains("Unexpected TPID format: 2"), "{s}");
        assert!(s.contains("41 41"), "{s}");
    }
}
