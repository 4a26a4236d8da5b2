//! Whether disks can carry fencing, as Veritas' vxfentsthdw proves before
//! a disk is used: PERSISTENT RESERVE IN and OUT work, type 5 (Write
//! Exclusive, Registrants Only) is in the capability mask, every path of
//! a map reaches the same logical unit, a test key can be registered and
//! removed, and the disk is neither a virtio-blk disk (no SCSI at all) nor
//! a QEMU-emulated `scsi-hd` (which answers PR with ILLEGAL REQUEST,
//! invalid opcode).
//!
//! The facts are gathered by I/O ([`gather`]) and judged by a pure
//! function ([`assess`]). With two I_T nexuses to one LUN on this host,
//! [`pair`] runs the whole fencing sequence: both register, A reserves
//! type 5, B's write is accepted, A preempts B, B's write is refused with
//! RESERVATION CONFLICT. The writes put back the block read from LBA 0,
//! so no data changes.

use crate::scsi::wwid::Wwid;
use std::path::Path;

use serde::Serialize;

use super::ops::{PreemptMode, FENCE_TYPE};
use crate::paths::{Opener, Unit};
use crate::scsi::cdb;
use crate::scsi::device::Device;
use crate::scsi::error::{IllegalReason, ScsiError};
use crate::scsi::pr::{Capabilities, Key, PrType};

/// The key `verify` registers on one path, as ASCII `FKVRFY-T`.
pub const TEST_KEY: &str = "FKVRFY-T";
/// The keys of the two nexuses in a pair test.
pub const PAIR_KEYS: (&str, &str) = ("FKVRFY-A", "FKVRFY-B");

/// What was learnt about one device.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Facts {
    /// The device.
    pub device: String,
    /// A virtio-blk disk (named `vd*`, or sysfs driver `virtio_blk`).
    pub virtio_blk: bool,
    /// INQUIRY vendor and product of the first path.
    pub vendor: Option<String>,
    /// INQUIRY product.
    pub product: Option<String>,
    /// Unit serial number (VPD page 0x80) of the first path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// The WWID of each path (None when it has none or could not be read).
    pub path_wwids: Vec<PathWwid>,
    /// READ KEYS: Ok, or the error; `pr_in_invalid_opcode` says whether it
    /// was ILLEGAL REQUEST, invalid opcode.
    pub pr_in: Option<Result<usize, ProbeError>>,
    /// PERSISTENT RESERVE IN is not a command this device knows.
    pub pr_in_invalid_opcode: bool,
    /// REPORT CAPABILITIES: Some(Ok) decoded, Some(Err) failed, None not
    /// asked.
    pub caps: Option<Result<CapsView, ProbeError>>,
    /// The test key registered and removed: None when not tried.
    pub test_key: Option<Result<(), ProbeError>>,
    /// Why the test key was not tried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_key_skipped: Option<String>,
    /// PTPL_A from REPORT CAPABILITIES.
    pub ptpl_a: Option<bool>,
    /// The reservation holder's key when verify began.
    pub reservation: Option<Key>,
}

/// The WWID one path of a device reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathWwid {
    /// The path's node.
    pub path: String,
    /// Its WWID; None when it has none or could not be read.
    pub wwid: Option<Wwid>,
}

/// Why a probe step failed: the message, and the sg3_utils category of
/// the SCSI error when it came from the device. Serialized as the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeError {
    /// What failed, naming the device.
    pub message: String,
    /// sg3_utils' category (its exit status) of a SCSI error.
    pub category: Option<u8>,
}

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProbeError {}

impl Serialize for ProbeError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.message)
    }
}

impl From<&ScsiError> for ProbeError {
    fn from(e: &ScsiError) -> ProbeError {
        ProbeError {
            message: e.to_string(),
            category: Some(e.exit_code()),
        }
    }
}

impl From<String> for ProbeError {
    fn from(message: String) -> ProbeError {
        ProbeError {
            message,
            category: None,
        }
    }
}

impl From<&str> for ProbeError {
    fn from(message: &str) -> ProbeError {
        ProbeError::from(message.to_string())
    }
}

/// The capability bits verify looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CapsView {
    /// The type mask is valid.
    pub tmv: bool,
    /// The type mask.
    pub type_mask: u16,
}

