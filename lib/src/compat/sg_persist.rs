//! sg_persist's text output, byte for byte, from decoded PR IN responses
//! (SPC-4 §6.15) and PR OUT outcomes.
//!
//! The reference is sg_persist 0.67 (20190913) from sg3_utils 1.46
//! (`src/sg_persist.c`: `prin_work`, `prout_work`, `prout_reg_move_work`,
//! `main`; `lib/sg_lib.c`: `dStrHexFp`, `sg_if_can2fp`). Every function
//! returns the exact text, trailing newline included; which stream it goes
//! to (stdout or stderr) is said on each. The expected outputs in the tests
//! were captured from the real `/usr/bin/sg_persist` 1.46 (see
//! `lib/tests/data/sg_persist/capture.sh`).
//!
//! Not reproduced: the lines sg_lib itself writes to stderr before an
//! error line for some sense categories (`"Persistent reservation in:"`
//! and the decoded sense; see [`sg_lib_prints_sense`]), the `-v` CDB
//! lines, and sg_persist's behaviour on responses that overrun its buffer
//! (it reads past the data; these functions print what was decoded).

use std::fmt::Write as _;

use crate::linux::sglib;
use crate::scsi::error::Category;
use crate::scsi::pr::{
    Capabilities, FullStatus, InServiceAction, OutServiceAction, PrType, ReadKeys, ReadReservation,
};

/// The INQUIRY header sg_persist prints on stdout unless `-n`:
/// `"  %.8s  %.16s  %.4s\n"` then `"  Peripheral device type: %s\n"`.
/// Like `%.Ns` on sg_lib's NUL-terminated copies, each field stops at its
/// first NUL; bytes are not sanitized (invalid UTF-8 becomes U+FFFD here,
/// the one place this can differ from sg_persist's raw bytes).
pub fn inquiry_header(vendor: &[u8; 8], product: &[u8; 16], revision: &[u8; 4], pdt: u8) -> String {
    fn field(b: &[u8]) -> String {
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        String::from_utf8_lossy(&b[..end]).into_owned()
    }
    let name = sglib::pdt_str(pdt);
    let pdt_text = if name.is_empty() {
        format!("0x{pdt:x}")
    } else {
        name
    };
    format!(
        "  {}  {}  {}\n  Peripheral device type: {}\n",
        field(vendor),
        field(product),
        field(revision),
        pdt_text
    )
}

/// [`inquiry_header`] from a standard INQUIRY response (at least 36 bytes;
/// `None` if shorter).
pub fn inquiry_header_from_response(inq: &[u8]) -> Option<String> {
    let vendor: &[u8; 8] = inq.get(8..16)?.try_into().ok()?;
    let product: &[u8; 16] = inq.get(16..32)?.try_into().ok()?;
    let revision: &[u8; 4] = inq.get(32..36)?.try_into().ok()?;
    Some(inquiry_header(vendor, product, revision, inq[0] & 0x1f))
}

/// The stdout line when the INQUIRY before the PR command fails with a
/// SCSI error (sg_persist then exits with the category).
pub fn inquiry_failed(device: &str) -> String {
    format!("sg_persist: SCSI INQUIRY failed on {device}\n")
}

/// `-k` (READ KEYS), stdout.
pub fn read_keys(rk: &ReadKeys) -> String {
    let mut s = format!("  PR generation=0x{:x}, ", rk.generation);
    match rk.keys.len() {
        0 => s.push_str("there are NO registered reservation keys\n"),
        1 => s.push_str("1 registered reservation key follows:\n"),
        n => {
            let _ = writeln!(s, "{n} registered reservation keys follow:");
        }
    }
    for k in &rk.keys {
        let _ = writeln!(s, "    {k}");
    }
    s
}

