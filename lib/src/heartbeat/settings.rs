//! heartbeatd's configuration file, `/etc/fencekit/heartbeat.toml`, beside
//! the cluster description (`cluster.toml`) that names the nodes and their
//! reservation keys.
//!
//! ```toml
//! cluster_config = "/etc/fencekit/cluster.toml"
//! node = "node1"                 # this node, by its cluster.toml name
//!
//! [quorum]
//! device = "/dev/mapper/qdisk"   # or: label = "myqdisk"
//! interval = 3                   # seconds
//! tko = 4
//!
//! [nodes]                        # cluster.toml name = qdisk slot (1-16)
//! node1 = 1
//! node2 = 2
//!
//! [[heuristic]]
//! program = "ping -c1 -w1 192.168.10.254"
//! score = 1
//! interval = 2
//! tko = 4
//!
//! [fence]
//! devices = ["/dev/mapper/data1"]   # default: cluster.toml's `devices`
//!
//! [self_fence]
//! method = "watchdog"            # or "reboot", or "command"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::config::{Config, Heuristic};

/// The default path of the file.
pub const DEFAULT_PATH: &str = "/etc/fencekit/heartbeat.toml";

/// The file as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The cluster description: node names, ids, keys, data devices.
    #[serde(default = "default_cluster_config")]
    pub cluster_config: PathBuf,
    /// This node's name in the cluster description.
    pub node: String,
    /// The quorum disk and the timing.
    pub quorum: Quorum,
    /// Each node's qdisk slot (1 to 16), by name.
    pub nodes: BTreeMap<String, u32>,
    /// Heuristics, at most 10.
    #[serde(default, rename = "heuristic")]
    pub heuristics: Vec<HeuristicSettings>,
    /// What to fence a dead node on.
    #[serde(default)]
    pub fence: FenceSettings,
    /// How this node fences itself.
    #[serde(default)]
    pub self_fence: SelfFenceSettings,
}

fn default_cluster_config() -> PathBuf {
    PathBuf::from("/etc/fencekit/cluster.toml")
}

/// `[quorum]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quorum {
    /// The quorum disk's device.
    pub device: Option<PathBuf>,
    /// Or its label, found among the block devices as `qdisk find` does.
    pub label: Option<String>,
    /// Seconds between cycles (default 1).
    #[serde(default = "one")]
    pub interval: f64,
    /// Cycles without a change before a node is dead (default 10).
    #[serde(default = "ten")]
    pub tko: u32,
    /// Cycles a bid waits (default tko / 2, at least 2).
    pub master_wait: Option<u32>,
    /// Cycles a node stays INIT (default 2).
    pub upgrade_wait: Option<u32>,
    /// The score a node needs (default half the heuristics' total,
    /// rounded up).
    pub min_score: Option<u32>,
    /// The cluster's token timeout in seconds, checked against the timing.
    pub token_timeout: Option<f64>,
    /// Deadline of one disk read or write, seconds (default the interval).
    pub io_timeout: Option<f64>,
}

fn one() -> f64 {
    1.0
}

fn ten() -> u32 {
    10
}

/// `[[heuristic]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeuristicSettings {
    /// Run by `/bin/sh -c`; exit 0 is success.
    pub program: String,
    /// What success adds (default 1).
    #[serde(default = "one_u32")]
    pub score: u32,
    /// Seconds between runs (default the quorum interval).
    pub interval: Option<f64>,
    /// Failures in a row before the score is lost (default 1).
    #[serde(default = "one_u32")]
    pub tko: u32,
}

fn one_u32() -> u32 {
    1
}

/// `[fence]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FenceSettings {
    /// Data devices (or `auto`); default the cluster description's.
    #[serde(default)]
    pub devices: Vec<String>,
    /// PREEMPT instead of PREEMPT AND ABORT.
    #[serde(default)]
    pub preempt_only: bool,
    /// Seconds one SCSI command may take (default 10).
    pub timeout: Option<f64>,
    /// A node that can read its key on none of the data devices for about
    /// `tko` cycles is unfit, like one below `min_score` (default true).
    #[serde(default = "yes")]
    pub unfit_without_data: bool,
}

