//! The SG_IO ioctl (sg v3, `struct sg_io_hdr`, `<scsi/sg.h>`,
//! Documentation/scsi/scsi-generic.rst) on caller-owned buffers. This is the
//! one place in the library that issues SG_IO; [`crate::scsi::sgio`] builds
//! the transport (deadline, file ownership) on top of it.

use std::fs::File;
use std::os::fd::AsRawFd;

use fencekit_sys as sys;

/// Largest sense buffer SPC allows (252 bytes); the kernel copies what the
/// device returned, up to this.
pub const SENSE_LEN: usize = MX_SB_LEN as usize;

/// [`SENSE_LEN`] as the header's one-byte `mx_sb_len` field holds it.
const MX_SB_LEN: u8 = 252;

/// What one SG_IO hands back: the ioctl's result and the header fields
/// that matter, with the buffers it owned.
pub struct Outcome {
    /// The ioctl's own result (an OS error, not a SCSI status).
    pub result: std::io::Result<()>,
    /// SCSI status byte.
    pub status: u8,
    /// Host (initiator/transport) status, `DID_*`.
    pub host_status: u16,
    /// Driver status, `DRIVER_*`.
    pub driver_status: u16,
    /// Bytes of the data buffer not transferred.
    pub resid: i32,
    /// Milliseconds the kernel reports the command took.
    pub duration: u32,
    /// Bytes of sense data written.
    pub sb_len_wr: u8,
    /// The sense buffer.
    pub sense: [u8; SENSE_LEN],
    /// The data buffer (filled for data-in).
    pub data: Vec<u8>,
}

/// Issues one SG_IO on `fd` with buffers the caller owns, synchronously.
pub fn sg_io(fd: &File, cdb: &[u8], data_in: bool, mut data: Vec<u8>, timeout_ms: u32) -> Outcome {
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
        mx_sb_len: MX_SB_LEN,
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
