//! Finding quorum disks by label (mkqdisk `-L` and `-f`).
//!
//! Candidates are the block devices in `/proc/partitions`. As qdiskd does,
//! a device with holders (a path under a multipath map, a PV under an LV)
//! is skipped; a device-mapper device whose `dm/uuid` starts with `mpath-`
//! is reported by its `/dev/mapper` name, and its slaves (the paths) are
//! skipped even when their `holders` directory says nothing. Devices smaller
//! than the qdisk region are skipped without being opened. Every read runs
//! under the deadline, so a hung path costs at most one deadline.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::format::QuorumHeader;
use super::geometry::Geometry;
use super::io::{OpenOpts, QdiskDevice};
use super::QdiskError;
use crate::topology::sysfs::{self, read_trim};

/// A quorum disk found by a scan.
#[derive(Debug, Clone)]
pub struct Found {
    /// The device as named on the system (`/dev/sdb`, `/dev/mapper/mpatha`).
    pub device: PathBuf,
    /// The path that was opened (the same, under the scan root).
    pub opened: PathBuf,
    /// The kernel name from /proc/partitions (`sdb`, `dm-3`).
    pub kernel_name: String,
    /// Whether the device is a multipath map.
    pub multipath: bool,
    /// The decoded quorum header.
    pub header: QuorumHeader,
    /// The logical sector size the device reports now.
    pub kernel_sector_size: u32,
}

impl Found {
    /// Whether the recorded sector size agrees with the device's (qdiskd's
    /// strict check; a version-1 header records none and always agrees).
    pub fn sector_size_matches(&self) -> bool {
        !self.header.is_v2() || self.header.sector_size == self.kernel_sector_size
    }
}

/// A device that could not be read during a scan, with the reason.
#[derive(Debug)]
pub struct Skipped {
    /// The device.
    pub device: PathBuf,
    /// Why.
    pub error: QdiskError,
}

/// The result of a scan.
#[derive(Debug, Default)]
pub struct ScanResult {
    /// Quorum disks, in /proc/partitions order.
    pub found: Vec<Found>,
    /// Devices that failed with an I/O error or a timeout (devices that
    /// simply hold no quorum disk are not listed).
    pub skipped: Vec<Skipped>,
}

struct Candidate {
    name: String,
    kib: u64,
}

/// Parses /proc/partitions: `major minor #blocks name` after a header line.
fn partitions(text: &str) -> Vec<Candidate> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() != 4 {
                return None;
            }
            let kib = f[2].parse().ok()?;
            f[0].parse::<u32>().ok()?;
            Some(Candidate {
                name: f[3].to_string(),
                kib,
            })
        })
        .collect()
}

/// Scans the block devices listed in `root/proc/partitions` for quorum
/// disks, with the label `label` if given. `root` is `/` on a live system
/// and a fixture tree in tests; devices are opened as `root/dev/NAME` (or
/// `root/dev/mapper/MAP`), and `opts.file_sector_size` applies to fixtures
/// that are plain files.
pub fn scan(root: &Path, label: Option<&str>, opts: OpenOpts) -> Result<ScanResult, QdiskError> {
    let pp = root.join("proc/partitions");
    let text = fs::read_to_string(&pp).map_err(|source| QdiskError::Io {
        device: pp.clone(),
        op: "read",
        offset: 0,
        source,
    })?;
    let cands = partitions(&text);
    let min_kib = Geometry::min_device_size(512) / 1024;

    // Paths under multipath maps, skipped in favour of the map.
    let mut paths_of_maps = BTreeSet::new();
    let sysfs = root.join("sys");
    for c in &cands {
        if is_mpath(&sysfs.join("block").join(&c.name)) {
            paths_of_maps.extend(sysfs::slaves(&sysfs, &c.name));
        }
    }

    let mut res = ScanResult::default();
    for c in cands {
        if c.kib < min_kib || paths_of_maps.contains(&c.name) {
            continue;
        }
        let sys = root.join("sys/class/block").join(&c.name);
        if !sysfs::list_dir_unsorted(&sys.join("holders")).is_empty() {
            continue;
        }
        let sysblock = root.join("sys/block").join(&c.name);
        let multipath = is_mpath(&sysblock);
        let (device, opened) = match (multipath, read_trim(&sysblock.join("dm/name"))) {
            (true, Some(map)) => {
                let mapper = root.join("dev/mapper").join(&map);
                let opened = if mapper.exists() {
                    mapper
                } else {
                    root.join("dev").join(&c.name)
                };
                (PathBuf::from("/dev/mapper").join(map), opened)
            }
            _ => (
                PathBuf::from("/dev").join(&c.name),
                root.join("dev").join(&c.name),
            ),
        };
        let dev = match QdiskDevice::open(&opened, opts) {
            Ok(d) => d,
            Err(e @ QdiskError::Timeout { .. }) => {
                res.skipped.push(Skipped { device, error: e });
                continue;
            }
            Err(_) => continue,
        };
        match dev.read_header() {
            Ok((_, header)) => {
                if label.is_some_and(|l| l != header.label()) {
                    continue;
                }
                res.found.push(Found {
                    device,
                    opened,
                    kernel_name: c.name,
                    multipath,
                    header,
                    kernel_sector_size: dev.geometry().sector_size(),
                });
            }
            Err(e @ (QdiskError::Timeout { .. } | QdiskError::Io { .. })) => {
                res.skipped.push(Skipped { device, error: e });
            }
            Err(_) => {}
        }
    }
    Ok(res)
}

