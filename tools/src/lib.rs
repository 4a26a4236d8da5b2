//! Shared code of the fencekit programs: common flags, rendering helpers
//! and the exit-code table. No domain logic: that lives in the `fencekit`
//! library.
#![forbid(unsafe_code)]

use std::io::Write;

pub mod completion;
pub mod render;
pub mod sg_persist_mode;

use std::error::Error;

use fencekit::fence::config::ConfigError;
use fencekit::fence::key::KeyError;
use fencekit::fence::ops::{FenceRefused, RetrySleepError, StateError};
use fencekit::fence::race::RaceError;
use fencekit::fence::source::SourceError;
use fencekit::heartbeat::daemon::DaemonError;
use fencekit::heartbeat::settings::SettingsError;
use fencekit::paths::ResolveError;
use fencekit::qdisk::format::FormatError;
use fencekit::qdisk::QdiskError;
use fencekit::scsi::error::{os_error_exit_code, Category, DecodeError, ScsiError};
use fencekit::scsi::pr::{Key, PrType};
use fencekit::topology::dm_mpath::{DmParseError, DmsetupLineError};
use fencekit::topology::lvm::LvmError;
use fencekit::topology::vgs::PolicyError;
use fencekit::topology::{BuildError, LineError, TopologyError};
use fencekit::util::DeadlineError;
use fencekit::vm::hide::HideError;
use fencekit::vm::hypervisor::HypervisorError;
use fencekit::vm::rules::ClusterFileError;
use fencekit::vm::xml::XmlError;

/// The exit statuses of the fencekit programs, documented for the family
/// in fencekit(7) and for each program in its page.
///
/// fencectl (outside fence-agent mode), qdisk, pathmap and vmguest-attach
/// share the constants at this level; [`exit_status`] maps an error to them.
/// prkeys keeps sg3_utils' statuses ([`sg3`], mapped by
/// [`sg3_exit_status`]) so that scripts written for sg_persist keep
/// working. fencectl's fence-agent mode returns the fence-agent statuses,
/// which the library computes (`fencekit::fence::agent::exit`).
/// Prints the steps of a two-node fencing test (`fencectl verify --pair`,
/// `vmguest-attach verify --pr-test`), each line after `indent`, and
/// returns the exit status: 0 it can fence, 2 a step failed, 4 refused
/// (registrations exist, or a device could not be opened).
pub fn print_pair(r: &fencekit::fence::verify::PairReport, indent: &str) -> u8 {
    if let Some(e) = &r.refused {
        println!("refused: {e}");
    }
    for s in &r.steps {
        let sep = if s.detail.is_empty() { "" } else { ": " };
        let mark = if s.ok { "ok  " } else { "FAIL" };
        println!("{indent}{mark} {}{sep}{}", s.step, s.detail);
    }
    let verdict = if r.passed {
        "can fence"
    } else {
        "CANNOT FENCE"
    };
    println!("{} and {}: {verdict}", r.a, r.b);
    pair_status(r)
}

/// The exit status of a two-node fencing test (see [`print_pair`]).
pub fn pair_status(r: &fencekit::fence::verify::PairReport) -> u8 {
    match (&r.refused, r.passed) {
        (Some(_), _) => exit::REFUSED,
        (None, true) => exit::OK,
        (None, false) => exit::CONDITION_FALSE,
    }
}

pub mod exit {
    /// Done: the command did what it was asked, or the condition it checks
    /// holds.
    pub const OK: u8 = 0;
    /// Usage: the command line cannot be run (an unknown option, a missing
    /// or out-of-range value). Nothing was done.
    pub const USAGE: u8 = 1;
    /// The condition the command checks is false: a name not found,
    /// differences between two hosts, this node fenced (its key gone), a
    /// race lost, a disk that cannot fence, a path without this node's key.
    pub const CONDITION_FALSE: u8 = 2;
    /// A device or I/O error (a device that does not exist, does not answer
    /// within its deadline, or fails the command); nothing was done.
    pub const DEVICE_ERROR: u8 = 3;
    /// Refused for safety: the command would fence this node, overwrite
    /// data or registrations it found, or act through another host's
    /// initiator port, and was not forced. Nothing was done.
    pub const REFUSED: u8 = 4;
    /// Partial: done on some devices, failed on others (each failure is
    /// named on standard error and in the JSON report).
    pub const PARTIAL: u8 = 5;
    /// A bad configuration or input file: TOML that does not parse or
    /// names no such node, `corosync-cmapctl` text, a missing or unreadable
    /// state file, a capture or report (JSON, `multipath -ll`,
    /// `multipathd`, `dmsetup`, LVM) that cannot be read or parsed.
    pub const BAD_INPUT: u8 = 6;

