//! The storage stack as one model: logical units, the SCSI paths that reach
//! them, the device-mapper multipath map over those paths, and what is
//! stacked on top (partitions, kpartx maps, LVM volumes, mounts).
//!
//! The model is read from sysfs ([`scan`]), with names that udev would give
//! (`/dev/disk/by-path`, `/dev/disk/by-id`) taken from udev's database
//! ([`udev_db`]), else read from the device directory when the links exist,
//! else derived the way udev's `path_id` builtin and
//! `60-persistent-storage.rules` derive them ([`path_id`], [`by_id`]).
//! Multipath maps get their groups and states from device-mapper
//! ([`dm_mpath`]) and their paths' checker states and priorities from
//! [`checker`]. Every reader takes a [`Roots`], so it runs on fixture trees.
//!
//! Text formats other tools print are in submodules: [`mpath_ll`] parses
//! and renders `multipath -ll`, [`mpathd`] parses `multipathd show paths`,
//! [`lsscsi`] renders `lsscsi`'s default format, [`lvm`] reads `pvs`, `lvs`
//! and `vgs --reportformat json` and writes lvm.conf filters, [`vgs`]
//! gathers volume groups across hosts and checks an ownership policy, and
//! [`compare`] compares two hosts' models.
//!
//! The JSON form of [`Topology`] (serde) is a stable interface: fields are
//! only ever added, never renamed or removed, and every optional field is
//! omitted or `null` when unknown.

use crate::scsi::wwid::Wwid;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub mod build;
pub mod by_id;
pub mod checker;
pub mod compare;
pub mod dm;
pub mod dm_mpath;
pub mod lsscsi;
pub mod lvm;
pub mod mpath_ll;
pub mod mpathd;
pub mod path_id;
pub mod resolve;
pub mod scan;
pub mod sysfs;
pub mod text;
pub mod udev_db;
pub mod vgs;

pub use build::{build, BuildError, Built, Input, Sources};
pub use mpath_ll::{MpPath, MultipathMap, PathGroup};
pub use scan::{scan, IdentitySource, NoDeviceQuery, ScanOptions, SgIoQuery};
pub use sysfs::Roots;

/// A line of another tool's text output (`multipath -ll`, `multipathd show
/// paths`) that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}: '{text}'")]
pub struct LineError {
    /// 1-based line number (0 when the fault is not in the text, e.g. in a
    /// format string, which is then the text).
    pub line: usize,
    /// The line.
    pub text: String,
    /// What was expected.
    pub reason: String,
}

impl LineError {
    /// An error for line number `line` (1-based) holding `text`.
    pub fn at(line: usize, text: &str, reason: impl Into<String>) -> LineError {
        LineError {
            line,
            text: text.to_string(),
            reason: reason.into(),
        }
    }
}

/// The non-blank lines of `text` with their 1-based numbers, without a
/// trailing carriage return.
pub fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty())
}

/// Version of the JSON schema written by [`Topology`].
pub const SCHEMA_VERSION: u32 = 1;

/// A SCSI address: host, channel, target, LUN (`H:C:T:L`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hctl {
    /// SCSI host (adapter) number.
    pub host: u32,
    /// Channel (bus) on the host.
    pub channel: u32,
    /// Target id.
    pub target: u32,
    /// Logical unit number as the kernel numbers it.
    pub lun: u64,
}

impl fmt::Display for Hctl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.host, self.channel, self.target, self.lun
        )
    }
}

/// An `H:C:T:L` string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a SCSI address of the form H:C:T:L")]
pub struct BadHctl(pub String);

impl FromStr for Hctl {
    type Err = BadHctl;
    fn from_str(s: &str) -> Result<Hctl, BadHctl> {
        let bad = || BadHctl(s.to_string());
        let mut it = s.split(':');
        let mut next = || it.next().ok_or_else(bad);
        let (h, c, t, l) = (next()?, next()?, next()?, next()?);
        if it.next().is_some() {
            return Err(bad());
        }
        Ok(Hctl {
            host: h.parse().map_err(|_| bad())?,
            channel: c.parse().map_err(|_| bad())?,
            target: t.parse().map_err(|_| bad())?,
            lun: l.parse().map_err(|_| bad())?,
        })
    }
}

