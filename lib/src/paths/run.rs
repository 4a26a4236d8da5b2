//! Running commands over devices and their paths: many devices at once,
//! every path of a unit where the standard needs it (all-paths policy),
//! or one path, moving to the next only after a path failure (one-path
//! policy, [`try_in_order`]).
//!
//! Registrations belong to I_T nexuses (SPC-4 §5.14.7), so REGISTER,
//! REGISTER AND IGNORE EXISTING KEY and unregistration go to every path of
//! a map. A reservation, a preempt or a clear acts on the logical unit, so
//! they go through one path only (a preempt sent down every path would
//! also be repeated against the registrations the first one removed;
//! fence-agents issue 594). Reads use the first usable path. A path that
//! fails is reported with its error, never hidden: a command that cannot be
//! sent (open failure, OS error, timeout, transport error) moves on to the
//! next path, while an answer from the logical unit (a conflict, a unit
//! attention, an illegal request) is the result.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::resolve::{self, ResolveError, Target};
use super::unit::Unit;
use crate::scsi::device::Device;
use crate::scsi::error::ScsiError;
use crate::scsi::sgio::{OpenMode, SgIo};
use crate::scsi::transport::{RetryPolicy, Transport, DEFAULT_TIMEOUT};
use crate::scsi::transport_id::TransportId;
use crate::topology::Roots;
use crate::util::fanout::par_map;

/// How devices are opened and commands sent.
#[derive(Debug, Clone)]
pub struct Options {
    /// Per-command timeout.
    pub timeout: Duration,
    /// Unit-attention retries.
    pub retry: RetryPolicy,
    /// Open read-only (enough for PR IN and, on Linux, for PR OUT).
    pub readonly: bool,
    /// Expand multipath maps into their paths (otherwise a map is one
    /// device and the kernel picks a path).
    pub multipath: bool,
    /// sysfs and /dev roots used to expand maps.
    pub roots: Roots,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::NONE,
            readonly: false,
            multipath: true,
            roots: Roots::default(),
        }
    }
}

/// Which paths a command goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every path (registration).
    AllPaths,
    /// One path, the next one only if it could not be sent.
    OnePath,
}

/// The outcome on one path.
#[derive(Debug)]
pub struct PathOutcome<T> {
    /// The node the command was sent to.
    pub path: PathBuf,
    /// What happened.
    pub result: Result<T, ScsiError>,
}

/// The outcome on one device named by the user.
#[derive(Debug)]
pub struct DeviceOutcome<T> {
    /// The name as given.
    pub device: String,
    /// What it resolved to, unless that failed.
    pub target: Result<Target, ResolveError>,
    /// Every path tried, in order.
    pub paths: Vec<PathOutcome<T>>,
}

impl<T> DeviceOutcome<T> {
    /// The first successful value, if any path succeeded.
    pub fn value(&self) -> Option<&T> {
        self.paths.iter().find_map(|p| p.result.as_ref().ok())
    }

    /// Whether the command succeeded: on every path for [`Scope::AllPaths`]
    /// (pass `all = true`), on one path otherwise.
    pub fn succeeded(&self, all: bool) -> bool {
        if self.target.is_err() || self.paths.is_empty() {
            return false;
        }
        if all {
            self.paths.iter().all(|p| p.result.is_ok())
        } else {
            self.paths.iter().any(|p| p.result.is_ok())
        }
    }

    /// True for an all-path command that reached some paths but failed on
    /// others: the registration now differs between the paths of one unit.
    pub fn partial(&self, all: bool) -> bool {
        all && self.target.is_ok()
            && self.paths.iter().any(|p| p.result.is_ok())
            && self.paths.iter().any(|p| p.result.is_err())
    }

    /// The error that decides this device's exit status: the last failure
    /// for one-path commands that never succeeded, the first failure for
    /// all-path commands.
    pub fn deciding_error(&self, all: bool) -> Option<&ScsiError> {
        if self.succeeded(all) {
            return None;
        }
        let mut errs = self.paths.iter().filter_map(|p| p.result.as_ref().err());
        if all {
            errs.next()
        } else {
            errs.last()
        }
    }

    /// Paths that failed, with their errors.
    pub fn failed_paths(&self) -> impl Iterator<Item = (&Path, &ScsiError)> {
        self.paths
            .iter()
            .filter_map(|p| p.result.as_ref().err().map(|e| (p.path.as_path(), e)))
    }
}

