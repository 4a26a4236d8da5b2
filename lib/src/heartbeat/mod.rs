//! The disk heartbeat of `heartbeatd`: qdiskd's protocol on the RHEL qdisk
//! format ([`crate::qdisk`]), with fencing through persistent reservations
//! ([`crate::fence`]) before a node is reported dead.
//!
//! - [`config`]: the settings and the timing derived and checked from them.
//! - [`machine`]: one node's state machine, pure: it takes the blocks read
//!   and the time, and returns the blocks to write and the actions to take.
//! - [`run`]: the cycle against real parts: the quorum disk's deadline
//!   I/O, fences on worker threads, heuristics, the self-fence method.
//! - [`settings`]: the file `heartbeat.toml`.
//! - [`parts`]: the fencer over persistent reservations and the
//!   self-fence methods (watchdog, reboot, command).
//!
//! Time comes from a [`Clock`], so the machine runs in virtual time in
//! tests; the daemon uses [`MonotonicClock`]. Block timestamps only have
//! to change from one write to the next, so nodes need no clock sync.

pub mod config;
pub mod daemon;
pub mod machine;
pub mod parts;
pub mod run;
pub mod settings;

pub use config::{Config, ConfigError, Heuristic, Timing};
pub use machine::{Action, Event, Machine, Output, SelfFence};

/// Milliseconds from a fixed start, never going back.
pub trait Clock {
    /// Now, in milliseconds since the clock's start.
    fn now_ms(&self) -> u64;
}

/// The system's monotonic clock, from when this value was made.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    start: std::time::Instant,
}

impl MonotonicClock {
    /// A clock starting now.
    pub fn new() -> MonotonicClock {
        MonotonicClock {
            start: std::time::Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        MonotonicClock::new()
    }
}

impl Clock for MonotonicClock {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod sim;
