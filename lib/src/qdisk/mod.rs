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

use crate::block::{self, DeviceUse};
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
    /// `create` was not confirmed (the prompt said no, or could not ask).
    #[error("{device}: not confirmed; nothing written", device = device.display())]
    NotConfirmed { device: PathBuf },
    /// `create` on a block device not held with `O_EXCL` (see
    /// [`open_for_create`]).
    #[error("{device}: not opened exclusively; open it with open_for_create", device = device.display())]
    NotExclusive { device: PathBuf },
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
    let usage = block::device_use(root, dev.path()).map_err(|source| QdiskError::Io {
        device: dev.path().to_path_buf(),
        op: "check use of",
        offset: 0,
        source,
    })?;
    let mut usage = usage;
    if dev.is_exclusive() {
        // Our own O_EXCL hold answers the probe; the open itself proved
        // that no one else held the device.
        usage.exclusively_open = false;
    }
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

/// Opens `path` to create a quorum disk on it: for writing, and a block
/// device exclusively (`O_EXCL`), so that from the checks to the last
/// write nothing can mount or claim it. A device someone else holds is
/// refused, with what is known about its users.
pub fn open_for_create(path: &Path, opts: OpenOpts) -> Result<QdiskDevice, QdiskError> {
    let opts = OpenOpts {
        write: true,
        exclusive: true,
        ..opts
    };
    match QdiskDevice::open(path, opts) {
        Err(QdiskError::Io { source, .. }) if source.raw_os_error() == Some(libc::EBUSY) => {
            let mut usage = block::device_use(Path::new("/"), path).unwrap_or_default();
            usage.exclusively_open |= !usage.in_use();
            Err(QdiskError::Refused {
                device: path.to_path_buf(),
                findings: vec![Finding::InUse(usage)],
            })
        }
        r => r,
    }
}

/// What `create` is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateRequest<'a> {
    /// The label.
    pub label: &'a str,
    /// The creating host, recorded in the header.
    pub host: &'a str,
    /// The time, seconds since the epoch.
    pub now: u64,
    /// Overwrite recognised data (never a device in use).
    pub force: bool,
}

/// What `create` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// Data that was overwritten because of `force`.
    pub warnings: Vec<Finding>,
    /// The blocks written, in order.
    pub written: Vec<Written>,
}

/// Creates a quorum disk on `dev` (from [`open_for_create`]), with the
/// refusal policy: a device in use is refused always, recognised data
/// unless `force`; then `confirm` is asked (with the data to be overwritten
/// and the layout) while the device is still held; only then is it
/// written, through the same descriptor the checks read.
pub fn create(
    dev: &QdiskDevice,
    root: &Path,
    req: &CreateRequest<'_>,
    confirm: &mut dyn FnMut(&[Finding], geometry::Geometry) -> bool,
) -> Result<Created, QdiskError> {
    if dev.is_block_device() && !dev.is_exclusive() {
        return Err(QdiskError::NotExclusive {
            device: dev.path().to_path_buf(),
        });
    }
    check_label(req.label)?;
    let findings = preflight(root, dev, req.label)?;
    let blocking: Vec<Finding> = findings
        .iter()
        .filter(|f| !f.forceable() || !req.force)
        .cloned()
        .collect();
    if !blocking.is_empty() {
        return Err(QdiskError::Refused {
            device: dev.path().to_path_buf(),
            findings: blocking,
        });
    }
    if !confirm(&findings, dev.geometry()) {
        return Err(QdiskError::NotConfirmed {
            device: dev.path().to_path_buf(),
        });
    }
    let written = write_new(dev, req.label, req.host, req.now)?;
    Ok(Created {
        warnings: findings,
        written,
    })
}