/// Opens one node as a device with the options' policies.
pub fn open(path: &Path, opts: &Options) -> Result<Device<SgIo>, ScsiError> {
    let mode = if opts.readonly {
        OpenMode::ReadOnly
    } else {
        OpenMode::ReadWrite
    };
    let mut d = Device::new(SgIo::open(path, mode)?);
    d.timeout = opts.timeout;
    d.retry = opts.retry;
    Ok(d)
}

/// True for errors that mean the command did not reach the logical unit
/// through this path, so another path may still work.
pub fn is_path_failure(e: &ScsiError) -> bool {
    matches!(
        e,
        ScsiError::Open { .. }
            | ScsiError::Os { .. }
            | ScsiError::Timeout { .. }
            | ScsiError::Transport { .. }
    )
}

/// Tries `f` on each path in order, going on to the next only when the
/// command could not reach the logical unit through this one
/// ([`is_path_failure`]): an answer from the unit, success or not, is the
/// result. Returns every attempt in order; the last one decides.
pub fn try_in_order<'a, R>(
    paths: impl IntoIterator<Item = &'a Path>,
    mut f: impl FnMut(&Path) -> Result<R, ScsiError>,
) -> Vec<PathOutcome<R>> {
    let mut tried = Vec::new();
    for p in paths {
        let result = f(p);
        let next = matches!(&result, Err(e) if is_path_failure(e));
        tried.push(PathOutcome {
            path: p.to_path_buf(),
            result,
        });
        if !next {
            break;
        }
    }
    tried
}

/// Runs `f` on one device name according to `scope`.
pub fn run_one<T, F>(device: &str, scope: Scope, opts: &Options, f: &F) -> DeviceOutcome<T>
where
    F: Fn(&Device<SgIo>) -> Result<T, ScsiError> + Sync,
    T: Send,
{
    let target = if opts.multipath {
        resolve::resolve(Path::new(device), &opts.roots)
    } else {
        Ok(Target::Single {
            node: PathBuf::from(device),
        })
    };
    let attempt = |node: &Path| open(node, opts).and_then(|d| f(&d));
    let paths = match &target {
        Err(_) => Vec::new(),
        Ok(t) => {
            let unit = Unit::from_target(device, t);
            match scope {
                Scope::AllPaths => par_map(&unit.paths, |p| PathOutcome {
                    path: p.clone(),
                    result: attempt(p),
                }),
                Scope::OnePath => try_in_order(unit.read_order(), attempt),
            }
        }
    };
    DeviceOutcome {
        device: device.to_string(),
        target,
        paths,
    }
}

/// Runs `f` on every device name, all devices in parallel, results in the
/// order given.
pub fn run<T, F>(devices: &[String], scope: Scope, opts: &Options, f: F) -> Vec<DeviceOutcome<T>>
where
    F: Fn(&Device<SgIo>) -> Result<T, ScsiError> + Sync,
    T: Send,
{
    par_map(devices, |d| run_one(d, scope, opts, &f))
}

/// Opens one path as a device. The fencing operations take an opener so
/// that they run the same over SG_IO and over scripted transports.
pub trait Opener: Sync {
    /// The transport of opened devices.
    type T: Transport;
    /// Opens `path`.
    fn open(&self, path: &Path) -> Result<Device<Self::T>, ScsiError>;

    /// The initiator port (as a TransportID) of the I_T nexus that `path`
    /// reaches its unit through, when this host can tell.
    fn initiator_port(&self, _path: &Path) -> Option<TransportId> {
        None
    }
}

/// Opens paths through SG_IO with the options' timeout and retry policy.
#[derive(Debug, Clone, Default)]
pub struct SgOpener {
    /// Timeout, UA retries, read-only.
    pub opts: Options,
}

impl Opener for SgOpener {
    type T = SgIo;
    fn open(&self, path: &Path) -> Result<Device<SgIo>, ScsiError> {
        open(path, &self.opts)
    }
    fn initiator_port(&self, path: &Path) -> Option<TransportId> {
        super::unit::initiator_port(path, &self.opts.roots)
    }
}

/// A serializable summary of a path outcome, for `--json`.
#[derive(Debug, Serialize)]
pub struct PathReport {
    /// The node.
    pub path: String,
    /// True when the command succeeded on it.
    pub ok: bool,
    /// The error message, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The sg3_utils exit status of the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u8>,
}