/// sg_persist's `"scope: ...  type: ..."` line, without its indentation.
fn scope_type(scope: u8, t: PrType) -> String {
    let scope = if scope == 0 {
        "scope: LU_SCOPE, ".to_string()
    } else {
        format!("scope: {scope} ")
    };
    format!(
        "{scope} type: {}\n",
        PrType::from_code(t.code() & 0x0f).name()
    )
}

/// `-r` (READ RESERVATION), stdout. Note the two spaces before `type:`.
pub fn read_reservation(rr: &ReadReservation) -> String {
    let mut s = format!("  PR generation=0x{:x}, ", rr.generation);
    match &rr.reservation {
        None => s.push_str("there is NO reservation held\n"),
        Some(r) => {
            s.push_str("Reservation follows:\n");
            let _ = writeln!(s, "    Key={}", r.key);
            s.push_str("    ");
            s.push_str(&scope_type(r.scope, r.pr_type));
        }
    }
    s
}

/// `-c` (REPORT CAPABILITIES), stdout.
pub fn capabilities(c: &Capabilities) -> String {
    let b = u8::from;
    let mut s = String::from("Report capabilities response:\n");
    let _ = writeln!(
        s,
        "  Replace Lost Reservation Capable(RLR_C): {}",
        b(c.rlr_c)
    );
    let _ = writeln!(s, "  Compatible Reservation Handling(CRH): {}", b(c.crh));
    let _ = writeln!(
        s,
        "  Specify Initiator Ports Capable(SIP_C): {}",
        b(c.sip_c)
    );
    let _ = writeln!(s, "  All Target Ports Capable(ATP_C): {}", b(c.atp_c));
    let _ = writeln!(
        s,
        "  Persist Through Power Loss Capable(PTPL_C): {}",
        b(c.ptpl_c)
    );
    let _ = writeln!(s, "  Type Mask Valid(TMV): {}", b(c.tmv));
    let _ = writeln!(s, "  Allow Commands: {}", c.allow_commands & 7);
    let _ = writeln!(
        s,
        "  Persist Through Power Loss Active(PTPL_A): {}",
        b(c.ptpl_a)
    );
    if c.tmv {
        s.push_str("    Support indicated in Type mask:\n");
        for t in [
            PrType::WriteExclusiveAllRegistrants,
            PrType::ExclusiveAccessRegistrantsOnly,
            PrType::WriteExclusiveRegistrantsOnly,
            PrType::ExclusiveAccess,
            PrType::WriteExclusive,
            PrType::ExclusiveAccessAllRegistrants,
        ] {
            let on = c.type_mask & t.type_mask_bit() != 0;
            let _ = writeln!(s, "      {}: {}", t.name(), b(on));
        }
    }
    s
}

/// The TransportID lead-in sg_persist gives `sg_decode_transportid_str`.
const TID_LEADIN: &str = "      ";

/// `-s` (READ FULL STATUS), stdout, as without `-v`.
pub fn full_status(fs: &FullStatus) -> String {
    full_status_verbose(fs, false)
}

/// `-s` (READ FULL STATUS), stdout; with `verbose` (`-v`) an empty list
/// adds `"  So there are no registered IT nexuses"`. TransportIDs are
/// decoded by sg_lib itself ([`sglib::decode_transport_ids`]).
pub fn full_status_verbose(fs: &FullStatus, verbose: bool) -> String {
    let mut s = format!("  PR generation=0x{:x}\n", fs.generation);
    if fs.descriptors.is_empty() && fs.additional_length == 0 {
        s.push_str("  No full status descriptors\n");
        if verbose {
            s.push_str("  So there are no registered IT nexuses\n");
        }
    }
    for d in &fs.descriptors {
        let _ = writeln!(s, "    Key={}", d.key);
        if d.all_tg_pt {
            s.push_str("      All target ports bit set\n");
        } else {
            s.push_str("      All target ports bit clear\n");
            let _ = writeln!(
                s,
                "      Relative port address: 0x{:x}",
                d.relative_target_port
            );
        }
        if d.r_holder {
            s.push_str("      << Reservation holder >>\n      ");
            s.push_str(&scope_type(d.scope, d.pr_type));
        } else {
            s.push_str("      not reservation holder\n");
        }
        if !d.transport_id.is_empty() {
            s.push_str(&sglib::decode_transport_ids(
                TID_LEADIN,
                &d.transport_id,
                true,
            ));
        }
    }
    s
}