impl Serialize for Hctl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hctl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Hctl, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The whole storage stack of one host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topology {
    /// [`SCHEMA_VERSION`] of the writer.
    #[serde(default)]
    pub schema: u32,
    /// Host name, when known (set by the tool, not by the scan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Logical units, ordered by the lowest H:C:T:L of their paths.
    pub luns: Vec<Lun>,
    /// Problems met while scanning that did not stop the scan (an
    /// unreadable attribute, a map whose slaves are not SCSI devices).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One logical unit, seen through one or more paths.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lun {
    /// The WWID as udev and multipath spell it (`36001405...`), when the
    /// unit has one; units without one are listed once per path.
    pub wwid: Option<Wwid>,
    /// Peripheral device type (0 disk, 5 CD/DVD, 13 enclosure, ...).
    #[serde(default)]
    pub device_type: Option<u8>,
    /// T10 vendor identification, trailing spaces removed.
    pub vendor: String,
    /// Product identification, trailing spaces removed.
    pub model: String,
    /// Product revision level, trailing spaces removed.
    pub revision: String,
    /// Unit serial number (VPD page 0x80).
    pub serial: Option<String>,
    /// Capacity in bytes (`/sys/block/sdX/size` × 512).
    pub size_bytes: Option<u64>,
    /// Logical block size in bytes.
    pub logical_block_size: Option<u32>,
    /// Physical block size in bytes.
    pub physical_block_size: Option<u32>,
    /// The paths, in H:C:T:L order.
    pub paths: Vec<ScsiPath>,
    /// The multipath map over the paths, if any.
    pub multipath: Option<MultipathMap>,
    /// What is stacked on the unit (on the map when there is one, otherwise
    /// on the sd devices): partitions, kpartx maps, LVM volumes.
    #[serde(default)]
    pub holders: Vec<BlockDev>,
    /// LVM physical volumes on the unit (on the map, a path, a partition),
    /// from `pvs`/`lvs` reports joined by device name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lvm: Vec<lvm::PhysicalVolume>,
}

impl Lun {
    /// The device node most tools should use: the map, or the first path.
    pub fn canonical_device(&self) -> Option<String> {
        if let Some(m) = &self.multipath {
            return Some(format!("/dev/mapper/{}", m.name));
        }
        self.paths
            .iter()
            .find_map(|p| p.sd.as_ref().or(p.sg.as_ref()))
            .map(|n| format!("/dev/{n}"))
    }

    /// Every volume group on the unit (from the LVM volumes stacked on it).
    pub fn volume_groups(&self) -> Vec<String> {
        fn walk(b: &[BlockDev], out: &mut Vec<String>) {
            for d in b {
                if let BlockKind::LvmLv { vg, .. } = &d.kind {
                    if !out.contains(vg) {
                        out.push(vg.clone());
                    }
                }
                walk(&d.holders, out);
            }
        }
        let mut v = Vec::new();
        walk(&self.holders, &mut v);
        v
    }

    /// A short name for messages: the WWID, or the first path's address.
    pub fn label(&self) -> String {
        self.wwid
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| {
                self.paths
                    .first()
                    .map(|p| p.hctl.to_string())
                    .unwrap_or_else(|| "?".into())
            })
    }
}

/// One SCSI device: one I_T_L nexus to a logical unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScsiPath {
    /// The SCSI address.
    pub hctl: Hctl,
    /// Block device kernel name (`sdb`), if the upper driver is sd.
    pub sd: Option<String>,
    /// SCSI generic kernel name (`sg2`).
    pub sg: Option<String>,
    /// Device number of the block device (`8:16`).
    #[serde(default)]
    pub sd_devt: Option<String>,
    /// Device number of the sg device (`21:2`).
    #[serde(default)]
    pub sg_devt: Option<String>,
    /// SCSI device state (`running`, `offline`, `blocked`, ...).
    pub state: Option<String>,
    /// Queue depth.
    pub queue_depth: Option<u32>,
    /// How the host reaches the target.
    pub transport: Transport,
    /// `/dev/disk/by-path` names (without the directory).
    pub by_path: Vec<String>,
    /// `/dev/disk/by-id` names (without the directory).
    pub by_id: Vec<String>,
    /// The device's sysfs directory, relative to the sysfs root
    /// (`devices/pci0000:00/.../host2/target2:0:0/2:0:0:1`).
    #[serde(default)]
    pub sysfs_path: String,
    /// The sysfs `vendor`, `model` and `rev` attributes as the kernel gives
    /// them (space padded), for renderers that copy them verbatim.
    #[serde(default)]
    pub raw: RawIdent,
}