    /// The status of work over `total` devices of which `done` succeeded:
    /// [`OK`] when all did, [`DEVICE_ERROR`] when none did, [`PARTIAL`]
    /// otherwise.
    pub fn of_devices(done: usize, total: usize) -> u8 {
        if done >= total {
            OK
        } else if done == 0 {
            DEVICE_ERROR
        } else {
            PARTIAL
        }
    }

    /// prkeys' statuses: sg3_utils' (`SG_LIB_CAT_*` in `sg_lib.h`, the
    /// categories of `fencekit::scsi::error::Category`), plus 4 for a
    /// change that reached only some paths of a multipath map.
    pub mod sg3 {
        use fencekit::scsi::error::Category;

        /// Success.
        pub const OK: u8 = Category::Clean as u8;
        /// Command-line syntax error, or a value that cannot be used.
        pub const SYNTAX: u8 = Category::SyntaxError as u8;
        /// NOT READY.
        pub const NOT_READY: u8 = Category::NotReady as u8;
        /// MEDIUM ERROR or HARDWARE ERROR.
        pub const MEDIUM_HARD: u8 = Category::MediumHard as u8;
        /// A change reached some paths of a multipath map but not all of
        /// them (sg3_utils leaves 4 unused; prkeys' own commands only).
        pub const PARTIAL: u8 = 4;
        /// ILLEGAL REQUEST (a service action or type the device lacks).
        pub const ILLEGAL_REQUEST: u8 = Category::IllegalRequest as u8;
        /// UNIT ATTENTION.
        pub const UNIT_ATTENTION: u8 = Category::UnitAttention as u8;
        /// INVALID COMMAND OPERATION CODE (no PR commands).
        pub const INVALID_OPCODE: u8 = Category::InvalidOpcode as u8;
        /// A device or other file could not be used (a multipath map
        /// without paths).
        pub const FILE_ERROR: u8 = Category::FileError as u8;
        /// RESERVATION CONFLICT.
        pub const RESERVATION_CONFLICT: u8 = Category::ReservationConflict as u8;
        /// The command timed out.
        pub const TIMEOUT: u8 = Category::Timeout as u8;
        /// An operating-system error N exits with `OS_BASE + N` (N from 1
        /// to 46): `fencekit::scsi::error::os_error_exit_code`.
        pub const OS_BASE: u8 = fencekit::scsi::error::OS_BASE_EXIT_CODE;
        /// Anything else (transport, driver).
        pub const OTHER: u8 = Category::Other as u8;
    }
}

/// A command line that cannot be run (a bad value that clap's parsers let
/// through): exit status [`exit::USAGE`], for prkeys [`exit::sg3::SYNTAX`]
/// (both 1).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A usage error as an `anyhow::Error`.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// An input file (a capture or report given on the command line) that
/// cannot be read or does not parse, where the library's error does not say
/// so by its type: exit status [`exit::BAD_INPUT`].
#[derive(Debug)]
pub struct InputError(pub String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

/// An input-file error as an `anyhow::Error`.
pub fn bad_input(msg: impl Into<String>) -> anyhow::Error {
    InputError(msg.into()).into()
}

/// Parses the command line. On a usage error, or for `--help` and
/// `--version`, prints clap's text and returns the exit status: 1
/// ([`exit::USAGE`], which is also sg3_utils' syntax error) for an error,
/// 0 otherwise. Every program parses through this, so a usage error exits
/// 1 in all of them (clap's own status would be 2).
///
/// When `FENCEKIT_COMPLETION` names a shell, prints the program's
/// completion script instead ([`completion::requested`]) and returns its
/// status as the error.
pub fn parse_args<C: clap::Parser>(args: &[String]) -> Result<C, u8> {
    if let Some(code) = completion::requested::<C>() {
        return Err(code);
    }
    C::try_parse_from(args).map_err(|e| {
        let _ = e.print();
        clap_status(&e)
    })
}

/// The exit status for what clap stopped parsing with: 0 after `--help`
/// or `--version`, [`exit::USAGE`] for an error.
pub fn clap_status(e: &clap::Error) -> u8 {
    if e.use_stderr() {
        exit::USAGE
    } else {
        exit::OK
    }
}

/// The causes of `err`, outermost first: `err` and its sources.
fn causes<'a>(err: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(err), |&e| e.source())
}