impl<T> From<&PathOutcome<T>> for PathReport {
    fn from(p: &PathOutcome<T>) -> PathReport {
        PathReport {
            path: p.path.display().to_string(),
            ok: p.result.is_ok(),
            error: p.result.as_ref().err().map(ToString::to_string),
            status: p.result.as_ref().err().map(ScsiError::exit_code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_devices_fail_without_panicking_and_keep_order() {
        let devs = vec![
            "/dev/fencekit-none-a".to_string(),
            "/dev/fencekit-none-b".to_string(),
        ];
        let out = run(&devs, Scope::AllPaths, &Options::default(), |d| {
            d.test_unit_ready()
        });
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].device, "/dev/fencekit-none-b");
        assert!(out.iter().all(|o| o.target.is_err() && !o.succeeded(true)));
    }

    #[test]
    fn partial_means_some_but_not_all_paths_of_an_all_path_change() {
        let map = Target::Multipath {
            map: "/dev/mapper/m".into(),
            dm_name: "m".into(),
            kernel_name: "dm-0".into(),
            paths: Vec::new(),
        };
        let path = |p: &str, ok: bool| PathOutcome {
            path: PathBuf::from(p),
            result: if ok {
                Ok(())
            } else {
                Err(ScsiError::Os {
                    device: p.into(),
                    command: crate::scsi::error::CommandName::from("Register"),
                    source: std::io::Error::from_raw_os_error(6),
                })
            },
        };
        let o = DeviceOutcome {
            device: "/dev/mapper/m".into(),
            target: Ok(map.clone()),
            paths: vec![path("/dev/sda", true), path("/dev/sdc", false)],
        };
        assert!(o.partial(true));
        assert!(
            !o.partial(false),
            "a one-path command that succeeded is not partial"
        );
        let all_failed = DeviceOutcome {
            device: "/dev/mapper/m".into(),
            target: Ok(map.clone()),
            paths: vec![path("/dev/sda", false), path("/dev/sdc", false)],
        };
        assert!(!all_failed.partial(true));
        let all_ok = DeviceOutcome {
            device: "/dev/mapper/m".into(),
            target: Ok(map),
            paths: vec![path("/dev/sda", true), path("/dev/sdc", true)],
        };
        assert!(!all_ok.partial(true));
    }

    #[test]
    fn try_in_order_stops_at_the_first_answer_from_the_unit() {
        let os_err = |p: &Path| ScsiError::Os {
            device: p.display().to_string(),
            command: crate::scsi::error::CommandName::from("Read keys"),
            source: std::io::Error::from_raw_os_error(5),
        };
        let conflict = |p: &Path| ScsiError::ReservationConflict {
            device: p.display().to_string(),
            command: "Register".into(),
        };
        let paths = [Path::new("/a"), Path::new("/b"), Path::new("/c")];
        // A path failure on /a, a conflict (an answer) on /b: /c untried.
        let tried = try_in_order(paths, |p| {
            if p == Path::new("/a") {
                Err(os_err(p))
            } else {
                Err::<(), _>(conflict(p))
            }
        });
        assert_eq!(tried.len(), 2);
        assert!(matches!(
            tried[1].result,
            Err(ScsiError::ReservationConflict { .. })
        ));
        // Success on the first path: one attempt.
        assert_eq!(try_in_order(paths, |_| Ok(())).len(), 1);
        // Path failures everywhere: every path tried, the last decides.
        let tried = try_in_order(paths, |p| Err::<(), _>(os_err(p)));
        assert_eq!(tried.len(), 3);
        assert_eq!(tried[2].path, Path::new("/c"));
        assert!(try_in_order([], |_| Ok(())).is_empty());
    }

    #[test]
    fn one_path_moves_on_only_after_path_failures() {
        // A regular file opens but rejects SG_IO (an OS error): a path
        // failure. Without multipath expansion each name is its own path.
        let f = tempfile::NamedTempFile::new().unwrap();
        let opts = Options {
            multipath: false,
            ..Default::default()
        };
        let o = run_one(
            &f.path().display().to_string(),
            Scope::OnePath,
            &opts,
            &|d| d.test_unit_ready(),
        );
        assert_eq!(o.paths.len(), 1);
        assert!(is_path_failure(o.paths[0].result.as_ref().unwrap_err()));
        assert!(o.deciding_error(false).is_some());
        assert_eq!(o.failed_paths().count(), 1);
        let r = PathReport::from(&o.paths[0]);
        assert!(!r.ok && r.error.is_some());
    }
}