impl ScsiPath {
    /// True when the kernel says the device takes commands.
    pub fn running(&self) -> bool {
        matches!(self.state.as_deref(), None | Some("running"))
    }
}

/// Inquiry strings exactly as sysfs holds them (trailing newline removed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawIdent {
    /// `device/vendor`.
    pub vendor: Option<String>,
    /// `device/model`.
    pub model: Option<String>,
    /// `device/rev`.
    pub rev: Option<String>,
}

/// The transport between initiator and target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Transport {
    /// Fibre Channel: the local HBA port and the remote port.
    Fc {
        /// Local port WWPN (`/sys/class/fc_host/hostN/port_name`).
        host_wwpn: Option<String>,
        /// Remote port WWPN (`fc_transport/targetH:C:T/port_name`).
        target_wwpn: Option<String>,
        /// Remote port's 24-bit FC address (`0x010200`).
        port_id: Option<String>,
    },
    /// iSCSI: the session's target and portal.
    Iscsi {
        /// Target IQN.
        target_name: Option<String>,
        /// `address:port` of the connection.
        portal: Option<String>,
        /// Target portal group tag.
        tpgt: Option<u32>,
        /// Session name (`session1`).
        session: Option<String>,
    },
    /// SAS: the end device's SAS address.
    Sas {
        /// `0x5000c500...`.
        address: Option<String>,
    },
    /// A virtio-scsi controller (KVM/QEMU guests).
    VirtioScsi,
    /// Anything else (SPI, ATA, tcm_loop, USB, ...), with the driver name
    /// when sysfs gives it (`scsi_host/hostN/proc_name`).
    Other {
        /// The host adapter driver.
        driver: Option<String>,
    },
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".into());
        match self {
            Transport::Fc {
                target_wwpn,
                port_id,
                ..
            } => write!(f, "fc:{},{}", o(target_wwpn), o(port_id)),
            Transport::Iscsi {
                target_name,
                portal,
                tpgt,
                ..
            } => {
                write!(f, "iscsi:{},{}", o(target_name), o(portal))?;
                if let Some(t) = tpgt {
                    write!(f, ",t,0x{t:x}")?;
                }
                Ok(())
            }
            Transport::Sas { address } => write!(f, "sas:{}", o(address)),
            Transport::VirtioScsi => write!(f, "virtio-scsi"),
            Transport::Other { driver: Some(d) } => write!(f, "{d}"),
            Transport::Other { driver: None } => write!(f, "other"),
        }
    }
}

/// A block device stacked on a logical unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockDev {
    /// Kernel name (`sdb1`, `dm-3`).
    pub name: String,
    /// What it is.
    pub kind: BlockKind,
    /// Device-mapper name, for dm devices (`vg0-data`, `mpatha1`).
    pub dm_name: Option<String>,
    /// Size in bytes.
    pub size_bytes: Option<u64>,
    /// `/dev/disk/by-path` names (partitions of path devices).
    #[serde(default)]
    pub by_path: Vec<String>,
    /// Mount points.
    #[serde(default)]
    pub mounts: Vec<String>,
    /// What is stacked on this device in turn.
    #[serde(default)]
    pub holders: Vec<BlockDev>,
}

/// Kinds of stacked block devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockKind {
    /// A partition of an sd device.
    Partition {
        /// The partition number.
        number: u32,
    },
    /// A kpartx partition map on a multipath map (`part1-mpath-...`).
    KpartxPartition {
        /// The partition number.
        number: u32,
    },
    /// An LVM logical volume: the device holding it is a physical volume.
    LvmLv {
        /// Volume group.
        vg: String,
        /// Logical volume.
        lv: String,
    },
    /// Another device-mapper device, with its uuid.
    Dm {
        /// `/sys/block/dm-N/dm/uuid`.
        uuid: String,
    },
    /// Anything else (md, ...).
    Other,
}

/// Errors of the topology readers.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    /// The sysfs tree has no SCSI bus at all.
    #[error("{path}: cannot list SCSI devices")]
    NoScsi {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A file could not be read.
    #[error("{path}: cannot read")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A text or JSON document did not parse.
    #[error("{path}: {detail}")]
    Parse { path: String, detail: String },
}
