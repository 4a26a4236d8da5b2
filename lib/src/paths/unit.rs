//! Logical units and the paths (I_T nexuses) that reach them: a named
//! device as a [`Unit`] with every path, the order one-path commands try
//! them in, the merging of separately named paths of one unit, and the
//! initiator port each path goes through.

use crate::scsi::wwid::Wwid;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::resolve::{self, ResolveError, Target};
use crate::scsi::transport_id::TransportId;
use crate::topology::Roots;

/// One logical unit as named by the user (or found by `auto`), and the
/// paths to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    /// The name as given (or as found by `auto`).
    pub name: String,
    /// Every path: one for a plain device, the slaves of a multipath map.
    pub paths: Vec<PathBuf>,
    /// Paths sysfs does not call usable (`offline`, ...), a subset of
    /// `paths`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unusable: Vec<PathBuf>,
    /// True for a multipath map.
    pub multipath: bool,
}

impl Unit {
    /// A plain device with one path.
    pub fn single(name: &str) -> Unit {
        Unit {
            name: name.to_string(),
            paths: vec![PathBuf::from(name)],
            unusable: Vec::new(),
            multipath: false,
        }
    }

    /// Paths in the order to try one-path commands: usable ones first.
    pub fn read_order(&self) -> Vec<&Path> {
        let mut v: Vec<&Path> = self.paths.iter().map(PathBuf::as_path).collect();
        v.sort_by_key(|p| self.unusable.iter().any(|u| u == p));
        v
    }

    /// From a resolved target.
    pub fn from_target(name: &str, t: &Target) -> Unit {
        match t {
            Target::Single { node } => Unit {
                name: name.to_string(),
                paths: vec![node.clone()],
                unusable: Vec::new(),
                multipath: false,
            },
            Target::Multipath { paths, .. } => Unit {
                name: name.to_string(),
                paths: paths.iter().map(|p| p.node.clone()).collect(),
                unusable: paths
                    .iter()
                    .filter(|p| !p.usable())
                    .map(|p| p.node.clone())
                    .collect(),
                multipath: true,
            },
        }
    }
}

/// Resolves device names into units, expanding multipath maps
/// (unless `multipath` is false). Plain devices that are paths of one
/// logical unit (the same `device/wwid` in sysfs, e.g. the sessions of an
/// iSCSI host with two paths, each named by the user) become one device
/// with several paths, so that a change reaches every path while a
/// self-preempt or a preempt goes through one of them only (a preempt
/// through one path removes the key from every path: fence-agents issue
/// 594).
pub fn resolve_units(
    names: &[String],
    multipath: bool,
    roots: &Roots,
) -> Result<Vec<Unit>, ResolveError> {
    let devs = names
        .iter()
        .map(|n| {
            let mut d = if multipath {
                resolve::resolve(Path::new(n), roots).map(|t| Unit::from_target(n, &t))?
            } else {
                Unit::single(n)
            };
            // A plain device that sysfs says cannot take commands (offline)
            // is tried last and reported.
            if !d.multipath {
                let p = d.paths[0].clone();
                if matches!(resolve::scsi_state(&p, roots).as_deref(), Some(s) if s != "running") {
                    d.unusable.push(p);
                }
            }
            Ok(d)
        })
        .collect::<Result<Vec<_>, ResolveError>>()?;
    Ok(merge_paths_of_one_unit(devs, |p| {
        resolve::unit_wwid(p, roots)
    }))
}

/// Joins plain (single-path, not multipath) devices whose unit identity
/// `wwid` gives the same value into the first of them, in the order given.
/// Devices without an identity, and maps, are left as they are.
pub fn merge_paths_of_one_unit(devs: Vec<Unit>, wwid: impl Fn(&Path) -> Option<Wwid>) -> Vec<Unit> {
    let mut out: Vec<Unit> = Vec::with_capacity(devs.len());
    let mut ids: Vec<Option<Wwid>> = Vec::with_capacity(devs.len());
    for d in devs {
        let id = if d.multipath || d.paths.len() != 1 {
            None
        } else {
            wwid(&d.paths[0])
        };
        if let Some(id) = &id {
            if let Some(i) = ids.iter().position(|x| x.as_ref() == Some(id)) {
                let into = &mut out[i];
                for p in d.paths {
                    if !into.paths.contains(&p) {
                        into.paths.push(p);
                    }
                }
                into.unusable.extend(d.unusable);
                continue;
            }
        }
        ids.push(id);
        out.push(d);
    }
    out
}

