//! prkeys: read and change SCSI-3 persistent reservation keys on one or
//! many devices, on every path of a multipath map, with JSON for scripts;
//! and, when its first argument is an option or it is called as
//! `sg_persist`, a drop-in replacement for sg_persist.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use fencekit::paths::Target;
use fencekit::paths::{self, DeviceOutcome, Options, PathReport, Scope};
use fencekit::scsi::device::Device;
use fencekit::scsi::error::{IllegalReason, ScsiError};
use fencekit::scsi::pr::{Key, PrType, RegisterAndMove};
use fencekit::scsi::sgio::SgIo;
use fencekit::scsi::transport::RetryPolicy;
use fencekit::scsi::transport_id::parse_transport_id_args;
use fencekit::topology::Roots;
use fencekit_tools::render;
use fencekit_tools::{
    parse_key, parse_key_ascii, parse_type, print_json, resolve_exit_code, usage,
};
use serde::Serialize;

/// Read and change SCSI-3 persistent reservations.
///
/// Every command takes one or more devices (sd or sg nodes, multipath maps,
/// partitions of either) and works them in parallel, one result per
/// device. Registration commands (register, unregister) go to every path
/// of a multipath map; the others go through one usable path.
///
/// When the first argument is an option (`prkeys -k /dev/sdb`), or the
/// program is called as `sg_persist`, prkeys takes sg_persist's command
/// line and prints sg_persist's output: see prkeys(8), COMPATIBILITY.
#[derive(Parser, Debug)]
#[command(
    name = "prkeys",
    version,
    about,
    long_about,
    max_term_width = 100,
    after_help = "Exit status (sg3_utils' table, as sg_persist): 0 success; 1 syntax error; \
2 not ready; 3 medium or hardware error; 4 partial: a change reached some paths of a \
multipath map but not all; 5 illegal request; 6 unit attention; 9 invalid operation code; \
15 a multipath map without paths; 24 reservation conflict; 33 timeout; 50+N operating-system \
error N (52: no such device); 97 malformed response; 99 other. With several devices, the \
status of the first that failed. See prkeys(8), and fencekit(7) for the family's table."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Debug, Clone)]
struct Common {
    /// Print results as JSON (schema in prkeys(8)).
    #[arg(long)]
    json: bool,
    /// Per-command timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    timeout: f64,
    /// Re-send a command this many times when it returns UNIT ATTENTION
    /// (the device reporting a reset or a preempt) before reporting it.
    #[arg(long, value_name = "N", default_value_t = 1)]
    retry_ua: u32,
    /// Open devices read-only (enough for reads, and on Linux for changes).
    #[arg(long)]
    readonly: bool,
    /// Treat a multipath map as one device instead of expanding its paths.
    #[arg(long)]
    no_multipath: bool,
    /// sysfs root used to expand multipath maps.
    #[arg(long, value_name = "DIR", default_value = "/sys", hide = true)]
    sysfs_root: PathBuf,
    /// Devices: /dev/sdX, /dev/sgN, /dev/mapper/NAME, /dev/dm-N.
    #[arg(required = true, value_name = "DEVICE")]
    devices: Vec<String>,
}

#[derive(Args, Debug, Clone)]
struct KeyArg {
    /// Reservation key, hex with or without 0x (e.g. 0x1a2b0001).
    #[arg(long, short = 'k', value_parser = parse_key, required_unless_present = "key_ascii")]
    key: Option<Key>,
    /// Reservation key as 8 ASCII characters (vxfen style, e.g. VFDEED00).
    #[arg(long, value_parser = parse_key_ascii, conflicts_with = "key")]
    key_ascii: Option<Key>,
}

impl KeyArg {
    fn get(&self) -> Key {
        self.key.or(self.key_ascii).unwrap_or_default()
    }
}

