//! Cluster I/O fencing over SCSI-3 persistent reservations: the work of
//! fence_scsi, fence_mpath and Veritas' vxfen, as a library.
//!
//! - [`key`]: key schemes (fence_scsi `id` and `hash`, vxfen ASCII keys).
//! - [`config`]: the cluster description (TOML, or `corosync-cmapctl`).
//! - [`source`]: where the description comes from, and the key policy.
//! - [`devices`]: device sets, multipath paths, `auto` discovery of
//!   shared PVs, and the [`devices::Opener`] that operations open paths
//!   with.
//! - [`ops`]: unfence, fence, status and the watchdog check.
//! - [`race`]: the coordinator-disk race for a majority.
//! - [`verify`]: whether disks can carry fencing (vxfentsthdw's job).
//! - [`agent`]: the fence-agent stdin protocol and metadata.
//!
//! Every operation takes an opener and device sets, so control flow is
//! tested with scripted transports; the commands themselves are proven on
//! LIO and tgtd in the guest test bed.

pub mod agent;
pub mod config;
pub mod devices;
pub mod key;
pub mod ops;
pub mod race;
#[cfg(test)]
pub(crate) mod sim;
pub mod source;
pub mod verify;
