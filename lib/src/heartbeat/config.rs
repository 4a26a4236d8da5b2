//! The heartbeat's settings and the timing derived from them, checked
//! before the daemon starts (qdiskd's rules, `qdisk(5)`).

use std::time::Duration;

use crate::qdisk::format::MAX_NODES;

/// The most heuristics a node runs (qdiskd's limit).
pub const MAX_HEURISTICS: usize = 10;

/// A heuristic: a program whose success adds `score` to the node's score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heuristic {
    /// The command line, run by `/bin/sh -c`.
    pub program: String,
    /// What success adds to the score.
    pub score: u32,
    /// How often it runs.
    pub interval: Duration,
    /// Consecutive failures before its score is lost.
    pub tko: u32,
}

impl Heuristic {
    /// How long a failing heuristic takes to lose its score.
    pub fn time_to_fail(&self) -> Duration {
        self.interval.saturating_mul(self.tko)
    }
}

/// The heartbeat's settings (qdiskd's names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// This node's id, 1 to 16: its status block.
    pub node_id: u32,
    /// Time between two cycles (a write of the own block and a read of
    /// all 16).
    pub interval: Duration,
    /// Cycles without a change after which a node is dead.
    pub tko: u32,
    /// Cycles a bid waits for acknowledgements before the bidder becomes
    /// master (default `tko / 2`, at least 2).
    pub master_wait: Option<u32>,
    /// Cycles a node stays INIT before it runs (default 2).
    pub upgrade_wait: Option<u32>,
    /// The score a node needs to stay up and to be master (default half
    /// the heuristics' total, rounded up).
    pub min_score: Option<u32>,
    /// The heuristics, at most [`MAX_HEURISTICS`].
    pub heuristics: Vec<Heuristic>,
    /// The cluster's token timeout (corosync `totem.token`), when known.
    pub token_timeout: Option<Duration>,
    /// The cluster has exactly two nodes: an unfit node (score below
    /// `min_score`, or no data device readable) whose peer is unfit too
    /// races for the coordinator disks instead of fencing itself
    /// ([`super::machine`], "Two nodes").
    pub two_node: bool,
}

impl Config {
    /// A configuration with qdiskd's defaults for node `node_id`: interval
    /// 1 s, tko 10, no heuristics.
    pub fn new(node_id: u32) -> Config {
        Config {
            node_id,
            interval: Duration::from_secs(1),
            tko: 10,
            master_wait: None,
            upgrade_wait: None,
            min_score: None,
            heuristics: Vec::new(),
            token_timeout: None,
            two_node: false,
        }
    }

    /// Checks the settings and derives the timing.
    pub fn validate(&self) -> Result<Timing, ConfigError> {
        if !(1..=MAX_NODES).contains(&self.node_id) {
            return Err(ConfigError::NodeId(self.node_id));
        }
        if self.interval.is_zero() {
            return Err(ConfigError::Interval);
        }
        if self.tko < 2 {
            return Err(ConfigError::Tko(self.tko));
        }
        let master_wait = self.master_wait.unwrap_or((self.tko / 2).max(2));
        if master_wait < 2 {
            return Err(ConfigError::MasterWait(master_wait));
        }
        let upgrade_wait = self.upgrade_wait.unwrap_or(2);
        if self.heuristics.len() > MAX_HEURISTICS {
            return Err(ConfigError::TooManyHeuristics(self.heuristics.len()));
        }
        let max_score: u32 = self.heuristics.iter().map(|h| h.score).sum();
        let min_score = self.min_score.unwrap_or(max_score.div_ceil(2));
        if min_score > max_score {
            return Err(ConfigError::MinScore {
                min_score,
                max_score,
            });
        }
        let budget = self.interval.saturating_mul(self.tko - 1);
        for h in &self.heuristics {
            if h.interval.is_zero() || h.tko == 0 || h.time_to_fail() > budget {
                return Err(ConfigError::SlowHeuristic {
                    program: h.program.clone(),
                    takes: h.time_to_fail(),
                    budget,
                });
            }
        }
        let cycles = self.tko + master_wait + upgrade_wait;
        let takeover = self.interval.saturating_mul(cycles);
        if let Some(token) = self.token_timeout {
            let need = takeover.saturating_add(self.interval);
            if token <= need {
                return Err(ConfigError::TokenTooShort { token, need });
            }
        }
        Ok(Timing {
            interval: self.interval,
            tko: self.tko,
            master_wait,
            upgrade_wait,
            min_score,
            max_score,
            dead_after: self.interval.saturating_mul(self.tko),
            self_fence_after: self.interval.saturating_mul(self.tko),
            takeover,
            two_node: self.two_node,
        })
    }
}

/// The timing derived from a [`Config`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Time between cycles.
    pub interval: Duration,
    /// Cycles without a change after which a node is dead.
    pub tko: u32,
    /// Cycles a bid waits.
    pub master_wait: u32,
    /// Cycles a node stays INIT.
    pub upgrade_wait: u32,
    /// The score a node needs.
    pub min_score: u32,
    /// The heuristics' total.
    pub max_score: u32,
    /// A node is dead when its block has not changed for this long.
    pub dead_after: Duration,
    /// A node fences itself when it has not written its block for this long.
    pub self_fence_after: Duration,
    /// `interval * (tko + master_wait + upgrade_wait)`: the longest a
    /// takeover can take, which the token timeout must exceed by an
    /// interval.
    pub takeover: Duration,
    /// Two nodes: the race decides between two unfit nodes.
    pub two_node: bool,
}

