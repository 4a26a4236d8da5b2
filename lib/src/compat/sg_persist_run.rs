//! sg_persist's `main()` flow (sg3_utils 1.46): the optional INQUIRY
//! header, the device opened read-only or read-write by the same rules
//! (`-y`, `-yy`, `SG_PERSIST_IN_RDONLY`), one PR IN or PR OUT command, and
//! sg_persist's stdout, stderr and exit status. The device is reached
//! through an [`Opener`], so the flow is unit-tested with scripted
//! transports and proven against LIO in the guest test bed.

use std::io::Read;

use super::sg_persist as text;
use super::sg_persist_args::SgPersistOpts;
use crate::scsi::device::Device;
use crate::scsi::error::{Category, ScsiError};
use crate::scsi::pr::{
    Capabilities, FullStatus, InServiceAction, Key, OutServiceAction, PrType, ProutParams,
    ReadKeys, ReadReservation, RegisterAndMove,
};
use crate::scsi::transport::Transport;
use crate::scsi::transport_id::{
    parse_transport_id_args, parse_transport_id_hex_text, TransportId,
};

/// What sg_persist would have written, and its exit status.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Output {
    /// Text for stdout.
    pub stdout: String,
    /// Text for stderr.
    pub stderr: String,
    /// Exit status.
    pub code: u8,
}

/// Opens a device for the flow.
pub trait Opener {
    /// The transport of opened devices.
    type T: Transport;
    /// Opens `device` read-only or read-write.
    fn open(&self, device: &str, readonly: bool) -> Result<Device<Self::T>, ScsiError>;
}

/// Where `-X -` and `-X file=NAME` read from.
pub trait TidInput {
    /// The text of standard input.
    fn stdin(&self) -> std::io::Result<String>;
    /// The text of a file.
    fn file(&self, name: &str) -> std::io::Result<String>;
}

/// The real standard input and files.
pub struct RealTidInput;

impl TidInput for RealTidInput {
    fn stdin(&self) -> std::io::Result<String> {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        Ok(s)
    }
    fn file(&self, name: &str) -> std::io::Result<String> {
        std::fs::read_to_string(name)
    }
}