impl From<&Capabilities> for CapsView {
    fn from(c: &Capabilities) -> CapsView {
        CapsView {
            tmv: c.tmv,
            type_mask: c.type_mask,
        }
    }
}

/// A check's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Passed.
    Pass,
    /// Failed: the disk cannot carry fencing.
    Fail,
    /// Not decided (not asked, or not applicable).
    Skip,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Its name (`not-virtio-blk`, `not-emulated`, `pr-in`, `type-5`,
    /// `same-wwid`, `register-test-key`).
    pub name: &'static str,
    /// Result.
    pub state: State,
    /// Why.
    pub detail: String,
}

/// A check with its result and reason.
pub(crate) fn check(name: &'static str, state: State, detail: impl Into<String>) -> Check {
    Check {
        name,
        state,
        detail: detail.into(),
    }
}

/// Judges the facts.
pub fn assess(f: &Facts) -> Vec<Check> {
    let mut v = Vec::new();
    v.push(if f.virtio_blk {
        check(
            "not-virtio-blk",
            State::Fail,
            "a virtio-blk disk has no SCSI commands; attach the LUN as a virtio-scsi pass-through disk",
        )
    } else {
        check("not-virtio-blk", State::Pass, "")
    });
    let qemu_hd =
        f.vendor.as_deref() == Some("QEMU") && f.product.as_deref() == Some("QEMU HARDDISK");
    v.push(if qemu_hd {
        check(
            "not-emulated",
            State::Fail,
            "QEMU's emulated scsi-hd disk: reservations do not reach the storage; use scsi-block (device='lun')",
        )
    } else if f.vendor.is_none() {
        check("not-emulated", State::Skip, "no INQUIRY data")
    } else {
        check("not-emulated", State::Pass, "")
    });
    v.push(match &f.pr_in {
        None => check("pr-in", State::Skip, "not asked"),
        Some(Ok(n)) => check("pr-in", State::Pass, format!("{n} keys registered")),
        Some(Err(e)) if f.pr_in_invalid_opcode => check(
            "pr-in",
            State::Fail,
            format!("PERSISTENT RESERVE IN is not supported: {e}"),
        ),
        Some(Err(e)) => check("pr-in", State::Fail, e.to_string()),
    });
    let bit = PrType::WriteExclusiveRegistrantsOnly.type_mask_bit();
    v.push(match &f.caps {
        None => check("type-5", State::Skip, "not asked"),
        Some(Err(e)) => check(
            "type-5",
            State::Skip,
            format!("REPORT CAPABILITIES failed: {e}"),
        ),
        Some(Ok(c)) if !c.tmv => check("type-5", State::Skip, "the type mask is not valid (TMV=0)"),
        Some(Ok(c)) if c.type_mask & bit != 0 => check("type-5", State::Pass, ""),
        Some(Ok(c)) => check(
            "type-5",
            State::Fail,
            format!(
                "Write Exclusive, Registrants Only is not in the type mask 0x{:04x}",
                c.type_mask
            ),
        ),
    });
    let wwids: Vec<&Option<Wwid>> = f.path_wwids.iter().map(|p| &p.wwid).collect();
    v.push(if wwids.is_empty() {
        check("same-wwid", State::Skip, "no paths read")
    } else if wwids.iter().any(|w| w.is_none()) {
        let bad: Vec<&str> = f
            .path_wwids
            .iter()
            .filter(|p| p.wwid.is_none())
            .map(|p| p.path.as_str())
            .collect();
        check(
            "same-wwid",
            if wwids.len() > 1 {
                State::Fail
            } else {
                State::Skip
            },
            format!("no WWID from {}", bad.join(", ")),
        )
    } else if wwids.windows(2).all(|w| w[0] == w[1]) {
        check(
            "same-wwid",
            State::Pass,
            wwids[0].clone().unwrap_or_default(),
        )
    } else {
        let all: Vec<String> = f
            .path_wwids
            .iter()
            .map(|p| format!("{}={}", p.path, p.wwid.as_deref().unwrap_or("?")))
            .collect();
        check(
            "same-wwid",
            State::Fail,
            format!("paths reach different units: {}", all.join(" ")),
        )
    });
    v.push(match (&f.test_key, &f.test_key_skipped) {
        (None, Some(why)) => check("register-test-key", State::Skip, why.clone()),
        (None, None) => check("register-test-key", State::Skip, "not tried"),
        (Some(Ok(())), _) => check("register-test-key", State::Pass, "registered and removed"),
        (Some(Err(e)), _) => check("register-test-key", State::Fail, e.to_string()),
    });
    v
}

