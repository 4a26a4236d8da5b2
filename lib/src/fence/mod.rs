//! Cluster I/O fencing over SCSI-3 persistent reservations: the work of
//! fence_scsi, fence_mpath and Veritas' vxfen, as a library.
//!
//! - [`key`]: key schemes (fence_scsi `id` and `hash`, vxfen ASCII keys).
//! - [`config`]: the cluster description (TOML, or `corosync-cmapctl`).
//! - [`source`]: where the description comes from, and the key policy.
//! - [`ops`]: unfence, fence, status and the watchdog check.
//! - [`race`]: the coordinator-disk race for a majority.
//! - [`verify`]: whether disks can carry fencing (vxfentsthdw's job).
//! - [`agent`]: the fence-agent stdin protocol and metadata.
//!
//! The devices and their paths are [`crate::paths`] units, opened through
//! a [`crate::paths::Opener`]; every operation takes an opener and units, so control flow is
//! tested with scripted transports; the commands themselves are proven on
//! LIO and tgtd in the guest test bed.

pub mod agent;
pub mod config;
pub mod key;
pub mod ops;
pub mod race;
#[cfg(any(test, feature = "sim"))]
#[doc(hidden)]
pub mod sim;
pub mod source;
pub mod verify;