fn yes() -> bool {
    true
}

impl Default for FenceSettings {
    fn default() -> Self {
        FenceSettings {
            devices: Vec::new(),
            preempt_only: false,
            timeout: None,
            unfit_without_data: true,
        }
    }
}

/// How a node fences itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SelfFenceMethod {
    /// Stop feeding the watchdog device.
    #[default]
    Watchdog,
    /// `sync` and `reboot(2)`.
    Reboot,
    /// Run a command (for tests).
    Command,
}

/// `[self_fence]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelfFenceSettings {
    /// The method.
    #[serde(default)]
    pub method: SelfFenceMethod,
    /// The watchdog device (default `/dev/watchdog`).
    pub watchdog: Option<PathBuf>,
    /// The command for `method = "command"`, run by `/bin/sh -c`.
    pub command: Option<String>,
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TOML does not parse or has unknown keys.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: toml::de::Error,
    },
    /// A value that cannot work.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The timing fails qdiskd's checks.
    #[error("{path}: {source}")]
    Timing {
        /// The file.
        path: String,
        /// The check that failed.
        #[source]
        source: super::config::ConfigError,
    },
}

fn secs(path: &str, what: &str, v: f64) -> Result<Duration, SettingsError> {
    if v.is_finite() && v > 0.0 && v <= 3600.0 {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(SettingsError::Invalid {
            path: path.to_string(),
            reason: format!("{what} must be more than 0 and at most 3600 seconds, not {v}"),
        })
    }
}