fn strerror(e: &std::io::Error) -> String {
    // std's text is strerror's, followed by " (os error N)".
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn os_status(e: &std::io::Error) -> u8 {
    match e.raw_os_error().map(u8::try_from) {
        Some(Ok(errno)) if (1..47).contains(&errno) => 50 + errno,
        _ => Category::Other.exit_code(),
    }
}

/// Decodes every `-X` argument into TransportIDs.
fn transport_ids(args: &[String], input: &dyn TidInput) -> Result<Vec<TransportId>, String> {
    let mut out = Vec::new();
    for a in args {
        let parsed = if a.starts_with('-') {
            input
                .stdin()
                .map_err(|e| e.to_string())
                .and_then(|t| parse_transport_id_hex_text(&t).map_err(|e| e.to_string()))
        } else if let Some(name) = a.strip_prefix("file=").or_else(|| a.strip_prefix("FILE=")) {
            input
                .file(name)
                .map_err(|e| e.to_string())
                .and_then(|t| parse_transport_id_hex_text(&t).map_err(|e| e.to_string()))
        } else {
            parse_transport_id_args(a).map_err(|e| e.to_string())
        };
        out.extend(parsed?);
    }
    Ok(out)
}

/// The category sg_persist reports for a failed command: the SCSI
/// category, or "other" for a command that could not be sent.
fn category(e: &ScsiError) -> Category {
    e.category()
}

/// Runs an sg_persist command. `in_rdonly_env` is whether
/// `SG_PERSIST_IN_RDONLY` is set in the environment.
pub fn run<O: Opener>(
    op: &SgPersistOpts,
    in_rdonly_env: bool,
    opener: &O,
    input: &dyn TidInput,
) -> Output {
    let mut out = Output {
        stderr: op.stderr.clone(),
        ..Default::default()
    };
    let tids = match transport_ids(&op.transport_id_args, input) {
        Ok(t) => t,
        Err(detail) => {
            out.stderr
                .push_str(&format!("{detail}\nbad argument to '--transport-id'\n"));
            out.code = 1;
            return out;
        }
    };
    let verbose = op.verbose > 0;
    if op.inquiry {
        let dev = match opener.open(&op.device, true) {
            Ok(d) => d,
            Err(e) => return open_failed(out, &op.device, "(ro)", &e, true),
        };
        match dev.inquiry_raw() {
            Ok(inq) => match text::inquiry_header_from_response(&inq) {
                Some(h) => out.stdout.push_str(&h),
                None => {
                    out.stdout.push_str(&text::inquiry_failed(&op.device));
                    out.code = Category::Malformed.exit_code();
                    return out;
                }
            },
            Err(e) => {
                out.stdout.push_str(&text::inquiry_failed(&op.device));
                out.code = e.exit_code();
                return out;
            }
        }
    }
    let readonly = if op.readwrite_force {
        false
    } else {
        op.readonly || (in_rdonly_env && op.pr_in)
    };
    let dev = match opener.open(&op.device, readonly) {
        Ok(d) => d,
        Err(e) => {
            return open_failed(
                out,
                &op.device,
                if readonly { "ro" } else { "rw" },
                &e,
                false,
            )
        }
    };
    if op.pr_in {
        prin(&dev, op, verbose, &mut out);
    } else {
        prout(&dev, op, &tids, verbose, &mut out);
    }
    if out.code != 0 && !verbose && !out.stderr.ends_with(&text::failed_line(out.code)) {
        out.stderr.push_str(&text::failed_line(out.code));
    }
    out
}

fn open_failed(mut out: Output, device: &str, mode: &str, e: &ScsiError, inquiry: bool) -> Output {
    let (msg, code) = match e {
        ScsiError::Open { source, .. } => (strerror(source), os_status(source)),
        other => (other.to_string(), other.exit_code()),
    };
    if inquiry {
        out.stderr.push_str(&format!(
            "sg_persist: error opening file {mode}: {device}: {msg}\n"
        ));
    } else {
        out.stderr.push_str(&format!(
            "sg_persist: error opening file {device} (r{}): {msg}\n",
            &mode[1..]
        ));
    }
    out.code = code;
    out
}

fn prin<T: Transport>(dev: &Device<T>, op: &SgPersistOpts, verbose: bool, out: &mut Output) {
    let sa = InServiceAction::from_code(op.prin_sa).unwrap_or(InServiceAction::ReadKeys);
    let alloc = u16::try_from(op.alloc_len).unwrap_or(u16::MAX);
    let buf = match dev.pr_in_raw(sa, alloc, false) {
        Ok(b) => b,
        Err(e) => {
            let cat = category(&e);
            out.stderr.push_str(&text::prin_failure(sa, cat, verbose));
            out.code = e.exit_code();
            return;
        }
    };
    // sg_persist reads its whole buffer; bytes the device did not send are 0.
    let mut full = buf.clone();
    full.resize(usize::from(alloc), 0);
    let malformed = |out: &mut Output, e: String| {
        out.stderr
            .push_str(&format!("sg_persist: malformed response: {e}\n"));
        out.code = Category::Malformed.exit_code();
    };
    if sa == InServiceAction::ReportCapabilities {
        if full.get(1) != Some(&8) {
            out.stderr
                .push_str("Unexpected response for PRIN Report Capabilities\n");
            if op.hex > 0 {
                let n = usize::from(full.get(1).copied().unwrap_or(0));
                out.stdout
                    .push_str(&text::dstrhex(&full[..n.min(full.len())], 1));
            }
            out.code = Category::Malformed.exit_code();
            return;
        }
        if op.hex > 0 {
            out.stdout
                .push_str(&text::hex_response(sa, &full, op.hex.min(255) as u8));
            return;
        }
        // With `-l`/`-m` below 8 the device sends fewer than the 8 bytes
        // of the response; sg_persist decodes its zeroed buffer, so the
        // fields that were not sent read as 0.
        let mut eight = [0u8; 8];
        let n = full.len().min(8);
        eight[..n].copy_from_slice(&full[..n]);
        match Capabilities::decode(&eight) {
            Ok(c) => out.stdout.push_str(&text::capabilities(&c)),
            Err(e) => malformed(out, e.to_string()),
        }
        return;
    }
    if op.hex > 0 {
        out.stdout
            .push_str(&text::hex_response(sa, &full, op.hex.min(255) as u8));
        return;
    }
    let r = match sa {
        InServiceAction::ReadKeys => ReadKeys::decode(&buf).map(|k| text::read_keys(&k)),
        InServiceAction::ReadReservation => {
            ReadReservation::decode(&buf).map(|r| text::read_reservation(&r))
        }
        _ => FullStatus::decode(&buf).map(|f| text::full_status_verbose(&f, verbose)),
    };
    match r {
        Ok(s) => out.stdout.push_str(&s),
        Err(e) => malformed(out, e.to_string()),
    }
}

fn prout<T: Transport>(
    dev: &Device<T>,
    op: &SgPersistOpts,
    tids: &[TransportId],
    verbose: bool,
    out: &mut Output,
) {
    let sa = OutServiceAction::from_code(op.prout_sa).unwrap_or(OutServiceAction::Register);
    let pr_type = PrType::from_code((op.prout_type & 0x0f) as u8);
    let r = if sa == OutServiceAction::RegisterAndMove {
        match tids.first() {
            Some(tid) => dev.register_and_move(
                &RegisterAndMove {
                    key: Key(op.param_rk),
                    sa_key: Key(op.param_sark),
                    unreg: op.unreg,
                    aptpl: op.aptpl,
                    relative_target_port: op.rtp,
                    transport_id: tid.clone(),
                },
                pr_type,
            ),
            None => {
                out.stderr.push_str(
                    "with --register-move one (and only one) --transport-id should be given\n",
                );
                out.code = 31;
                return;
            }
        }
    } else {
        let p = ProutParams {
            key: Key(op.param_rk),
            sa_key: Key(op.param_sark),
            aptpl: op.aptpl,
            all_tg_pt: op.alltgpt,
            spec_i_pt: !tids.is_empty(),
            transport_ids: tids.to_vec(),
        };
        dev.pr_out(sa, pr_type, &p)
    };
    match r {
        Ok(()) if verbose => out.stderr.push_str(&text::prout_success(sa)),
        Ok(()) => {}
        Err(e) => {
            out.stderr
                .push_str(&text::prout_failure(sa, category(&e), verbose));
            out.code = e.exit_code();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compat::sg_persist_args::{parse, Invocation};
    use crate::scsi::device::tests::Scripted;
    use crate::scsi::transport::Completion;
    use std::cell::RefCell;

    /// One scripted device: its answers in order.
    type Answers = Vec<(Completion, Vec<u8>)>;

    /// Opens scripted devices in turn and records the modes asked for.
    struct Script {
        devices: RefCell<Vec<Answers>>,
        modes: RefCell<Vec<bool>>,
    }

    impl Opener for Script {
        type T = Scripted;
        fn open(&self, device: &str, readonly: bool) -> Result<Device<Scripted>, ScsiError> {
            self.modes.borrow_mut().push(readonly);
            if device == "/dev/missing" {
                return Err(ScsiError::Open {
                    device: device.into(),
                    source: std::io::Error::from_raw_os_error(2),
                });
            }
            Ok(Device::new(Scripted::new(
                self.devices.borrow_mut().remove(0),
            )))
        }
    }

    struct NoInput;
    impl TidInput for NoInput {
        fn stdin(&self) -> std::io::Result<String> {
            Ok(String::new())
        }
        fn file(&self, _: &str) -> std::io::Result<String> {
            Err(std::io::Error::from_raw_os_error(2))
        }
    }

    fn opts(v: &[&str]) -> SgPersistOpts {
        match parse(
            "sg_persist",
            &v.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        ) {
            Invocation::Run(o) => o,
            Invocation::Exit(e) => panic!("{e:?}"),
        }
    }

    fn ok(d: Vec<u8>) -> (Completion, Vec<u8>) {
        (Completion::default(), d)
    }

    fn inquiry() -> Vec<u8> {
        crate::scsi::inquiry::tests::lio_inquiry()
    }

    #[test]
    fn read_keys_with_inquiry_header_opens_ro_then_rw() {
        let keys = vec![0, 0, 0, 2, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1];
        let s = Script {
            devices: RefCell::new(vec![vec![ok(inquiry())], vec![ok(keys)]]),
            modes: RefCell::new(vec![]),
        };
        let o = run(&opts(&["-k", "/dev/sdb"]), false, &s, &NoInput);
        assert_eq!(o.code, 0);
        assert!(
            o.stdout.starts_with(
                "  LIO-ORG   disk0             4.0 \n  Peripheral device type: disk\n"
            ),
            "{:?}",
            o.stdout
        );
        assert!(
            o.stdout
                .ends_with("  PR generation=0x2, 1 registered reservation key follows:\n    0x1\n"),
            "{:?}",
            o.stdout
        );
        assert_eq!(*s.modes.borrow(), vec![true, false]);
        // SG_PERSIST_IN_RDONLY makes the PR IN open read-only.
        let s = Script {
            devices: RefCell::new(vec![vec![ok(vec![0, 0, 0, 0, 0, 0, 0, 0])]]),
            modes: RefCell::new(vec![]),
        };
        let o = run(&opts(&["-n", "-k", "/dev/sdb"]), true, &s, &NoInput);
        assert_eq!(
            o.stdout,
            "  PR generation=0x0, there are NO registered reservation keys\n"
        );
        assert_eq!(*s.modes.borrow(), vec![true]);
    }

    #[test]
    fn conflict_on_prout_gives_24_and_sg_persist_lines() {
        let s = Script {
            devices: RefCell::new(vec![vec![(
                Completion {
                    status: 0x18,
                    ..Default::default()
                },
                vec![],
            )]]),
            modes: RefCell::new(vec![]),
        };
        let o = run(
            &opts(&["-n", "-o", "-G", "-S", "2", "/dev/sdb"]),
            false,
            &s,
            &NoInput,
        );
        assert_eq!(o.code, 24);
        assert_eq!(
            o.stderr,
            "PR out (Register): Reservation conflict\nsg_persist failed: Reservation conflict\n"
        );
        assert_eq!(o.stdout, "");
    }

    #[test]
    fn open_failure_and_bad_capabilities() {
        let s = Script {
            devices: RefCell::new(vec![]),
            modes: RefCell::new(vec![]),
        };
        let o = run(&opts(&["-n", "-k", "/dev/missing"]), false, &s, &NoInput);
        assert_eq!(o.code, 52);
        assert_eq!(
            o.stderr,
            "sg_persist: error opening file /dev/missing (rw): No such file or directory\n"
        );

        let s = Script {
            devices: RefCell::new(vec![vec![ok(vec![0, 9, 0, 0, 0, 0, 0, 0])]]),
            modes: RefCell::new(vec![]),
        };
        let o = run(&opts(&["-n", "-c", "/dev/sdb"]), false, &s, &NoInput);
        assert_eq!(o.code, 97);
        assert!(
            o.stderr
                .starts_with("Unexpected response for PRIN Report Capabilities\n"),
            "{}",
            o.stderr
        );
    }

    #[test]
    fn verbose_success_line_and_missing_tid_file() {
        let s = Script {
            devices: RefCell::new(vec![vec![ok(vec![])]]),
            modes: RefCell::new(vec![]),
        };
        let o = run(
            &opts(&["-v", "-n", "-o", "-I", "-S", "1", "/dev/sdb"]),
            false,
            &s,
            &NoInput,
        );
        assert_eq!(
            (o.code, o.stderr.as_str()),
            (
                0,
                "PR out: command (Register and ignore existing key) successful\n"
            )
        );
        let s = Script {
            devices: RefCell::new(vec![]),
            modes: RefCell::new(vec![]),
        };
        let o = run(
            &opts(&[
                "-n",
                "-o",
                "-G",
                "-S",
                "1",
                "-X",
                "file=/nonexistent",
                "/dev/sdb",
            ]),
            false,
            &s,
            &NoInput,
        );
        assert_eq!(o.code, 1);
        assert!(o.stderr.ends_with("bad argument to '--transport-id'\n"));
    }

    /// Opens devices that give every command the same arbitrary answer.
    struct AnyOpener {
        completion: Completion,
        data: Vec<u8>,
        raw_resid: bool,
    }

    impl Opener for AnyOpener {
        type T = crate::scsi::device::tests::Anything;
        fn open(&self, _: &str, _: bool) -> Result<Device<Self::T>, ScsiError> {
            Ok(Device::new(crate::scsi::device::tests::Anything {
                completion: self.completion.clone(),
                data: self.data.clone(),
                raw_resid: self.raw_resid,
            }))
        }
    }

    #[test]
    fn compat_short_allocation_length_never_panics() {
        // LIO answers REPORT CAPABILITIES with 8 bytes; `-l 4` lets 4 of
        // them through. The fields the device did not send read as 0, as
        // in sg_persist's zeroed buffer.
        let mut caps = vec![0, 8, 0x1d, 0x81, 0xea, 0x01, 0, 0];
        for l in ["0", "1", "4", "7"] {
            let o = AnyOpener {
                completion: Completion::default(),
                data: caps.clone(),
                raw_resid: false,
            };
            let r = run(
                &opts(&["-n", "-c", "-l", l, "/dev/sdb"]),
                false,
                &o,
                &NoInput,
            );
            assert!(r.code == 0 || r.code == 97, "{l}: {r:?}");
        }
        let o = AnyOpener {
            completion: Completion::default(),
            data: caps.clone(),
            raw_resid: false,
        };
        let r = run(
            &opts(&["-n", "-c", "-l", "4", "/dev/sdb"]),
            false,
            &o,
            &NoInput,
        );
        assert_eq!(r.code, 0, "{r:?}");
        assert!(
            r.stdout
                .contains("Specify Initiator Ports Capable(SIP_C): 1"),
            "{}",
            r.stdout
        );
        assert!(r.stdout.contains("Type Mask Valid(TMV): 1"), "{}", r.stdout);
        // The type mask (bytes 4-5) was not sent.
        assert!(
            r.stdout
                .contains("      Write Exclusive, registrants only: 0"),
            "{}",
            r.stdout
        );
        caps.truncate(2);
        let o = AnyOpener {
            completion: Completion::default(),
            data: caps,
            raw_resid: false,
        };
        let r = run(
            &opts(&["-n", "-c", "-H", "-l", "2", "/dev/sdb"]),
            false,
            &o,
            &NoInput,
        );
        assert_eq!(r.code, 0, "{r:?}");
    }

    /// Arbitrary bytes, or a header that decoders accept (REPORT
    /// CAPABILITIES' length 8, a PR IN additional length that fits) with
    /// arbitrary bytes after it, so that the paths past the header checks
    /// are reached too.
    fn plausible_response() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let tail = || proptest::collection::vec(any::<u8>(), 0..600);
        prop_oneof![
            tail(),
            (any::<u8>(), any::<u8>(), tail()).prop_map(|(a, b, t)| {
                let mut v = vec![0, 8, a, b];
                v.extend(t);
                v
            }),
            (any::<u32>(), 0u32..80, tail()).prop_map(|(g, n, t)| {
                let mut v = g.to_be_bytes().to_vec();
                v.extend(n.to_be_bytes());
                v.extend(t);
                v
            }),
        ]
    }

    proptest::proptest! {
        /// The sg_persist flow over arbitrary answers, allocation lengths
        /// (`-l` and `-m`), service actions and output modes.
        #[test]
        fn compat_run_never_panics(
            completion in crate::scsi::device::tests::arb_completion(),
            data in plausible_response(),
            raw_resid in proptest::prelude::any::<bool>(),
            alloc in proptest::prop_oneof![3 => 0u32..64, 1 => 0u32..=8192],
            maxlen in proptest::prelude::any::<bool>(),
            sa in 0usize..4,
            hex in 0usize..4,
            verbose in proptest::prelude::any::<bool>(),
            inquiry in proptest::prelude::any::<bool>(),
        ) {
            let o = AnyOpener { completion, data, raw_resid };
            let mut args: Vec<String> = vec![["-k", "-r", "-c", "-s"][sa].into()];
            if maxlen {
                args.push(format!("--maxlen={alloc}"));
            } else {
                args.push(format!("--alloc-length={alloc:x}"));
            }
            for _ in 0..hex {
                args.push("-H".into());
            }
            if verbose {
                args.push("-v".into());
            }
            if !inquiry {
                args.push("-n".into());
            }
            args.push("/dev/sdb".into());
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            let _ = run(&opts(&a), false, &o, &NoInput);
        }
    }
}