/// The exit status of an error of fencectl (outside fence-agent mode),
/// qdisk or pathmap, from the first cause in `err`'s chain whose type says
/// what it is: see [`error_status`].
pub fn exit_status(err: &anyhow::Error) -> u8 {
    status_of_chain(err.chain())
}

/// The family's exit status of a library error and its sources: usage
/// errors [`exit::USAGE`]; configuration, state-file, capture and report
/// errors [`exit::BAD_INPUT`]; refusals [`exit::REFUSED`]; a quorum disk
/// that does not decode [`exit::CONDITION_FALSE`]; device, I/O and
/// anything else [`exit::DEVICE_ERROR`].
pub fn error_status(err: &(dyn Error + 'static)) -> u8 {
    status_of_chain(causes(err))
}

fn status_of_chain<'a>(mut chain: impl Iterator<Item = &'a (dyn Error + 'static)>) -> u8 {
    chain.find_map(status_of).unwrap_or(exit::DEVICE_ERROR)
}

/// The status one cause decides, or `None` to look at its source.
fn status_of(e: &(dyn Error + 'static)) -> Option<u8> {
    use exit::*;
    if e.is::<UsageError>() {
        return Some(USAGE);
    }
    if e.is::<InputError>() {
        return Some(BAD_INPUT);
    }
    // Every way of not having a usable cluster description: an unreadable
    // or bad TOML file or corosync text, corosync-cmapctl that does not
    // run, a node or device group the configuration does not have.
    if e.is::<SourceError>() || e.is::<ConfigError>() {
        return Some(BAD_INPUT);
    }
    if let Some(e) = e.downcast_ref::<StateError>() {
        return Some(match e {
            StateError::Write { .. } => DEVICE_ERROR,
            _ => BAD_INPUT,
        });
    }
    // A key that cannot be made from the command line's inputs (one from
    // the configuration comes wrapped in a ConfigError).
    if e.is::<KeyError>() {
        return Some(USAGE);
    }
    if let Some(e) = e.downcast_ref::<FenceRefused>() {
        return Some(match e {
            FenceRefused::SelfFence(_) | FenceRefused::ZeroKey => REFUSED,
            FenceRefused::NoDevices => USAGE,
        });
    }
    if let Some(e) = e.downcast_ref::<RaceError>() {
        return Some(match e {
            RaceError::EvenCount(_) => BAD_INPUT,
            RaceError::NoLosers => USAGE,
            RaceError::SelfInLosers(_) => REFUSED,
            RaceError::NoWwid(_) => DEVICE_ERROR,
        });
    }
    if let Some(e) = e.downcast_ref::<QdiskError>() {
        return Some(match e {
            QdiskError::Io { .. }
            | QdiskError::OutsideRegion { .. }
            | QdiskError::Timeout { .. }
            | QdiskError::Geometry { .. } => DEVICE_ERROR,
            QdiskError::Format { .. } => CONDITION_FALSE,
            QdiskError::Refused { .. }
            | QdiskError::NotConfirmed { .. }
            | QdiskError::NotExclusive { .. } => REFUSED,
            QdiskError::NodeId { .. } | QdiskError::Label { .. } => USAGE,
        });
    }
    if e.is::<FormatError>() {
        return Some(CONDITION_FALSE);
    }
    if let Some(e) = e.downcast_ref::<DaemonError>() {
        return Some(match e {
            DaemonError::Settings(_) | DaemonError::Cluster { .. } | DaemonError::NoDevices => {
                BAD_INPUT
            }
            DaemonError::Lvm(e) => lvm_status(e),
            DaemonError::Qdisk(e) => return status_of(e),
            DaemonError::Resolve(_)
            | DaemonError::LabelNotFound(_)
            | DaemonError::Watchdog { .. } => DEVICE_ERROR,
        });
    }
    if e.is::<SettingsError>() {
        return Some(BAD_INPUT);
    }
    // vmguest-attach: a domain libvirt does not have is not found; XML
    // that does not parse and a bad cluster file are bad input; libvirt
    // that cannot be reached or refuses a call is a device error.
    if let Some(e) = e.downcast_ref::<HypervisorError>() {
        return Some(match e {
            HypervisorError::NoDomain(_) => CONDITION_FALSE,
            HypervisorError::Xml(_) => BAD_INPUT,
            HypervisorError::Connect { .. } | HypervisorError::Call { .. } => DEVICE_ERROR,
        });
    }
    // hide/unhide: a configuration file it does not edit is bad input;
    // one it cannot write is a device (I/O) error. A VG policy file that
    // does not parse is bad input.
    if let Some(e) = e.downcast_ref::<HideError>() {
        return Some(match e {
            HideError::Unsupported { .. } => BAD_INPUT,
            HideError::Io { .. } => DEVICE_ERROR,
        });
    }
    if e.is::<XmlError>() || e.is::<ClusterFileError>() || e.is::<PolicyError>() {
        return Some(BAD_INPUT);
    }
    if let Some(e) = e.downcast_ref::<BuildError>() {
        return Some(match e {
            BuildError::Scan(e) => topology_status(e),
            BuildError::Lvm(e) => lvm_status(e),
            BuildError::Text { .. } | BuildError::Dmsetup { .. } => BAD_INPUT,
        });
    }
    if let Some(e) = e.downcast_ref::<LvmError>() {
        return Some(lvm_status(e));
    }
    if e.is::<RetrySleepError>() {
        return Some(USAGE);
    }
    if let Some(e) = e.downcast_ref::<TopologyError>() {
        return Some(topology_status(e));
    }
    if e.is::<LineError>() || e.is::<DmParseError>() || e.is::<DmsetupLineError>() {
        return Some(BAD_INPUT);
    }
    if let Some(e) = e.downcast_ref::<serde_json::Error>() {
        return Some(if e.is_io() { DEVICE_ERROR } else { BAD_INPUT });
    }
    if e.is::<ScsiError>()
        || e.is::<DecodeError>()
        || e.is::<ResolveError>()
        || e.is::<DeadlineError>()
        || e.is::<std::io::Error>()
    {
        return Some(DEVICE_ERROR);
    }
    None
}

/// The family's status of a topology error: sysfs that cannot be read is a
/// device error, a document that does not parse bad input.
fn topology_status(e: &TopologyError) -> u8 {
    match e {
        TopologyError::NoScsi { .. } | TopologyError::Read { .. } => exit::DEVICE_ERROR,
        TopologyError::Parse { .. } => exit::BAD_INPUT,
    }
}

/// The family's status of an LVM error: a report that is not LVM's is bad
/// input; LVM that cannot run or fails is a device error.
fn lvm_status(e: &LvmError) -> u8 {
    match e {
        LvmError::Malformed { .. } => exit::BAD_INPUT,
        LvmError::Run { .. } | LvmError::Failed { .. } => exit::DEVICE_ERROR,
    }
}

/// prkeys' exit status for an error (sg3_utils' table, [`exit::sg3`]): 1
/// for a usage error, a SCSI error's category, 50 + errno for an OS error,
/// [`exit::sg3::FILE_ERROR`] for a multipath map without paths,
/// [`exit::sg3::OTHER`] otherwise.
pub fn sg3_exit_status(err: &anyhow::Error) -> u8 {
    sg3_status_of_chain(err.chain())
}

/// [`sg3_exit_status`] of a library error and its sources.
pub fn sg3_error_status(err: &(dyn Error + 'static)) -> u8 {
    sg3_status_of_chain(causes(err))
}

fn sg3_status_of_chain<'a>(mut chain: impl Iterator<Item = &'a (dyn Error + 'static)>) -> u8 {
    chain
        .find_map(|e| {
            if e.is::<UsageError>() {
                Some(exit::sg3::SYNTAX)
            } else if let Some(e) = e.downcast_ref::<ScsiError>() {
                Some(e.exit_code())
            } else if let Some(e) = e.downcast_ref::<ResolveError>() {
                Some(match e {
                    // 50 + errno; a name missing for another reason is
                    // a file error.
                    ResolveError::Missing { source, .. } => match os_error_exit_code(source) {
                        exit::sg3::OTHER => exit::sg3::FILE_ERROR,
                        c => c,
                    },
                    ResolveError::NoPaths { .. } => exit::sg3::FILE_ERROR,
                })
            } else if e.is::<DecodeError>() {
                Some(Category::Malformed.exit_code())
            } else {
                None
            }
        })
        .unwrap_or(exit::sg3::OTHER)
}

/// prkeys' exit status for a device name that did not resolve.
pub fn resolve_exit_code(e: &ResolveError) -> u8 {
    sg3_error_status(e)
}

/// Parses a reservation key for clap: hex with or without `0x`.
pub fn parse_key(s: &str) -> Result<Key, String> {
    s.parse::<Key>().map_err(|e| e.to_string())
}

/// Parses 8 ASCII characters as a key (`VFDEED00`), for clap.
pub fn parse_key_ascii(s: &str) -> Result<Key, String> {
    Key::from_ascii(s).map_err(|e| e.to_string())
}

/// Parses a reservation type by short name (`wero`), full name or number.
pub fn parse_type(s: &str) -> Result<PrType, String> {
    s.parse::<PrType>().map_err(|e| e.to_string())
}

/// Writes `value` as pretty JSON and a newline to stdout, through a
/// buffer (a big host's map is tens of MB).
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::path::PathBuf;
    use std::time::Duration;

    fn conflict() -> ScsiError {
        ScsiError::ReservationConflict {
            device: "/dev/sdb".into(),
            command: "PERSISTENT RESERVE OUT(REGISTER)".into(),
        }
    }

    fn io(errno: i32) -> std::io::Error {
        std::io::Error::from_raw_os_error(errno)
    }

    fn missing(errno: i32) -> ResolveError {
        ResolveError::Missing {
            device: "/dev/nope".into(),
            source: io(errno),
        }
    }

    /// The family's status of a bare library error, and of the same error
    /// under anyhow context (the mapping looks through context).
    fn family(e: impl Error + Send + Sync + 'static) -> u8 {
        let direct = error_status(&e);
        let wrapped = anyhow::Error::new(e).context("doing something");
        assert_eq!(exit_status(&wrapped), direct);
        direct
    }

    #[test]
    fn topology_build_and_lvm_errors_map_to_bad_input_or_device_error() {
        use fencekit::topology::lvm::LvmError;
        use fencekit::topology::{BuildError, LineError};
        let text = BuildError::Text {
            input: "ll.txt".into(),
            source: LineError {
                line: 1,
                text: "x".into(),
                reason: "bad".into(),
            },
        };
        assert_eq!(exit_status(&anyhow::Error::new(text)), exit::BAD_INPUT);
        let malformed = || LvmError::Malformed {
            what: "pvs.json".into(),
            reason: "not JSON".into(),
        };
        assert_eq!(
            exit_status(&anyhow::Error::new(BuildError::Lvm(malformed()))),
            exit::BAD_INPUT
        );
        let run = LvmError::Run {
            tool: "vgs".into(),
            source: io(2),
        };
        assert_eq!(exit_status(&anyhow::Error::new(run)), exit::DEVICE_ERROR);
        let scan = BuildError::Scan(fencekit::topology::TopologyError::NoScsi {
            path: "/sys".into(),
            source: io(2),
        });
        assert_eq!(exit_status(&anyhow::Error::new(scan)), exit::DEVICE_ERROR);
    }

    #[test]
    fn sg3_statuses_follow_the_library_error() {
        let e = anyhow::Error::new(conflict()).context("registering");
        assert_eq!(sg3_exit_status(&e), 24);
        let timeout = ScsiError::Timeout {
            device: "/dev/sdb".into(),
            command: "PERSISTENT RESERVE IN(READ KEYS)".into(),
            timeout: Duration::from_secs(3),
        };
        assert_eq!(sg3_error_status(&timeout), exit::sg3::TIMEOUT);
        let e = anyhow::Error::new(ScsiError::Open {
            device: "/dev/sg9".into(),
            source: io(2),
        });
        assert_eq!(sg3_exit_status(&e), 52);
        assert_eq!(sg3_exit_status(&anyhow::Error::new(missing(2))), 52);
        assert_eq!(resolve_exit_code(&missing(2)), 52);
        // errno 47 and above, or none: a file error, as before.
        assert_eq!(resolve_exit_code(&missing(95)), exit::sg3::FILE_ERROR);
        let nopaths = ResolveError::NoPaths {
            device: "/dev/mapper/m".into(),
            map: "dm-0".into(),
            sys: "/sys".into(),
        };
        assert_eq!(resolve_exit_code(&nopaths), 15);
        assert_eq!(sg3_exit_status(&usage("--timeout")), exit::sg3::SYNTAX);
        assert_eq!(
            sg3_exit_status(&anyhow::Error::new(DecodeError::malformed("x", "y"))),
            97
        );
        assert_eq!(sg3_exit_status(&anyhow::anyhow!("other")), 99);
    }

    #[test]
    fn sg3_constants_are_sg3_utils_numbers() {
        use exit::sg3::*;
        assert_eq!(
            [
                OK,
                SYNTAX,
                NOT_READY,
                MEDIUM_HARD,
                PARTIAL,
                ILLEGAL_REQUEST,
                UNIT_ATTENTION,
                INVALID_OPCODE,
                FILE_ERROR,
                RESERVATION_CONFLICT,
                TIMEOUT,
                OS_BASE,
                OTHER
            ],
            [0, 1, 2, 3, 4, 5, 6, 9, 15, 24, 33, 50, 99]
        );
    }

    #[test]
    fn family_constants_and_device_tally() {
        use exit::*;
        assert_eq!(
            [
                OK,
                USAGE,
                CONDITION_FALSE,
                DEVICE_ERROR,
                REFUSED,
                PARTIAL,
                BAD_INPUT
            ],
            [0, 1, 2, 3, 4, 5, 6]
        );
        assert_eq!(of_devices(2, 2), OK);
        assert_eq!(of_devices(0, 0), OK);
        assert_eq!(of_devices(1, 2), PARTIAL);
        assert_eq!(of_devices(0, 2), DEVICE_ERROR);
    }

    #[test]
    fn family_usage_and_input_errors() {
        assert_eq!(exit_status(&usage("--timeout")), exit::USAGE);
        assert_eq!(
            exit_status(&usage("x").context("outer")),
            exit::USAGE,
            "looks through context"
        );
        assert_eq!(exit_status(&bad_input("a.json: EOF")), exit::BAD_INPUT);
        assert_eq!(family(KeyError::Zero { what: "x".into() }), exit::USAGE);
        // Untyped errors (a failed program, reboot(2)): a device or I/O error.
        assert_eq!(
            exit_status(&anyhow::anyhow!("vgs failed")),
            exit::DEVICE_ERROR
        );
    }

    #[test]
    fn family_configuration_and_state_errors() {
        use fencekit::fence::config::ClusterConfig;
        let bad_toml = ClusterConfig::from_toml("clustr = 1\n", "c.toml").unwrap_err();
        assert!(matches!(bad_toml, ConfigError::Syntax { .. }));
        assert_eq!(family(bad_toml), exit::BAD_INPUT);
        assert_eq!(
            family(ConfigError::UnknownNode("node9".into())),
            exit::BAD_INPUT
        );
        assert_eq!(
            family(ConfigError::Key(KeyError::Zero { what: "n".into() })),
            exit::BAD_INPUT,
            "a key from the configuration is the configuration's fault"
        );
        assert_eq!(
            family(SourceError::Config(ConfigError::Invalid("x".into()))),
            exit::BAD_INPUT
        );
        assert_eq!(
            family(SourceError::Read {
                path: "cmap.txt".into(),
                source: io(2),
            }),
            exit::BAD_INPUT
        );
        assert_eq!(
            family(SourceError::CmapctlFailed {
                path: "corosync-cmapctl".into(),
                status: "exit status: 1".into(),
                stderr: String::new(),
            }),
            exit::BAD_INPUT
        );
        let missing_state =
            fencekit::fence::ops::State::load(std::path::Path::new("/nonexistent/fencekit.state"))
                .unwrap_err();
        assert_eq!(family(missing_state), exit::BAD_INPUT);
        assert_eq!(
            family(StateError::Write {
                path: "/var/lib/fencekit".into(),
                what: "rename",
                source: io(28),
            }),
            exit::DEVICE_ERROR
        );
    }

    #[test]
    fn family_fence_and_race_errors() {
        assert_eq!(family(FenceRefused::SelfFence(Key(1))), exit::REFUSED);
        assert_eq!(family(FenceRefused::ZeroKey), exit::REFUSED);
        assert_eq!(family(FenceRefused::NoDevices), exit::USAGE);
        assert_eq!(family(RaceError::SelfInLosers(Key(1))), exit::REFUSED);
        assert_eq!(family(RaceError::NoLosers), exit::USAGE);
        assert_eq!(family(RaceError::EvenCount(2)), exit::BAD_INPUT);
        assert_eq!(
            family(RaceError::NoWwid("/dev/sdb".into())),
            exit::DEVICE_ERROR
        );
        assert_eq!(family(conflict()), exit::DEVICE_ERROR);
        assert_eq!(family(missing(2)), exit::DEVICE_ERROR);
        assert_eq!(family(io(5)), exit::DEVICE_ERROR);
        assert_eq!(
            family(DeadlineError::Elapsed(Duration::from_secs(1))),
            exit::DEVICE_ERROR
        );
    }

    #[test]
    fn family_qdisk_errors() {
        let dev = || PathBuf::from("/dev/sdq");
        let io_err = QdiskError::Io {
            device: dev(),
            op: "read",
            offset: 0,
            source: io(5),
        };
        assert_eq!(family(io_err), exit::DEVICE_ERROR);
        let timeout = QdiskError::Timeout {
            device: dev(),
            deadline: Duration::from_secs(1),
        };
        assert_eq!(family(timeout), exit::DEVICE_ERROR);
        let format = QdiskError::Format {
            device: dev(),
            offset: 0,
            source: FormatError::SharedMagic { found: 0 },
        };
        assert_eq!(family(format), exit::CONDITION_FALSE);
        let refused = QdiskError::Refused {
            device: dev(),
            findings: Vec::new(),
        };
        assert_eq!(family(refused), exit::REFUSED);
        assert_eq!(
            family(QdiskError::NotConfirmed { device: dev() }),
            exit::REFUSED
        );
        assert_eq!(
            family(QdiskError::NodeId { node: 17, max: 16 }),
            exit::USAGE
        );
        assert_eq!(family(QdiskError::Label { len: 200 }), exit::USAGE);
    }

    #[test]
    fn family_topology_errors() {
        let no_scsi = TopologyError::NoScsi {
            path: "/nonexistent/bus/scsi/devices".into(),
            source: io(2),
        };
        assert_eq!(family(no_scsi), exit::DEVICE_ERROR);
        let parse = TopologyError::Parse {
            path: "pvs.json".into(),
            detail: "EOF".into(),
        };
        assert_eq!(family(parse), exit::BAD_INPUT);
        assert_eq!(
            family(LineError::at(3, "garbage", "expected a map line")),
            exit::BAD_INPUT
        );
        let dmsetup = DmsetupLineError {
            line: 1,
            text: "x".into(),
        };
        assert_eq!(family(dmsetup), exit::BAD_INPUT);
        let json = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        assert_eq!(family(json), exit::BAD_INPUT);
        let write = serde_json::Error::io(io(32));
        assert_eq!(family(write), exit::DEVICE_ERROR);
    }

    #[test]
    fn usage_errors_exit_1_and_help_0() {
        #[derive(clap::Parser, Debug)]
        struct Cli {
            #[arg(long)]
            n: u32,
        }
        use clap::Parser;
        let status = |v: &[&str]| clap_status(&Cli::try_parse_from(v).unwrap_err());
        assert_eq!(status(&["p", "--n", "x"]), 1);
        assert_eq!(status(&["p", "--bogus"]), 1);
        assert_eq!(status(&["p"]), 1);
        assert_eq!(status(&["p", "--help"]), 0);
        let args = ["p", "--n", "3"].map(String::from);
        assert_eq!(parse_args::<Cli>(&args).unwrap().n, 3);
    }

    #[test]
    fn key_and_type_parsers() {
        assert_eq!(parse_key("0x1a").unwrap(), Key(0x1a));
        assert_eq!(parse_key("1A").unwrap(), Key(0x1a));
        assert!(parse_key("xyz").is_err());
        assert_eq!(
            parse_key_ascii("VFDEED00").unwrap().to_ascii_lossy(),
            "VFDEED00"
        );
        assert_eq!(parse_type("wero").unwrap().code(), 5);
        assert_eq!(parse_type("5").unwrap().code(), 5);
    }
}
