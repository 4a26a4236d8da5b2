//! Path checks as `multipath -ll` makes them: the kernel's device state
//! first (multipath-tools' `path_offline()`: `offline` is down, `blocked`
//! and `quiesce` are pending, anything but `running` is down), then, for a
//! running path, the `tur` checker (TEST UNIT READY) and the priority of
//! the `alua` prioritizer (REPORT TARGET PORT GROUPS) or, for a unit
//! without ALUA, the `const` prioritizer's 1. A group's priority is the
//! mean priority of its usable (ready or ghost) paths, 0 when it has none.
//!
//! Without a probe (an offline tree, `--no-check`) only the device state
//! is used, which is what `multipath -l` shows: failed paths as `faulty`,
//! the others `undef`, groups with priority 0.

use std::path::Path;

use crate::scsi::alua;
use crate::scsi::device::Device;
use crate::scsi::error::ScsiError;
use crate::scsi::sgio::{OpenMode, SgIo};
use crate::scsi::vpd::designator_type;

use super::Topology;

/// A path checker's verdict (multipath-tools' `PATH_*` states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathCheck {
    /// Usable (`ready`).
    Up,
    /// Not usable (`faulty`).
    Down,
    /// Not known yet (`i/o pending`).
    Pending,
    /// Reachable through a standby port (`ghost`).
    Ghost,
}

impl PathCheck {
    /// The word `multipath -ll` prints.
    pub fn word(self) -> &'static str {
        match self {
            PathCheck::Up => "ready",
            PathCheck::Down => "faulty",
            PathCheck::Pending => "i/o pending",
            PathCheck::Ghost => "ghost",
        }
    }

    fn usable(self) -> bool {
        matches!(self, PathCheck::Up | PathCheck::Ghost)
    }
}

/// What the kernel's device state alone says: `None` for a running path
/// (a checker must look) or an unknown state.
pub fn from_device_state(state: Option<&str>) -> Option<PathCheck> {
    match state? {
        "running" => None,
        "blocked" | "quiesce" => Some(PathCheck::Pending),
        _ => Some(PathCheck::Down),
    }
}

/// Asks a path itself.
pub trait PathProbe {
    /// The checker's verdict for the device node `node`.
    fn check(&self, node: &Path) -> PathCheck;
    /// The path's priority, when it can be had.
    fn priority(&self, node: &Path) -> Option<i64>;
}

/// The `tur` checker and the `alua`/`const` prioritizers through SG_IO.
#[derive(Debug, Clone, Copy, Default)]
pub struct SgIoProbe;

fn open(node: &Path) -> Result<Device<SgIo>, ScsiError> {
    SgIo::open(node, OpenMode::ReadOnly).map(Device::new)
}

impl PathProbe for SgIoProbe {
    fn check(&self, node: &Path) -> PathCheck {
        let Ok(mut dev) = open(node) else {
            return PathCheck::Down;
        };
        dev.retry.unit_attention_retries = 3;
        match dev.test_unit_ready() {
            Ok(()) => PathCheck::Up,
            // NOT READY, 04/0B: target port in standby state.
            Err(ScsiError::NotReady { sense, .. }) if (sense.asc, sense.ascq) == (0x04, 0x0b) => {
                PathCheck::Ghost
            }
            Err(_) => PathCheck::Down,
        }
    }

    fn priority(&self, node: &Path) -> Option<i64> {
        let dev = open(node).ok()?;
        let inq = dev.inquiry().ok()?;
        if inq.tpgs == 0 {
            return Some(1);
        }
        let group = dev
            .device_identification()
            .ok()?
            .into_iter()
            .find(|d| d.association == 1 && d.designator_type == designator_type::TARGET_PORT_GROUP)
            .and_then(|d| {
                let b = d.designator.get(2..4)?;
                Some(u16::from_be_bytes([b[0], b[1]]))
            })?;
        let g = dev
            .report_target_port_groups()
            .ok()?
            .into_iter()
            .find(|g| g.id == group)?;
        Some(alua::multipath_priority(g.access_state, g.preferred))
    }
}

/// Sets each group's priority from its paths as multipath does: the mean
/// priority of the usable (`ready` or `ghost`) paths that have one, 0 when
/// none has.
pub fn group_priorities(topo: &mut Topology) {
    for m in topo.luns.iter_mut().filter_map(|l| l.multipath.as_mut()) {
        for g in &mut m.groups {
            let prios: Vec<i64> = g
                .paths
                .iter()
                .filter(|p| matches!(p.checker_state.as_deref(), Some("ready" | "ghost")))
                .filter_map(|p| p.prio)
                .collect();
            let n = i64::try_from(prios.len()).unwrap_or(i64::MAX);
            g.prio = Some(if n > 0 {
                prios.iter().sum::<i64>() / n
            } else {
                0
            });
        }
    }
}

