//! Unfence (join), fence (evict), status and the watchdog check, over
//! device sets, following fence_scsi (`set_status()`, `register_dev()`,
//! `get_status()`, `scsi_check()`) with the corrections users asked for:
//!
//! - Registration goes to every path of a map (a registration belongs to
//!   one I_T nexus, SPC-4 §5.14.7); a path added after the node joined
//!   otherwise gets RESERVATION CONFLICT on every write (multipath-tools
//!   30/78).
//! - When the node's key is already registered, it may belong to a stale
//!   I_T nexus (the iSCSI ISID changes across reboots; fence-agents
//!   517/529/558), so the node preempts its own key through the first
//!   path only (a preempt removes the key from every path; fence-agents
//!   594), re-registers there if the preempt took that registration too,
//!   and then registers the other paths.
//! - The reservation is Write Exclusive, Registrants Only (type 5): every
//!   registered node may write, and a node whose key is removed may not.
//! - A fence preempts the victim's key through one path per device, all
//!   devices in parallel, then reads back that the key is gone and that a
//!   reservation exists (taking it if the preempt left none).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::paths::{self, Opener, Unit};
use crate::scsi::device::Device;
use crate::scsi::error::{IllegalReason, ScsiError};
use crate::scsi::pr::{Key, PrType};
use crate::scsi::transport::Transport;
use crate::scsi::transport_id::TransportId;
use crate::util::fanout::par_map;

/// The reservation type fencing uses: Write Exclusive, Registrants Only.
pub const FENCE_TYPE: PrType = PrType::WriteExclusiveRegistrantsOnly;

/// Where the state file is by default.
pub const DEFAULT_STATE: &str = "/var/run/cluster/fencekit.state";

/// One command sent to one path.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Step {
    /// The node the command went to.
    pub path: String,
    /// What was done (`register-and-ignore`, `self-preempt`, `reserve`,
    /// `preempt-and-abort`, ...).
    pub action: String,
    /// True when it succeeded.
    pub ok: bool,
    /// The error, naming device, command and SCSI reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The sg3_utils exit status of the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u8>,
}

impl Step {
    pub(crate) fn new<R>(path: &Path, action: &str, r: &Result<R, ScsiError>) -> Step {
        Step {
            path: path.display().to_string(),
            action: action.to_string(),
            ok: r.is_ok(),
            error: r.as_ref().err().map(ToString::to_string),
            status: r.as_ref().err().map(ScsiError::exit_code),
        }
    }
}

/// Runs `f` through one path of `dev`, with [`paths::try_in_order`]:
/// the next path only when the command could not reach the logical unit
/// through this one. Returns the result, and the path that gave it.
pub fn one_path<O: Opener, R>(
    opener: &O,
    dev: &Unit,
    f: impl Fn(&Device<O::T>) -> Result<R, ScsiError>,
) -> (Result<R, ScsiError>, PathBuf) {
    let mut tried = paths::try_in_order(dev.read_order(), |p| opener.open(p).and_then(|d| f(&d)));
    match tried.pop() {
        Some(last) => (last.result, last.path),
        None => (
            Err(ScsiError::Open {
                device: dev.name.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no paths"),
            }),
            PathBuf::from(&dev.name),
        ),
    }
}

pub(crate) fn on_path<O: Opener, R>(
    opener: &O,
    p: &Path,
    f: impl Fn(&Device<O::T>) -> Result<R, ScsiError>,
) -> Result<R, ScsiError> {
    opener.open(p).and_then(|d| f(&d))
}

