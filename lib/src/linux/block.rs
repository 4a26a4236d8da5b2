//! Block-device ioctls (`<linux/fs.h>`): `BLKSSZGET` (logical sector size)
//! and `BLKGETSIZE64` (size in bytes), one wrapper each.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// `BLKGETSIZE64`: `_IOR(0x12, 114, size_t)` (libc does not export it).
const BLKGETSIZE64: nix::sys::ioctl::ioctl_num_type =
    nix::request_code_read!(0x12, 114, std::mem::size_of::<libc::size_t>());

/// The logical sector size of the block device open as `file` (`BLKSSZGET`).
pub fn logical_sector_size(file: &File) -> io::Result<u32> {
    let mut ssz: libc::c_int = 0;
    // SAFETY: BLKSSZGET writes one c_int through the pointer; `ssz` is a live,
    // properly aligned c_int that outlives the call, and the fd is owned by
    // `file`, which is borrowed for the duration of the call.
    let rc = unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            libc::BLKSSZGET,
            &mut ssz as *mut libc::c_int,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    u32::try_from(ssz).map_err(|_| io::Error::other(format!("BLKSSZGET returned {ssz}")))
}

/// The size in bytes of the block device open as `file` (`BLKGETSIZE64`).
pub fn size_bytes(file: &File) -> io::Result<u64> {
    let mut size: u64 = 0;
    // SAFETY: BLKGETSIZE64 writes one u64 through the pointer; `size` is a
    // live, aligned u64 that outlives the call, and `file` keeps the fd open.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), BLKGETSIZE64, &mut size as *mut u64) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_numbers() {
        // _IO(0x12, 104) and _IOR(0x12, 114, size_t) on 64-bit Linux.
        assert_eq!(libc::BLKSSZGET, 0x1268);
        assert_eq!(BLKGETSIZE64, 0x8008_1272);
    }

    #[test]
    fn a_regular_file_is_not_a_block_device() {
        let f = tempfile::tempfile().unwrap();
        assert!(logical_sector_size(&f).is_err());
        assert!(size_bytes(&f).is_err());
    }
}
