//! Linux device access: every `unsafe` call of the library is here.
//!
//! Each submodule wraps one kernel or C interface in safe functions over
//! buffers it owns or borrows for the duration of the call, and says in a
//! `SAFETY:` comment at each call what makes it sound:
//! - [`sg`]: the SG_IO ioctl;
//! - [`block`]: the block-device size ioctls;
//! - [`sglib`]: libsgutils2's text tables and TransportID decoder;
//! - [`watchdog`]: the watchdog device's ioctls.
//!
//! Nothing here knows about SCSI semantics, topology or fencing: the
//! modules above it (`scsi`, `block`, `qdisk`, `heartbeat`) decide what to
//! send and what the answers mean.

pub mod block;
pub mod sg;
pub mod sglib;
pub mod watchdog;