/// sg_lib's hex dump (`hex2stdout`/`dStrHex`) of `bytes`:
/// - `no_ascii > 0`: offset, then up to 16 bytes per line (an extra space
///   after the 8th), trailing spaces trimmed — what `-H` and `-HH` print;
/// - `no_ascii == 0`: the same plus the bytes as ASCII from column 60;
/// - `no_ascii < 0`: bytes only, no offset — what `-HHH` prints.
pub fn dstrhex(bytes: &[u8], no_ascii: i32) -> String {
    let mut out = String::new();
    if no_ascii < 0 {
        for line in bytes.chunks(16) {
            let mut l = String::new();
            for (i, b) in line.iter().enumerate() {
                if i == 8 {
                    l.push(' ');
                }
                let _ = write!(l, "{b:02x} ");
            }
            out.push_str(l.trim_end_matches(' '));
            out.push('\n');
        }
        return out;
    }
    const CPSTART: usize = 60;
    for (n, line) in bytes.chunks(16).enumerate() {
        let mut buf = [b' '; 80];
        let addr = format!("{:02x}", n * 16);
        let a = addr.as_bytes();
        let alen = a.len().min(78);
        buf[1..1 + alen].copy_from_slice(&a[..alen]);
        let mut bpos = 5usize;
        for (i, &c) in line.iter().enumerate() {
            bpos += 3;
            if bpos == 5 + 9 * 3 {
                bpos += 1;
            }
            let h = format!("{c:02x}");
            buf[bpos..bpos + 2].copy_from_slice(h.as_bytes());
            buf[CPSTART + i] = if no_ascii != 0 {
                b' '
            } else if (0x20..0x7f).contains(&c) {
                c
            } else {
                b'.'
            };
        }
        let cpos = CPSTART + line.len();
        let mut text = if line.len() == 16 && no_ascii == 0 {
            // A full line is printed with "%.76s".
            String::from_utf8_lossy(&buf[..76]).into_owned()
        } else {
            String::from_utf8_lossy(&buf[..cpos]).into_owned()
        };
        if no_ascii != 0 {
            text.truncate(text.trim_end_matches(' ').len());
        }
        out.push_str(&text);
        out.push('\n');
    }
    out
}

/// sg_persist's output for a PR IN response with `-H` given `hex` times
/// (1, 2, or 3 and more), stdout. `buf` is the whole allocation-length
/// buffer (sg_persist's `--alloc-length`, 8192 by default), as the device
/// filled it, zeros after the response.
pub fn hex_response(sa: InServiceAction, buf: &[u8], hex: u8) -> String {
    if hex == 0 {
        return String::new();
    }
    if sa == InServiceAction::ReportCapabilities {
        return dstrhex(&buf[..buf.len().min(8)], 1);
    }
    let Some(hdr) = buf.get(..8) else {
        return dstrhex(buf, 1);
    };
    let gen = u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
    // sg_persist holds the additional length in an int.
    let add = i32::from_be_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
    if hex > 1 {
        let n = usize::try_from(i64::from(add) + 8)
            .unwrap_or(0)
            .min(buf.len());
        return dstrhex(&buf[..n], if hex == 2 { 1 } else { -1 });
    }
    let mut s = format!("  PR generation=0x{gen:x}, ");
    if add <= 0 {
        let _ = writeln!(s, "Additional length={add}");
    }
    let room = buf.len() - 8;
    // A negative length is a huge unsigned one to sg_persist: too large.
    if usize::try_from(add).map_or(true, |a| a > room) {
        let _ = writeln!(s, "Additional length too large={add}, truncate");
        s.push_str(&dstrhex(&buf[8..], 1));
    } else {
        let _ = writeln!(s, "Additional length={add}");
        let n = usize::try_from(add).unwrap_or(0);
        s.push_str(&dstrhex(&buf[8..8 + n], 1));
    }
    s
}

