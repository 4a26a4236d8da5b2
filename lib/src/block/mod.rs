//! The block layer: sector size, capacity, mounts and exclusive use.
//!
//! The sizes come from the `BLKSSZGET` and `BLKGETSIZE64` ioctls, whose
//! wrappers live in [`crate::linux::block`]. The in-use check reads
//! `/proc/self/mountinfo`, `/proc/swaps` and `/sys/class/block/NAME/holders`,
//! and tries an `O_EXCL` open, which the kernel refuses with `EBUSY` while a
//! file system, a device-mapper table, an md array or another exclusive
//! opener holds the device.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub use crate::linux::block::{logical_sector_size, size_bytes};

/// Splits a `st_rdev` into (major, minor) the way glibc's `gnu_dev_major`
/// and `gnu_dev_minor` do.
pub fn dev_major_minor(rdev: u64) -> (u32, u32) {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    (
        u32::try_from(major).unwrap_or(u32::MAX),
        u32::try_from(minor).unwrap_or(u32::MAX),
    )
}

/// The mount points in `mountinfo` text (the format of
/// `/proc/self/mountinfo`, proc(5)) whose device is `major:minor`.
pub fn mounts_of(mountinfo: &str, major: u32, minor: u32) -> Vec<String> {
    let want = format!("{major}:{minor}");
    mountinfo
        .lines()
        .filter_map(|line| {
            let mut f = line.split(' ');
            let _id = f.next()?;
            let _parent = f.next()?;
            let dev = f.next()?;
            let _root = f.next()?;
            let point = f.next()?;
            (dev == want).then(|| unescape_octal(point))
        })
        .collect()
}

/// Undoes the `\040`-style escapes of mountinfo and /proc/swaps. An escape
/// whose value does not fit a byte is kept as it is.
pub(crate) fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let digits = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        let value = digits.and_then(|d| {
            let v =
                u32::from(d[0] - b'0') * 64 + u32::from(d[1] - b'0') * 8 + u32::from(d[2] - b'0');
            u8::try_from(v).ok()
        });
        match value {
            Some(v) if b[i] == b'\\' => {
                out.push(v);
                i += 4;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What holds a block device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceUse {
    /// Mount points of the device.
    pub mounts: Vec<String>,
    /// Whether the device is an active swap area.
    pub swap: bool,
    /// Kernel names in `/sys/class/block/NAME/holders` (dm maps, md arrays).
    pub holders: Vec<String>,
    /// Whether an `O_EXCL` open failed with `EBUSY`.
    pub exclusively_open: bool,
}

impl DeviceUse {
    /// Whether anything at all holds the device.
    pub fn in_use(&self) -> bool {
        !self.mounts.is_empty() || self.swap || !self.holders.is_empty() || self.exclusively_open
    }
}

/// Checks whether the block device at `path` is mounted, used as swap, held
/// by another block device, or open exclusively. `root` is the directory
/// under which `proc/` and `sys/` are read (`/` on a live system). A path
/// that is not a block device is reported as unused.
pub fn device_use(root: &Path, path: &Path) -> io::Result<DeviceUse> {
    let meta = fs::metadata(path)?;
    if !meta.file_type().is_block_device() {
        return Ok(DeviceUse::default());
    }
    let (major, minor) = dev_major_minor(meta.rdev());
    let mut u = DeviceUse::default();
    if let Ok(text) = fs::read_to_string(root.join("proc/self/mountinfo")) {
        u.mounts = mounts_of(&text, major, minor);
    }
    if let Ok(text) = fs::read_to_string(root.join("proc/swaps")) {
        for line in text.lines().skip(1) {
            if let Some(first) = line.split_whitespace().next() {
                let p = PathBuf::from(unescape_octal(first));
                if let Ok(m) = fs::metadata(&p) {
                    if m.file_type().is_block_device() && m.rdev() == meta.rdev() {
                        u.swap = true;
                    }
                }
            }
        }
    }
    let sys = root.join(format!("sys/dev/block/{major}:{minor}/holders"));
    if let Ok(rd) = fs::read_dir(sys) {
        let mut h: Vec<String> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        h.sort();
        u.holders = h;
    }
    match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_EXCL)
        .open(path)
    {
        Ok(_) => {}
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => u.exclusively_open = true,
        Err(_) => {}
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 22 7:3 / /mnt/my\\040disk rw,relatime shared:2 - ext4 /dev/loop3 rw
31 22 7:3 /sub /srv rw,relatime shared:3 - ext4 /dev/loop3 rw
40 22 0:25 / /proc rw - proc proc rw
";

    #[test]
    fn mountinfo_matches_by_device_number() {
        assert_eq!(mounts_of(MOUNTINFO, 7, 3), vec!["/mnt/my disk", "/srv"]);
        assert_eq!(mounts_of(MOUNTINFO, 254, 0), vec!["/"]);
        assert!(mounts_of(MOUNTINFO, 7, 30).is_empty());
        assert!(mounts_of("garbage\n\n1 2", 7, 3).is_empty());
    }

    #[test]
    fn dev_numbers() {
        // makedev(259, 70000) as glibc encodes it.
        let rdev: u64 = (259u64 << 8) | (70000u64 & 0xff) | ((70000u64 & !0xff) << 12);
        assert_eq!(dev_major_minor(rdev), (259, 70000));
        assert_eq!(dev_major_minor(0x0703), (7, 3));
    }

    #[test]
    fn regular_file_is_unused() {
        let f = tempfile::NamedTempFile::new().unwrap();
        assert!(!device_use(Path::new("/"), f.path()).unwrap().in_use());
    }

    #[test]
    fn unescape_octal_handles_overflow() {
        assert_eq!(unescape_octal(r"/mnt/a\040b"), "/mnt/a b");
        // \777 is 511: not a byte, kept as text rather than overflowing.
        assert_eq!(unescape_octal(r"x\777"), r"x\777");
        assert_eq!(unescape_octal(r"end\04"), r"end\04");
    }
}