/// A configuration that cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The node id is not a status block.
    #[error("node id {0} is not 1 to 16")]
    NodeId(u32),
    /// A zero interval.
    #[error("interval must be more than 0")]
    Interval,
    /// tko below 2.
    #[error("tko {0} is below 2")]
    Tko(u32),
    /// master_wait below 2.
    #[error("master_wait {0} is below 2: two nodes that start together could both become master")]
    MasterWait(u32),
    /// More than ten heuristics.
    #[error("{0} heuristics; at most 10")]
    TooManyHeuristics(usize),
    /// min_score above what the heuristics can give.
    #[error("min_score {min_score} is more than the heuristics' total {max_score}")]
    MinScore {
        /// The minimum asked.
        min_score: u32,
        /// The total.
        max_score: u32,
    },
    /// A heuristic that cannot fail before the node would be evicted.
    #[error(
        "heuristic {program:?} needs {takes:?} (interval * tko) to fail, more than interval * (tko - 1) = {budget:?}"
    )]
    SlowHeuristic {
        /// The heuristic's program.
        program: String,
        /// Its interval * tko.
        takes: Duration,
        /// The budget.
        budget: Duration,
    },
    /// The token timeout does not cover a takeover.
    #[error(
        "the token timeout {token:?} does not exceed interval * (tko + master_wait + upgrade_wait) + interval = {need:?}"
    )]
    TokenTooShort {
        /// The token timeout.
        token: Duration,
        /// What it must exceed.
        need: Duration,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(score: u32, interval: u64, tko: u32) -> Heuristic {
        Heuristic {
            program: "ping -c1 gw".into(),
            score,
            interval: Duration::from_secs(interval),
            tko,
        }
    }

    #[test]
    fn defaults_and_derived_timing() {
        let t = Config::new(1).validate().unwrap();
        assert_eq!((t.tko, t.master_wait, t.upgrade_wait), (10, 5, 2));
        assert_eq!(t.dead_after, Duration::from_secs(10));
        assert_eq!(t.takeover, Duration::from_secs(17));
        assert_eq!((t.min_score, t.max_score), (0, 0));
    }

    #[test]
    fn the_rhel_reference_configuration() {
        // interval=3 tko=4, one ping heuristic of score 1 every 4 s.
        let mut c = Config::new(2);
        c.interval = Duration::from_secs(3);
        c.tko = 4;
        c.heuristics = vec![h(1, 4, 2)];
        let t = c.validate().unwrap();
        assert_eq!((t.master_wait, t.min_score), (2, 1));
        assert_eq!(t.dead_after, Duration::from_secs(12));
        // 3 * (4 + 2 + 2) + 3 = 27 s: a token of 27 s is too short.
        c.token_timeout = Some(Duration::from_secs(27));
        assert!(matches!(
            c.validate(),
            Err(ConfigError::TokenTooShort { .. })
        ));
        c.token_timeout = Some(Duration::from_millis(27_001));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn refusals() {
        let bad = |f: &dyn Fn(&mut Config)| {
            let mut c = Config::new(1);
            c.tko = 4;
            f(&mut c);
            c.validate().unwrap_err()
        };
        assert_eq!(bad(&|c| c.node_id = 17), ConfigError::NodeId(17));
        assert_eq!(bad(&|c| c.interval = Duration::ZERO), ConfigError::Interval);
        assert_eq!(bad(&|c| c.tko = 1), ConfigError::Tko(1));
        assert_eq!(
            bad(&|c| c.master_wait = Some(1)),
            ConfigError::MasterWait(1)
        );
        assert_eq!(
            bad(&|c| c.heuristics = vec![h(1, 1, 1); 11]),
            ConfigError::TooManyHeuristics(11)
        );
        assert!(matches!(
            bad(&|c| c.min_score = Some(3)),
            ConfigError::MinScore { .. }
        ));
        // 2 s * 2 = 4 s to fail, more than 1 s * (4 - 1).
        assert!(matches!(
            bad(&|c| c.heuristics = vec![h(1, 2, 2)]),
            ConfigError::SlowHeuristic { .. }
        ));
        let mut c = Config::new(1);
        c.tko = 4;
        c.heuristics = vec![h(1, 1, 3)];
        assert!(c.validate().is_ok(), "3 s to fail fits 1 s * (4 - 1)");
    }

    #[test]
    fn min_score_defaults_to_half_the_total_rounded_up() {
        let mut c = Config::new(1);
        c.heuristics = vec![h(1, 1, 2), h(2, 1, 2)];
        assert_eq!(c.validate().unwrap().min_score, 2);
        c.heuristics.push(h(2, 1, 2));
        assert_eq!(c.validate().unwrap().min_score, 3);
    }
}