/// True for the categories after which sg_lib has already written the
/// command name (`"Persistent reservation in:"`/`"...out:"`) and the
/// decoded sense to stderr, before sg_persist's own error line: unit
/// attention, medium or hardware error, recovered error and uncommon sense
/// keys (`sg_cmds_process_helper` with `noisy`). Those sg_lib lines are not
/// reproduced here.
pub fn sg_lib_prints_sense(cat: Category) -> bool {
    matches!(
        cat,
        Category::UnitAttention | Category::MediumHard | Category::Recovered | Category::OtherSense
    )
}

fn error_text(cat: Category, verbose: bool) -> String {
    match cat {
        Category::InvalidOpcode => "command not supported".to_string(),
        Category::IllegalRequest => {
            "bad field in cdb or parameter list (perhaps unsupported service action)".to_string()
        }
        other => sglib::category_str(other.exit_code(), verbose),
    }
}

/// The stderr line for a failed PR IN: `"PR in (Read keys): Reservation
/// conflict"`, `"PR in (...): command not supported"`, `"PR in (...): bad
/// field in cdb or parameter list (perhaps unsupported service action)"`.
/// `verbose` is `-v` (sg_lib's longer category text).
pub fn prin_error(sa: InServiceAction, cat: Category, verbose: bool) -> String {
    format!("PR in ({}): {}\n", sa.name(), error_text(cat, verbose))
}

/// The stderr line for a failed PR OUT, as [`prin_error`]. REGISTER AND
/// MOVE is named `register and move` there (`prout_reg_move_work`).
pub fn prout_error(sa: OutServiceAction, cat: Category, verbose: bool) -> String {
    let name = if sa == OutServiceAction::RegisterAndMove {
        "register and move"
    } else {
        sa.name()
    };
    format!("PR out ({name}): {}\n", error_text(cat, verbose))
}

/// The stderr line for a successful PR OUT with `-v`:
/// `"PR out: command (Register) successful"`, or for REGISTER AND MOVE
/// `"PR out: 'register and move' command successful"`.
pub fn prout_success(sa: OutServiceAction) -> String {
    if sa == OutServiceAction::RegisterAndMove {
        "PR out: 'register and move' command successful\n".to_string()
    } else {
        format!("PR out: command ({}) successful\n", sa.name())
    }
}

/// The last stderr line of a failed run without `-v` (`main`, label
/// `fini`): `"sg_persist failed: <category>"`, or `"Some error occurred
/// [N]"` for a status sg_lib has no text for. Empty for status 0 (and
/// 36, `SG_LIB_OK_FALSE`), and
/// after errors sg_persist has already reported as fatal (open and
/// INQUIRY failures), which callers simply do not pass here.
pub fn failed_line(exit_status: u8) -> String {
    // 0 and SG_LIB_OK_FALSE (36) print nothing (`sg_if_can2fp`).
    if exit_status == 0 || exit_status == 36 {
        return String::new();
    }
    let text = sglib::category_str(exit_status, false);
    if text.starts_with("Sense category: ") {
        format!("Some error occurred [{exit_status}]\n")
    } else {
        format!("sg_persist failed: {text}\n")
    }
}

/// Everything sg_persist writes to stderr after a failed PR IN (apart from
/// sg_lib's sense lines, see [`sg_lib_prints_sense`]): the error line and,
/// without `-v`, the final `sg_persist failed:` line. Its exit status is
/// `cat.exit_code()`.
pub fn prin_failure(sa: InServiceAction, cat: Category, verbose: bool) -> String {
    let mut s = prin_error(sa, cat, verbose);
    if !verbose {
        s.push_str(&failed_line(cat.exit_code()));
    }
    s
}