#[derive(Args, Debug, Clone)]
struct TypeArg {
    /// Reservation type: we, ea, wero, earo, wear, eaar, or the SPC code
    /// (1, 3, 5, 6, 7, 8).
    #[arg(long, short = 't', value_parser = parse_type, default_value = "wero")]
    r#type: PrType,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Registered keys (READ KEYS).
    Keys(Common),
    /// The reservation held, if any (READ RESERVATION).
    Reservation(Common),
    /// Every registration with its initiator port (READ FULL STATUS).
    Status(Common),
    /// What the device supports (REPORT CAPABILITIES).
    Caps(Common),
    /// Standard INQUIRY data, unit serial number and device identification.
    Inquiry(Common),
    /// Register a key on every path (REGISTER AND IGNORE EXISTING KEY, or
    /// REGISTER when --old is given).
    Register {
        #[command(flatten)]
        key: KeyArg,
        /// The key this node holds now: send REGISTER, which fails with a
        /// reservation conflict if the device holds another key for it.
        #[arg(long, value_parser = parse_key)]
        old: Option<Key>,
        /// Persist through power loss (APTPL).
        #[arg(long)]
        aptpl: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Remove this node's key from every path (REGISTER with key 0).
    Unregister {
        #[command(flatten)]
        key: KeyArg,
        #[command(flatten)]
        common: Common,
    },
    /// Take the reservation (RESERVE).
    Reserve {
        #[command(flatten)]
        key: KeyArg,
        #[command(flatten)]
        r#type: TypeArg,
        #[command(flatten)]
        common: Common,
    },
    /// Give up the reservation (RELEASE).
    Release {
        #[command(flatten)]
        key: KeyArg,
        #[command(flatten)]
        r#type: TypeArg,
        #[command(flatten)]
        common: Common,
    },
    /// Remove every registration and the reservation (CLEAR). Destructive.
    Clear {
        #[command(flatten)]
        key: KeyArg,
        #[command(flatten)]
        common: Common,
    },
    /// Remove another node's registrations (PREEMPT, or PREEMPT AND ABORT
    /// with --abort) and take the reservation if it held it. Destructive.
    Preempt {
        #[command(flatten)]
        key: KeyArg,
        /// The key to preempt.
        #[arg(long, value_parser = parse_key, required_unless_present = "victim_ascii")]
        victim: Option<Key>,
        /// The key to preempt, as 8 ASCII characters.
        #[arg(long, value_parser = parse_key_ascii, conflicts_with = "victim")]
        victim_ascii: Option<Key>,
        /// Also abort the victim's outstanding commands (fencing).
        #[arg(long)]
        abort: bool,
        #[command(flatten)]
        r#type: TypeArg,
        #[command(flatten)]
        common: Common,
    },
    /// Move the reservation to another initiator port (REGISTER AND MOVE).
    /// Destructive.
    Move {
        #[command(flatten)]
        key: KeyArg,
        /// The key to register for the destination.
        #[arg(long, value_parser = parse_key)]
        to_key: Key,
        /// The destination initiator port, in sg_persist's --transport-id
        /// syntax (e.g. iqn.1994-05.com.example:node2,i,0x23d000000001).
        #[arg(long)]
        transport_id: String,
        /// Relative target port identifier of the destination.
        #[arg(long, value_name = "RTPI", default_value_t = 0)]
        rtpi: u16,
        /// Unregister this node after the move.
        #[arg(long)]
        unreg: bool,
        #[command(flatten)]
        r#type: TypeArg,
        #[command(flatten)]
        common: Common,
    },
    /// Replace a reservation the device lost (REPLACE LOST RESERVATION).
    ReplaceLost {
        #[command(flatten)]
        key: KeyArg,
        #[command(flatten)]
        r#type: TypeArg,
        #[command(flatten)]
        common: Common,
    },
}

fn options(c: &Common) -> Result<Options> {
    if !(c.timeout.is_finite() && c.timeout > 0.0 && c.timeout <= 3600.0) {
        return Err(usage(format!(
            "--timeout must be between 0 and 3600 seconds, not {}",
            c.timeout
        )));
    }
    Ok(Options {
        timeout: Duration::from_secs_f64(c.timeout),
        retry: RetryPolicy {
            unit_attention_retries: c.retry_ua,
        },
        readonly: c.readonly,
        multipath: !c.no_multipath,
        roots: Roots {
            sys: c.sysfs_root.clone(),
            dev: PathBuf::from("/dev"),
        },
    })
}

/// One device's result, as JSON.
#[derive(Serialize)]
struct DeviceJson<'a, T: Serialize> {
    device: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<&'a Target>,
    ok: bool,
    status: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    paths: Vec<PathReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a T>,
}

#[derive(Serialize)]
struct Report<'a, T: Serialize> {
    command: &'a str,
    devices: Vec<DeviceJson<'a, T>>,
}

