//! Sector I/O on a quorum disk: `O_DIRECT | O_SYNC`, page-aligned buffers,
//! one sector per write, nothing outside the qdisk region, and a deadline on
//! every operation.
//!
//! A device that stops answering (a dead SAN path, a suspended dm table)
//! blocks a `pread` in the kernel with no way to interrupt it. So each
//! operation, the `open` included, runs in a worker thread and the caller
//! waits on a channel for at most the deadline. When the deadline passes the
//! caller gets [`QdiskError::Timeout`]; the stuck worker is detached and
//! exits by itself if the I/O ever completes. This is the same contract as
//! sbd's libaio timeout, without needing `io_cancel`.

use crate::util::DeadlineError;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::format::{
    decode_block, encode_block, BlockMeta, Payload, QuorumHeader, StatusBlock, MAX_NODES,
};
use super::geometry::Geometry;
use super::QdiskError;
use crate::block;

/// Alignment of I/O buffers: a page, which satisfies `O_DIRECT` for any
/// logical sector size up to 4096.
const ALIGN: usize = 4096;

/// A zeroed buffer of `len` bytes whose start is aligned to [`ALIGN`], made
/// by over-allocating a `Vec` and slicing it at the first aligned offset.
pub struct AlignedBuf {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    /// A zeroed buffer of `len` bytes.
    pub fn new(len: usize) -> AlignedBuf {
        let storage = vec![0u8; len + ALIGN];
        let addr = storage.as_ptr() as usize;
        let start = (ALIGN - addr % ALIGN) % ALIGN;
        AlignedBuf {
            storage,
            start,
            len,
        }
    }

    /// The aligned bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }

    /// The aligned bytes, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

/// Runs `f` in a detached worker thread and waits at most `deadline` for
/// its result ([`crate::util::with_deadline`]). On timeout the worker is
/// left to finish (or hang) alone.
pub fn with_deadline<T, F>(device: &Path, deadline: Duration, f: F) -> Result<T, QdiskError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    crate::util::with_deadline("qdisk-io", deadline, f).map_err(|e| match e {
        DeadlineError::Elapsed(deadline) => QdiskError::Timeout {
            device: device.to_path_buf(),
            deadline,
        },
        DeadlineError::Spawn(source) => QdiskError::Io {
            device: device.to_path_buf(),
            op: "spawn I/O worker",
            offset: 0,
            source,
        },
        DeadlineError::Lost => QdiskError::Io {
            device: device.to_path_buf(),
            op: "I/O worker",
            offset: 0,
            source: io::Error::other("I/O worker ended without a result"),
        },
    })
}

/// How to open a quorum disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOpts {
    /// Open for writing as well as reading.
    pub write: bool,
    /// Deadline of every operation, the open included.
    pub deadline: Duration,
    /// Sector size to use for a regular file (an image); ignored for block
    /// devices, whose size comes from `BLKSSZGET`. Default 512.
    pub file_sector_size: Option<u32>,
    /// Open a block device with `O_EXCL`: the open fails (EBUSY) while
    /// the device is mounted, held or open exclusively, and while it is
    /// open nothing else can claim it. Images are opened as usual.
    pub exclusive: bool,
}

impl Default for OpenOpts {
    fn default() -> OpenOpts {
        OpenOpts {
            write: false,
            deadline: Duration::from_millis(3000),
            file_sector_size: None,
            exclusive: false,
        }
    }
}

/// One status block as [`QdiskDevice::read_all_status`] decoded it.
pub type StatusRead = Result<(BlockMeta, StatusBlock), QdiskError>;

/// An open quorum disk (a block device or an image file).
#[derive(Debug, Clone)]
pub struct QdiskDevice {
    path: PathBuf,
    file: Arc<File>,
    geometry: Geometry,
    deadline: Duration,
    block_device: bool,
    direct: bool,
    exclusive: bool,
}

struct Opened {
    file: File,
    sector_size: u32,
    size: u64,
    block_device: bool,
    direct: bool,
    exclusive: bool,
}

fn open_in_worker(path: &Path, opts: OpenOpts) -> io::Result<Opened> {
    // O_EXCL without O_CREAT is defined (on Linux) for block devices only.
    let exclusive =
        opts.exclusive && std::fs::metadata(path).is_ok_and(|m| m.file_type().is_block_device());
    let open = |direct: bool| {
        let mut flags = libc::O_SYNC;
        if exclusive {
            flags |= libc::O_EXCL;
        }
        if direct {
            flags |= libc::O_DIRECT;
        }
        OpenOptions::new()
            .read(true)
            .write(opts.write)
            .custom_flags(flags | libc::O_CLOEXEC)
            .open(path)
    };
    let (file, direct) = match open(true) {
        Ok(f) => (f, true),
        // Some file systems (tmpfs) refuse O_DIRECT; only images may do without.
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            let f = open(false)?;
            if f.metadata()?.file_type().is_block_device() {
                return Err(e);
            }
            (f, false)
        }
        Err(e) => return Err(e),
    };
    let ft = file.metadata()?.file_type();
    if ft.is_block_device() {
        let sector_size = block::logical_sector_size(&file)?;
        let size = block::size_bytes(&file)?;
        Ok(Opened {
            file,
            sector_size,
            size,
            block_device: true,
            direct,
            exclusive,
        })
    } else if ft.is_file() {
        let size = file.metadata()?.len();
        Ok(Opened {
            file,
            sector_size: opts.file_sector_size.unwrap_or(512),
            size,
            block_device: false,
            direct,
            exclusive: false,
        })
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "neither a block device nor a regular file",
        ))
    }
}

