//! fencekit: the library under the fencekit tools.
//!
//! All domain logic lives here, organised by concern:
//! - [`linux`]: every `unsafe` call: the SG_IO and block ioctls, sg_lib's
//!   text tables, the watchdog device.
//! - [`block`]: sector size, capacity, mounts and exclusive use of a block
//!   device.
//! - [`scsi`]: CDBs, sense, INQUIRY/VPD, persistent reservations, and the
//!   SG_IO transport.
//! - [`compat`]: the command lines and output of sg3_utils' tools.
//! - [`fence`]: I/O fencing: key schemes, unfence, fence, race, verify and
//!   the fence-agent protocol.
//! - [`paths`]: what a device name stands for (one device, or a multipath
//!   map and its paths), and running commands over many devices and their
//!   paths: all paths, or one path with failover on path failures.
//! - [`heartbeat`]: the disk heartbeat's state machine (qdiskd's protocol,
//!   fencing through PR before a node is reported dead), pure.
//! - [`qdisk`]: quorum disks in the RHEL cluster on-disk format.
//! - [`topology`]: the storage stack from LUN to path, multipath map,
//!   partition and volume group; `multipath -ll` and `lsscsi` formats.
//! - [`util`]: checked big-endian reads, the bounded thread fan-out and
//!   the deadline on blocking device calls.
//!
//! The tools in `fencekit-tools` only parse arguments, call this library,
//! render the result and map errors to exit codes.
#![deny(unsafe_code)]

pub mod block;
pub mod compat;
pub mod fence;
pub mod heartbeat;
#[allow(unsafe_code)]
pub mod linux;
pub mod paths;
pub mod qdisk;
pub mod scsi;
pub mod topology;
pub mod util;
pub mod vm;