/// The logical unit's APTPL as REPORT CAPABILITIES reports it (PTPL_A).
/// SPC-4 lets the APTPL bit of the last REGISTER or REGISTER AND IGNORE
/// EXISTING KEY on any nexus decide for the whole unit, so every REGISTER
/// that is not meant to change it must carry this value. A device without
/// REPORT CAPABILITIES (ILLEGAL REQUEST) has no PTPL_A to keep: false.
pub fn unit_aptpl<T: Transport>(d: &Device<T>) -> Result<bool, ScsiError> {
    match d.report_capabilities() {
        Ok(c) => Ok(c.ptpl_a),
        Err(ScsiError::IllegalRequest { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The APTPL to register with on `dev`: true when asked for, otherwise
/// the unit's own (read through one path).
fn aptpl_for<O: Opener>(opener: &O, dev: &Unit, asked: bool) -> bool {
    asked || one_path(opener, dev, unit_aptpl).0.unwrap_or(false)
}

/// The reservation on a device, for reports.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Holder {
    /// The holder's key.
    pub key: Key,
    /// The reservation type's name.
    #[serde(rename = "type")]
    pub pr_type: String,
}

fn holder<T: Transport>(d: &Device<T>) -> Result<Option<Holder>, ScsiError> {
    Ok(d.read_reservation()?.reservation.map(|r| Holder {
        key: r.key,
        pr_type: r.pr_type.name(),
    }))
}

/// What unfence did on one device.
#[derive(Debug, Clone, Serialize)]
pub struct UnfenceReport {
    /// The device.
    pub device: String,
    /// The key was registered before (so it was re-registered through a
    /// self-preempt).
    pub was_registered: bool,
    /// Every command sent, in order.
    pub steps: Vec<Step>,
    /// This node took the reservation.
    pub reserved: bool,
    /// The reservation afterwards.
    pub reservation: Option<Holder>,
    /// How many registrations of the key the device lists afterwards.
    pub registrations: usize,
    /// The key is registered on every path and a reservation exists.
    pub complete: bool,
    /// The error that stopped the work on this device, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why nothing was sent: the key is held through an initiator port
    /// that is not this host's (see [`foreign_ports`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// When the check for another host holding the key could not be made,
    /// why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_check: Option<String>,
}

/// Whether two initiator ports are this host's: the same TransportID, or
/// for iSCSI the same initiator name (a re-login gives a new ISID, and the
/// old nexus is this host's stale one).
fn same_host(a: &TransportId, b: &TransportId) -> bool {
    match (a, b) {
        (TransportId::Iscsi { name: x, .. }, TransportId::Iscsi { name: y, .. }) => {
            x.eq_ignore_ascii_case(y)
        }
        _ => a == b,
    }
}

/// Why [`foreign_ports`] could not tell whose ports hold a key.
#[derive(Debug, thiserror::Error)]
pub enum PortCheckError {
    /// This host cannot tell the initiator port of one of its paths.
    #[error("the initiator port of {} is not known", .0.display())]
    UnknownPort(PathBuf),
    /// The device answered READ FULL STATUS with ILLEGAL REQUEST.
    #[error("the device does not support READ FULL STATUS")]
    NoFullStatus,
    /// READ FULL STATUS failed otherwise.
    #[error(transparent)]
    Device(ScsiError),
    /// A TransportID in the answer does not decode.
    #[error("READ FULL STATUS: {0}")]
    TransportId(#[source] crate::scsi::decode::DecodeError),
}

/// The initiator ports, other than this host's own (the ports of
/// `dev`'s paths, from [`Opener::initiator_port`]), through which `key`
/// is registered, from READ FULL STATUS. [`PortCheckError`] says why the check could not
/// be made: a path whose port is unknown, a device without READ FULL
/// STATUS, a TransportID that does not decode.
pub fn foreign_ports<O: Opener>(
    opener: &O,
    dev: &Unit,
    key: Key,
) -> Result<Vec<TransportId>, PortCheckError> {
    let mut own = Vec::new();
    for p in &dev.paths {
        match opener.initiator_port(p) {
            Some(t) => own.push(t),
            None => return Err(PortCheckError::UnknownPort(p.clone())),
        }
    }
    let fs = one_path(opener, dev, |d| d.read_full_status())
        .0
        .map_err(|e| match e {
            ScsiError::IllegalRequest { .. } => PortCheckError::NoFullStatus,
            e => PortCheckError::Device(e),
        })?;
    let mut foreign = Vec::new();
    for d in fs.descriptors.iter().filter(|d| d.key == key) {
        let t = d.transport_id().map_err(PortCheckError::TransportId)?;
        if !own.iter().any(|o| same_host(o, &t)) && !foreign.contains(&t) {
            foreign.push(t);
        }
    }
    Ok(foreign)
}

/// Unfence one device: register `key` on every path, self-preempt a key
/// that was already there through the first path, reserve type 5 if no
/// reservation exists. With `aptpl` the registrations set APTPL; without
/// it they carry the unit's current PTPL_A, so a unit another node made
/// persistent stays persistent.
pub fn unfence_device<O: Opener>(opener: &O, dev: &Unit, key: Key, aptpl: bool) -> UnfenceReport {
    let mut rep = UnfenceReport {
        device: dev.name.clone(),
        was_registered: false,
        steps: Vec::new(),
        reserved: false,
        reservation: None,
        registrations: 0,
        complete: false,
        error: None,
        refused: None,
        port_check: None,
    };
    let (keys, _) = one_path(opener, dev, |d| d.read_keys());
    let keys = match keys {
        Ok(k) => k.keys,
        Err(e) => {
            rep.error = Some(e.to_string());
            return rep;
        }
    };
    rep.was_registered = keys.contains(&key);
    if rep.was_registered {
        // The self-preempt below removes every registration of the key.
        // If another host holds it (two hosts configured with one key),
        // that would fence it: refuse, and name its port.
        match foreign_ports(opener, dev, key) {
            Ok(f) if f.is_empty() => {}
            Ok(f) => {
                let ports: Vec<String> = f.iter().map(ToString::to_string).collect();
                let why = format!(
                    "{}: key {key} is also registered through initiator port {}, which is \
                     not this host's (two hosts configured with the same key?); not \
                     preempting it",
                    dev.name,
                    ports.join(", ")
                );
                rep.error = Some(why.clone());
                rep.refused = Some(why);
                return rep;
            }
            Err(why) => {
                rep.port_check = Some(format!(
                    "whether another host holds key {key} could not be checked: {why}"
                ))
            }
        }
    }
    let aptpl = aptpl_for(opener, dev, aptpl);
    let order = dev.read_order();
    let Some((first, rest)) = order.split_first() else {
        rep.error = Some(format!("{}: no paths", dev.name));
        return rep;
    };
    let r = on_path(opener, first, |d| d.register_and_ignore(key, aptpl));
    rep.steps.push(Step::new(first, "register-and-ignore", &r));
    if r.is_ok() && rep.was_registered {
        let r = on_path(opener, first, |d| d.preempt(key, key, FENCE_TYPE));
        rep.steps.push(Step::new(first, "self-preempt", &r));
        // A preempt of a key no one holds the reservation with removes
        // every registration of it, this path's too.
        let held = on_path(opener, first, holder);
        if !matches!(&held, Ok(Some(h)) if h.key == key) {
            let r = on_path(opener, first, |d| d.register_and_ignore(key, aptpl));
            rep.steps.push(Step::new(first, "register-and-ignore", &r));
        }
    }
    let rest: Vec<&Path> = rest.to_vec();
    let others = par_map(&rest, |p| {
        let r = on_path(opener, p, |d| d.register_and_ignore(key, aptpl));
        Step::new(p, "register-and-ignore", &r)
    });
    rep.steps.extend(others);

    let (held, p) = one_path(opener, dev, holder);
    match held {
        Ok(Some(h)) => rep.reservation = Some(h),
        Ok(None) => {
            let r = on_path(opener, &p, |d| d.reserve(key, FENCE_TYPE));
            rep.steps.push(Step::new(&p, "reserve", &r));
            rep.reserved = r.is_ok();
            // Another node may have reserved in between: read again.
            rep.reservation = one_path(opener, dev, holder).0.ok().flatten();
        }
        Err(e) => rep.error = Some(e.to_string()),
    }
    match one_path(opener, dev, |d| d.read_keys()).0 {
        Ok(k) => rep.registrations = k.keys.iter().filter(|&&x| x == key).count(),
        Err(e) => rep.error = Some(e.to_string()),
    }
    let all_paths_ok = dev.paths.iter().all(|p| {
        rep.steps
            .iter()
            .rev()
            .find(|s| s.path == p.display().to_string() && s.action == "register-and-ignore")
            .is_some_and(|s| s.ok)
    });
    rep.complete =
        rep.error.is_none() && all_paths_ok && rep.registrations > 0 && rep.reservation.is_some();
    rep
}

/// Unfence every device, in parallel.
pub fn unfence<O: Opener>(opener: &O, devs: &[Unit], key: Key, aptpl: bool) -> Vec<UnfenceReport> {
    par_map(devs, |d| unfence_device(opener, d, key, aptpl))
}

/// How a victim is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PreemptMode {
    /// PREEMPT AND ABORT: also abort the victim's queued commands.
    PreemptAndAbort,
    /// PREEMPT only (for targets whose PREEMPT AND ABORT misbehaves).
    Preempt,
}

impl PreemptMode {
    /// The service action's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            PreemptMode::PreemptAndAbort => "preempt-and-abort",
            PreemptMode::Preempt => "preempt",
        }
    }

    /// Sends the preempt of `victim` with `own` and returns the service
    /// action that did it. A device that rejects PREEMPT AND ABORT as an
    /// unsupported service action (tgt answers ILLEGAL REQUEST, invalid
    /// field in CDB) gets PREEMPT instead: the victim's registrations still
    /// go, only its queued commands are not aborted, and the report says so.
    pub fn send<T: Transport>(
        self,
        d: &Device<T>,
        own: Key,
        victim: Key,
    ) -> Result<PreemptMode, ScsiError> {
        match self {
            PreemptMode::PreemptAndAbort => match d.preempt_and_abort(own, victim, FENCE_TYPE) {
                Err(ScsiError::IllegalRequest {
                    reason: IllegalReason::InvalidOpcode | IllegalReason::InvalidFieldInCdb,
                    ..
                }) => d
                    .preempt(own, victim, FENCE_TYPE)
                    .map(|()| PreemptMode::Preempt),
                r => r.map(|()| PreemptMode::PreemptAndAbort),
            },
            PreemptMode::Preempt => d
                .preempt(own, victim, FENCE_TYPE)
                .map(|()| PreemptMode::Preempt),
        }
    }
}

/// How a fence is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FenceHow {
    /// PREEMPT AND ABORT or PREEMPT.
    pub mode: PreemptMode,
    /// Register this node's key first where it is missing (fence_scsi
    /// does); otherwise a device without it is an error.
    pub register: bool,
}