/// Sets the checker state and priority of every path of every map, and
/// each group's priority. `probe` is asked about running paths (nodes under
/// `dev_root`); without it they stay unchecked.
pub fn apply(topo: &mut Topology, dev_root: &Path, probe: Option<&dyn PathProbe>) {
    for m in topo.luns.iter_mut().filter_map(|l| l.multipath.as_mut()) {
        for p in m.groups.iter_mut().flat_map(|g| g.paths.iter_mut()) {
            let node = dev_root.join(&p.dev);
            let state = from_device_state(p.dev_state.as_deref())
                .or_else(|| probe.map(|pr| pr.check(&node)));
            p.checker_state = state.map(|s| s.word().to_string());
            if let (Some(s), Some(pr)) = (state, probe) {
                if s.usable() {
                    p.prio = pr.priority(&node);
                }
            }
        }
    }
    group_priorities(topo);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::mpath_ll::{MpPath, MultipathMap, PathGroup};
    use crate::topology::Lun;
    use std::cell::RefCell;

    struct Scripted {
        asked: RefCell<Vec<String>>,
    }

    impl PathProbe for Scripted {
        fn check(&self, node: &Path) -> PathCheck {
            let n = node.file_name().unwrap().to_string_lossy().into_owned();
            self.asked.borrow_mut().push(n.clone());
            match n.as_str() {
                "sdc" => PathCheck::Ghost,
                "sdd" => PathCheck::Down,
                _ => PathCheck::Up,
            }
        }
        fn priority(&self, node: &Path) -> Option<i64> {
            Some(if node.ends_with("sdc") { 1 } else { 50 })
        }
    }

    fn path(dev: &str, state: &str) -> MpPath {
        MpPath {
            dev: dev.into(),
            dev_state: Some(state.into()),
            ..MpPath::default()
        }
    }

    fn topo() -> Topology {
        Topology {
            luns: vec![Lun {
                multipath: Some(MultipathMap {
                    groups: vec![
                        PathGroup {
                            paths: vec![path("sda", "running"), path("sdb", "offline")],
                            ..PathGroup::default()
                        },
                        PathGroup {
                            paths: vec![
                                path("sdc", "running"),
                                path("sdd", "running"),
                                path("sde", "blocked"),
                            ],
                            ..PathGroup::default()
                        },
                    ],
                    ..MultipathMap::default()
                }),
                ..Lun::default()
            }],
            ..Topology::default()
        }
    }

    fn states(t: &Topology) -> Vec<(Option<String>, Option<i64>)> {
        t.luns[0]
            .multipath
            .as_ref()
            .unwrap()
            .paths()
            .map(|p| (p.checker_state.clone(), p.prio))
            .collect()
    }

    #[test]
    fn device_state_then_checker_then_mean_priority() {
        let mut t = topo();
        let probe = Scripted {
            asked: RefCell::new(Vec::new()),
        };
        apply(&mut t, Path::new("/dev"), Some(&probe));
        // Offline and blocked paths are not asked.
        assert_eq!(*probe.asked.borrow(), vec!["sda", "sdc", "sdd"]);
        let s = |w: &str| Some(w.to_string());
        assert_eq!(
            states(&t),
            vec![
                (s("ready"), Some(50)),
                (s("faulty"), None),
                (s("ghost"), Some(1)),
                (s("faulty"), None),
                (s("i/o pending"), None),
            ]
        );
        let g = &t.luns[0].multipath.as_ref().unwrap().groups;
        assert_eq!(g[0].prio, Some(50));
        assert_eq!(g[1].prio, Some(1));
    }

    #[test]
    fn without_a_probe_only_the_device_state_counts() {
        let mut t = topo();
        apply(&mut t, Path::new("/dev"), None);
        let s = states(&t);
        assert_eq!(s[0], (None, None));
        assert_eq!(s[1].0.as_deref(), Some("faulty"));
        assert_eq!(s[4].0.as_deref(), Some("i/o pending"));
        let g = &t.luns[0].multipath.as_ref().unwrap().groups;
        assert_eq!((g[0].prio, g[1].prio), (Some(0), Some(0)));
        assert_eq!(
            from_device_state(Some("transport-offline")),
            Some(PathCheck::Down)
        );
        assert_eq!(from_device_state(None), None);
    }
}