/// True when no check failed.
pub fn passed(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.state != State::Fail)
}

/// True for a virtio-blk disk: a `vd*` name, or sysfs says its driver is
/// `virtio_blk` (`<sys>/block/<name>/device/driver`).
pub fn is_virtio_blk(device: &str, sys: &Path) -> bool {
    let real = std::fs::canonicalize(device).unwrap_or_else(|_| device.into());
    let Some(base) = real.file_name().map(|b| b.to_string_lossy().into_owned()) else {
        return false;
    };
    if base.starts_with("vd") {
        return true;
    }
    let drv = sys.join("block").join(&base).join("device/driver");
    std::fs::read_link(drv)
        .ok()
        .and_then(|l| l.file_name().map(|n| n.to_string_lossy().into_owned()))
        .as_deref()
        == Some("virtio_blk")
}

/// Whether `verify` may register and remove its test key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WriteTest {
    /// Send no PR OUT at all (`--no-write`).
    Never,
    /// Only on a device with no registration and no reservation (the
    /// default): a device in use is only read.
    IfIdle,
    /// Also on a device in use (`--write-test-in-use`). Even then the test
    /// key goes only to a nexus that holds no registration (REGISTER with
    /// a RESERVATION KEY of 0, which such a nexus refuses), and only the
    /// test key is removed again.
    EvenInUse,
}

