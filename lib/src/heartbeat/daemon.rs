//! heartbeatd's set-up and loop: the settings and the cluster description
//! read and checked ([`prepare`], no device touched, so `--check-config`
//! can run anywhere), the parts opened ([`start`]), and the cycle run every
//! interval until asked to stop ([`run_loop`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::config::{Config, Timing};
use super::machine::{Machine, SelfFence};
use super::parts::{CommandSelfFence, PrFencer, RebootSelfFence, WatchdogSelfFence};
use super::run::{CycleReport, Heuristics, Runner, SelfFencer};
use super::settings::{SelfFenceMethod, Settings, SettingsError};
use super::Clock;
use crate::fence::config::{ClusterConfig, ConfigError};
use crate::fence::ops::PreemptMode;
use crate::paths::{self, Options, ResolveError, SgOpener};
use crate::qdisk::io::{OpenOpts, QdiskDevice};
use crate::qdisk::{scan, QdiskError};
use crate::scsi::pr::Key;
use crate::scsi::transport::RetryPolicy;
use crate::topology::lvm::{self, LvmError};

/// Why heartbeatd cannot start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// `heartbeat.toml` is not usable.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The cluster description is not usable (or lacks a node).
    #[error("{}", cluster_message(path, source))]
    Cluster {
        /// The cluster description.
        path: String,
        /// Why.
        #[source]
        source: ConfigError,
    },
    /// No data device to fence on.
    #[error("no data devices: give [fence] devices, or `devices` in the cluster description")]
    NoDevices,
    /// `devices = auto` and vgs failed.
    #[error(transparent)]
    Lvm(#[from] LvmError),
    /// A data device does not resolve.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The quorum disk could not be opened or found.
    #[error(transparent)]
    Qdisk(#[from] QdiskError),
    /// No quorum disk has the label.
    #[error("no quorum disk with label {0:?} (qdisk list shows the quorum disks)")]
    LabelNotFound(String),
    /// The watchdog device could not be set up.
    #[error("{path}: {source}")]
    Watchdog {
        /// The device.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A cluster description error, named by its file once.
fn cluster_message(path: &str, e: &ConfigError) -> String {
    let m = e.to_string();
    if m.starts_with(path) {
        m
    } else {
        format!("{path}: {m}")
    }
}

/// Everything read and checked before any device is opened.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The settings.
    pub settings: Settings,
    /// The heartbeat's configuration.
    pub config: Config,
    /// Its timing.
    pub timing: Timing,
    /// This node's key.
    pub own_key: Key,
    /// Every node's key, by qdisk slot.
    pub keys: BTreeMap<u32, Key>,
    /// The data devices as named (`auto` not expanded yet).
    pub devices: Vec<String>,
}

/// Reads `heartbeat.toml` at `path` and the cluster description it names,
/// and checks both: the timing, every node's key, the data devices named.
pub fn prepare(path: &Path) -> Result<Setup, DaemonError> {
    let settings = Settings::load(path)?;
    let shown = path.display().to_string();
    let config = settings.config(&shown)?;
    let timing = config.validate().map_err(|source| SettingsError::Timing {
        path: shown.clone(),
        source,
    })?;
    let cpath = settings.cluster_config.display().to_string();
    let cluster_err = |source| DaemonError::Cluster {
        path: cpath.clone(),
        source,
    };
    let cluster = ClusterConfig::load(&settings.cluster_config).map_err(cluster_err)?;
    let mut keys = BTreeMap::new();
    for (name, &slot) in &settings.nodes {
        keys.insert(slot, cluster.key_of_name(name).map_err(cluster_err)?);
    }
    let own_key = keys.get(&settings.node_id()).copied().unwrap_or(Key(0));
    let devices = if settings.fence.devices.is_empty() {
        cluster.devices.clone()
    } else {
        settings.fence.devices.clone()
    };
    if devices.is_empty() {
        return Err(DaemonError::NoDevices);
    }
    Ok(Setup {
        settings,
        config,
        timing,
        own_key,
        keys,
        devices,
    })
}

/// The self-fence method of the settings.
pub enum AnySelfFence {
    /// Stop feeding the watchdog.
    Watchdog(WatchdogSelfFence),
    /// `reboot(2)`.
    Reboot(RebootSelfFence),
    /// A command.
    Command(CommandSelfFence),
}

impl SelfFencer for AnySelfFence {
    fn keepalive(&mut self) {
        match self {
            AnySelfFence::Watchdog(w) => w.keepalive(),
            AnySelfFence::Reboot(r) => r.keepalive(),
            AnySelfFence::Command(c) => c.keepalive(),
        }
    }

    fn fence_self(&mut self, why: SelfFence) {
        match self {
            AnySelfFence::Watchdog(w) => w.fence_self(why),
            AnySelfFence::Reboot(r) => r.fence_self(why),
            AnySelfFence::Command(c) => c.fence_self(why),
        }
    }
}

/// The daemon's runner over the real parts.
pub type DaemonRunner = Runner<QdiskDevice, PrFencer<SgOpener>, AnySelfFence>;

/// Where the quorum disk is: the device named, or the one with the label.
pub fn quorum_device(setup: &Setup) -> Result<PathBuf, DaemonError> {
    let q = &setup.settings.quorum;
    if let Some(d) = &q.device {
        return Ok(d.clone());
    }
    let label = q.label.clone().unwrap_or_default();
    let opts = OpenOpts {
        deadline: setup.settings.io_timeout(),
        ..OpenOpts::default()
    };
    let found = scan::scan(Path::new("/"), Some(&label), opts)?;
    found
        .found
        .first()
        .map(|f| f.device.clone())
        .ok_or(DaemonError::LabelNotFound(label))
}

/// Opens the quorum disk, resolves the data devices, arms the self-fence
/// method and starts the heuristics. `incarnation` must differ from every
/// earlier start of this node (the time in nanoseconds does).
pub fn start(
    setup: &Setup,
    incarnation: u64,
    now_ms: u64,
) -> Result<(DaemonRunner, Heuristics), DaemonError> {
    let s = &setup.settings;
    let qpath = quorum_device(setup)?;
    let dev = QdiskDevice::open(
        &qpath,
        OpenOpts {
            write: true,
            deadline: s.io_timeout(),
            ..OpenOpts::default()
        },
    )?;
    let mut names = Vec::new();
    for d in &setup.devices {
        if d == "auto" {
            names.extend(lvm::discover_shared_pvs("vgs")?);
        } else {
            names.push(d.clone());
        }
    }
    if names.is_empty() {
        return Err(DaemonError::NoDevices);
    }
    let opener = SgOpener {
        opts: Options {
            timeout: s.fence_timeout(),
            retry: RetryPolicy::ABSORB,
            ..Options::default()
        },
    };
    let units = paths::resolve_units(&names, true, &opener.opts.roots)?;
    let fencer = PrFencer {
        opener,
        units,
        own: setup.own_key,
        keys: setup.keys.clone(),
        mode: if s.fence.preempt_only {
            PreemptMode::Preempt
        } else {
            PreemptMode::PreemptAndAbort
        },
    };
    let self_fence = match s.self_fence.method {
        SelfFenceMethod::Watchdog => {
            let path = s
                .self_fence
                .watchdog
                .clone()
                .unwrap_or_else(|| PathBuf::from("/dev/watchdog"));
            let w = WatchdogSelfFence::open(&path, setup.timing.self_fence_after).map_err(
                |source| DaemonError::Watchdog {
                    path: path.display().to_string(),
                    source,
                },
            )?;
            AnySelfFence::Watchdog(w)
        }
        SelfFenceMethod::Reboot => AnySelfFence::Reboot(RebootSelfFence),
        SelfFenceMethod::Command => AnySelfFence::Command(CommandSelfFence {
            command: s.self_fence.command.clone().unwrap_or_default(),
            timeout: setup.timing.self_fence_after,
        }),
    };
    let machine = Machine::new(setup.config.node_id, setup.timing, incarnation, now_ms);
    let heuristics = Heuristics::start(&setup.config.heuristics);
    let runner = Runner::new(machine, dev, fencer, self_fence)
        .unfit_without_data(s.fence.unfit_without_data);
    Ok((runner, heuristics))
}

/// Signals the loop reads: stop (SIGTERM, SIGINT) and reload (SIGHUP).
#[derive(Debug, Default)]
pub struct Flags {
    /// Stop: write state NONE and return.
    pub stop: AtomicBool,
    /// Re-read the heuristics.
    pub reload: AtomicBool,
}

/// Cycles every interval until `flags.stop`, calling `report` after each
/// cycle and `reload` when `flags.reload` is set (it returns the new
/// heuristics, or keeps the old ones on error). Returns the last report;
/// on a stop, the node has written state NONE (unless it had fenced
/// itself).
pub fn run_loop<R, C: Clock>(
    runner: &mut Runner<
        impl super::run::Disk,
        impl super::run::Fencer,
        impl super::run::SelfFencer,
    >,
    heuristics: &mut Heuristics,
    interval: Duration,
    clock: &C,
    flags: &Flags,
    mut reload: impl FnMut() -> Option<Heuristics>,
    mut report: impl FnMut(&CycleReport) -> Option<R>,
) -> Option<R> {
    let step = u64::try_from(interval.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    let mut next = clock.now_ms();
    loop {
        if flags.stop.load(Ordering::Relaxed) {
            runner.shutdown();
            return None;
        }
        if flags.reload.swap(false, Ordering::Relaxed) {
            if let Some(h) = reload() {
                heuristics.stop();
                *heuristics = h;
            }
        }
        let now = clock.now_ms();
        let rep = runner.cycle(now, heuristics.score());
        if let Some(r) = report(&rep) {
            return Some(r);
        }
        next = next.saturating_add(step).max(now.saturating_add(1));
        let now = clock.now_ms();
        if next > now {
            // Sleep in short slices so that a stop is seen promptly.
            let mut left = next - now;
            while left > 0 && !flags.stop.load(Ordering::Relaxed) {
                let slice = left.min(100);
                std::thread::sleep(Duration::from_millis(slice));
                left -= slice;
            }
        }
    }
}