/// As [`prin_failure`], for PR OUT.
pub fn prout_failure(sa: OutServiceAction, cat: Category, verbose: bool) -> String {
    let mut s = prout_error(sa, cat, verbose);
    if !verbose {
        s.push_str(&failed_line(cat.exit_code()));
    }
    s
}

#[cfg(test)]
mod tests {
    //! Expected texts are the real sg_persist 1.46's output, captured with
    //! `lib/tests/data/sg_persist/capture.sh`: for each case `NAME`,
    //! `sg_persist $(cat NAME.args) DEV` with `NAME.bin` as the device's
    //! PR IN response (and `NAME.status`/`NAME.sense` for errors), giving
    //! `NAME.stdout`, `NAME.stderr` and `NAME.rc`.
    use super::*;
    use crate::scsi::pr::{Key, StatusDescriptor};
    use proptest::prelude::*;
    use std::path::PathBuf;

    fn data(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/sg_persist")
            .join(name)
    }

    fn bin(case: &str) -> Vec<u8> {
        std::fs::read(data(&format!("{case}.bin"))).unwrap()
    }

    fn text(case: &str, stream: &str) -> String {
        std::fs::read_to_string(data(&format!("{case}.{stream}"))).unwrap()
    }

    fn rc(case: &str) -> u8 {
        text(case, "rc").trim().parse().unwrap()
    }

    /// The response as sg_persist's 8192-byte buffer holds it.
    fn alloc_buf(case: &str, alloc_len: usize) -> Vec<u8> {
        let mut b = bin(case);
        b.truncate(alloc_len);
        b.resize(alloc_len, 0);
        b
    }

    #[test]
    fn inquiry_header_matches() {
        let inq = std::fs::read(data("inquiry.bin")).unwrap();
        let want = text("read_keys_two", "stdout");
        let head = inquiry_header_from_response(&inq).unwrap();
        assert!(want.starts_with(&head), "{head:?} vs {want:?}");
        assert_eq!(
            head,
            "  LIO-ORG   TCMU device       0002\n  Peripheral device type: disk\n"
        );
        let mut v = *b"AB\0CDEFG";
        v[7] = b'x';
        assert!(inquiry_header(&v, &[b' '; 16], b"1.0\0", 5).starts_with("  AB  "));
        assert!(inquiry_header_from_response(&inq[..35]).is_none());
    }

    #[test]
    fn read_keys_match() {
        for case in [
            "read_keys_two",
            "read_keys_one",
            "read_keys_four",
            "read_keys_none",
        ] {
            let rk = ReadKeys::decode(&bin(case)).unwrap();
            let want = text(case, "stdout");
            let got = read_keys(&rk);
            assert!(want.ends_with(&got), "{case}: {got:?} vs {want:?}");
            if case != "read_keys_two" {
                assert_eq!(got, want, "{case}");
            }
        }
    }

    #[test]
    fn read_reservation_matches() {
        for case in [
            "read_reservation",
            "read_reservation_none",
            "read_reservation_scope",
            "read_reservation_obsolete",
        ] {
            let rr = ReadReservation::decode(&bin(case)).unwrap();
            assert_eq!(read_reservation(&rr), text(case, "stdout"), "{case}");
        }
    }

    #[test]
    fn capabilities_match() {
        for case in ["capabilities_lio", "capabilities_other"] {
            let c = Capabilities::decode(&bin(case)).unwrap();
            assert_eq!(capabilities(&c), text(case, "stdout"), "{case}");
        }
    }

    #[test]
    fn full_status_matches() {
        for case in ["full_status", "full_status_none", "full_status_scope"] {
            let fs = FullStatus::decode(&bin(case)).unwrap();
            assert_eq!(full_status(&fs), text(case, "stdout"), "{case}");
        }
        let fs = FullStatus::decode(&bin("full_status_none")).unwrap();
        assert!(
            full_status_verbose(&fs, true).ends_with("  So there are no registered IT nexuses\n")
        );
    }

