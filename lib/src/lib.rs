//! fencekit: the library under the fencekit tools.
//!
//! All domain logic lives here, organised by concern:
//! - [`scsi`]: CDBs, sense, INQUIRY/VPD, persistent reservations, and the
//!   SG_IO transport (the one place with ioctl code).
//!
//! The tools in `fencekit-tools` only parse arguments, call this library,
//! render the result and map errors to exit codes.
#![deny(unsafe_code)]

pub mod compat;
pub mod scsi;
