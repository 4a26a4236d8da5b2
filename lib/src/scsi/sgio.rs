//! The SG_IO transport: sg v3 (`struct sg_io_hdr`) through `ioctl(fd, SG_IO)`
//! on an sd or sg node (`<scsi/sg.h>`, Documentation/scsi/scsi-generic.rst).
//!
//! This is the one place in the library that issues the SG_IO ioctl. The
//! file descriptor is owned by [`SgIo`]; every command builds a fresh header
//! whose pointers refer to buffers that outlive the call.
//!
//! **Deadline.** The kernel's own timeout (the header's `timeout`) does not
//! bound how long SG_IO takes: a command queued behind a blocked device (an
//! iSCSI session in recovery waits up to its `replacement_timeout`, often
//! minutes), or one whose error handling escalates to a host reset, returns
//! much later. So each command runs on a worker thread with its own copy of
//! the file descriptor and of the buffers, and [`SgIo`] waits for it at most
//! the request's timeout plus [`DEADLINE_GRACE`]; past that the command is
//! reported as timed out and the worker is left to finish (or to be reaped
//! with the process: on an sg node SG_IO waits interruptibly).
#![allow(unsafe_code)]

use fencekit_sys as sys;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use super::error::ScsiError;
use super::transport::{Completion, Data, Request, Transport};
use crate::util::{with_deadline, DeadlineError};

/// Largest sense buffer SPC allows (252 bytes); the kernel copies what the
/// device returned, up to this.
const SENSE_LEN: usize = 252;

/// How much longer than the command's own timeout [`SgIo`] waits for the
/// kernel to hand a command back before it calls it timed out.
pub const DEADLINE_GRACE: Duration = Duration::from_secs(2);

/// What the worker thread hands back: the ioctl's result and the header
/// fields that matter, with the buffers it owned.
struct Outcome {
    result: std::io::Result<()>,
    status: u8,
    host_status: u16,
    driver_status: u16,
    resid: i32,
    duration: u32,
    sb_len_wr: u8,
    sense: [u8; SENSE_LEN],
    data: Vec<u8>,
}

/// Issues one SG_IO on `fd` with buffers the caller owns, synchronously.
fn sg_io(fd: &File, cdb: &[u8], data_in: bool, mut data: Vec<u8>, timeout_ms: u32) -> Outcome {
    let mut sense = [0u8; SENSE_LEN];
    let mut out = Outcome {
        result: Ok(()),
        status: 0,
        host_status: 0,
        driver_status: 0,
        resid: 0,
        duration: 0,
        sb_len_wr: 0,
        sense: [0u8; SENSE_LEN],
        data: Vec::new(),
    };
    let (Ok(cdb_len), Ok(dxfer_len)) = (u8::try_from(cdb.len()), u32::try_from(data.len())) else {
        out.result = Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "CDB longer than 255 bytes or data buffer larger than 4 GiB",
        ));
        return out;
    };
    let (direction, dxferp): (i32, *mut libc::c_void) = if data.is_empty() {
        (sys::SG_DXFER_NONE, std::ptr::null_mut())
    } else if data_in {
        (sys::SG_DXFER_FROM_DEV, data.as_mut_ptr().cast())
    } else {
        // The kernel only reads a data-out buffer; the header's field is
        // declared mutable for both directions.
        (sys::SG_DXFER_TO_DEV, data.as_mut_ptr().cast())
    };
    let mut hdr = sys::sg_io_hdr {
        interface_id: i32::from(b'S'),
        dxfer_direction: direction,
        cmd_len: cdb_len,
        mx_sb_len: SENSE_LEN as u8,
        iovec_count: 0,
        dxfer_len,
        dxferp,
        cmdp: cdb.as_ptr().cast_mut(),
        sbp: sense.as_mut_ptr(),
        timeout: timeout_ms,
        ..Default::default()
    };
    // SAFETY: `hdr` is a fully initialised sg_io_hdr. Its pointers refer to
    // `cdb` (cmd_len bytes, only read), `data` (dxfer_len bytes, owned by
    // this function and written only for data-in) and `sense` (mx_sb_len
    // bytes); all three live until this function returns, after the
    // synchronous ioctl, and the lengths were taken from those same
    // buffers. `fd` is open for the duration of the call.
    let rc = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            sys::SG_IO_REQUEST as _,
            &mut hdr as *mut sys::sg_io_hdr,
        )
    };
    if rc < 0 {
        out.result = Err(std::io::Error::last_os_error());
    }
    out.status = hdr.status;
    out.host_status = hdr.host_status;
    out.driver_status = hdr.driver_status;
    out.resid = hdr.resid;
    out.duration = hdr.duration;
    out.sb_len_wr = hdr.sb_len_wr;
    out.sense = sense;
    out.data = data;
    out
}

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
        let timeout_ms = u32::try_from(request.timeout.as_millis()).unwrap_or(u32::MAX);
        let (data_in, data) = match &request.data {
            Data::None => (false, Vec::new()),
            Data::In(buf) => (true, vec![0u8; buf.len()]),
            Data::Out(buf) => (false, buf.to_vec()),
        };
        let fd = self.file.try_clone()?;
        let cdb = request.cdb.to_vec();
        let deadline = request.timeout.saturating_add(DEADLINE_GRACE);
        let out = match with_deadline("sg_io", deadline, move || {
            sg_io(&fd, &cdb, data_in, data, timeout_ms)
        }) {
            Ok(out) => out,
            Err(DeadlineError::Elapsed(deadline)) => {
                return Ok(Completion {
                    duration_ms: u32::try_from(deadline.as_millis()).unwrap_or(u32::MAX),
                    timed_out: true,
                    ..Default::default()
                })
            }
            Err(DeadlineError::Spawn(e)) => return Err(e),
            Err(DeadlineError::Lost) => {
                return Err(std::io::Error::other(
                    "SG_IO worker thread ended without a result",
                ))
            }
        };
        out.result?;
        if let Data::In(buf) = request.data {
            let n = buf.len().min(out.data.len());
            buf[..n].copy_from_slice(&out.data[..n]);
        }
        let sb_len = usize::from(out.sb_len_wr).min(SENSE_LEN);
        Ok(Completion {
            status: out.status,
            host_status: out.host_status,
            driver_status: out.driver_status,
            resid: out.resid,
            duration_ms: out.duration,
            sense: out.sense[..sb_len].to_vec(),
            timed_out: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
