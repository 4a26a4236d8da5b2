//! What a user-given name stands for in a [`Topology`]: a by-path or by-id
//! name (with or without `/dev/disk/by-*/`), a WWID, a serial number, a
//! map alias (`mpatha`, `/dev/mapper/mpatha`), a kernel name (`sdb`,
//! `sg2`, `dm-0`, a partition) or an H:C:T:L address.

use serde::Serialize;

use super::{BlockDev, Hctl, Lun, Topology};

/// A resolved name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolution {
    /// Index of the unit in [`Topology::luns`].
    pub lun: usize,
    /// The path the name designates, when it designates one path.
    pub path: Option<Hctl>,
    /// The canonical device node: that path's sd node, else the map, else
    /// the first path's sd node.
    pub device: String,
}

/// `name` without `/dev/disk/by-path/`, `/dev/disk/by-id/`,
/// `/dev/mapper/` or `/dev/`.
pub fn strip(name: &str) -> &str {
    for p in [
        "/dev/disk/by-path/",
        "/dev/disk/by-id/",
        "/dev/mapper/",
        "/dev/",
    ] {
        if let Some(r) = name.strip_prefix(p) {
            return r;
        }
    }
    name
}

/// The device in `b` or among its holders (recursively) named `n`: its
/// kernel name, dm name or a by-path name.
pub fn find_in_tree<'a>(b: &'a [BlockDev], n: &str) -> Option<&'a BlockDev> {
    b.iter().find_map(|d| {
        if d.name == n || d.dm_name.as_deref() == Some(n) || d.by_path.iter().any(|p| p == n) {
            Some(d)
        } else {
            find_in_tree(&d.holders, n)
        }
    })
}

fn in_tree(b: &[BlockDev], n: &str) -> bool {
    find_in_tree(b, n).is_some()
}

/// Resolves `name`, or `None` when nothing in `topo` has that name.
pub fn resolve(topo: &Topology, name: &str) -> Option<Resolution> {
    let n = strip(name.trim());
    if n.is_empty() {
        return None;
    }
    let hctl: Option<Hctl> = n.parse().ok();
    let at = |lun: usize, l: &Lun, path: Option<Hctl>| {
        let device = path
            .and_then(|h| l.paths.iter().find(|p| p.hctl == h))
            .and_then(|p| p.sd.as_ref().map(|s| format!("/dev/{s}")))
            .or_else(|| l.canonical_device())
            .unwrap_or_else(|| "-".into());
        Resolution { lun, path, device }
    };
    // Names of one path first.
    for (i, l) in topo.luns.iter().enumerate() {
        for p in &l.paths {
            if Some(p.hctl) == hctl
                || p.sd.as_deref() == Some(n)
                || p.sg.as_deref() == Some(n)
                || p.by_path.iter().any(|b| b == n)
            {
                return Some(at(i, l, Some(p.hctl)));
            }
        }
    }
    // Then names of the unit.
    for (i, l) in topo.luns.iter().enumerate() {
        let map_hit = l.multipath.as_ref().is_some_and(|m| {
            m.name == n || m.dm.as_deref() == Some(n) || m.by_id.iter().any(|b| b == n)
        });
        let id_hit = l.wwid.as_deref() == Some(n)
            || l.serial.as_deref() == Some(n)
            || l.paths.iter().any(|p| p.by_id.iter().any(|b| b == n));
        if map_hit || id_hit || in_tree(&l.holders, n) {
            return Some(at(i, l, None));
        }
    }
    // A by-id or by-path partition link names its disk's unit.
    if let Some((disk, part)) = n.rsplit_once("-part") {
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            return resolve(topo, disk);
        }
    }
    None
}
