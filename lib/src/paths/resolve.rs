//! What a device name given by the user stands for.
//!
//! Persistent reservations belong to I_T nexuses, so a command that changes
//! registrations must reach every path of a multipath map, while a read
//! needs only one usable path. [`resolve`] turns a name (`/dev/sdb`,
//! `/dev/sg3`, `/dev/mapper/mpatha`, `/dev/dm-2`, a partition) into either
//! one device or a map with its paths, read from sysfs
//! (`/sys/block/dm-N/dm/{name,uuid}`, `/sys/block/dm-N/slaves/`,
//! `/sys/class/block/X/partition`, `/sys/block/sdX/device/state`). Every
//! lookup takes a sysfs root, so tests run on fixture trees.

use crate::scsi::wwid::Wwid;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde::Serialize;

/// One path (one SCSI device, one I_T_L nexus) of a map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathDev {
    /// Kernel name, e.g. `sdb`.
    pub name: String,
    /// Device node, e.g. `/dev/sdb`.
    pub node: PathBuf,
    /// SCSI device state from sysfs (`running`, `offline`, ...), if known.
    pub state: Option<String>,
}

impl PathDev {
    /// True when sysfs says the device can take commands (or says nothing).
    pub fn usable(&self) -> bool {
        matches!(self.state.as_deref(), None | Some("running"))
    }
}

/// What a user-given device name resolves to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// A single SCSI device (sd, sg, or anything that is not a multipath map).
    Single {
        /// The node commands are sent to.
        node: PathBuf,
    },
    /// A device-mapper multipath map and its paths, in sysfs order.
    Multipath {
        /// The node the user named.
        map: PathBuf,
        /// The map's name (`/sys/block/dm-N/dm/name`), e.g. `mpatha`.
        dm_name: String,
        /// The map's kernel name, e.g. `dm-0`.
        kernel_name: String,
        /// The paths (the map's slaves).
        paths: Vec<PathDev>,
    },
}

/// Why a name could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The name does not exist.
    #[error("{device}: {source}")]
    Missing {
        device: String,
        #[source]
        source: std::io::Error,
    },
    /// A multipath map with no paths.
    #[error("{device}: multipath map {map} has no paths in {sys}/block/{map}/slaves")]
    NoPaths {
        device: String,
        map: String,
        sys: String,
    },
}

use crate::topology::sysfs::{read_trim, slaves, Roots};

/// The kernel block-device name behind `device`, if it is a block device
/// known to sysfs: by its device number where it is a real node, otherwise
/// by name (a dm name under `/dev/mapper` or a kernel name).
fn kernel_name(device: &Path, roots: &Roots) -> Option<String> {
    if let Ok(md) = fs::metadata(device) {
        if md.file_type().is_block_device() {
            let rdev = md.rdev();
            let (maj, min) = (libc::major(rdev), libc::minor(rdev));
            let link = roots.sys.join(format!("dev/block/{maj}:{min}"));
            if let Ok(target) = fs::canonicalize(&link).or_else(|_| fs::read_link(&link)) {
                return target.file_name().map(|n| n.to_string_lossy().into_owned());
            }
        }
    }
    let real = fs::canonicalize(device).unwrap_or_else(|_| device.to_path_buf());
    let base = real.file_name()?.to_string_lossy().into_owned();
    if roots.sys.join("class/block").join(&base).exists()
        || roots.sys.join("block").join(&base).exists()
    {
        return Some(base);
    }
    // A device-mapper name (/dev/mapper/NAME): find the dm-N that has it.
    if !device.starts_with(roots.dev.join("mapper")) {
        return None;
    }
    let entries = fs::read_dir(roots.sys.join("block")).ok()?;
    entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("dm-"))
        .find(|n| {
            read_trim(&roots.sys.join("block").join(n).join("dm/name")).as_deref()
                == Some(base.as_str())
        })
}