/// The SCSI device directory in sysfs of an sd or sg node, canonical
/// (`.../hostH/.../H:C:T:L`).
fn scsi_device_dir(path: &Path, roots: &Roots) -> Option<PathBuf> {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let name = real.file_name()?.to_str()?.to_string();
    let link = if name.starts_with("sg") {
        roots
            .sys
            .join("class/scsi_generic")
            .join(&name)
            .join("device")
    } else {
        roots.sys.join("block").join(&name).join("device")
    };
    std::fs::canonicalize(link).ok()
}

/// The initiator port of the I_T nexus a path goes through, from sysfs
/// (and configfs, under `<sys>/kernel/config`, for LIO's loopback
/// fabric): an iSCSI session's initiator name and ISID, a Fibre Channel
/// host's port name, or a tcm_loop nexus's initiator WWN (`naa.` is SAS,
/// `iqn.` iSCSI, `fc.` FC). None when it cannot be told.
pub fn initiator_port(path: &Path, roots: &Roots) -> Option<TransportId> {
    let dir = scsi_device_dir(path, roots)?;
    let hctl = dir.file_name()?.to_str()?.to_string();
    let host: u32 = hctl.split(':').next()?.parse().ok()?;
    let read = |p: PathBuf| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    if let Some(session) = dir.iter().filter_map(|c| c.to_str()).find(|c| {
        c.strip_prefix("session")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    }) {
        let base = roots.sys.join("class/iscsi_session").join(session);
        let name = read(base.join("initiatorname"))?;
        let isid = read(base.join("isid"));
        return Some(TransportId::Iscsi { name, isid });
    }
    let fc = roots
        .sys
        .join(format!("class/fc_host/host{host}/port_name"));
    if let Some(pn) = read(fc) {
        let hex = pn.trim_start_matches("0x");
        return u64::from_str_radix(hex, 16)
            .ok()
            .map(|port_name| TransportId::Fc { port_name });
    }
    // LIO loopback: each tpgt's `address` is "HOST:0:TPGT" and its
    // `nexus` the initiator port's name.
    let loopback = roots.sys.join("kernel/config/target/loopback");
    for wwn in std::fs::read_dir(loopback).ok()?.flatten() {
        for tpg in std::fs::read_dir(wwn.path()).ok()?.flatten() {
            let Some(addr) = read(tpg.path().join("address")) else {
                continue;
            };
            if addr.split(':').next().and_then(|h| h.parse::<u32>().ok()) != Some(host) {
                continue;
            }
            let nexus = read(tpg.path().join("nexus"))?;
            return loopback_port(&nexus);
        }
    }
    None
}