/// Gathers the facts about one device. With `write`, registers the test
/// key on the first path and removes it again (see [`WriteTest`]). Every
/// PR OUT carries the unit's APTPL as REPORT CAPABILITIES gives it
/// (PTPL_A), so the test leaves the unit's persistence as it was.
pub fn gather<O: Opener>(opener: &O, dev: &Unit, sys: &Path, write: WriteTest) -> Facts {
    let mut f = Facts {
        device: dev.name.clone(),
        virtio_blk: is_virtio_blk(&dev.name, sys)
            || dev
                .paths
                .iter()
                .any(|p| is_virtio_blk(&p.display().to_string(), sys)),
        ..Default::default()
    };
    for p in &dev.paths {
        let id = opener.open(p).and_then(|d| d.identity());
        if f.vendor.is_none() {
            if let Ok(i) = &id {
                f.vendor = Some(i.inquiry.vendor_str());
                f.product = Some(i.inquiry.product_str());
                f.serial = i.serial.clone().filter(|s| !s.is_empty());
            }
        }
        f.path_wwids.push(PathWwid {
            path: p.display().to_string(),
            wwid: id.ok().and_then(|i| i.wwid),
        });
    }
    let Some(first) = dev.read_order().first().map(|p| p.to_path_buf()) else {
        return f;
    };
    let d = match opener.open(&first) {
        Ok(d) => d,
        Err(e) => {
            f.pr_in = Some(Err(ProbeError::from(&e)));
            return f;
        }
    };
    let keys = match d.read_keys() {
        Ok(k) => {
            f.pr_in = Some(Ok(k.keys.len()));
            k.keys
        }
        Err(e) => {
            f.pr_in_invalid_opcode = matches!(
                e,
                ScsiError::IllegalRequest {
                    reason: IllegalReason::InvalidOpcode,
                    ..
                }
            );
            f.pr_in = Some(Err(ProbeError::from(&e)));
            return f;
        }
    };
    let caps = d.report_capabilities();
    f.ptpl_a = caps.as_ref().ok().map(|c| c.ptpl_a);
    f.caps = Some(
        caps.map(|c| CapsView::from(&c))
            .map_err(|e| ProbeError::from(&e)),
    );
    let reservation = d.read_reservation().map(|r| r.reservation);
    f.reservation = reservation
        .as_ref()
        .ok()
        .and_then(|r| r.as_ref().map(|r| r.key));
    if write == WriteTest::Never {
        return f;
    }
    // The unit's APTPL, unless it could not be read: then the test is not
    // run, as a REGISTER would set it one way or the other.
    let Some(aptpl) = f.ptpl_a else {
        f.test_key_skipped = Some(
            "skipped: PTPL_A could not be read (REPORT CAPABILITIES failed), \
             and a REGISTER would change the unit's APTPL"
                .into(),
        );
        return f;
    };
    let in_use = !keys.is_empty() || !matches!(reservation, Ok(None));
    if in_use && write == WriteTest::IfIdle {
        let held = match &reservation {
            Ok(Some(r)) => format!(", reservation held by {}", r.key),
            Ok(None) => String::new(),
            Err(_) => ", the reservation could not be read".into(),
        };
        f.test_key_skipped = Some(format!(
            "skipped: the device is in use ({} registration{}{held}); \
             --write-test-in-use tests it anyway",
            keys.len(),
            if keys.len() == 1 { "" } else { "s" }
        ));
        return f;
    }
    let k = Key::from_ascii(TEST_KEY).unwrap_or(Key(1));
    if keys.contains(&k) {
        f.test_key_skipped = Some(format!(
            "skipped: the test key {k} is already registered (another verify running?)"
        ));
        return f;
    }
    // REGISTER with RESERVATION KEY 0: refused (RESERVATION CONFLICT) by a
    // nexus that is registered, so no one's key is ever replaced.
    match d.register(Key(0), k, aptpl) {
        Ok(()) => {}
        Err(e) if e.is_reservation_conflict() && in_use => {
            f.test_key_skipped = Some(format!(
                "skipped: {} is registered with a key verify does not own",
                first.display()
            ));
            return f;
        }
        Err(e) => {
            f.test_key = Some(Err(ProbeError::from(&e)));
            return f;
        }
    }
    let r = (|| {
        let there = d.read_keys()?.keys.contains(&k);
        d.register(k, Key(0), aptpl)?;
        let gone = !d.read_keys()?.keys.contains(&k);
        Ok::<_, ScsiError>((there, gone))
    })();
    f.test_key = Some(match r {
        Ok((true, true)) => Ok(()),
        Ok((false, _)) => Err(format!(
            "{}: the test key was not listed after REGISTER",
            first.display()
        )
        .into()),
        Ok((true, false)) => Err(format!(
            "{}: the test key stayed after unregistering",
            first.display()
        )
        .into()),
        Err(e) => {
            // Best effort: remove the test key, and only the test key
            // (REGISTER with it as the old key fails on any other).
            let _ = d.register(k, Key(0), aptpl);
            Err(ProbeError::from(&e))
        }
    });
    f
}

/// One step of a pair test.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PairStep {
    /// What was done, and what was expected.
    pub step: String,
    /// It went as expected.
    pub ok: bool,
    /// What happened.
    pub detail: String,
}