    #[test]
    fn hex_outputs_match() {
        for (case, sa, hex, alloc) in [
            ("hex_read_keys", InServiceAction::ReadKeys, 1, 8192),
            ("hex2_read_keys", InServiceAction::ReadKeys, 2, 8192),
            ("hex3_read_keys", InServiceAction::ReadKeys, 3, 8192),
            ("hex_read_keys_none", InServiceAction::ReadKeys, 1, 8192),
            ("hex_read_keys_trunc", InServiceAction::ReadKeys, 1, 0x10),
            (
                "hex_capabilities",
                InServiceAction::ReportCapabilities,
                1,
                8192,
            ),
            ("hex_full_status", InServiceAction::ReadFullStatus, 1, 8192),
            ("hex2_full_status", InServiceAction::ReadFullStatus, 2, 8192),
            ("hex3_full_status", InServiceAction::ReadFullStatus, 3, 8192),
        ] {
            let got = hex_response(sa, &alloc_buf(case, alloc), hex);
            assert_eq!(got, text(case, "stdout"), "{case}");
        }
    }

    #[test]
    fn dstrhex_with_ascii() {
        // sg_lib's layout with the ASCII column (not used by sg_persist):
        // offset, bytes, ASCII from column 60.
        let s = dstrhex(b"LIO-ORG TCMU device 0123", 0);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(
            lines[0],
            " 00     4c 49 4f 2d 4f 52 47 20  54 43 4d 55 20 64 65 76    LIO-ORG TCMU dev"
        );
        assert_eq!(
            lines[1],
            " 10     69 63 65 20 30 31 32 33                             ice 0123"
        );
        // And against sg_lib itself, through `sg_inq -H` (capture.sh).
        let inq = std::fs::read(data("inquiry.bin")).unwrap();
        assert_eq!(dstrhex(&inq, 0), text("sg_inq_hex", "stdout"));
        assert_eq!(dstrhex(&[], 1), "");
        assert_eq!(dstrhex(&[0x41; 17], -1).lines().count(), 2);
    }

    /// (case, is PR IN, service action code, category, verbose)
    const ERROR_CASES: &[(&str, bool, u8, Category, bool)] = &[
        (
            "err_prout_conflict",
            false,
            0,
            Category::ReservationConflict,
            false,
        ),
        (
            "err_prout_invalid_op",
            false,
            6,
            Category::InvalidOpcode,
            false,
        ),
        (
            "err_prout_illegal",
            false,
            8,
            Category::IllegalRequest,
            false,
        ),
        ("err_prout_param", false, 5, Category::IllegalRequest, false),
        ("err_prout_not_ready", false, 2, Category::NotReady, false),
        (
            "err_prout_aborted",
            false,
            4,
            Category::AbortedCommand,
            false,
        ),
        ("err_prout_busy", false, 0, Category::Busy, false),
        (
            "err_prout_conflict_v",
            false,
            0,
            Category::ReservationConflict,
            true,
        ),
        ("err_prout_ua", false, 1, Category::UnitAttention, false),
        ("err_prout_medium", false, 3, Category::MediumHard, false),
        (
            "err_rmove_conflict",
            false,
            7,
            Category::ReservationConflict,
            false,
        ),
        (
            "err_rmove_illegal",
            false,
            7,
            Category::IllegalRequest,
            false,
        ),
        (
            "err_prin_conflict",
            true,
            0,
            Category::ReservationConflict,
            false,
        ),
        (
            "err_prin_invalid_op",
            true,
            3,
            Category::InvalidOpcode,
            false,
        ),
        ("err_prin_illegal", true, 2, Category::IllegalRequest, false),
        ("err_prin_ua", true, 1, Category::UnitAttention, false),
    ];