/// The exit status of one device's outcome.
fn status_of<T>(o: &DeviceOutcome<T>, all: bool) -> u8 {
    match (&o.target, o.deciding_error(all)) {
        (Err(e), _) => resolve_exit_code(e),
        (Ok(_), Some(_)) if o.partial(all) => fencekit_tools::exit::sg3::PARTIAL,
        (_, Some(e)) => e.exit_code(),
        (Ok(_), None) if o.succeeded(all) => 0,
        _ => fencekit_tools::exit::sg3::OTHER,
    }
}

fn error_of<T>(o: &DeviceOutcome<T>, all: bool) -> Option<String> {
    match &o.target {
        Err(e) => Some(e.to_string()),
        Ok(_) if o.partial(all) => {
            let ok = o.paths.iter().filter(|p| p.result.is_ok()).count();
            let failed: Vec<String> = o
                .failed_paths()
                .map(|(p, e)| format!("{}: {e}", p.display()))
                .collect();
            Some(format!(
                "{}: partial: done on {ok} of {} paths; failed on {}",
                o.device,
                o.paths.len(),
                failed.join("; ")
            ))
        }
        Ok(_) => o.deciding_error(all).map(|e| match e {
            ScsiError::IllegalRequest {
                reason: IllegalReason::InvalidOpcode | IllegalReason::InvalidFieldInCdb,
                command,
                ..
            } => format!("{e} (the device does not support {command})"),
            _ => e.to_string(),
        }),
    }
}

/// Prints the outcomes (JSON or text) and returns the exit status: 0 when
/// every device succeeded, else the status of the first device that failed.
fn finish<T: Serialize>(
    command: &str,
    outcomes: &[DeviceOutcome<T>],
    all: bool,
    json: bool,
    text: impl Fn(&DeviceOutcome<T>, &T) -> String,
) -> Result<u8> {
    let statuses: Vec<u8> = outcomes.iter().map(|o| status_of(o, all)).collect();
    if json {
        let devices = outcomes
            .iter()
            .zip(&statuses)
            .map(|(o, &status)| DeviceJson {
                device: &o.device,
                target: o.target.as_ref().ok(),
                ok: status == 0,
                status,
                error: error_of(o, all),
                paths: o.paths.iter().map(PathReport::from).collect(),
                result: o.value(),
            })
            .collect();
        print_json(&Report { command, devices })?;
    } else {
        for (o, &status) in outcomes.iter().zip(&statuses) {
            if let Some(v) = o.value() {
                print!("{}", text(o, v));
            }
            // A failed path is worth its own line when the device's result
            // does not already say it: another path succeeded, or several
            // paths were tried.
            for (path, e) in o.failed_paths() {
                if status == 0 || (!all && o.paths.len() > 1) {
                    eprintln!("prkeys: {}: path {} failed: {e}", o.device, path.display());
                }
            }
            if status != 0 {
                eprintln!(
                    "prkeys: {}",
                    error_of(o, all).unwrap_or_else(|| format!("{}: failed", o.device))
                );
            }
        }
    }
    Ok(statuses.into_iter().find(|&s| s != 0).unwrap_or(0))
}

/// A read on one usable path of every device, rendered by `text`.
fn read<T, F>(command: &str, c: &Common, f: F, text: fn(&str, &T) -> String) -> Result<u8>
where
    T: Serialize + Send,
    F: Fn(&Device<SgIo>) -> Result<T, ScsiError> + Sync,
{
    let out = paths::run(&c.devices, Scope::OnePath, &options(c)?, f);
    finish(command, &out, false, c.json, |o, v| {
        text(&render::heading(o), v)
    })
}

/// A change on every device: on every path of a map for `Scope::AllPaths`
/// (registration), through one path otherwise. `what` says what was done.
fn change<F>(command: &str, c: &Common, scope: Scope, what: &str, f: F) -> Result<u8>
where
    F: Fn(&Device<SgIo>) -> Result<(), ScsiError> + Sync,
{
    let out = paths::run(&c.devices, scope, &options(c)?, f);
    finish(command, &out, scope == Scope::AllPaths, c.json, |o, _| {
        render::changed(o, what)
    })
}

