//! Quorum disks in the RHEL cluster on-disk format (`cman/qdisk`).
//!
//! - [`format`]: the blocks, byte for byte, with CRC checks.
//! - [`geometry`]: where the blocks lie for a sector size.
//! - [`io`]: `O_DIRECT` sector I/O with a deadline on every operation.
//! - [`signature`]: data that creating a quorum disk would destroy.
//! - [`scan`]: finding quorum disks by label, multipath maps first.
//! - [`render`]: the text and JSON views the `qdisk` program prints.
//!
//! The operations here ([`create`], [`snapshot`], [`evict`]) are what the
//! `qdisk` program and the heartbeat daemon call.

pub mod format;
pub mod geometry;
pub mod io;
pub mod render;
pub mod scan;
pub mod signature;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::scsi::blkdev::{self, DeviceUse};
use format::{BlockMeta, FormatError, QuorumHeader, StatusBlock, MAX_LABEL_LEN, MAX_NODES};
use geometry::GeometryError;
pub use io::{OpenOpts, QdiskDevice};
use signature::Signature;

/// Errors of quorum-disk operations. Every variant names the device.
#[derive(Debug, thiserror::Error)]
pub enum QdiskError {
    /// A system call failed.
    #[error("{device}: {op} at byte {offset} failed: {source}", device = device.display())]
    Io {
        device: PathBuf,
        op: &'static str,
        offset: u64,
        #[source]
        source: std::io::Error,
    },
    /// The device did not answer within the deadline.
    #[error("{device}: no answer within {deadline:?}; the I/O was abandoned", device = device.display())]
    Timeout { device: PathBuf, deadline: Duration },
    /// A block did not decode.
    #[error("{device}: block at byte {offset}: {source}", device = device.display())]
    Format {
        device: PathBuf,
        offset: u64,
        #[source]
        source: FormatError,
    },
    /// The device cannot hold a quorum disk.
    #[error("{device}: {source}", device = device.display())]
    Geometry {
        device: PathBuf,
        #[source]
        source: GeometryError,
    },
    /// An I/O would have left the qdisk region or broken sector alignment.
    #[error("{device}: refusing I/O of {len} bytes at byte {offset}: outside the qdisk region or not sector-aligned", device = device.display())]
    OutsideRegion {
        device: PathBuf,
        offset: u64,
        len: usize,
    },
    /// A node id outside 1..=16.
    #[error("node id {node} is outside 1..={max}")]
    NodeId { node: u32, max: u32 },
    /// A label that mkqdisk could not store.
    #[error("label must be 1 to {MAX_LABEL_LEN} bytes without NUL, got {len} bytes")]
    Label { len: usize },
    /// `create` found data or users on the device and was not forced.
    #[error("{device}: refusing to create a quorum disk: {}", .findings.iter().map(Finding::describe).collect::<Vec<_>>().join("; "), device = device.display())]
    Refused {
        device: PathBuf,
        findings: Vec<Finding>,
    },
}

/// A reason not to overwrite a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Recognised data in the first 72 KiB.
    Data(Signature),
    /// The device is in use (mounted, swap, held, open exclusively):
    /// `--force` does not override this.
    InUse(DeviceUse),
}

impl Finding {
    /// A sentence fragment for messages.
    pub fn describe(&self) -> String {
        match self {
            Finding::Data(s) => format!("it holds {}", s.describe()),
            Finding::InUse(u) => {
                let mut parts = Vec::new();
                if !u.mounts.is_empty() {
                    parts.push(format!("it is mounted on {}", u.mounts.join(", ")));
                }
                if u.swap {
                    parts.push("it is an active swap area".to_string());
                }
                if !u.holders.is_empty() {
                    parts.push(format!("it is held by {}", u.holders.join(", ")));
                }
                if u.exclusively_open {
                    parts.push("it is open exclusively by another user".to_string());
                }
                parts.join("; ")
            }
        }
    }

    /// Whether `--force` may override this finding.
    pub fn forceable(&self) -> bool {
        matches!(self, Finding::Data(_))
    }
}

/// Checks a label against what the format can store.
pub fn check_label(label: &str) -> Result<(), QdiskError> {
    if label.is_empty() || label.len() > MAX_LABEL_LEN || label.contains('\0') {
        return Err(QdiskError::Label { len: label.len() });
    }
    Ok(())
}