/// What a fence did on one device.
#[derive(Debug, Clone, Serialize)]
pub struct FenceReport {
    /// The device.
    pub device: String,
    /// The victim's key was registered when the fence began.
    pub victim_was_registered: bool,
    /// Paths that sysfs did not call usable when the fence began (offline,
    /// ...): tried last, and named so the lost path is seen.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unusable_paths: Vec<String>,
    /// Every command sent.
    pub steps: Vec<Step>,
    /// The victim's key is no longer registered.
    pub victim_gone: bool,
    /// The reservation afterwards.
    pub reservation: Option<Holder>,
    /// Victim gone and a reservation exists.
    pub complete: bool,
    /// The error that stopped the work on this device, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// True when a command that failed this way may still have run on the
/// logical unit: it left this host (it timed out, or the transport or the
/// OS failed it on the way back). Only a device that could not be opened
/// certainly saw nothing.
fn may_have_run(e: &ScsiError) -> bool {
    paths::is_path_failure(e) && !matches!(e, ScsiError::Open { .. })
}

/// Sends the preempt of `victim` through the paths of `dev` in turn, and
/// records every attempt in `steps`:
///
/// - A RESERVATION CONFLICT on a path while `own` is registered on the
///   device (`own_present`) means that path's nexus lacks the key (an
///   iSCSI re-login gives a new I_T nexus, fence-agents 517/529/558): the
///   nexus is registered again (with the unit's APTPL) and the preempt is
///   sent once more through it. A node whose key is gone everywhere never
///   gets here (it may have been fenced itself).
/// - A path failure after which the command may have run (timeout,
///   transport or OS error) is followed by reading the keys back (through
///   that path if it still answers, else another): if the victim is gone,
///   the preempt took effect and is not sent again; only otherwise does it
///   go through the next path.
pub(crate) fn preempt_victim<O: Opener>(
    opener: &O,
    dev: &Unit,
    own: Key,
    victim: Key,
    mode: PreemptMode,
    own_present: bool,
    steps: &mut Vec<Step>,
) -> Result<(), ScsiError> {
    let action = |r: &Result<PreemptMode, ScsiError>| match r {
        Ok(used) if *used != mode => "preempt (preempt-and-abort not supported)",
        Ok(used) => used.name(),
        Err(_) => mode.name(),
    };
    let order = dev.read_order();
    let mut last = None;
    for p in &order {
        let mut r = on_path(opener, p, |d| mode.send(d, own, victim));
        steps.push(Step::new(p, action(&r), &r));
        if own_present && matches!(&r, Err(e) if e.is_reservation_conflict()) {
            let rr = on_path(opener, p, |d| {
                let aptpl = unit_aptpl(d)?;
                d.register_and_ignore(own, aptpl)
            });
            steps.push(Step::new(
                p,
                "register-and-ignore (repair: this nexus lacked the key)",
                &rr,
            ));
            if rr.is_ok() {
                r = on_path(opener, p, |d| mode.send(d, own, victim));
                steps.push(Step::new(p, action(&r), &r));
            }
        }
        match r {
            Ok(_) => return Ok(()),
            Err(e) if may_have_run(&e) => {
                // Read back (through this path if it still answers, else
                // the next) before anything is resent.
                let (k, q) = one_path(opener, dev, |d| d.read_keys());
                let gone = k.as_ref().map(|k| !k.keys.contains(&victim));
                steps.push(Step {
                    path: q.display().to_string(),
                    action: match gone {
                        Ok(true) => "read-keys after the failure: the preempt took effect".into(),
                        Ok(false) => {
                            "read-keys after the failure: the victim is still registered".into()
                        }
                        Err(_) => "read-keys after the failure".into(),
                    },
                    ok: k.is_ok(),
                    error: k.as_ref().err().map(ToString::to_string),
                    status: k.as_ref().err().map(ScsiError::exit_code),
                });
                match gone {
                    Ok(true) => return Ok(()),
                    Ok(false) => last = Some(e),
                    // Nothing could be read: resending blindly could run
                    // the preempt twice; stop here.
                    Err(_) => return Err(e),
                }
            }
            Err(e) if paths::is_path_failure(&e) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| ScsiError::Open {
        device: dev.name.clone(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "no paths"),
    }))
}

/// Fence `victim` on one device from the node holding `own`.
pub fn fence_device<O: Opener>(
    opener: &O,
    dev: &Unit,
    own: Key,
    victim: Key,
    how: FenceHow,
) -> FenceReport {
    let mode = how.mode;
    let mut rep = FenceReport {
        device: dev.name.clone(),
        victim_was_registered: false,
        unusable_paths: dev
            .unusable
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        steps: Vec::new(),
        victim_gone: false,
        reservation: None,
        complete: false,
        error: None,
    };
    let keys = match one_path(opener, dev, |d| d.read_keys()).0 {
        Ok(k) => k.keys,
        Err(e) => {
            rep.error = Some(e.to_string());
            return rep;
        }
    };
    rep.victim_was_registered = keys.contains(&victim);
    if !keys.contains(&own) {
        if !how.register {
            // A node whose key is gone may itself have been fenced; it
            // must not register again and fence back.
            rep.error = Some(format!(
                "{}: this node's key {own} is not registered (it may have been fenced); \
                 not fencing without --register",
                dev.name
            ));
            return rep;
        }
        // fence_scsi registers the survivor first, here with the unit's
        // APTPL.
        let aptpl = aptpl_for(opener, dev, false);
        let paths: Vec<&Path> = dev.read_order();
        let steps = par_map(&paths, |p| {
            let r = on_path(opener, p, |d| d.register_and_ignore(own, aptpl));
            Step::new(p, "register-and-ignore", &r)
        });
        rep.steps.extend(steps);
    }
    if rep.victim_was_registered {
        if let Err(e) = preempt_victim(
            opener,
            dev,
            own,
            victim,
            mode,
            keys.contains(&own),
            &mut rep.steps,
        ) {
            rep.error = Some(e.to_string());
        }
    }
    match one_path(opener, dev, |d| d.read_keys()).0 {
        Ok(k) => rep.victim_gone = !k.keys.contains(&victim),
        Err(e) => rep.error = rep.error.take().or(Some(e.to_string())),
    }
    let (held, p) = one_path(opener, dev, holder);
    match held {
        Ok(Some(h)) => rep.reservation = Some(h),
        Ok(None) if rep.victim_gone => {
            let r = on_path(opener, &p, |d| d.reserve(own, FENCE_TYPE));
            rep.steps.push(Step::new(&p, "reserve", &r));
            rep.reservation = one_path(opener, dev, holder).0.ok().flatten();
        }
        Ok(None) => {}
        Err(e) => rep.error = rep.error.take().or(Some(e.to_string())),
    }
    rep.complete = rep.victim_gone && rep.reservation.is_some();
    rep
}

/// The result of a fence over all devices.
#[derive(Debug, Clone, Serialize)]
pub struct FenceResult {
    /// The survivor's key.
    pub own_key: Key,
    /// The victim's key.
    pub victim_key: Key,
    /// The method.
    pub mode: PreemptMode,
    /// One report per device, in the order given.
    pub devices: Vec<FenceReport>,
    /// The victim is gone from every device and each has a reservation.
    pub complete: bool,
}

/// Why a fence was not attempted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FenceRefused {
    /// The victim's key is this node's key.
    #[error("refusing to fence this node: the victim's key {0} is this node's key")]
    SelfFence(Key),
    /// Key 0 means "no key".
    #[error("key 0 cannot be fenced or used to fence")]
    ZeroKey,
    /// No devices.
    #[error("no devices to fence on")]
    NoDevices,
}

