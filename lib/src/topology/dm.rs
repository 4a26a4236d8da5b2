//! Device-mapper devices from sysfs: multipath maps
//! (`/sys/block/dm-N/dm/{name,uuid}` with uuid `mpath-<wwid>`, paths in
//! `slaves/`), and everything stacked on a disk or map (partitions,
//! kpartx maps `part<N>-mpath-<wwid>`, LVM volumes `LVM-<vg uuid><lv uuid>`
//! named `<vg>-<lv>` with `-` doubled inside names), with mount points from
//! `/proc/self/mountinfo`.
//!
//! sysfs does not hold a map's path groups, table features or per-path dm
//! states: [`super::dm_mpath`] reads those from device-mapper itself (the
//! `devicemapper` crate, or captured `dmsetup` text).

use crate::scsi::wwid::Wwid;
use std::collections::BTreeMap;
use std::path::Path;

use super::sysfs;
use super::{BlockDev, BlockKind};

/// A multipath map as sysfs shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysfsMap {
    /// Kernel name, `dm-0`.
    pub kernel_name: String,
    /// Map name (alias), `mpatha`.
    pub name: String,
    /// WWID (the uuid without `mpath-`).
    pub wwid: Wwid,
    /// Path devices (`sdb`, `sdc`), sorted.
    pub slaves: Vec<String>,
    /// Size in 512-byte sectors.
    pub sectors: Option<u64>,
    /// Read-only flag (`/sys/block/dm-N/ro`).
    pub read_only: Option<bool>,
    /// Device number `253:0`.
    pub devt: Option<String>,
}

/// Every multipath map under `sys`, in kernel-name order.
pub fn multipath_maps(sys: &Path) -> Vec<SysfsMap> {
    let mut v: Vec<SysfsMap> = sysfs::list_dir(&sys.join("block"))
        .into_iter()
        .filter(|n| n.starts_with("dm-"))
        .filter_map(|n| {
            let d = sys.join("block").join(&n);
            let uuid = sysfs::read_trim(&d.join("dm/uuid"))?;
            let wwid = uuid.strip_prefix("mpath-")?.to_string();
            Some(SysfsMap {
                name: sysfs::read_trim(&d.join("dm/name")).unwrap_or_else(|| n.clone()),
                wwid: wwid.into(),
                slaves: sysfs::slaves(sys, &n),
                sectors: sysfs::read_u64(&d.join("size")),
                read_only: sysfs::read_u64(&d.join("ro")).map(|r| r != 0),
                devt: sysfs::read_trim(&d.join("dev")),
                kernel_name: n,
            })
        })
        .collect();
    v.sort_by_key(|m| dm_number(&m.kernel_name));
    v
}

fn dm_number(n: &str) -> u64 {
    n.strip_prefix("dm-")
        .and_then(|d| d.parse().ok())
        .unwrap_or(u64::MAX)
}

/// Splits an LVM dm name (`vg--a-lv--b`) into volume group and logical
/// volume (`vg-a`, `lv-b`): a single `-` separates, `--` is a literal `-`.
pub fn split_lvm_name(name: &str) -> Option<(String, String)> {
    let b = name.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'-' {
            if b.get(i + 1) == Some(&b'-') {
                i += 2;
                continue;
            }
            let vg = name[..i].replace("--", "-");
            let lv = name[i + 1..].replace("--", "-");
            return (!vg.is_empty() && !lv.is_empty()).then_some((vg, lv));
        }
        i += 1;
    }
    None
}

/// Mount points by device number (`8:17` -> [`/srv`]).
#[derive(Debug, Clone, Default)]
pub struct Mounts(BTreeMap<String, Vec<String>>);

impl Mounts {
    /// Parses `/proc/self/mountinfo` text: field 3 is `major:minor`,
    /// field 5 the mount point with `\ooo` escapes.
    pub fn parse_mountinfo(text: &str) -> Mounts {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 5 {
                continue;
            }
            m.entry(f[2].to_string())
                .or_default()
                .push(crate::block::unescape_octal(f[4]));
        }
        Mounts(m)
    }

    /// Reads a mountinfo file; an unreadable file means no mounts known.
    pub fn read(path: &Path) -> Mounts {
        std::fs::read_to_string(path)
            .map(|t| Mounts::parse_mountinfo(&t))
            .unwrap_or_default()
    }

    /// Mount points of the device with number `devt`.
    pub fn of(&self, devt: Option<&str>) -> Vec<String> {
        devt.and_then(|d| self.0.get(d).cloned())
            .unwrap_or_default()
    }
}