/// A tcm_loop nexus name as a TransportID.
fn loopback_port(nexus: &str) -> Option<TransportId> {
    let hex16 = |h: &str| {
        let h = h.trim_start_matches("0x");
        (h.len() == 16)
            .then(|| u64::from_str_radix(h, 16).ok())
            .flatten()
    };
    if let Some(h) = nexus.strip_prefix("naa.") {
        return hex16(h).map(|address| TransportId::Sas { address });
    }
    if let Some(h) = nexus.strip_prefix("fc.") {
        return hex16(h).map(|port_name| TransportId::Fc { port_name });
    }
    if nexus.starts_with("iqn.") || nexus.starts_with("eui.") {
        return Some(TransportId::Iscsi {
            name: nexus.to_string(),
            isid: None,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_one_unit_named_separately_become_one_device() {
        let names = ["/dev/sg0", "/dev/sg4", "/dev/sg1", "/dev/sg5", "/x"];
        let devs: Vec<Unit> = names.iter().map(|n| Unit::single(n)).collect();
        let merged = merge_paths_of_one_unit(devs, |p| match p.to_str() {
            Some("/dev/sg0" | "/dev/sg4") => Some("naa.1".into()),
            Some("/dev/sg1" | "/dev/sg5") => Some("naa.2".into()),
            _ => None,
        });
        let got: Vec<(String, Vec<PathBuf>)> = merged
            .iter()
            .map(|d| (d.name.clone(), d.paths.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "/dev/sg0".into(),
                    vec!["/dev/sg0".into(), "/dev/sg4".into()]
                ),
                (
                    "/dev/sg1".into(),
                    vec!["/dev/sg1".into(), "/dev/sg5".into()]
                ),
                ("/x".into(), vec!["/x".into()]),
            ]
        );
        assert!(merged.iter().all(|d| !d.multipath));
    }

    #[test]
    fn read_order_puts_unusable_paths_last() {
        let d = Unit {
            name: "m".into(),
            paths: vec!["/dev/sdb".into(), "/dev/sdc".into()],
            unusable: vec!["/dev/sdb".into()],
            multipath: true,
        };
        assert_eq!(
            d.read_order(),
            vec![Path::new("/dev/sdc"), Path::new("/dev/sdb")]
        );
        let r = resolve_units(&["/dev/x".into()], false, &Roots::default()).unwrap();
        assert_eq!(r[0], Unit::single("/dev/x"));
    }

    #[test]
    fn initiator_ports_from_sysfs_and_loopback_configfs() {
        let t = tempfile::tempdir().unwrap();
        let sys = t.path();
        let mk = |rel: &str| {
            let p = sys.join(rel);
            std::fs::create_dir_all(&p).unwrap();
            p
        };
        let w = |p: PathBuf, s: &str| std::fs::write(p, s).unwrap();
        let roots = Roots {
            sys: sys.to_path_buf(),
            dev: sys.join("dev"),
        };
        // tcm_loop: host 3.
        let d3 = mk("devices/tcm_loop_0/tcm_loop_adapter_0/host3/target3:0:1/3:0:1:0");
        mk("class/scsi_generic/sg2");
        std::os::unix::fs::symlink(&d3, sys.join("class/scsi_generic/sg2/device")).unwrap();
        let tpg = mk("kernel/config/target/loopback/naa.500140500000000a/tpgt_1");
        w(tpg.join("address"), "3:0:1\n");
        w(tpg.join("nexus"), "naa.5001405000000b01\n");
        let tpg = mk("kernel/config/target/loopback/naa.500140500000000b/tpgt_1");
        w(tpg.join("address"), "4:0:1\n");
        w(tpg.join("nexus"), "naa.5001405000000b02\n");
        assert_eq!(
            initiator_port(&sys.join("dev/sg2"), &roots),
            Some(TransportId::Sas {
                address: 0x5001_4050_0000_0b01
            })
        );
        // iSCSI: the session's initiator name and ISID.
        let d5 = mk("devices/platform/host5/session7/target5:0:0/5:0:0:1");
        mk("block/sdc");
        std::os::unix::fs::symlink(&d5, sys.join("block/sdc/device")).unwrap();
        let s7 = mk("class/iscsi_session/session7");
        w(s7.join("initiatorname"), "iqn.2026-01.test:node1\n");
        w(s7.join("isid"), "23d000000001\n");
        assert_eq!(
            initiator_port(&sys.join("dev/sdc"), &roots),
            Some(TransportId::Iscsi {
                name: "iqn.2026-01.test:node1".into(),
                isid: Some("23d000000001".into())
            })
        );
        // Fibre Channel: the host's port name.
        let d6 = mk("devices/pci0000:00/host6/rport-6:0-0/target6:0:0/6:0:0:0");
        mk("block/sdd");
        std::os::unix::fs::symlink(&d6, sys.join("block/sdd/device")).unwrap();
        w(
            mk("class/fc_host/host6").join("port_name"),
            "0x10000090fa1b2c3d\n",
        );
        assert_eq!(
            initiator_port(&sys.join("dev/sdd"), &roots),
            Some(TransportId::Fc {
                port_name: 0x1000_0090_fa1b_2c3d
            })
        );
        assert_eq!(initiator_port(&sys.join("dev/sdz"), &roots), None);
    }
}
