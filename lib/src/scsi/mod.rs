//! SCSI commands through the Linux SG_IO interface (sg v3, `<scsi/sg.h>`).
//!
//! Decoders take byte slices and never touch a device, so saved responses can
//! be decoded offline; the [`transport::Transport`] trait is the only path to
//! a device, and [`sgio`] is its one implementation over a real fd.

pub mod alua;
pub mod capacity;
pub mod category;
pub mod cdb;
pub mod decode;
pub mod device;
pub mod error;
pub mod inquiry;
pub mod pr;
pub mod pr_device;
pub mod remote;
pub mod sense;
pub mod sgio;
pub mod transport;
pub mod transport_id;
pub mod vpd;
pub mod wwid;