/// Writes a new quorum disk: the quorum header, then the 16 status blocks
/// in state NONE, as `mkqdisk -c` does. Only [`create`] calls it, after
/// its checks. Returns what was written, in order.
fn write_new(
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
    fn all_status_blocks_in_one_read_equal_the_single_reads() {
        let f = image(1 << 20);
        let d = open_for_create(f.path(), OpenOpts::default()).unwrap();
        let req = CreateRequest {
            label: "q",
            host: "h",
            now: 7,
            force: false,
        };
        create(&d, Path::new("/"), &req, &mut |_, _| true).unwrap();
        evict(&d, 3, 1, None, 9).unwrap();
        let all = d.read_all_status().unwrap();
        assert_eq!(all.len(), 16);
        for (i, b) in all.iter().enumerate() {
            let n = u32::try_from(i + 1).unwrap();
            assert_eq!(b.as_ref().unwrap(), &d.read_status(n).unwrap());
        }
        assert_eq!(all[2].as_ref().unwrap().1.state, NodeState::Evict);
    }

    #[test]
    fn create_snapshot_evict() {
        for ssz in [512, 4096] {
            let f = image(1 << 20);
            let d = open(f.path(), ssz);
            assert!(preflight(Path::new("/"), &d, "q").unwrap().is_empty());
            let w = write_new(&d, "q", "host1", 1000).unwrap();
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
        write_new(&d, "q", "h", 1).unwrap();
        let all = std::fs::read(f.path()).unwrap();
        assert!(all[73728..].iter().all(|&b| b == 0xA5));
        // Between blocks, only the sector of each block changed.
        assert!(all[512..4096].iter().all(|&b| b == 0xA5));
    }

    /// A loop device over `img`, detached on drop; None where loop devices
    /// cannot be made (not root, no loop driver).
    struct Loop(String);

    impl Loop {
        fn attach(img: &Path) -> Option<Loop> {
            let o = std::process::Command::new("losetup")
                .args(["-f", "--show"])
                .arg(img)
                .output()
                .ok()?;
            o.status
                .success()
                .then(|| Loop(String::from_utf8_lossy(&o.stdout).trim().to_string()))
        }
    }

    impl Drop for Loop {
        fn drop(&mut self) {
            let _ = std::process::Command::new("losetup")
                .args(["-d", &self.0])
                .status();
        }
    }

    #[test]
    fn loop_test_create_holds_the_device_exclusively_from_check_to_write() {
        use std::os::unix::fs::OpenOptionsExt;
        let f = image(1 << 20);
        let Some(lp) = Loop::attach(f.path()) else {
            eprintln!("SKIPPED loop_test_create_holds_the_device_exclusively: no loop device");
            return;
        };
        let dev = Path::new(&lp.0);
        let d = open_for_create(dev, OpenOpts::default()).unwrap();
        // While it is open for create, nothing else can claim it.
        let other = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_EXCL)
            .open(dev);
        assert_eq!(
            other.err().and_then(|e| e.raw_os_error()),
            Some(libc::EBUSY),
            "an exclusive open succeeded while create held the device"
        );
        // The prompt runs with the device held; our own hold is not a user.
        let mut asked = 0;
        let c = create(
            &d,
            Path::new("/"),
            &CreateRequest {
                label: "q",
                host: "h",
                now: 1,
                force: false,
            },
            &mut |_, _| {
                asked += 1;
                true
            },
        )
        .unwrap();
        assert_eq!((asked, c.written.len()), (1, 17));
        drop(d);
        // Someone else holding it: open_for_create refuses, naming why.
        let holder = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_EXCL)
            .open(dev)
            .unwrap();
        let e = open_for_create(dev, OpenOpts::default()).unwrap_err();
        assert!(matches!(e, QdiskError::Refused { .. }), "{e}");
        assert!(e.to_string().contains("open exclusively"), "{e}");
        drop(holder);
    }

    #[test]
    fn create_refuses_data_without_force_and_asks_before_writing() {
        let f = image(1 << 20);
        // An ext4 superblock magic at 1024 + 56.
        let mut head = vec![0u8; 4096];
        head[1024 + 56] = 0x53;
        head[1024 + 57] = 0xef;
        std::fs::OpenOptions::new()
            .write(true)
            .open(f.path())
            .and_then(|mut w| std::io::Write::write_all(&mut w, &head))
            .unwrap();
        let d = open_for_create(f.path(), OpenOpts::default()).unwrap();
        let req = CreateRequest {
            label: "q",
            host: "h",
            now: 1,
            force: false,
        };
        let e = create(&d, Path::new("/"), &req, &mut |_, _| true).unwrap_err();
        assert!(matches!(e, QdiskError::Refused { .. }), "{e}");
        let e = create(
            &d,
            Path::new("/"),
            &CreateRequest { force: true, ..req },
            &mut |_, _| false,
        )
        .unwrap_err();
        assert!(matches!(e, QdiskError::NotConfirmed { .. }), "{e}");
        // Nothing was written either time.
        assert_eq!(std::fs::read(f.path()).unwrap()[..4096], head[..]);
        let c = create(
            &d,
            Path::new("/"),
            &CreateRequest { force: true, ..req },
            &mut |warn, _| !warn.is_empty(),
        )
        .unwrap();
        assert_eq!(c.warnings.len(), 1);
    }
}