/// Fence `victim` on every device in parallel.
pub fn fence<O: Opener>(
    opener: &O,
    devs: &[Unit],
    own: Key,
    victim: Key,
    how: FenceHow,
) -> Result<FenceResult, FenceRefused> {
    if own == victim {
        return Err(FenceRefused::SelfFence(own));
    }
    if own.0 == 0 || victim.0 == 0 {
        return Err(FenceRefused::ZeroKey);
    }
    if devs.is_empty() {
        return Err(FenceRefused::NoDevices);
    }
    let devices = par_map(devs, |d| fence_device(opener, d, own, victim, how));
    let complete = devices.iter().all(|d| d.complete);
    Ok(FenceResult {
        own_key: own,
        victim_key: victim,
        mode: how.mode,
        devices,
        complete,
    })
}

/// What one device says about its registrations.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceStatus {
    /// The device.
    pub device: String,
    /// Its paths.
    pub paths: Vec<String>,
    /// The PR generation.
    pub generation: Option<u32>,
    /// The keys as READ KEYS lists them (one per registered I_T nexus).
    pub keys: Vec<Key>,
    /// The reservation.
    pub reservation: Option<Holder>,
    /// Paths of this device on which `own` is registered (true) or not
    /// (false), when probed; see [`probe_path`].
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub probed: BTreeMap<String, bool>,
    /// The error reading it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl DeviceStatus {
    /// How many nexuses hold each key.
    pub fn key_counts(&self) -> BTreeMap<Key, usize> {
        let mut m = BTreeMap::new();
        for k in &self.keys {
            *m.entry(*k).or_default() += 1;
        }
        m
    }
}

/// Whether `own` is registered through this path: REGISTER with `own` as
/// both the old and the new key succeeds only for a nexus registered with
/// `own`, and changes nothing else (it does advance the PR generation). It
/// carries the unit's APTPL ([`unit_aptpl`]), which it would otherwise set.
pub fn probe_path<T: Transport>(d: &Device<T>, own: Key) -> Result<bool, ScsiError> {
    let aptpl = unit_aptpl(d)?;
    match d.register(own, own, aptpl) {
        Ok(()) => Ok(true),
        Err(ScsiError::ReservationConflict { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads keys and reservation of one device; with `probe`, also which
/// paths hold that key.
pub fn status_device<O: Opener>(opener: &O, dev: &Unit, probe: Option<Key>) -> DeviceStatus {
    let mut st = DeviceStatus {
        device: dev.name.clone(),
        paths: dev.paths.iter().map(|p| p.display().to_string()).collect(),
        generation: None,
        keys: Vec::new(),
        reservation: None,
        probed: BTreeMap::new(),
        error: None,
    };
    match one_path(opener, dev, |d| Ok((d.read_keys()?, holder(d)?))).0 {
        Ok((k, h)) => {
            st.generation = Some(k.generation);
            st.keys = k.keys;
            st.reservation = h;
        }
        Err(e) => st.error = Some(e.to_string()),
    }
    if let Some(own) = probe {
        for p in &dev.paths {
            if let Ok(b) = on_path(opener, p, |d| probe_path(d, own)) {
                st.probed.insert(p.display().to_string(), b);
            }
        }
    }
    st
}

/// Status of every device, in parallel.
pub fn status<O: Opener>(opener: &O, devs: &[Unit], probe: Option<Key>) -> Vec<DeviceStatus> {
    par_map(devs, |d| status_device(opener, d, probe))
}

/// A node as seen across devices.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NodeView {
    /// Node name.
    pub name: String,
    /// Its key.
    pub key: Key,
    /// Devices on which it is registered.
    pub registered_on: Vec<String>,
    /// Devices on which it is not.
    pub missing_on: Vec<String>,
    /// Devices holding its key through fewer nexuses than this host has
    /// paths to them (a path added after unfence, or one that failed).
    pub short_paths: Vec<String>,
}

/// A finding on one device.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KeyFinding {
    /// The device.
    pub device: String,
    /// The key.
    pub key: Key,
    /// How many nexuses hold it.
    pub count: usize,
}

/// Registrations mapped to nodes.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterView {
    /// Each configured node.
    pub nodes: Vec<NodeView>,
    /// Keys that belong to no configured node.
    pub unknown_keys: Vec<KeyFinding>,
    /// Keys held through more nexuses than this host has paths to the
    /// device (fence-agents 631): the same key registered twice.
    pub duplicate_keys: Vec<KeyFinding>,
    /// The reservation holder per device, with the node name if known.
    pub holders: Vec<DeviceHolder>,
}

/// Who holds the reservation of one device.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceHolder {
    /// The device as given.
    pub device: String,
    /// The reservation (holder's key, type, scope), if there is one.
    pub holder: Option<Holder>,
    /// The configured node whose key holds it, if known.
    pub node: Option<String>,
}