/// Everything that speaks against creating a quorum disk labelled `label`
/// on `dev`: users of the device (from `root`, `/` on a live system) and
/// recognised data. An existing quorum disk with the same label is not a
/// finding: re-creating it is what mkqdisk is run for.
pub fn preflight(root: &Path, dev: &QdiskDevice, label: &str) -> Result<Vec<Finding>, QdiskError> {
    let mut findings = Vec::new();
    let usage = blkdev::device_use(root, dev.path()).map_err(|source| QdiskError::Io {
        device: dev.path().to_path_buf(),
        op: "check use of",
        offset: 0,
        source,
    })?;
    if usage.in_use() {
        findings.push(Finding::InUse(usage));
    }
    let len = usize::try_from(dev.geometry().region_end()).unwrap_or(usize::MAX);
    let head = dev.read_at(0, len)?;
    for s in signature::detect(&head) {
        match &s {
            Signature::Qdisk { label: l } if l == label => {}
            _ => findings.push(Finding::Data(s)),
        }
    }
    Ok(findings)
}

/// One block written by [`create`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// "quorum header" or "status block of node N".
    pub what: String,
    /// Node id, for status blocks.
    pub node: Option<u32>,
    /// Byte offset on the device.
    pub offset: u64,
    /// Bytes written (one sector).
    pub len: u32,
}

/// Writes a new quorum disk: the quorum header, then the 16 status blocks
/// in state NONE, as `mkqdisk -c` does. Call [`preflight`] first. Returns
/// what was written, in order.
pub fn create(
    dev: &QdiskDevice,
    label: &str,
    host: &str,
    now: u64,
) -> Result<Vec<Written>, QdiskError> {
    check_label(label)?;
    let g = dev.geometry();
    let ssz = g.sector_size();
    let meta = BlockMeta {
        view: 0,
        timestamp: now,
    };
    let mut written = Vec::new();
    let qh = QuorumHeader::new(label, host, now, ssz);
    dev.write_block(g.header_offset(), meta, &qh)?;
    written.push(Written {
        what: "quorum header".into(),
        node: None,
        offset: g.header_offset(),
        len: ssz,
    });
    for node in 1..=MAX_NODES {
        dev.write_status(node, meta, &StatusBlock::initial(node, now))?;
        written.push(Written {
            what: format!("status block of node {node}"),
            node: Some(node),
            offset: g.status_offset(node).unwrap_or_default(),
            len: ssz,
        });
    }
    Ok(written)
}

/// This machine's host name as `uname -n` gives it (the UTS node name, from
/// `/proc/sys/kernel/hostname`), which mkqdisk records as the creating host.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Seconds since the epoch now (0 if the clock is before 1970).
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A status block as read, or why it could not be read.
#[derive(Debug)]
pub struct NodeSlot {
    /// Node id 1..=16.
    pub node: u32,
    /// Byte offset of the block.
    pub offset: u64,
    /// The block, or the error.
    pub block: Result<(BlockMeta, StatusBlock), QdiskError>,
}

/// Everything on a quorum disk.
#[derive(Debug)]
pub struct Snapshot {
    /// The device path.
    pub device: PathBuf,
    /// The device's logical sector size.
    pub sector_size: u32,
    /// The quorum header.
    pub header: (BlockMeta, QuorumHeader),
    /// The 16 status blocks.
    pub nodes: Vec<NodeSlot>,
}

/// Reads the header and all 16 status blocks. A bad header is an error; a
/// bad status block is reported in its slot. A timeout is an error at once:
/// a device that hangs on one block will hang on the next.
pub fn snapshot(dev: &QdiskDevice) -> Result<Snapshot, QdiskError> {
    let header = dev.read_header()?;
    let g = dev.geometry();
    let mut nodes = Vec::new();
    for node in 1..=MAX_NODES {
        let block = dev.read_status(node);
        if let Err(e @ QdiskError::Timeout { .. }) = block {
            return Err(e);
        }
        nodes.push(NodeSlot {
            node,
            offset: g.status_offset(node).unwrap_or_default(),
            block,
        });
    }
    Ok(Snapshot {
        device: dev.path().to_path_buf(),
        sector_size: g.sector_size(),
        header,
        nodes,
    })
}