/// The logical unit's identity as sysfs gives it (`device/wwid`, e.g.
/// `naa.6001405...`) for an sd or sg node, found through the node's device
/// number (`/sys/dev/{block,char}/MAJ:MIN/device/wwid`). None for anything
/// else (a regular file, a dm map, a device without the attribute).
pub fn unit_wwid(device: &Path, roots: &Roots) -> Option<Wwid> {
    scsi_device_attr(device, roots, "wwid").map(Wwid::from)
}

/// The SCSI device state (`running`, `offline`, `blocked`, ...) of an sd or
/// sg node, from `/sys/dev/{block,char}/MAJ:MIN/device/state`.
pub fn scsi_state(device: &Path, roots: &Roots) -> Option<String> {
    scsi_device_attr(device, roots, "state")
}

fn scsi_device_attr(device: &Path, roots: &Roots, attr: &str) -> Option<String> {
    let md = fs::metadata(device).ok()?;
    let kind = if md.file_type().is_block_device() {
        "block"
    } else if md.file_type().is_char_device() {
        "char"
    } else {
        return None;
    };
    let rdev = md.rdev();
    let (maj, min) = (libc::major(rdev), libc::minor(rdev));
    read_trim(
        &roots
            .sys
            .join(format!("dev/{kind}/{maj}:{min}"))
            .join("device")
            .join(attr),
    )
}