    #[test]
    fn error_lines_match() {
        for &(case, is_in, sa, cat, verbose) in ERROR_CASES {
            let got = if is_in {
                prin_failure(InServiceAction::from_code(sa).unwrap(), cat, verbose)
            } else {
                prout_failure(OutServiceAction::from_code(sa).unwrap(), cat, verbose)
            };
            let want = text(case, "stderr");
            // sg_lib's own lines (the CDB with -v, the sense for some
            // categories) come first; sg_persist's lines end the output.
            assert!(want.ends_with(&got), "{case}: {got:?} vs {want:?}");
            assert_eq!(
                sg_lib_prints_sense(cat),
                want.starts_with("Persistent reservation "),
                "{case}"
            );
            assert_eq!(rc(case), cat.exit_code(), "{case}");
        }
    }

    #[test]
    fn success_lines_match() {
        for (case, sa) in [
            ("ok_prout_register_v", OutServiceAction::Register),
            (
                "ok_prout_register_ignore_v",
                OutServiceAction::RegisterAndIgnore,
            ),
            ("ok_rmove_v", OutServiceAction::RegisterAndMove),
        ] {
            let want = text(case, "stderr");
            assert!(want.ends_with(&prout_success(sa)), "{case}: {want:?}");
            assert_eq!(rc(case), 0);
        }
        assert_eq!(text("ok_prout_register", "stderr"), "");
        assert_eq!(failed_line(0), "");
    }

    #[test]
    fn unknown_exit_status_line() {
        assert_eq!(failed_line(24), "sg_persist failed: Reservation conflict\n");
        assert_eq!(failed_line(4), "Some error occurred [4]\n");
        assert_eq!(failed_line(36), "");
    }

    proptest! {
        #[test]
        fn renderers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), hex in 0u8..4) {
            if let Ok(rk) = ReadKeys::decode(&bytes) { let _ = read_keys(&rk); }
            if let Ok(rr) = ReadReservation::decode(&bytes) { let _ = read_reservation(&rr); }
            if let Ok(c) = Capabilities::decode(&bytes) { let _ = capabilities(&c); }
            if let Ok(fs) = FullStatus::decode(&bytes) { let _ = full_status(&fs); }
            for sa in [InServiceAction::ReadKeys, InServiceAction::ReportCapabilities, InServiceAction::ReadFullStatus] {
                let _ = hex_response(sa, &bytes, hex);
            }
            let _ = dstrhex(&bytes, 0);
        }

        #[test]
        fn dstrhex_lines_hold_sixteen_bytes(bytes in proptest::collection::vec(any::<u8>(), 1..100)) {
            let s = dstrhex(&bytes, 1);
            prop_assert_eq!(s.lines().count(), bytes.len().div_ceil(16));
            let hexed: Vec<u8> = s.lines()
                .flat_map(|l| l.split_whitespace().skip(1).map(|h| u8::from_str_radix(h, 16).unwrap()).collect::<Vec<_>>())
                .collect();
            prop_assert_eq!(hexed, bytes);
        }

        #[test]
        fn read_keys_lists_every_key(keys in proptest::collection::vec(any::<u64>(), 0..20)) {
            let rk = ReadKeys { generation: 1, additional_length: u32::try_from(8 * keys.len()).unwrap(),
                                keys: keys.iter().copied().map(Key).collect() };
            let s = read_keys(&rk);
            prop_assert_eq!(s.lines().count(), 1 + keys.len());
        }

        #[test]
        fn full_status_lines_per_descriptor(n in 0usize..5, holder in any::<bool>()) {
            let d = StatusDescriptor { key: Key(1), all_tg_pt: false, r_holder: holder, scope: 0,
                pr_type: PrType::WriteExclusive, relative_target_port: 1, transport_id: vec![] };
            let fs = FullStatus { generation: 0, additional_length: u32::try_from(24 * n).unwrap(), descriptors: vec![d; n] };
            let per = if holder { 5 } else { 4 };
            prop_assert_eq!(full_status(&fs).lines().count(), 1 + per * n + usize::from(n == 0));
        }
    }
}