impl Settings {
    /// Reads and parses the file.
    pub fn load(path: &Path) -> Result<Settings, SettingsError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: shown.clone(),
            source,
        })?;
        Settings::parse(&shown, &text)
    }

    /// Parses the text of the file named `path`.
    pub fn parse(path: &str, text: &str) -> Result<Settings, SettingsError> {
        let s: Settings = toml::from_str(text).map_err(|source| SettingsError::Parse {
            path: path.to_string(),
            source,
        })?;
        let invalid = |reason: String| SettingsError::Invalid {
            path: path.to_string(),
            reason,
        };
        match (&s.quorum.device, &s.quorum.label) {
            (None, None) => return Err(invalid("[quorum] needs `device` or `label`".into())),
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "[quorum] takes `device` or `label`, not both".into(),
                ))
            }
            _ => {}
        }
        for (name, &slot) in &s.nodes {
            if !(1..=16).contains(&slot) {
                return Err(invalid(format!(
                    "node {name}: qdisk slot {slot} is not 1 to 16"
                )));
            }
            if let Some((other, _)) = s.nodes.iter().find(|(n, &o)| *n != name && o == slot) {
                if other > name {
                    return Err(invalid(format!(
                        "nodes {name} and {other} share qdisk slot {slot}"
                    )));
                }
            }
        }
        if !s.nodes.contains_key(&s.node) {
            return Err(invalid(format!(
                "this node, {}, has no slot in [nodes]",
                s.node
            )));
        }
        if s.self_fence.method == SelfFenceMethod::Command && s.self_fence.command.is_none() {
            return Err(invalid(
                "[self_fence] method = \"command\" needs `command`".into(),
            ));
        }
        s.config(path)?;
        for (what, v) in [
            ("io_timeout", s.quorum.io_timeout),
            ("[fence] timeout", s.fence.timeout),
        ] {
            if let Some(v) = v {
                secs(path, what, v)?;
            }
        }
        Ok(s)
    }

    /// This node's qdisk slot.
    pub fn node_id(&self) -> u32 {
        self.nodes.get(&self.node).copied().unwrap_or(0)
    }

    /// The name of the node in qdisk slot `id`.
    pub fn name_of(&self, id: u32) -> Option<&str> {
        self.nodes
            .iter()
            .find(|(_, &n)| n == id)
            .map(|(name, _)| name.as_str())
    }

    /// The heartbeat's [`Config`], checked ([`Config::validate`]).
    pub fn config(&self, path: &str) -> Result<Config, SettingsError> {
        let q = &self.quorum;
        let interval = secs(path, "interval", q.interval)?;
        let mut heuristics = Vec::new();
        for h in &self.heuristics {
            heuristics.push(Heuristic {
                program: h.program.clone(),
                score: h.score,
                interval: match h.interval {
                    Some(i) => secs(path, "heuristic interval", i)?,
                    None => interval,
                },
                tko: h.tko,
            });
        }
        let c = Config {
            node_id: self.node_id(),
            interval,
            tko: q.tko,
            master_wait: q.master_wait,
            upgrade_wait: q.upgrade_wait,
            min_score: q.min_score,
            heuristics,
            token_timeout: q
                .token_timeout
                .map(|t| secs(path, "token_timeout", t))
                .transpose()?,
            two_node: self.nodes.len() == 2,
        };
        c.validate().map_err(|source| SettingsError::Timing {
            path: path.to_string(),
            source,
        })?;
        Ok(c)
    }

    /// The deadline of one disk read or write (checked by [`Settings::parse`]).
    pub fn io_timeout(&self) -> Duration {
        Duration::try_from_secs_f64(self.quorum.io_timeout.unwrap_or(self.quorum.interval))
            .unwrap_or(Duration::from_secs(1))
    }

    /// The timeout of one SCSI command of a fence (checked by
    /// [`Settings::parse`]; default 10 s).
    pub fn fence_timeout(&self) -> Duration {
        self.fence
            .timeout
            .map_or(Duration::from_secs(10), Duration::from_secs_f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
cluster_config = "/etc/fencekit/cluster.toml"
node = "node2"

[quorum]
device = "/dev/mapper/qdisk"
interval = 3
tko = 4

[nodes]
node1 = 1
node2 = 2
node3 = 3

[[heuristic]]
program = "ping -c3 -t1 192.168.10.254"
score = 1
interval = 4
tko = 2

[fence]
devices = ["/dev/mapper/data1", "/dev/mapper/data2"]

[self_fence]
method = "watchdog"
"#;

    #[test]
    fn the_rhel_reference_setup_parses() {
        let s = Settings::parse("hb.toml", EXAMPLE).unwrap();
        assert_eq!(s.node_id(), 2);
        assert_eq!(s.name_of(3), Some("node3"));
        let c = s.config("hb.toml").unwrap();
        assert_eq!(c.interval, Duration::from_secs(3));
        assert_eq!(c.heuristics[0].time_to_fail(), Duration::from_secs(8));
        assert_eq!(c.validate().unwrap().min_score, 1);
        assert_eq!(s.io_timeout(), Duration::from_secs(3));
        assert_eq!(s.self_fence.method, SelfFenceMethod::Watchdog);
    }

    #[test]
    fn bad_files_are_named_errors() {
        let bad = |from: &str, to: &str| {
            let t = EXAMPLE.replace(from, to);
            Settings::parse("hb.toml", &t).unwrap_err().to_string()
        };
        assert!(bad("tko = 4", "tko = 4\nfoo = 1").contains("unknown field"));
        assert!(bad("node3 = 3", "node3 = 2").contains("share qdisk slot 2"));
        assert!(bad("node3 = 3", "node3 = 17").contains("not 1 to 16"));
        assert!(bad("node = \"node2\"", "node = \"node9\"").contains("node9"));
        assert!(bad("device = \"/dev/mapper/qdisk\"", "").contains("`device` or `label`"));
        assert!(bad("interval = 3\n", "interval = -1\n").contains("interval"));
        // A heuristic of 4 s * 3 = 12 s does not fail within 3 s * (4 - 1).
        assert!(bad("tko = 2\n", "tko = 3\n").contains("heuristic"));
        assert!(bad("method = \"watchdog\"", "method = \"command\"").contains("needs `command`"));
        assert!(bad("method = \"watchdog\"", "method = \"halt\"").contains("unknown variant"));
        assert!(bad("tko = 4\n", "tko = 4\ntoken_timeout = 10\n").contains("token timeout"));
        assert!(bad("[quorum]", "[quorum]\nlabel = \"q\"").contains("not both"));
        assert!(bad("tko = 4\n", "tko = 4\nio_timeout = 0\n").contains("io_timeout"));
        assert!(bad("[fence]", "[fence]\ntimeout = -2").contains("[fence] timeout"));
    }
}