impl QdiskDevice {
    /// Opens `path` (`O_DIRECT | O_SYNC`), learns its sector size and size,
    /// and checks that the qdisk region fits. The open itself runs under the
    /// deadline, so a device (or a FIFO) whose open blocks gives a timeout.
    pub fn open(path: &Path, opts: OpenOpts) -> Result<QdiskDevice, QdiskError> {
        let p = path.to_path_buf();
        let o = with_deadline(path, opts.deadline, move || open_in_worker(&p, opts))?.map_err(
            |source| QdiskError::Io {
                device: path.to_path_buf(),
                op: "open",
                offset: 0,
                source,
            },
        )?;
        let geometry =
            Geometry::new(o.sector_size, o.size).map_err(|source| QdiskError::Geometry {
                device: path.to_path_buf(),
                source,
            })?;
        Ok(QdiskDevice {
            path: path.to_path_buf(),
            file: Arc::new(o.file),
            geometry,
            deadline: opts.deadline,
            block_device: o.block_device,
            direct: o.direct,
            exclusive: o.exclusive,
        })
    }

    /// Whether this block device is held with `O_EXCL`.
    pub fn is_exclusive(&self) -> bool {
        self.exclusive
    }

    /// The path the device was opened by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The layout on this device.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Whether this is a block device (not an image file).
    pub fn is_block_device(&self) -> bool {
        self.block_device
    }

    /// Whether the file is open with `O_DIRECT` (images on tmpfs are not).
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    /// Reads `len` bytes at `offset`; both must be multiples of the sector
    /// size and lie inside the device.
    pub fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, QdiskError> {
        let ssz = u64::from(self.geometry.sector_size());
        let len64 = len as u64;
        if offset.checked_rem(ssz) != Some(0)
            || len64.checked_rem(ssz) != Some(0)
            || offset.saturating_add(len64) > self.geometry.device_size()
        {
            return Err(QdiskError::OutsideRegion {
                device: self.path.clone(),
                offset,
                len,
            });
        }
        let file = Arc::clone(&self.file);
        let r = with_deadline(&self.path, self.deadline, move || {
            let mut buf = AlignedBuf::new(len);
            file.read_exact_at(buf.as_mut_slice(), offset)
                .map(|()| buf.as_slice().to_vec())
        })?;
        r.map_err(|source| QdiskError::Io {
            device: self.path.clone(),
            op: "read",
            offset,
            source,
        })
    }

    /// Writes exactly one sector at `offset`, which must be sector-aligned
    /// and inside the qdisk region.
    pub fn write_sector(&self, offset: u64, data: &[u8]) -> Result<(), QdiskError> {
        let ssz = self.geometry.sector_size() as usize;
        if data.len() != ssz
            || offset.checked_rem(ssz as u64) != Some(0)
            || offset + ssz as u64 > self.geometry.region_end()
        {
            return Err(QdiskError::OutsideRegion {
                device: self.path.clone(),
                offset,
                len: data.len(),
            });
        }
        let mut buf = AlignedBuf::new(ssz);
        buf.as_mut_slice().copy_from_slice(data);
        let file = Arc::clone(&self.file);
        let r = with_deadline(&self.path, self.deadline, move || {
            file.write_all_at(buf.as_slice(), offset)
        })?;
        r.map_err(|source| QdiskError::Io {
            device: self.path.clone(),
            op: "write",
            offset,
            source,
        })
    }

    /// Reads and decodes the block at `offset`.
    pub fn read_block<P: Payload>(&self, offset: u64) -> Result<(BlockMeta, P), QdiskError> {
        let ssz = self.geometry.sector_size() as usize;
        let buf = self.read_at(offset, ssz)?;
        decode_block::<P>(&buf).map_err(|source| QdiskError::Format {
            device: self.path.clone(),
            offset,
            source,
        })
    }

    /// Encodes and writes one block (one sector) at `offset`.
    pub fn write_block<P: Payload>(
        &self,
        offset: u64,
        meta: BlockMeta,
        payload: &P,
    ) -> Result<(), QdiskError> {
        let mut buf = vec![0u8; self.geometry.sector_size() as usize];
        encode_block(meta, payload, &mut buf).map_err(|source| QdiskError::Format {
            device: self.path.clone(),
            offset,
            source,
        })?;
        self.write_sector(offset, &buf)
    }

