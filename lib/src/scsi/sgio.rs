//! The SG_IO transport: sg v3 (`struct sg_io_hdr`) through `ioctl(fd, SG_IO)`
//! on an sd or sg node (`<scsi/sg.h>`, Documentation/scsi/scsi-generic.rst).
//!
//! This is the one place in the library that issues the SG_IO ioctl. The
//! file descriptor is owned by [`SgIo`]; every command builds a fresh header
//! whose pointers refer to buffers that outlive the call.
#![allow(unsafe_code)]

use fencekit_sys as sys;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::error::ScsiError;
use super::transport::{Completion, Data, Request, Transport};

/// Largest sense buffer SPC allows (252 bytes); the kernel copies what the
/// device returned, up to this.
const SENSE_LEN: usize = 252;

/// How the device node is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// O_RDONLY, enough for PR IN, INQUIRY and on many kernels PR OUT
    /// (sg_persist `-y`).
    ReadOnly,
    /// O_RDWR (sg_persist's default).
    ReadWrite,
}

/// An open sd or sg node that commands are sent to.
#[derive(Debug)]
pub struct SgIo {
    file: File,
    name: String,
}

impl SgIo {
    /// Opens `path` with O_NONBLOCK (as sg3_utils does, so an sg node of a
    /// busy device does not block the open).
    pub fn open(path: impl AsRef<Path>, mode: OpenMode) -> Result<SgIo, ScsiError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let mut opts = OpenOptions::new();
        opts.read(true).custom_flags(libc::O_NONBLOCK);
        if mode == OpenMode::ReadWrite {
            opts.write(true);
        }
        let file = opts.open(path).map_err(|source| ScsiError::Open {
            device: name.clone(),
            source,
        })?;
        Ok(SgIo { file, name })
    }
}

impl Transport for SgIo {
    fn device(&self) -> &str {
        &self.name
    }

    fn execute(&self, request: Request<'_>) -> std::io::Result<Completion> {
        let mut sense = [0u8; SENSE_LEN];
        let cdb_len = u8::try_from(request.cdb.len()).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "CDB longer than 255 bytes",
            )
        })?;
        let (direction, dxferp, dxfer_len): (i32, *mut libc::c_void, usize) = match request.data {
            Data::None => (sys::SG_DXFER_NONE, std::ptr::null_mut(), 0),
            Data::In(buf) => (sys::SG_DXFER_FROM_DEV, buf.as_mut_ptr().cast(), buf.len()),
            // The kernel only reads a data-out buffer; the header's field is
            // declared mutable for both directions.
            Data::Out(buf) => (
                sys::SG_DXFER_TO_DEV,
                buf.as_ptr().cast_mut().cast(),
                buf.len(),
            ),
        };
        let dxfer_len = u32::try_from(dxfer_len).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "data buffer larger than 4 GiB",
            )
        })?;
        let timeout_ms = u32::try_from(request.timeout.as_millis()).unwrap_or(u32::MAX);
        let mut hdr = sys::sg_io_hdr {
            interface_id: i32::from(b'S'),
            dxfer_direction: direction,
            cmd_len: cdb_len,
            mx_sb_len: SENSE_LEN as u8,
            iovec_count: 0,
            dxfer_len,
            dxferp,
            cmdp: request.cdb.as_ptr().cast_mut(),
            sbp: sense.as_mut_ptr(),
            timeout: timeout_ms,
            ..Default::default()
        };
        // SAFETY: `hdr` is a fully initialised sg_io_hdr. Its pointers refer to
        // `request.cdb` (cmd_len bytes, only read), the data buffer
        // (dxfer_len bytes, borrowed mutably for data-in and only read for
        // data-out) and `sense` (mx_sb_len bytes); all three outlive this
        // synchronous call, and the lengths were taken from those same
        // slices. The fd is open for the lifetime of `self`.
        let rc = unsafe {
            libc::ioctl(
                self.file.as_raw_fd(),
                sys::SG_IO_REQUEST as _,
                &mut hdr as *mut sys::sg_io_hdr,
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let sb_len = usize::from(hdr.sb_len_wr).min(SENSE_LEN);
        Ok(Completion {
            status: hdr.status,
            host_status: hdr.host_status,
            driver_status: hdr.driver_status,
            resid: hdr.resid,
            duration_ms: hdr.duration,
            sense: sense[..sb_len].to_vec(),
            timed_out: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn open_missing_device_names_it() {
        let e = SgIo::open("/dev/fencekit-no-such-sg", OpenMode::ReadOnly).unwrap_err();
        assert_eq!(e.exit_code(), 52, "ENOENT maps to 50 + 2");
        assert!(
            e.to_string()
                .starts_with("/dev/fencekit-no-such-sg: cannot open"),
            "{e}"
        );
    }

    #[test]
    fn sg_io_on_a_non_scsi_file_is_an_os_error() {
        // A regular file rejects SG_IO with ENOTTY/EINVAL: the ioctl error
        // comes back as Err, never as a fake completion.
        let f = tempfile::NamedTempFile::new().unwrap();
        let t = SgIo::open(f.path(), OpenMode::ReadOnly).unwrap();
        let cdb = super::super::cdb::test_unit_ready();
        let r = t.execute(Request {
            cdb: &cdb,
            data: Data::None,
            timeout: Duration::from_secs(1),
        });
        assert!(r.is_err());
    }
}
