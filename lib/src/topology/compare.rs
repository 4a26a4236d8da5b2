//! Comparing two hosts' views of shared storage (`pathmap diff`): units
//! seen by one host only, the same unit under different by-path names or
//! map aliases, different path counts, and failed paths. Units are matched
//! by WWID; units without one cannot be matched and are ignored.

use crate::scsi::wwid::Wwid;
use serde::{Deserialize, Serialize};

use super::{Lun, Topology};

/// Which input a difference is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The first topology.
    A,
    /// The second topology.
    B,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Difference {
    /// A unit only one side sees.
    OnlyIn { side: Side, wwid: Wwid },
    /// The same unit under different by-path names.
    ByPath {
        wwid: Wwid,
        a: Vec<String>,
        b: Vec<String>,
    },
    /// The same unit under different map aliases (or mapped on one side only).
    MapAlias {
        wwid: Wwid,
        a: Option<String>,
        b: Option<String>,
    },
    /// Different numbers of paths.
    PathCount { wwid: Wwid, a: usize, b: usize },
    /// Failed paths on one side (dm failed, checker faulty, or a SCSI
    /// device state other than running).
    FailedPaths {
        side: Side,
        wwid: Wwid,
        paths: Vec<String>,
    },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        match self {
            Difference::OnlyIn { side, wwid } => write!(f, "{wwid}: only on {side:?}"),
            Difference::ByPath { wwid, a, b } => {
                write!(f, "{wwid}: by-path A [{}] B [{}]", a.join(" "), b.join(" "))
            }
            Difference::MapAlias { wwid, a, b } => {
                write!(f, "{wwid}: map alias A {} B {}", o(a), o(b))
            }
            Difference::PathCount { wwid, a, b } => write!(f, "{wwid}: paths A {a} B {b}"),
            Difference::FailedPaths { side, wwid, paths } => {
                write!(f, "{wwid}: failed paths on {side:?}: {}", paths.join(" "))
            }
        }
    }
}

fn failed(l: &Lun) -> Vec<String> {
    let mut v: Vec<String> = l
        .paths
        .iter()
        .filter(|p| !p.running())
        .map(|p| p.sd.clone().unwrap_or_else(|| p.hctl.to_string()))
        .collect();
    if let Some(m) = &l.multipath {
        for p in m.failed_paths() {
            if !v.contains(&p.dev) {
                v.push(p.dev.clone());
            }
        }
    }
    v.sort();
    v
}

fn by_path(l: &Lun) -> Vec<String> {
    let mut v: Vec<String> = l.paths.iter().flat_map(|p| p.by_path.clone()).collect();
    v.sort();
    v.dedup();
    v
}

/// All differences between `a` and `b`, in the order of `a`'s units and
/// then `b`'s units seen only by `b`.
pub fn compare(a: &Topology, b: &Topology) -> Vec<Difference> {
    let mut out = Vec::new();
    let find = |t: &Topology, w: &str| -> Option<usize> {
        t.luns.iter().position(|l| l.wwid.as_deref() == Some(w))
    };
    for la in &a.luns {
        let Some(w) = la.wwid.clone() else { continue };
        let Some(lb) = find(b, &w).map(|i| &b.luns[i]) else {
            out.push(Difference::OnlyIn {
                side: Side::A,
                wwid: w,
            });
            continue;
        };
        let (pa, pb) = (by_path(la), by_path(lb));
        if pa != pb {
            out.push(Difference::ByPath {
                wwid: w.clone(),
                a: pa,
                b: pb,
            });
        }
        let (ma, mb) = (
            la.multipath.as_ref().map(|m| m.name.clone()),
            lb.multipath.as_ref().map(|m| m.name.clone()),
        );
        if ma != mb {
            out.push(Difference::MapAlias {
                wwid: w.clone(),
                a: ma,
                b: mb,
            });
        }
        if la.paths.len() != lb.paths.len() {
            out.push(Difference::PathCount {
                wwid: w.clone(),
                a: la.paths.len(),
                b: lb.paths.len(),
            });
        }
        for (side, l) in [(Side::A, la), (Side::B, lb)] {
            let f = failed(l);
            if !f.is_empty() {
                out.push(Difference::FailedPaths {
                    side,
                    wwid: w.clone(),
                    paths: f,
                });
            }
        }
    }
    for lb in &b.luns {
        let Some(w) = lb.wwid.clone() else { continue };
        if find(a, &w).is_none() {
            out.push(Difference::OnlyIn {
                side: Side::B,
                wwid: w,
            });
        }
    }
    out
}