fn run(cli: Cli) -> Result<u8> {
    use Cmd::*;
    use Scope::{AllPaths, OnePath};
    match cli.cmd {
        Keys(c) => read("keys", &c, |d| d.read_keys(), render::keys),
        Reservation(c) => read(
            "reservation",
            &c,
            |d| d.read_reservation(),
            render::reservation,
        ),
        Status(c) => read("status", &c, |d| d.read_full_status(), render::full_status),
        Caps(c) => read(
            "caps",
            &c,
            |d| d.report_capabilities(),
            render::capabilities,
        ),
        Inquiry(c) => read("inquiry", &c, |d| d.identity(), render::inquiry),
        Register {
            key,
            old,
            aptpl,
            common: c,
        } => {
            let new = key.get();
            change(
                "register",
                &c,
                AllPaths,
                &format!("registered key {new}"),
                |d| match old {
                    Some(old) => d.register(old, new, aptpl),
                    None => d.register_and_ignore(new, aptpl),
                },
            )
        }
        Unregister { key, common: c } => {
            let k = key.get();
            change(
                "unregister",
                &c,
                AllPaths,
                &format!("unregistered key {k}"),
                |d| d.register(k, Key(0), false),
            )
        }
        Reserve {
            key,
            r#type,
            common: c,
        } => {
            let (k, t) = (key.get(), r#type.r#type);
            change(
                "reserve",
                &c,
                OnePath,
                &format!("reserved with key {k}, type {t}"),
                |d| d.reserve(k, t),
            )
        }
        Release {
            key,
            r#type,
            common: c,
        } => {
            let (k, t) = (key.get(), r#type.r#type);
            change(
                "release",
                &c,
                OnePath,
                &format!("released reservation of key {k}"),
                |d| d.release(k, t),
            )
        }
        Clear { key, common: c } => {
            let k = key.get();
            change(
                "clear",
                &c,
                OnePath,
                "cleared every registration and the reservation",
                |d| d.clear(k),
            )
        }
        Preempt {
            key,
            victim,
            victim_ascii,
            abort,
            r#type,
            common: c,
        } => {
            let (k, t) = (key.get(), r#type.r#type);
            let v = victim.or(victim_ascii).unwrap_or_default();
            if v == Key(0) {
                return Err(usage("refusing to preempt key 0: name the victim's key (key 0 means every registrant only under an all-registrants reservation)"));
            }
            let what = if abort {
                "preempted and aborted"
            } else {
                "preempted"
            };
            change(
                "preempt",
                &c,
                OnePath,
                &format!("{what} key {v} with key {k}, type {t}"),
                |d| {
                    if abort {
                        d.preempt_and_abort(k, v, t)
                    } else {
                        d.preempt(k, v, t)
                    }
                },
            )
        }
        Move {
            key,
            to_key,
            transport_id,
            rtpi,
            unreg,
            r#type,
            common: c,
        } => {
            let mut tids = parse_transport_id_args(&transport_id)
                .map_err(|e| usage(format!("--transport-id {transport_id:?}: {e}")))?;
            if tids.len() != 1 {
                return Err(usage(format!(
                    "--transport-id must name exactly one initiator port, not {}",
                    tids.len()
                )));
            }
            let params = RegisterAndMove {
                key: key.get(),
                sa_key: to_key,
                unreg,
                aptpl: false,
                relative_target_port: rtpi,
                transport_id: tids.remove(0),
            };
            let t = r#type.r#type;
            let what = format!("moved the reservation to {transport_id} with key {to_key}");
            change("move", &c, OnePath, &what, |d| {
                d.register_and_move(&params, t)
            })
        }
        ReplaceLost {
            key,
            r#type,
            common: c,
        } => {
            let (k, t) = (key.get(), r#type.r#type);
            let what = format!("replaced the lost reservation with key {k}, type {t}");
            change("replace-lost", &c, OnePath, &what, |d| d.replace_lost(k, t))
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if fencekit_tools::sg_persist_mode::wanted(&args) {
        return ExitCode::from(fencekit_tools::sg_persist_mode::main(&args));
    }
    // Usage errors exit 1 (sg3_utils' SG_LIB_SYNTAX_ERROR), not clap's 2.
    let cli = match fencekit_tools::parse_args::<Cli>(&args) {
        Ok(c) => c,
        Err(code) => return ExitCode::from(code),
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("prkeys: {e:#}");
            ExitCode::from(fencekit_tools::sg3_exit_status(&e))
        }
    }
}
