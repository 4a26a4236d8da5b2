//! A named device, resolved to the logical unit it stands for and the
//! paths (I_T nexuses) that reach it, and the policies for sending
//! commands down those paths.
//!
//! Persistent reservations belong to I_T nexuses (SPC-4 §5.14.7), so a
//! registration must reach every path of a unit, while a read, a
//! reservation, a preempt or a clear acts on the logical unit and goes
//! through one path only (a preempt sent down every path would be repeated
//! against registrations the first one removed; fence-agents issue 594).
//!
//! - [`resolve`]: a name (`/dev/sdb`, `/dev/sg3`, `/dev/mapper/mpatha`,
//!   `/dev/dm-2`, a partition) to a [`Target`]: one device, or a multipath
//!   map with its paths, from sysfs.
//! - [`unit`]: a [`Unit`] with every path and the order one-path commands
//!   try them in (usable paths first); separately named paths of one unit
//!   merged ([`resolve_units`]); the initiator port of a path.
//! - [`run`]: opening paths ([`Opener`]), the all-paths and one-path
//!   policies over many devices at once, and [`try_in_order`], the one
//!   place that decides when to try the next path: only after a path
//!   failure.

pub mod resolve;
pub mod run;
pub mod unit;

pub use resolve::{resolve, scsi_state, unit_wwid, PathDev, ResolveError, Target};
pub use run::{
    is_path_failure, open, run, run_one, try_in_order, DeviceOutcome, Opener, Options, PathOutcome,
    PathReport, Scope, SgOpener,
};
pub use unit::{initiator_port, merge_paths_of_one_unit, resolve_units, Unit};