fn is_mpath(sysblock: &Path) -> bool {
    read_trim(&sysblock.join("dm/uuid")).is_some_and(|u| u.starts_with("mpath-"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qdisk::format::{encode_block, BlockMeta};
    use std::fs::File;

    fn image(path: &Path, label: Option<&str>) {
        let f = File::create(path).unwrap();
        f.set_len(1 << 20).unwrap();
        if let Some(l) = label {
            let mut b = vec![0u8; 512];
            encode_block(
                BlockMeta::default(),
                &QuorumHeader::new(l, "node1", 1, 512),
                &mut b,
            )
            .unwrap();
            use std::os::unix::fs::FileExt;
            f.write_all_at(&b, 0).unwrap();
        }
    }

    /// sda: plain disk without qdisk; sdb and sdc: two paths of dm-0
    /// (mpatha, a qdisk "quorum"); sdd: a plain qdisk "other"; sde: a tiny
    /// partition; sdf: a qdisk held by something else.
    fn fixture() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        for d in [
            "proc",
            "dev/mapper",
            "sys/block/dm-0/dm",
            "sys/block/dm-0/slaves/sdb",
            "sys/block/dm-0/slaves/sdc",
            "sys/class/block/sdf/holders/dm-9",
        ] {
            fs::create_dir_all(r.join(d)).unwrap();
        }
        fs::write(
            r.join("proc/partitions"),
            "major minor  #blocks  name\n\n   8        0       1024 sda\n   8       16       1024 sdb\n   8       32       1024 sdc\n   8       48       1024 sdd\n   8       64         16 sde\n   8       80       1024 sdf\n 253        0       1024 dm-0\n",
        )
        .unwrap();
        fs::write(r.join("sys/block/dm-0/dm/uuid"), "mpath-3600140512345\n").unwrap();
        fs::write(r.join("sys/block/dm-0/dm/name"), "mpatha\n").unwrap();
        image(&r.join("dev/sda"), None);
        image(&r.join("dev/sdb"), Some("quorum"));
        image(&r.join("dev/sdc"), Some("quorum"));
        image(&r.join("dev/sdd"), Some("other"));
        image(&r.join("dev/sdf"), Some("held"));
        image(&r.join("dev/mapper/mpatha"), Some("quorum"));
        t
    }

    #[test]
    fn lists_maps_not_their_paths() {
        let t = fixture();
        let res = scan(t.path(), None, OpenOpts::default()).unwrap();
        let names: Vec<_> = res.found.iter().map(|f| f.device.clone()).collect();
        assert_eq!(
            names,
            vec![
                PathBuf::from("/dev/sdd"),
                PathBuf::from("/dev/mapper/mpatha")
            ]
        );
        assert!(res.found[1].multipath);
        assert_eq!(res.found[1].header.label(), "quorum");
        assert!(res.found[1].sector_size_matches());
    }

    #[test]
    fn finds_by_label() {
        let t = fixture();
        let res = scan(t.path(), Some("quorum"), OpenOpts::default()).unwrap();
        assert_eq!(res.found.len(), 1);
        assert_eq!(res.found[0].device, PathBuf::from("/dev/mapper/mpatha"));
        let res = scan(t.path(), Some("nope"), OpenOpts::default()).unwrap();
        assert!(res.found.is_empty());
    }

    #[test]
    fn partitions_parse() {
        let p = partitions("major minor  #blocks  name\n\n 259 0 100 nvme0n1\nbad line here x\n");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].name, "nvme0n1");
        assert_eq!(p[0].kib, 100);
    }
}
