//! The real parts a [`super::run::Runner`] works with: the fencer over
//! persistent reservations (the `fence` module, on every data device and
//! path), and the self-fence methods.

use std::collections::BTreeMap;
use std::time::Duration;

use super::machine::SelfFence;
use super::run::{run_with_timeout, Fencer, SelfFencer};
use crate::fence::ops::{self, FenceHow, PreemptMode, Verdict};
use crate::fence::race;
use crate::linux::watchdog::Watchdog;
use crate::paths::{Opener, Unit};
use crate::scsi::pr::Key;

/// Fences nodes by preempting their keys on the data devices, through
/// any [`Opener`] (SG_IO in the daemon).
pub struct PrFencer<O: Opener + Send + 'static> {
    /// Opens the paths.
    pub opener: O,
    /// The data devices and their paths.
    pub units: Vec<Unit>,
    /// This node's key.
    pub own: Key,
    /// Each node's key, by qdisk slot.
    pub keys: BTreeMap<u32, Key>,
    /// PREEMPT AND ABORT, or PREEMPT.
    pub mode: PreemptMode,
}

impl<O: Opener + Send + 'static> Fencer for PrFencer<O> {
    fn fence(&self, node: u32) -> Result<String, String> {
        let victim = *self
            .keys
            .get(&node)
            .ok_or_else(|| format!("node {node} has no key in the configuration"))?;
        let how = FenceHow {
            mode: self.mode,
            register: false,
        };
        let r = ops::fence(&self.opener, &self.units, self.own, victim, how)
            .map_err(|e| e.to_string())?;
        let detail = r
            .devices
            .iter()
            .map(|d| {
                format!(
                    "{}: {}",
                    d.device,
                    match (&d.error, d.complete) {
                        (_, true) if d.victim_was_registered => "preempted".to_string(),
                        (_, true) => "not registered".to_string(),
                        (Some(e), false) => e.clone(),
                        (None, false) => "incomplete".to_string(),
                    }
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        if r.complete {
            Ok(format!("key {victim}: {detail}"))
        } else {
            Err(format!("key {victim}: {detail}"))
        }
    }

    fn race(&self, node: u32) -> Result<bool, String> {
        let peer = *self
            .keys
            .get(&node)
            .ok_or_else(|| format!("node {node} has no key in the configuration"))?;
        // Every node works the disks in the same order: the configured
        // order of the data devices, which is the same file everywhere.
        match race::race(&self.opener, &self.units, self.own, &[peer], self.mode) {
            Ok(r) => Ok(r.won()),
            // No odd set of coordinator disks: the machine falls back on
            // the lower node id.
            Err(e) => Err(e.to_string()),
        }
    }

    fn own_key_present(&self) -> Option<bool> {
        match ops::check(&self.opener, &self.units, self.own).verdict() {
            Verdict::Registered => Some(true),
            Verdict::KeyGone => Some(false),
            Verdict::Unreadable => None,
        }
    }
}

/// Self-fence by watchdog: fed while the node is healthy, left to expire
/// when it fences itself (the machine resets `timeout` later at most).
pub struct WatchdogSelfFence {
    dog: Watchdog,
    /// The timeout the driver took.
    pub timeout: u32,
}

impl WatchdogSelfFence {
    /// Opens and arms the watchdog at `path` with `timeout` seconds.
    pub fn open(path: &std::path::Path, timeout: Duration) -> std::io::Result<WatchdogSelfFence> {
        let dog = Watchdog::open(path)?;
        let secs = u32::try_from(timeout.as_secs().max(1)).unwrap_or(u32::MAX);
        let timeout = dog.set_timeout(secs)?;
        dog.keepalive()?;
        Ok(WatchdogSelfFence { dog, timeout })
    }

    /// Disarms the watchdog (a clean shutdown).
    pub fn disarm(self) -> std::io::Result<()> {
        self.dog.disarm()
    }
}

impl SelfFencer for WatchdogSelfFence {
    fn keepalive(&mut self) {
        let _ = self.dog.keepalive();
    }

    fn fence_self(&mut self, _why: SelfFence) {
        // Stop feeding: the watchdog resets the machine.
    }
}

/// Self-fence by `sync` and `reboot(2)`.
#[derive(Debug, Default)]
pub struct RebootSelfFence;

impl SelfFencer for RebootSelfFence {
    fn keepalive(&mut self) {}

    fn fence_self(&mut self, _why: SelfFence) {
        nix::unistd::sync();
        let _ = nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_AUTOBOOT);
    }
}

/// Self-fence by a command (for tests): run once, by `/bin/sh -c`, with
/// `FK_SELF_FENCE` set to the reason.
#[derive(Debug)]
pub struct CommandSelfFence {
    /// The command.
    pub command: String,
    /// How long it may run.
    pub timeout: Duration,
}

impl SelfFencer for CommandSelfFence {
    fn keepalive(&mut self) {}

    fn fence_self(&mut self, why: SelfFence) {
        let cmd = format!(
            "FK_SELF_FENCE='{}' ; export FK_SELF_FENCE ; {}",
            reason(&why).replace('\'', ""),
            self.command
        );
        let _ = run_with_timeout(&cmd, self.timeout);
    }
}

/// Why a node fenced itself, in words.
pub fn reason(why: &SelfFence) -> String {
    match *why {
        SelfFence::Evicted { by: 0 } => "evicted by an administrator".into(),
        SelfFence::Evicted { by } => format!("evicted by node {by}"),
        SelfFence::DiskLost { since } => {
            format!("own block not written for {} ms", since.as_millis())
        }
        SelfFence::KeyGone => "own reservation key gone from the data devices".into(),
        SelfFence::LowScore { score, min_score } => {
            format!("heuristics score {score} below min_score {min_score}")
        }
        SelfFence::DataLost => "own reservation key readable on no data device".into(),
        SelfFence::RaceLost { peer } => {
            format!("both nodes unfit, and node {peer} won the race for the coordinator disks")
        }
    }
}
