//! The SG_IO transport: sg v3 (`struct sg_io_hdr`) through `ioctl(fd, SG_IO)`
//! on an sd or sg node (`<scsi/sg.h>`, Documentation/scsi/scsi-generic.rst).
//!
//! The ioctl itself is [`crate::linux::sg::sg_io`]; this module owns the
//! file descriptor ([`SgIo`]), the deadline, and the translation between
//! [`Request`]/[`Completion`] and the kernel's header.
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

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use super::error::ScsiError;
use super::transport::{Completion, Data, Request, Transport};
use crate::linux::sg::{sg_io, SENSE_LEN};
use crate::util::{with_deadline, DeadlineError};

/// How much longer than the command's own timeout [`SgIo`] waits for the
/// kernel to hand a command back before it calls it timed out.
pub const DEADLINE_GRACE: Duration = Duration::from_secs(2);

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