/// What [`evict`] changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eviction {
    /// The node evicted.
    pub node: u32,
    /// Byte offset of its block.
    pub offset: u64,
    /// The block before.
    pub before: StatusBlock,
    /// The block written.
    pub after: StatusBlock,
}

/// Writes an eviction notice into node `node`'s block, as a qdiskd master
/// does: reads the block (it must decode and belong to `node`), sets state
/// EVICT with `writer` as the last writer and `now` as the timestamp (see
/// [`StatusBlock::evicted_by`]), and writes that one sector.
pub fn evict(
    dev: &QdiskDevice,
    node: u32,
    writer: u32,
    incarnation: Option<u64>,
    now: u64,
) -> Result<Eviction, QdiskError> {
    let offset = dev
        .geometry()
        .status_offset(node)
        .ok_or(QdiskError::NodeId {
            node,
            max: MAX_NODES,
        })?;
    let (_, before) = dev.read_status(node)?;
    if before.node_id != node {
        return Err(QdiskError::Format {
            device: dev.path().to_path_buf(),
            offset,
            source: FormatError::PayloadMagic {
                what: "status block node id",
                expected: node,
                found: before.node_id,
            },
        });
    }
    let after = before.evicted_by(writer, now, incarnation);
    dev.write_status(
        node,
        BlockMeta {
            view: 0,
            timestamp: now,
        },
        &after,
    )?;
    Ok(Eviction {
        node,
        offset,
        before,
        after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use format::NodeState;

    fn image(len: u64) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        f.as_file().set_len(len).unwrap();
        f
    }

    fn open(path: &Path, ssz: u32) -> QdiskDevice {
        QdiskDevice::open(
            path,
            OpenOpts {
                write: true,
                file_sector_size: Some(ssz),
                ..OpenOpts::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn create_snapshot_evict() {
        for ssz in [512, 4096] {
            let f = image(1 << 20);
            let d = open(f.path(), ssz);
            assert!(preflight(Path::new("/"), &d, "q").unwrap().is_empty());
            let w = create(&d, "q", "host1", 1000).unwrap();
            assert_eq!(w.len(), 17);
            assert_eq!(w[16].offset, 65536);
            assert!(w.iter().all(|x| x.len == ssz));
            let s = snapshot(&d).unwrap();
            assert_eq!(s.header.1.label(), "q");
            assert_eq!(s.header.1.sector_size, ssz);
            for slot in &s.nodes {
                let (_, b) = slot.block.as_ref().unwrap();
                assert_eq!(b.node_id, slot.node);
                assert_eq!(b.state, NodeState::None);
            }
            // Same label again: no finding; another label: a finding.
            assert!(preflight(Path::new("/"), &d, "q").unwrap().is_empty());
            assert_eq!(
                preflight(Path::new("/"), &d, "r").unwrap(),
                vec![Finding::Data(Signature::Qdisk { label: "q".into() })]
            );
            let e = evict(&d, 3, 1, None, 2000).unwrap();
            assert_eq!(e.after.state, NodeState::Evict);
            let (m, b) = d.read_status(3).unwrap();
            assert_eq!(m.timestamp, 2000);
            assert_eq!(b.update_node, 1);
            assert_eq!(b.state, NodeState::Evict);
            assert!(matches!(
                evict(&d, 17, 1, None, 1),
                Err(QdiskError::NodeId { node: 17, .. })
            ));
            assert!(matches!(
                evict(&d, 0, 1, None, 1),
                Err(QdiskError::NodeId { node: 0, .. })
            ));
        }
    }

    #[test]
    fn labels() {
        assert!(check_label("quorum").is_ok());
        assert!(check_label("").is_err());
        assert!(check_label(&"x".repeat(MAX_LABEL_LEN)).is_ok());
        assert!(check_label(&"x".repeat(MAX_LABEL_LEN + 1)).is_err());
    }

    #[test]
    fn nothing_written_past_the_region() {
        let f = image(1 << 20);
        std::fs::write(f.path(), vec![0xA5u8; 1 << 20]).unwrap();
        let d = open(f.path(), 512);
        create(&d, "q", "h", 1).unwrap();
        let all = std::fs::read(f.path()).unwrap();
        assert!(all[73728..].iter().all(|&b| b == 0xA5));
        // Between blocks, only the sector of each block changed.
        assert!(all[512..4096].iter().all(|&b| b == 0xA5));
    }
}