/// Maps device statuses to nodes.
pub fn cluster_view(nodes: &[(String, Key)], devs: &[DeviceStatus]) -> ClusterView {
    let mut view = ClusterView {
        nodes: Vec::new(),
        unknown_keys: Vec::new(),
        duplicate_keys: Vec::new(),
        holders: Vec::new(),
    };
    for (name, key) in nodes {
        let mut n = NodeView {
            name: name.clone(),
            key: *key,
            registered_on: Vec::new(),
            missing_on: Vec::new(),
            short_paths: Vec::new(),
        };
        for d in devs.iter().filter(|d| d.error.is_none()) {
            let c = d.keys.iter().filter(|k| *k == key).count();
            if c == 0 {
                n.missing_on.push(d.device.clone());
            } else {
                n.registered_on.push(d.device.clone());
                if c < d.paths.len() {
                    n.short_paths.push(d.device.clone());
                }
            }
        }
        view.nodes.push(n);
    }
    for d in devs {
        for (k, c) in d.key_counts() {
            if !nodes.iter().any(|(_, nk)| *nk == k) {
                view.unknown_keys.push(KeyFinding {
                    device: d.device.clone(),
                    key: k,
                    count: c,
                });
            }
            if c > d.paths.len() {
                view.duplicate_keys.push(KeyFinding {
                    device: d.device.clone(),
                    key: k,
                    count: c,
                });
            }
        }
        let who = d.reservation.as_ref().and_then(|h| {
            nodes
                .iter()
                .find(|(_, k)| *k == h.key)
                .map(|(n, _)| n.clone())
        });
        view.holders.push(DeviceHolder {
            device: d.device.clone(),
            holder: d.reservation.clone(),
            node: who,
        });
    }
    view
}

/// What unfence records for `check` and for `fence` (the survivor's key).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    /// The node's name, if known.
    #[serde(default)]
    pub node: Option<String>,
    /// The node's key, as `0x...`.
    pub key: String,
    /// The devices it was registered on, as given.
    pub devices: Vec<String>,
}

/// A state file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Its contents are not a state file.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// It could not be written (creating the directory, the temporary
    /// file, writing, fsync, rename).
    #[error("{path}: {what}: {source}")]
    Write {
        /// The file or directory acted on.
        path: String,
        /// The step that failed.
        what: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The key in it is not a key.
    #[error("state file key {key:?}: {detail}")]
    Key {
        /// The text.
        key: String,
        /// Why.
        detail: String,
    },
}

/// Writes `bytes` to `path` atomically and durably: into a new file with a
/// unique name in the same directory (created exclusively, so nothing at
/// that name is followed or overwritten), fsync of the file, rename over
/// `path`, fsync of the directory. A crash leaves the old file or the new
/// one, never a mix, and a temporary file at most.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    use std::io::Write;
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let err = |p: &Path, what: &'static str| {
        let path = p.display().to_string();
        move |source| StateError::Write { path, what, source }
    };
    let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d.to_path_buf(),
        None => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(err(&dir, "create directory"))?;
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let (tmp, mut f) = loop {
        let tmp = dir.join(format!(
            ".{base}.{}.{}.tmp",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(err(&tmp, "create temporary file")(e)),
        }
    };
    let r = (|| {
        f.write_all(bytes).map_err(err(&tmp, "write"))?;
        f.sync_all().map_err(err(&tmp, "fsync"))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(err(path, "rename"))?;
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(err(&dir, "fsync directory"))
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

impl State {
    /// The key.
    pub fn key(&self) -> Result<Key, StateError> {
        self.key.parse::<Key>().map_err(|e| StateError::Key {
            key: self.key.clone(),
            detail: e.to_string(),
        })
    }

    /// Reads a state file.
    pub fn load(path: &Path) -> Result<State, StateError> {
        let text = std::fs::read_to_string(path).map_err(|source| StateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| StateError::Parse {
            path: path.display().to_string(),
            source,
        })
    }

    /// Writes a state file (creating its directory) atomically and
    /// durably ([`write_atomic`]).
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let text = serde_json::to_string_pretty(self).map_err(|source| StateError::Parse {
            path: path.display().to_string(),
            source,
        })? + "\n";
        write_atomic(path, text.as_bytes())
    }
}

/// The watchdog check: on which devices `key` is registered.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The key checked.
    pub key: Key,
    /// Devices listing the key.
    pub registered_on: Vec<String>,
    /// Devices that could not be read, with the error.
    pub errors: Vec<DeviceError>,
    /// How many devices were read.
    pub read: usize,
}

/// A device that could not be read, and why.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceError {
    /// The device as given.
    pub device: String,
    /// The error message.
    pub error: String,
}

/// What the watchdog check concludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The key is registered on at least one device: this node may write.
    Registered,
    /// At least one device was read and none lists the key: this node has
    /// been fenced.
    KeyGone,
    /// No device could be read (or there were none): nothing is known.
    Unreadable,
}

impl CheckResult {
    /// fence_scsi_check's verdict: registered on at least one device.
    pub fn registered(&self) -> bool {
        !self.registered_on.is_empty()
    }

    /// The verdict: a device that vanished or cannot be read never counts
    /// against the node while another lists its key, and "key gone" is
    /// told apart from "nothing could be read".
    pub fn verdict(&self) -> Verdict {
        if self.registered() {
            Verdict::Registered
        } else if self.read > 0 {
            Verdict::KeyGone
        } else {
            Verdict::Unreadable
        }
    }
}

/// The pause between the watchdog check's tries, from seconds: finite and
/// between 0 and 3600.
pub fn retry_sleep(secs: f64) -> Result<std::time::Duration, RetrySleepError> {
    if secs.is_finite() && (0.0..=3600.0).contains(&secs) {
        Ok(std::time::Duration::from_secs_f64(secs))
    } else {
        Err(RetrySleepError(secs))
    }
}