/// Partitions of block device `disk` (kernel names, in partition order).
pub fn partitions(sys: &Path, disk: &str) -> Vec<(String, u32)> {
    let dir = sysfs::block_dir(sys, disk);
    // A partition's directory is named after its disk (sdb1, nvme0n1p1);
    // other entries (queue, holders, dev...) need not be opened.
    let mut v: Vec<(String, u32)> = sysfs::list_dir(&dir)
        .into_iter()
        .filter(|n| n.len() > disk.len() && n.starts_with(disk))
        .filter_map(|n| {
            let num = sysfs::read_u64(&dir.join(&n).join("partition"))?;
            Some((n, u32::try_from(num).ok()?))
        })
        .collect();
    v.sort_by_key(|p| p.1);
    v
}

fn size_bytes(sys: &Path, name: &str) -> Option<u64> {
    sysfs::read_u64(&sysfs::block_dir(sys, name).join("size")).and_then(|s| s.checked_mul(512))
}

fn devt(sys: &Path, name: &str) -> Option<String> {
    sysfs::read_trim(&sysfs::block_dir(sys, name).join("dev"))
}

/// The device stacked on `name` in `kernel name` form, classified.
fn describe(sys: &Path, name: &str, mounts: &Mounts, depth: usize) -> BlockDev {
    let dm_dir = sys.join("block").join(name).join("dm");
    let dm_name = sysfs::read_trim(&dm_dir.join("name"));
    let uuid = sysfs::read_trim(&dm_dir.join("uuid"));
    let kind = match (&uuid, &dm_name) {
        (Some(u), _) if u.starts_with("part") => {
            let n = u[4..]
                .split('-')
                .next()
                .and_then(|d| d.parse().ok())
                .unwrap_or(0);
            BlockKind::KpartxPartition { number: n }
        }
        (Some(u), Some(n)) if u.starts_with("LVM-") => match split_lvm_name(n) {
            Some((vg, lv)) => BlockKind::LvmLv { vg, lv },
            None => BlockKind::Dm { uuid: u.clone() },
        },
        (Some(u), _) => BlockKind::Dm { uuid: u.clone() },
        (None, _) => BlockKind::Other,
    };
    BlockDev {
        name: name.to_string(),
        kind,
        dm_name,
        size_bytes: size_bytes(sys, name),
        by_path: Vec::new(),
        mounts: mounts.of(devt(sys, name).as_deref()),
        holders: stacked(sys, name, mounts, depth + 1),
    }
}

/// What is stacked directly on `name` (its holders), recursively, not
/// counting partitions.
pub fn stacked(sys: &Path, name: &str, mounts: &Mounts, depth: usize) -> Vec<BlockDev> {
    if depth > 8 {
        return Vec::new();
    }
    sysfs::holders(sys, name)
        .into_iter()
        .map(|h| describe(sys, &h, mounts, depth))
        .collect()
}

/// Partitions of `disk` and everything stacked on the disk and on them.
/// `disk_by_path` gives the partitions their by-path names.
pub fn holders_tree(
    sys: &Path,
    disk: &str,
    mounts: &Mounts,
    disk_by_path: &[String],
) -> Vec<BlockDev> {
    let mut v: Vec<BlockDev> = partitions(sys, disk)
        .into_iter()
        .map(|(p, n)| BlockDev {
            kind: BlockKind::Partition { number: n },
            dm_name: None,
            size_bytes: size_bytes(sys, &p),
            by_path: disk_by_path
                .iter()
                .map(|b| super::path_id::partition(b, n))
                .collect(),
            mounts: mounts.of(devt(sys, &p).as_deref()),
            holders: stacked(sys, &p, mounts, 1),
            name: p,
        })
        .collect();
    v.extend(stacked(sys, disk, mounts, 0));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lvm_names() {
        assert_eq!(
            split_lvm_name("vg0-data"),
            Some(("vg0".into(), "data".into()))
        );
        assert_eq!(
            split_lvm_name("my--vg-lv--x"),
            Some(("my-vg".into(), "lv-x".into()))
        );
        assert_eq!(split_lvm_name("novg"), None);
        assert_eq!(split_lvm_name("-x"), None);
    }

    #[test]
    fn mountinfo() {
        let m = Mounts::parse_mountinfo(
            "36 25 8:17 / /srv/my\\040data rw,relatime shared:1 - xfs /dev/sdb1 rw\nshort\n",
        );
        assert_eq!(m.of(Some("8:17")), vec!["/srv/my data"]);
        assert!(m.of(Some("8:0")).is_empty());
        assert_eq!(crate::block::unescape_octal("a\\04"), "a\\04");
    }
}