/// The pair test's result.
#[derive(Debug, Clone, Serialize)]
pub struct PairReport {
    /// Nexus A.
    pub a: String,
    /// Nexus B.
    pub b: String,
    /// Steps in order.
    pub steps: Vec<PairStep>,
    /// Every step went as expected.
    pub passed: bool,
    /// Why it did not start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// Opens the peer's device of `verify --pair` through a command prefix
/// (`--peer-cmd 'ssh node2'`): every command runs there through sg_raw.
#[derive(Debug, Clone)]
pub struct PeerOpener {
    /// The command prefix that reaches the peer.
    pub prefix: String,
    /// Per-command timeout.
    pub timeout: std::time::Duration,
    /// Unit-attention retries (the preempted peer's next command reports
    /// the preempt first).
    pub retry: crate::scsi::transport::RetryPolicy,
}

impl Opener for PeerOpener {
    type T = crate::scsi::remote::CommandTransport;
    fn open(&self, path: &Path) -> Result<Device<Self::T>, ScsiError> {
        let t =
            crate::scsi::remote::CommandTransport::new(&self.prefix, &path.display().to_string());
        let mut d = Device::new(t);
        d.timeout = self.timeout;
        d.retry = self.retry;
        Ok(d)
    }
}

/// Runs the fencing sequence on two nexuses `a` and `b` to one LUN.
/// Refuses when the LUN already has registrations, unless `force`; test
/// keys are removed at the end either way (other registrations are left
/// as they are, except that with `force` a reservation held by someone
/// else makes the RESERVE step fail).
///
/// `b` is opened by `opener_b`: the same opener for a second nexus on this
/// host, or [`PeerOpener`] for the device on another host.
pub fn pair<O: Opener, P: Opener>(
    opener: &O,
    a: &Path,
    opener_b: &P,
    b: &Path,
    mode: PreemptMode,
    force: bool,
) -> PairReport {
    let mut rep = PairReport {
        a: a.display().to_string(),
        b: b.display().to_string(),
        steps: Vec::new(),
        passed: false,
        refused: None,
    };
    let (da, db) = match (opener.open(a), opener_b.open(b)) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) | (_, Err(e)) => {
            rep.refused = Some(e.to_string());
            return rep;
        }
    };
    let ka = Key::from_ascii(PAIR_KEYS.0).unwrap_or(Key(0xa));
    let kb = Key::from_ascii(PAIR_KEYS.1).unwrap_or(Key(0xb));
    match da.read_keys() {
        Ok(k) if !k.keys.is_empty() && !force => {
            rep.refused = Some(format!(
                "{}: {} registrations exist ({}); use --force to test anyway",
                rep.a,
                k.keys.len(),
                k.keys
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
            return rep;
        }
        Ok(_) => {}
        Err(e) => {
            rep.refused = Some(e.to_string());
            return rep;
        }
    }
    // Every PR OUT carries the unit's APTPL.
    let aptpl = da.report_capabilities().is_ok_and(|c| c.ptpl_a);
    let ida = da.identity().ok().and_then(|i| i.wwid);
    let idb = db.identity().ok().and_then(|i| i.wwid);
    if ida != idb {
        rep.refused = Some(format!(
            "{} and {} are different units ({} vs {})",
            rep.a,
            rep.b,
            ida.as_deref().unwrap_or("?"),
            idb.as_deref().unwrap_or("?")
        ));
        return rep;
    }
    let block = match da.read_capacity().and_then(|c| {
        let len = usize::try_from(c.block_len).unwrap_or(512);
        da.data_in(&"READ(10)".into(), &cdb::read_10(0, 1), len)
    }) {
        Ok(b) if !b.is_empty() => b,
        Ok(_) => {
            rep.refused = Some(format!("{}: READ(10) of LBA 0 returned no data", rep.a));
            return rep;
        }
        Err(e) => {
            rep.refused = Some(e.to_string());
            return rep;
        }
    };
    let write_b = || db.data_out(&"WRITE(10)".into(), &cdb::write_10(0, 1), &block);
    let mut push = |step: &str, ok: bool, detail: String| {
        rep.steps.push(PairStep {
            step: step.to_string(),
            ok,
            detail,
        });
        ok
    };
    fn d<T>(r: &Result<T, ScsiError>) -> String {
        r.as_ref()
            .err()
            .map(ToString::to_string)
            .unwrap_or_default()
    }
    // REGISTER with RESERVATION KEY 0 (not REGISTER AND IGNORE): a nexus
    // that is already registered refuses it, so no one's key is replaced.
    let r = da.register(Key(0), ka, aptpl);
    let mut go = push("A registers", r.is_ok(), d(&r));
    if go {
        let r = db.register(Key(0), kb, aptpl);
        go = push("B registers", r.is_ok(), d(&r));
    }
    let mut reserved = false;
    if go {
        let r = da.reserve(ka, FENCE_TYPE);
        reserved = r.is_ok();
        go = push(
            "A reserves type 5 (Write Exclusive, Registrants Only)",
            r.is_ok(),
            d(&r),
        );
    }
    if go {
        let r = write_b();
        go = push("B writes LBA 0 as a registrant: accepted", r.is_ok(), d(&r));
    }
    if go {
        let r = mode.send(&da, ka, kb);
        go = push("A preempts B", r.is_ok(), d(&r));
    }
    if go {
        let r = write_b();
        let ok = matches!(&r, Err(e) if e.is_reservation_conflict());
        let detail = match &r {
            Ok(()) => "the write was accepted: B is not fenced".to_string(),
            Err(e) => e.to_string(),
        };
        push(
            "B writes LBA 0 after the preempt: reservation conflict",
            ok,
            detail,
        );
    }
    // Clean up: release what A reserved, then remove the test keys, and
    // only them (REGISTER with the test key as the old key).
    let r: Result<(), ScsiError> = if reserved {
        da.release(ka, FENCE_TYPE)
    } else {
        Ok(())
    };
    let c1 = r.is_ok();
    let listed = da.read_keys().map(|k| k.keys).unwrap_or_default();
    let r2 = if listed.contains(&ka) {
        da.register(ka, Key(0), aptpl)
    } else {
        Ok(())
    };
    let r3 = if listed.contains(&kb) {
        db.register(kb, Key(0), aptpl)
    } else {
        Ok(())
    };
    let left = da
        .read_keys()
        .map(|k| k.keys.iter().any(|x| *x == ka || *x == kb));
    push(
        "clean up: release, unregister both test keys",
        c1 && r2.is_ok() && r3.is_ok() && matches!(left, Ok(false)),
        [d(&r), d(&r2), d(&r3), d(&left)]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("; "),
    );
    rep.passed = rep.steps.len() == 7 && rep.steps.iter().all(|s| s.ok);
    rep
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fence::sim::{lu, SimOpener};

    fn good() -> Facts {
        Facts {
            device: "/dev/sdb".into(),
            vendor: Some("LIO-ORG".into()),
            product: Some("disk0".into()),
            path_wwids: vec![
                PathWwid {
                    path: "/dev/sdb".into(),
                    wwid: Some("36001405a".into()),
                },
                PathWwid {
                    path: "/dev/sdc".into(),
                    wwid: Some("36001405a".into()),
                },
            ],
            pr_in: Some(Ok(0)),
            caps: Some(Ok(CapsView {
                tmv: true,
                type_mask: 0xea01,
            })),
            test_key: Some(Ok(())),
            ..Default::default()
        }
    }

    fn state(c: &[Check], name: &str) -> State {
        c.iter().find(|x| x.name == name).unwrap().state
    }

    #[test]
    fn probe_errors_keep_the_sg3_category_and_serialize_as_their_message() {
        let e = ProbeError::from(&ScsiError::ReservationConflict {
            device: "/dev/sdb".into(),
            command: "Register".into(),
        });
        assert_eq!(e.category, Some(24));
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::Value::String(e.message.clone())
        );
        assert_eq!(ProbeError::from("x").category, None);
        let p = PathWwid {
            path: "/dev/sdb".into(),
            wwid: Some("36001405a".into()),
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({"path": "/dev/sdb", "wwid": "36001405a"})
        );
    }

    #[test]
    fn assess_judges_each_fact() {
        let c = assess(&good());
        assert!(passed(&c), "{c:?}");
        let mut f = good();
        f.virtio_blk = true;
        assert_eq!(state(&assess(&f), "not-virtio-blk"), State::Fail);
        let mut f = good();
        f.vendor = Some("QEMU".into());
        f.product = Some("QEMU HARDDISK".into());
        f.pr_in = Some(Err("invalid opcode".into()));
        f.pr_in_invalid_opcode = true;
        let c = assess(&f);
        assert_eq!(state(&c, "not-emulated"), State::Fail);
        assert!(c.iter().any(|x| x.detail.contains("not supported")));
        let mut f = good();
        f.caps = Some(Ok(CapsView {
            tmv: true,
            type_mask: 0x0200,
        }));
        assert_eq!(state(&assess(&f), "type-5"), State::Fail);
        f.caps = Some(Ok(CapsView {
            tmv: false,
            type_mask: 0,
        }));
        assert_eq!(state(&assess(&f), "type-5"), State::Skip);
        let mut f = good();
        f.path_wwids[1].wwid = Some("36001405b".into());
        assert_eq!(state(&assess(&f), "same-wwid"), State::Fail);
        let mut f = good();
        f.test_key = Some(Err("conflict".into()));
        assert!(!passed(&assess(&f)));
    }

    #[test]
    fn virtio_names_and_sysfs_driver() {
        let t = tempfile::tempdir().unwrap();
        assert!(is_virtio_blk("/dev/vdb", t.path()));
        let dir = t.path().join("block/sdq/device");
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink("../../../bus/virtio/drivers/virtio_blk", dir.join("driver"))
            .unwrap();
        assert!(is_virtio_blk("/dev/sdq", t.path()));
        assert!(!is_virtio_blk("/dev/sdb", t.path()));
    }

    #[test]
    fn gather_on_a_scripted_lun() {
        let l = lu();
        let mut o = SimOpener::default();
        o.add("/p/0", &l, "n0");
        o.add("/p/1", &l, "n1");
        let dev = Unit {
            name: "m".into(),
            paths: vec!["/p/0".into(), "/p/1".into()],
            unusable: vec![],
            multipath: true,
        };
        let t = tempfile::tempdir().unwrap();
        let f = gather(&o, &dev, t.path(), WriteTest::IfIdle);
        let c = assess(&f);
        // The simulated LU has no VPD pages, so no WWID: both paths fail
        // to identify, which fails same-wwid for a map.
        assert_eq!(state(&c, "pr-in"), State::Pass);
        assert_eq!(state(&c, "type-5"), State::Pass);
        assert_eq!(state(&c, "register-test-key"), State::Pass);
        assert_eq!(state(&c, "same-wwid"), State::Fail);
        assert!(l.lock().unwrap().regs.is_empty());
        // A device without PR.
        l.lock().unwrap().no_pr = true;
        let f = gather(&o, &dev, t.path(), WriteTest::IfIdle);
        assert!(f.pr_in_invalid_opcode);
        assert!(f.test_key.is_none());
    }

    #[test]
    fn pair_runs_the_whole_sequence_and_cleans_up() {
        let l = lu();
        let mut o = SimOpener::default();
        o.add("/a", &l, "a");
        o.add("/b", &l, "b");
        let before = l.lock().unwrap().block.clone();
        let r = pair(
            &o,
            "/a".as_ref(),
            &o,
            "/b".as_ref(),
            PreemptMode::Preempt,
            false,
        );
        assert!(r.passed, "{r:#?}");
        let lu = l.lock().unwrap();
        assert!(lu.regs.is_empty() && lu.res.is_none());
        assert_eq!(lu.block, before);
        drop(lu);
        // Refuses when registrations exist.
        l.lock().unwrap().regs.push(("x".into(), Key(5)));
        let r = pair(
            &o,
            "/a".as_ref(),
            &o,
            "/b".as_ref(),
            PreemptMode::Preempt,
            false,
        );
        assert!(!r.passed && r.refused.unwrap().contains("--force"));
        let r = pair(
            &o,
            "/a".as_ref(),
            &o,
            "/b".as_ref(),
            PreemptMode::PreemptAndAbort,
            true,
        );
        assert!(r.passed, "{r:#?}");
        assert_eq!(l.lock().unwrap().keys(), vec![Key(5)]);
    }

    #[test]
    fn pair_fails_on_two_names_for_one_nexus() {
        // Two names for the same I_T nexus are not a pair: B's
        // registration is refused (the nexus holds A's key).
        let l = lu();
        let mut o = SimOpener::default();
        o.add("/a", &l, "same");
        o.add("/b", &l, "same");
        let r = pair(
            &o,
            "/a".as_ref(),
            &o,
            "/b".as_ref(),
            PreemptMode::Preempt,
            false,
        );
        assert!(!r.passed);
        assert!(r
            .steps
            .iter()
            .any(|s| !s.ok && s.step.starts_with("B registers")));
        assert!(l.lock().unwrap().regs.is_empty(), "test keys left behind");
    }

    /// One LU seen through `/p/0` (nexus n0); n0 holds key X and the type 5
    /// reservation, nexus n1 holds key Y.
    fn in_use() -> (
        std::sync::Arc<std::sync::Mutex<crate::fence::sim::Lu>>,
        SimOpener,
        Unit,
    ) {
        let l = lu();
        let mut o = SimOpener::default();
        o.add("/p/0", &l, "n0");
        o.add("/p/1", &l, "n1");
        {
            let mut u = l.lock().unwrap();
            u.regs.push(("n0".into(), Key(0x58)));
            u.regs.push(("n1".into(), Key(0x59)));
            u.res = Some(("n0".into(), Key(0x58), 5));
            u.aptpl = true;
        }
        (l, o, Unit::single("/p/0"))
    }

    #[test]
    fn verify_skips_write_test_on_a_device_in_use() {
        let (l, o, dev) = in_use();
        let t = tempfile::tempdir().unwrap();
        let f = gather(&o, &dev, t.path(), WriteTest::IfIdle);
        let u = l.lock().unwrap();
        assert!(
            u.log.is_empty(),
            "PR OUT sent to a device in use: {:?}",
            u.log
        );
        assert_eq!(u.keys(), vec![Key(0x58), Key(0x59)]);
        assert_eq!(u.res, Some(("n0".into(), Key(0x58), 5)));
        assert!(u.aptpl);
        drop(u);
        let c = assess(&f);
        let w = c.iter().find(|x| x.name == "register-test-key").unwrap();
        assert_eq!(w.state, State::Skip, "{w:?}");
        assert!(w.detail.contains("in use"), "{w:?}");
    }

    #[test]
    fn verify_write_test_keeps_the_units_aptpl() {
        let l = lu();
        l.lock().unwrap().aptpl = true;
        let mut o = SimOpener::default();
        o.add("/p/0", &l, "n0");
        let t = tempfile::tempdir().unwrap();
        let f = gather(&o, &Unit::single("/p/0"), t.path(), WriteTest::IfIdle);
        assert_eq!(f.test_key, Some(Ok(())), "{f:?}");
        let u = l.lock().unwrap();
        assert!(u.regs.is_empty());
        assert!(u.aptpl, "verify reset PTPL_A: {:?}", u.log);
    }

    #[test]
    fn verify_write_test_in_use_never_replaces_or_removes_others_keys() {
        let t = tempfile::tempdir().unwrap();
        // Through n0, which holds key X and the reservation: refused by the
        // device, nothing changes.
        let (l, o, dev) = in_use();
        let f = gather(&o, &dev, t.path(), WriteTest::EvenInUse);
        assert!(f.test_key.is_none(), "{f:?}");
        assert!(f
            .test_key_skipped
            .as_deref()
            .unwrap()
            .contains("does not own"));
        let u = l.lock().unwrap();
        assert_eq!(u.keys(), vec![Key(0x58), Key(0x59)]);
        assert_eq!(u.res, Some(("n0".into(), Key(0x58), 5)));
        assert!(u.aptpl);
        drop(u);
        // Through an unregistered nexus n2: the test key comes and goes,
        // the others stay.
        let mut o = o;
        o.add("/p/2", &l, "n2");
        let f = gather(&o, &Unit::single("/p/2"), t.path(), WriteTest::EvenInUse);
        assert_eq!(f.test_key, Some(Ok(())), "{f:?}");
        let u = l.lock().unwrap();
        assert_eq!(u.keys(), vec![Key(0x58), Key(0x59)]);
        assert_eq!(u.res, Some(("n0".into(), Key(0x58), 5)));
        assert!(u.aptpl);
        // Never REGISTER AND IGNORE, never a key-0 unregistration of a key
        // it did not register.
        assert!(u.log.iter().all(|e| e.1 == 0), "{:?}", u.log);
        // --no-write sends nothing.
        drop(u);
        l.lock().unwrap().log.clear();
        let f = gather(&o, &Unit::single("/p/2"), t.path(), WriteTest::Never);
        assert!(f.test_key.is_none());
        assert!(l.lock().unwrap().log.is_empty());
    }

    #[test]
    fn verify_pair_keeps_the_units_aptpl() {
        let l = lu();
        l.lock().unwrap().aptpl = true;
        let mut o = SimOpener::default();
        o.add("/a", &l, "a");
        o.add("/b", &l, "b");
        let r = pair(
            &o,
            "/a".as_ref(),
            &o,
            "/b".as_ref(),
            PreemptMode::Preempt,
            false,
        );
        assert!(r.passed, "{r:#?}");
        assert!(l.lock().unwrap().aptpl, "pair reset PTPL_A");
    }
}