/// A pause between the watchdog check's tries that is not a number of
/// seconds from 0 to 3600.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("--retry-sleep must be between 0 and 3600 seconds, not {0}")]
pub struct RetrySleepError(pub f64);

/// The watchdog check with retries: reads again, up to `retries` more
/// times `pause` apart (through `sleep`), until the key is found.
pub fn watch<O: Opener>(
    opener: &O,
    devs: &[Unit],
    key: Key,
    retries: u32,
    pause: std::time::Duration,
    sleep: &dyn Fn(std::time::Duration),
) -> CheckResult {
    let mut r = check(opener, devs, key);
    for _ in 0..retries {
        if r.registered() {
            break;
        }
        sleep(pause);
        r = check(opener, devs, key);
    }
    r
}

/// Whether `check --hard-reboot` reboots on this verdict: on "key gone",
/// and on "nothing could be read" only when asked (`unreadable`).
pub fn reboot_on(v: Verdict, unreadable: bool) -> bool {
    match v {
        Verdict::Registered => false,
        Verdict::KeyGone => true,
        Verdict::Unreadable => unreadable,
    }
}

/// Reads the keys of each device (in parallel) and reports where `key` is.
pub fn check<O: Opener>(opener: &O, devs: &[Unit], key: Key) -> CheckResult {
    let rs = par_map(devs, |d| one_path(opener, d, |x| x.read_keys()).0);
    let mut out = CheckResult {
        key,
        registered_on: Vec::new(),
        errors: Vec::new(),
        read: 0,
    };
    for (d, r) in devs.iter().zip(rs) {
        if r.is_ok() {
            out.read += 1;
        }
        match r {
            Ok(k) if k.keys.contains(&key) => out.registered_on.push(d.name.clone()),
            Ok(_) => {}
            Err(e) => out.errors.push(DeviceError {
                device: d.name.clone(),
                error: e.to_string(),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fence::sim::{lu, SimOpener};

    fn map(name: &str, paths: &[&str]) -> Unit {
        Unit {
            name: name.into(),
            paths: paths.iter().map(PathBuf::from).collect(),
            unusable: Vec::new(),
            multipath: paths.len() > 1,
        }
    }

    const A: Key = Key(0x6c9d_0001);
    const B: Key = Key(0x6c9d_0002);
    const PREEMPT: FenceHow = FenceHow {
        mode: PreemptMode::Preempt,
        register: false,
    };
    const PA: FenceHow = FenceHow {
        mode: PreemptMode::PreemptAndAbort,
        register: false,
    };

    /// One LU, node A through two paths, node B through two others.
    fn bed() -> (
        SimOpener,
        std::sync::Arc<std::sync::Mutex<crate::fence::sim::Lu>>,
    ) {
        let l = lu();
        let mut o = SimOpener::default();
        o.add("/a/sdb", &l, "a1");
        o.add("/a/sdc", &l, "a2");
        o.add("/b/sdb", &l, "b1");
        o.add("/b/sdc", &l, "b2");
        (o, l)
    }

    #[test]
    fn unfence_registers_every_path_and_reserves_once() {
        let (o, l) = bed();
        let da = map("mpatha", &["/a/sdb", "/a/sdc"]);
        let r = unfence_device(&o, &da, A, false);
        assert!(r.complete, "{r:?}");
        assert!(r.reserved && !r.was_registered);
        assert_eq!(r.registrations, 2);
        let db = map("mpatha", &["/b/sdb", "/b/sdc"]);
        let r = unfence_device(&o, &db, B, false);
        assert!(r.complete && !r.reserved, "{r:?}");
        let lu = l.lock().unwrap();
        assert_eq!(lu.keys(), vec![A, A, B, B]);
        assert_eq!(lu.res.as_ref().unwrap().1, A);
        assert_eq!(lu.res.as_ref().unwrap().2, 5);
    }

    #[test]
    fn rejoin_self_preempts_through_the_first_path_only() {
        let (o, l) = bed();
        // A stale registration of A's key from a nexus that is gone: the
        // same iSCSI initiator before a re-login (another ISID).
        {
            let mut u = l.lock().unwrap();
            for (n, isid) in [("a1", "1"), ("a2", "2"), ("stale", "0")] {
                u.ports.insert(
                    n.into(),
                    TransportId::Iscsi {
                        name: "iqn.2026-01.test:host-a".into(),
                        isid: Some(isid.into()),
                    },
                );
            }
            u.regs.push(("stale".into(), A));
        }
        let da = map("mpatha", &["/a/sdb", "/a/sdc"]);
        let r = unfence_device(&o, &da, A, false);
        assert!(r.was_registered && r.complete, "{r:?}");
        let lu = l.lock().unwrap();
        // The stale nexus is gone; both live paths hold the key.
        assert!(lu.regs.iter().all(|r| r.0 != "stale"), "{:?}", lu.regs);
        assert_eq!(lu.keys(), vec![A, A]);
        let preempts: Vec<_> = lu.log.iter().filter(|e| e.1 == 4).collect();
        assert_eq!(preempts.len(), 1);
        assert_eq!(preempts[0].0, "a1");
        assert_eq!((preempts[0].2, preempts[0].3), (A, A));
    }

    #[test]
    fn fence_falls_back_to_preempt_where_preempt_and_abort_is_rejected() {
        let (o, l) = bed();
        l.lock().unwrap().no_preempt_abort = true;
        let da = map("mpatha", &["/a/sdb", "/a/sdc"]);
        let db = map("mpatha", &["/b/sdb", "/b/sdc"]);
        unfence_device(&o, &db, B, false);
        unfence_device(&o, &da, A, false);
        let res = fence(&o, std::slice::from_ref(&da), A, B, PA).unwrap();
        assert!(res.complete, "{res:?}");
        let actions: Vec<&str> = res.devices[0]
            .steps
            .iter()
            .map(|s| s.action.as_str())
            .collect();
        assert!(
            actions.contains(&"preempt (preempt-and-abort not supported)"),
            "{actions:?}"
        );
        assert_eq!(l.lock().unwrap().keys(), vec![A, A]);
    }

    #[test]
    fn fence_removes_victim_and_refuses_self() {
        let (o, l) = bed();
        let da = map("mpatha", &["/a/sdb", "/a/sdc"]);
        let db = map("mpatha", &["/b/sdb", "/b/sdc"]);
        unfence_device(&o, &db, B, false);
        unfence_device(&o, &da, A, false);
        // B holds the reservation; A fences B and takes it.
        let res = fence(&o, std::slice::from_ref(&da), A, B, PA).unwrap();
        assert!(res.complete, "{res:?}");
        let d = &res.devices[0];
        assert!(d.victim_was_registered && d.victim_gone);
        assert_eq!(d.reservation.as_ref().unwrap().key, A);
        // Exactly one preempt-and-abort, through one path.
        assert_eq!(
            d.steps
                .iter()
                .filter(|s| s.action == "preempt-and-abort")
                .count(),
            1
        );
        assert_eq!(l.lock().unwrap().keys(), vec![A, A]);
        // B's writes now conflict and B's check fails; A's passes.
        assert!(!check(&o, std::slice::from_ref(&db), B).registered());
        assert!(check(&o, std::slice::from_ref(&da), A).registered());
        assert_eq!(
            fence(&o, std::slice::from_ref(&da), A, A, PREEMPT).unwrap_err(),
            FenceRefused::SelfFence(A)
        );
        // Fencing again finds nothing to do and is still complete.
        let again = fence(&o, &[da], A, B, PREEMPT).unwrap();
        assert!(again.complete && !again.devices[0].victim_was_registered);
    }

    #[test]
    fn fenced_node_cannot_fence_back() {
        let (o, l) = bed();
        let da = map("m", &["/a/sdb"]);
        let db = map("m", &["/b/sdb"]);
        unfence_device(&o, &da, A, false);
        unfence_device(&o, &db, B, false);
        assert!(fence(&o, &[da], A, B, PREEMPT).unwrap().complete);
        let r = fence_device(&o, &db, B, A, PREEMPT);
        assert!(!r.complete && r.steps.is_empty());
        assert!(r.error.unwrap().contains("not registered"));
        assert_eq!(l.lock().unwrap().keys(), vec![A]);
        // With register (fence_scsi's behaviour) it would register first.
        let r = fence_device(
            &o,
            &db,
            B,
            A,
            FenceHow {
                register: true,
                ..PREEMPT
            },
        );
        assert!(r.steps.iter().any(|s| s.action == "register-and-ignore"));
    }

    #[test]
    fn a_dead_path_is_skipped_for_one_path_commands_and_reported_for_registration() {
        let (o, l) = bed();
        l.lock().unwrap().dead.push("a1".into());
        let da = map("mpatha", &["/a/sdb", "/a/sdc"]);
        let r = unfence_device(&o, &da, A, false);
        assert!(!r.complete);
        assert_eq!(r.registrations, 1);
        let bad: Vec<_> = r.steps.iter().filter(|s| !s.ok).collect();
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].path, "/a/sdb");
        assert!(bad[0].error.as_deref().unwrap().contains("/a/sdb"));
        assert!(check(&o, &[da], A).registered());
    }

    #[test]
    fn status_maps_keys_to_nodes() {
        let (o, l) = bed();
        let da = map("mpatha", &["/a/sdb", "/a/sdc"]);
        unfence_device(&o, &da, A, false);
        l.lock().unwrap().regs.push(("x".into(), Key(0x99)));
        l.lock().unwrap().regs.push(("y".into(), A));
        let st = status(&o, std::slice::from_ref(&da), Some(A));
        assert_eq!(st[0].probed.values().filter(|v| **v).count(), 2);
        let v = cluster_view(&[("a".into(), A), ("b".into(), B)], &st);
        assert_eq!(v.nodes[0].registered_on, vec!["mpatha"]);
        assert_eq!(v.nodes[1].missing_on, vec!["mpatha"]);
        assert_eq!(v.unknown_keys[0].key, Key(0x99));
        assert_eq!(v.duplicate_keys[0].key, A);
        assert_eq!(v.holders[0].node.as_deref(), Some("a"));
        // A path whose registration is missing is found by the probe.
        l.lock().unwrap().regs.retain(|r| r.0 != "a2");
        let st = status(&o, &[da], Some(A));
        assert_eq!(st[0].probed.get("/a/sdc"), Some(&false));
    }

    #[test]
    fn state_file_round_trip() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("sub/fencekit.state");
        let s = State {
            node: Some("node1".into()),
            key: A.to_string(),
            devices: vec!["/dev/sdb".into()],
        };
        s.save(&p).unwrap();
        let r = State::load(&p).unwrap();
        assert_eq!(r, s);
        assert_eq!(r.key().unwrap(), A);
        assert!(matches!(
            State::load(&t.path().join("none")),
            Err(StateError::Read { .. })
        ));
        std::fs::write(&p, "{").unwrap();
        assert!(matches!(State::load(&p), Err(StateError::Parse { .. })));
        let bad = State {
            key: "0xzz".into(),
            ..s
        };
        assert!(matches!(bad.key(), Err(StateError::Key { .. })));
    }

    #[test]
    fn aptpl_survives_status_probe_and_fence() {
        let (o, l) = bed();
        let da = map("mpatha", &["/a/sdb", "/a/sdc"]);
        let db = map("mpatha", &["/b/sdb", "/b/sdc"]);
        unfence_device(&o, &db, B, true);
        unfence_device(&o, &da, A, true);
        assert!(l.lock().unwrap().aptpl);
        status(&o, std::slice::from_ref(&da), Some(A));
        assert!(l.lock().unwrap().aptpl, "status --probe reset PTPL_A");
        // The survivor's own registration (with --register) keeps APTPL.
        l.lock().unwrap().regs.retain(|r| r.1 != A);
        let da1 = map("mpatha", &["/a/sdc"]);
        let how = FenceHow {
            register: true,
            ..PREEMPT
        };
        let r = fence(&o, std::slice::from_ref(&da1), A, B, how).unwrap();
        assert!(r.complete, "{r:?}");
        assert!(l.lock().unwrap().aptpl, "fence reset PTPL_A");
    }

    #[test]
    fn fence_repairs_a_nexus_that_lost_the_key_before_preempting() {
        // A's key is on the device through a1; a2 re-logged in and lost
        // its registration. Fencing through a2 registers a2 again first.
        let (o, l) = bed();
        let da = map("mpatha", &["/a/sdb", "/a/sdc"]);
        let db = map("mpatha", &["/b/sdb", "/b/sdc"]);
        unfence_device(&o, &db, B, false);
        unfence_device(&o, &da, A, false);
        l.lock().unwrap().regs.retain(|r| r.0 != "a2");
        let r = fence_device(&o, &map("mpatha", &["/a/sdc"]), A, B, PREEMPT);
        assert!(r.complete, "{r:?}");
        assert!(
            r.steps
                .iter()
                .any(|s| s.action.starts_with("register-and-ignore") && s.ok),
            "{r:?}"
        );
        let mut keys = l.lock().unwrap().keys();
        keys.sort();
        assert_eq!(keys, vec![A, A]);
        // A node whose key is gone everywhere still refuses.
        l.lock().unwrap().regs.clear();
        let r = fence_device(&o, &map("mpatha", &["/a/sdc"]), A, B, PREEMPT);
        assert!(!r.complete && r.steps.is_empty(), "{r:?}");
    }

    #[test]
    fn preempt_timeout_reads_keys_back_before_resending() {
        let (o, l) = bed();
        let da = map("mpatha", &["/a/sdb", "/a/sdc"]);
        let db = map("mpatha", &["/b/sdb", "/b/sdc"]);
        unfence_device(&o, &db, B, false);
        unfence_device(&o, &da, A, false);
        // The preempt through a1 runs, but its completion is lost.
        l.lock().unwrap().lose_completion.push(("a1".into(), 4));
        l.lock().unwrap().log.clear();
        let r = fence_device(&o, &da, A, B, PREEMPT);
        assert!(r.complete && r.error.is_none(), "{r:#?}");
        let sent: Vec<_> = l
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|e| e.1 == 4)
            .cloned()
            .collect();
        assert_eq!(sent.len(), 1, "the preempt was sent twice: {sent:?}");
        assert!(
            r.steps.iter().any(|s| s.action.contains("took effect")),
            "{:#?}",
            r.steps
        );
        // When the lost command did not run (the path is dead), the keys
        // read back show the victim, and the next path sends it.
        let (o, l) = bed();
        unfence_device(&o, &db, B, false);
        unfence_device(&o, &da, A, false);
        l.lock().unwrap().dead.push("a1".into());
        let r = fence_device(&o, &da, A, B, PREEMPT);
        assert!(r.complete, "{r:#?}");
        assert!(!l.lock().unwrap().keys().contains(&B));
    }

    #[test]
    fn check_fails_safe_and_tells_key_gone_from_unreadable() {
        let (o, l) = bed();
        let l2 = lu();
        let mut o = o;
        o.add("/a/sdd", &l2, "a1");
        let d1 = map("m1", &["/a/sdb"]);
        let d2 = map("m2", &["/a/sdd"]);
        unfence_device(&o, &d1, A, false);
        unfence_device(&o, &d2, A, false);
        let both = [d1.clone(), d2.clone(), map("gone", &["/nonexistent"])];
        // A vanished device does not fail the check.
        assert_eq!(check(&o, &both, A).verdict(), Verdict::Registered);
        // One readable device lists the key, the other cannot be read.
        l.lock().unwrap().dead.push("a1".into());
        assert_eq!(check(&o, &both, A).verdict(), Verdict::Registered);
        // Key gone where it could be read.
        l2.lock().unwrap().regs.clear();
        let r = check(&o, &both, A);
        assert_eq!(r.verdict(), Verdict::KeyGone, "{r:?}");
        assert!(reboot_on(r.verdict(), false));
        // Nothing readable.
        l2.lock().unwrap().dead.push("a1".into());
        let r = check(&o, &both, A);
        assert_eq!(r.verdict(), Verdict::Unreadable, "{r:?}");
        assert!(!reboot_on(r.verdict(), false) && reboot_on(r.verdict(), true));
        assert_eq!(check(&o, &[], A).verdict(), Verdict::Unreadable);
        // Retries sleep between tries and stop once the key is found.
        let slept = std::sync::Mutex::new(0);
        let pause = retry_sleep(0.5).unwrap();
        let r = watch(&o, &both, A, 3, pause, &|d| {
            assert_eq!(d, pause);
            *slept.lock().unwrap() += 1;
        });
        assert_eq!(
            (r.verdict(), *slept.lock().unwrap()),
            (Verdict::Unreadable, 3)
        );
        l.lock().unwrap().dead.clear();
        *slept.lock().unwrap() = 0;
        let r = watch(&o, &both, A, 3, pause, &|_| *slept.lock().unwrap() += 1);
        assert_eq!(
            (r.verdict(), *slept.lock().unwrap()),
            (Verdict::Registered, 0)
        );
        for bad in [f64::NAN, -1.0, f64::INFINITY, 3601.0] {
            assert!(retry_sleep(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unfence_refuses_to_preempt_a_key_another_host_holds() {
        // Host X was configured with A's key by mistake and holds it
        // through its own port.
        let (mut o, l) = bed();
        o.add("/x/sdb", &l, "x1");
        let dx = map("mpatha", &["/x/sdb"]);
        unfence_device(&o, &dx, A, false);
        let da = map("mpatha", &["/a/sdb", "/a/sdc"]);
        l.lock().unwrap().log.clear();
        let r = unfence_device(&o, &da, A, false);
        assert!(!r.complete, "{r:?}");
        let why = r.refused.as_deref().unwrap_or_default();
        let port = crate::fence::sim::Lu::port_of("x1").to_string();
        assert!(why.contains(&port), "{why:?} does not name {port}");
        let u = l.lock().unwrap();
        assert!(u.log.is_empty(), "PR OUT sent: {:?}", u.log);
        assert_eq!(u.keys(), vec![A]);
        assert_eq!(u.regs[0].0, "x1");
        drop(u);
        // Without READ FULL STATUS the check cannot be made, and says so.
        let (mut o, l) = bed();
        o.add("/x/sdb", &l, "x1");
        unfence_device(&o, &dx, A, false);
        l.lock().unwrap().no_full_status = true;
        let r = unfence_device(&o, &da, A, false);
        assert!(r.refused.is_none());
        assert!(
            r.port_check
                .as_deref()
                .unwrap_or_default()
                .contains("could not be checked"),
            "{r:?}"
        );
    }

    #[test]
    fn state_file_is_written_through_a_unique_temporary_in_its_directory() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("fencekit.state");
        // Whatever sits at a predictable temporary name (here a link to
        // someone else's file) is neither written through nor in the way.
        let victim = t.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, p.with_extension("tmp")).unwrap();
        let s = State {
            node: Some("node1".into()),
            key: A.to_string(),
            devices: vec!["/dev/sdb".into()],
        };
        s.save(&p).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(State::load(&p).unwrap(), s);
        // Nothing else is left in the directory.
        let mut names: Vec<String> = std::fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, vec!["fencekit.state", "fencekit.tmp", "victim"]);
    }
}