/// Resolves a device name to a single device or a multipath map with its
/// paths. Partitions resolve to their disk (or map): reservations are per
/// logical unit.
pub fn resolve(device: &Path, roots: &Roots) -> Result<Target, ResolveError> {
    let shown = device.display().to_string();
    match fs::metadata(device) {
        Err(source) => {
            return Err(ResolveError::Missing {
                device: shown,
                source,
            })
        }
        // An sg node (or any character device) is one SCSI device: no sysfs
        // walk needed, which matters when hundreds are named at once.
        Ok(md) if md.file_type().is_char_device() => {
            return Ok(Target::Single {
                node: device.to_path_buf(),
            });
        }
        Ok(_) => {}
    }
    let Some(mut name) = kernel_name(device, roots) else {
        return Ok(Target::Single {
            node: device.to_path_buf(),
        });
    };
    // A partition of a SCSI disk: its parent directory in sysfs is the disk.
    let class = roots.sys.join("class/block").join(&name);
    if class.join("partition").exists() {
        if let Some(parent) = fs::canonicalize(&class).ok().and_then(|p| {
            p.parent()
                .and_then(|q| q.file_name())
                .map(|n| n.to_string_lossy().into_owned())
        }) {
            return Ok(Target::Single {
                node: roots.dev.join(parent),
            });
        }
    }
    // A kpartx partition map on top of a multipath map: follow it down.
    for _ in 0..4 {
        let uuid =
            read_trim(&roots.sys.join("block").join(&name).join("dm/uuid")).unwrap_or_default();
        if uuid.starts_with("part") {
            match slaves(&roots.sys, &name).into_iter().next() {
                Some(s) => name = s,
                None => break,
            }
            continue;
        }
        if uuid.starts_with("mpath-") {
            let dm_name = read_trim(&roots.sys.join("block").join(&name).join("dm/name"))
                .unwrap_or_else(|| name.clone());
            let paths: Vec<PathDev> = slaves(&roots.sys, &name)
                .into_iter()
                .map(|s| PathDev {
                    node: roots.dev.join(&s),
                    state: read_trim(&roots.sys.join("block").join(&s).join("device/state")),
                    name: s,
                })
                .collect();
            if paths.is_empty() {
                return Err(ResolveError::NoPaths {
                    device: shown,
                    map: name,
                    sys: roots.sys.display().to_string(),
                });
            }
            return Ok(Target::Multipath {
                map: device.to_path_buf(),
                dm_name,
                kernel_name: name,
                paths,
            });
        }
        break;
    }
    Ok(Target::Single {
        node: device.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn fixture() -> (tempfile::TempDir, Roots) {
        let t = tempfile::tempdir().unwrap();
        let sys = t.path().join("sys");
        let dev = t.path().join("dev");
        fs::create_dir_all(&dev).unwrap();
        let w = |p: &str, s: &str| {
            let p = sys.join(p);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, s).unwrap();
        };
        // Two SCSI paths, one offline.
        w("block/sdb/device/state", "running\n");
        w("block/sdc/device/state", "offline\n");
        // mpatha = dm-0 over sdb, sdc.
        w("block/dm-0/dm/name", "mpatha\n");
        w("block/dm-0/dm/uuid", "mpath-36001405abc\n");
        fs::create_dir_all(sys.join("block/dm-0/slaves")).unwrap();
        symlink("../../sdb", sys.join("block/dm-0/slaves/sdb")).unwrap();
        symlink("../../sdc", sys.join("block/dm-0/slaves/sdc")).unwrap();
        // mpatha1 = dm-1, a kpartx partition on dm-0.
        w("block/dm-1/dm/name", "mpatha1\n");
        w("block/dm-1/dm/uuid", "part1-mpath-36001405abc\n");
        fs::create_dir_all(sys.join("block/dm-1/slaves")).unwrap();
        symlink("../../dm-0", sys.join("block/dm-1/slaves/dm-0")).unwrap();
        // An LVM volume: not multipath.
        w("block/dm-2/dm/name", "vg-lv\n");
        w("block/dm-2/dm/uuid", "LVM-abc\n");
        // sdd with partition sdd1 (class/block links into the disk's dir).
        w("devices/sdd/sdd1/partition", "1\n");
        fs::create_dir_all(sys.join("class/block")).unwrap();
        symlink("../../devices/sdd", sys.join("class/block/sdd")).unwrap();
        symlink("../../devices/sdd/sdd1", sys.join("class/block/sdd1")).unwrap();
        fs::create_dir_all(dev.join("mapper")).unwrap();
        for n in [
            "sdb",
            "sdc",
            "sdd",
            "sdd1",
            "dm-0",
            "dm-2",
            "mapper/mpatha",
            "mapper/mpatha1",
        ] {
            fs::write(dev.join(n), "").unwrap();
        }
        let roots = Roots { sys, dev };
        (t, roots)
    }

    #[test]
    fn multipath_map_expands_to_paths_by_dm_name() {
        let (_t, r) = fixture();
        let t = resolve(&r.dev.join("mapper/mpatha"), &r).unwrap();
        let Target::Multipath {
            dm_name,
            kernel_name,
            paths,
            ..
        } = &t
        else {
            panic!("{t:?}")
        };
        assert_eq!((dm_name.as_str(), kernel_name.as_str()), ("mpatha", "dm-0"));
        assert_eq!(paths.len(), 2);
        assert!(paths[0].usable() && !paths[1].usable());
    }

    #[test]
    fn kpartx_partition_and_kernel_name_resolve_to_the_map() {
        let (_t, r) = fixture();
        for n in ["mapper/mpatha1", "dm-0"] {
            let t = resolve(&r.dev.join(n), &r).unwrap();
            assert!(
                matches!(&t, Target::Multipath { dm_name, .. } if dm_name == "mpatha"),
                "{n}: {t:?}"
            );
        }
    }

    #[test]
    fn plain_disks_partitions_and_lvm_are_single() {
        let (_t, r) = fixture();
        assert_eq!(
            resolve(&r.dev.join("sdb"), &r).unwrap(),
            Target::Single {
                node: r.dev.join("sdb")
            }
        );
        assert_eq!(
            resolve(&r.dev.join("sdd1"), &r).unwrap(),
            Target::Single {
                node: r.dev.join("sdd")
            }
        );
        assert_eq!(
            resolve(&r.dev.join("dm-2"), &r).unwrap(),
            Target::Single {
                node: r.dev.join("dm-2")
            }
        );
    }

    #[test]
    fn missing_device_and_pathless_map_are_errors() {
        let (_t, r) = fixture();
        let e = resolve(&r.dev.join("nope"), &r).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
        fs::remove_file(r.sys.join("block/dm-0/slaves/sdb")).unwrap();
        fs::remove_file(r.sys.join("block/dm-0/slaves/sdc")).unwrap();
        let e = resolve(&r.dev.join("mapper/mpatha"), &r).unwrap_err();
        assert!(e.to_string().contains("has no paths"), "{e}");
    }
}