    /// Reads the quorum header.
    pub fn read_header(&self) -> Result<(BlockMeta, QuorumHeader), QdiskError> {
        self.read_block(self.geometry.header_offset())
    }

    /// Reads node `node`'s status block.
    pub fn read_status(&self, node: u32) -> Result<(BlockMeta, StatusBlock), QdiskError> {
        let off = self.status_offset(node)?;
        self.read_block(off)
    }

    /// Reads all 16 status blocks in one read (one deadline, one system
    /// call): the outer error is the read's (a timeout, an I/O error), the
    /// inner ones each block's decoding.
    pub fn read_all_status(&self) -> Result<Vec<StatusRead>, QdiskError> {
        let first = self.status_offset(1)?;
        let last = self.status_offset(MAX_NODES)?;
        let ssz = self.geometry.sector_size() as usize;
        let span = usize::try_from(last - first).map_err(|_| QdiskError::OutsideRegion {
            device: self.path.clone(),
            offset: first,
            len: ssz,
        })? + ssz;
        let buf = self.read_at(first, span)?;
        Ok((1..=MAX_NODES)
            .map(|n| {
                let off = self.status_offset(n)?;
                let at = usize::try_from(off - first).unwrap_or(usize::MAX);
                let block = buf.get(at..at.saturating_add(ssz)).unwrap_or(&[]);
                decode_block::<StatusBlock>(block).map_err(|source| QdiskError::Format {
                    device: self.path.clone(),
                    offset: off,
                    source,
                })
            })
            .collect())
    }

    /// Writes node `node`'s status block.
    pub fn write_status(
        &self,
        node: u32,
        meta: BlockMeta,
        block: &StatusBlock,
    ) -> Result<(), QdiskError> {
        let off = self.status_offset(node)?;
        self.write_block(off, meta, block)
    }

    fn status_offset(&self, node: u32) -> Result<u64, QdiskError> {
        self.geometry.status_offset(node).ok_or(QdiskError::NodeId {
            node,
            max: MAX_NODES,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn aligned_buffer_is_aligned() {
        for len in [512, 4096, 73728] {
            let mut b = AlignedBuf::new(len);
            assert_eq!(b.as_slice().as_ptr() as usize % ALIGN, 0);
            assert_eq!(b.as_mut_slice().len(), len);
            assert!(b.as_slice().iter().all(|&x| x == 0));
        }
    }

    #[test]
    fn deadline_returns_while_worker_is_stuck() {
        let t0 = Instant::now();
        let r = with_deadline(Path::new("/dev/stuck"), Duration::from_millis(200), || {
            std::thread::sleep(Duration::from_secs(30));
        });
        let took = t0.elapsed();
        assert!(matches!(r, Err(QdiskError::Timeout { .. })), "{r:?}");
        assert!(took < Duration::from_millis(1500), "took {took:?}");
    }

    /// A FIFO with no writer blocks `open(O_RDONLY)` in the kernel, just as
    /// a hung device blocks I/O: the caller must still get a timeout.
    #[test]
    fn open_of_blocking_fifo_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("hang");
        let st = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(st.success());
        let t0 = Instant::now();
        let r = QdiskDevice::open(
            &fifo,
            OpenOpts {
                deadline: Duration::from_millis(300),
                ..OpenOpts::default()
            },
        );
        let took = t0.elapsed();
        match r {
            Err(QdiskError::Timeout { device, deadline }) => {
                assert_eq!(device, fifo);
                assert_eq!(deadline, Duration::from_millis(300));
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
        assert!(took >= Duration::from_millis(300), "took {took:?}");
        assert!(took < Duration::from_millis(2000), "took {took:?}");
        // Release the detached worker: a writer lets its open complete.
        let _w = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo);
    }

    #[test]
    fn writes_stay_in_region() {
        let f = tempfile::NamedTempFile::new().unwrap();
        f.as_file().set_len(1 << 20).unwrap();
        let d = QdiskDevice::open(
            f.path(),
            OpenOpts {
                write: true,
                ..OpenOpts::default()
            },
        )
        .unwrap();
        let s = vec![0u8; 512];
        assert!(d.write_sector(69632, &s).is_ok());
        assert!(matches!(
            d.write_sector(73728, &s),
            Err(QdiskError::OutsideRegion { .. })
        ));
        assert!(matches!(
            d.write_sector(100, &s),
            Err(QdiskError::OutsideRegion { .. })
        ));
        assert!(matches!(
            d.write_sector(0, &s[..100]),
            Err(QdiskError::OutsideRegion { .. })
        ));
        assert!(matches!(
            d.read_status(17),
            Err(QdiskError::NodeId { node: 17, .. })
        ));
    }

    #[test]
    fn too_small_is_refused() {
        let f = tempfile::NamedTempFile::new().unwrap();
        f.as_file().set_len(65536).unwrap();
        let r = QdiskDevice::open(f.path(), OpenOpts::default());
        assert!(matches!(r, Err(QdiskError::Geometry { .. })), "{r:?}");
    }
}
