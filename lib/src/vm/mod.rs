//! Shared LUNs for KVM guests through libvirt, host side: the domain's
//! disks and controllers read from its XML and the pass-through disk
//! element written ([`xml`]), fencekit's record in the domain's metadata
//! ([`metadata`]), the rules that refuse the known ways to get a shared
//! disk wrong ([`rules`]), the host's multipath blacklist and LVM filter
//! as those rules need them ([`hygiene`]) and written for LUNs given to
//! guests ([`hide`]), the choice of mode, target name
//! and address and the element built from the host's topology ([`plan`]),
//! every shared disk of a domain with its identity and findings
//! ([`inventory`]), the audit of a host's domains and of a cluster's
//! hosts from their lists (`vmguest-attach check`, [`check`]), attach and
//! detach carried out with a report of each change ([`apply`]), and the
//! [`Hypervisor`](hypervisor::Hypervisor) trait the programs reach libvirt
//! through ([`hypervisor`]; the libvirt implementation is in the
//! `fencekit-libvirt` crate, so that only the program that needs libvirt
//! links it). Inside the guest, [`guest`] checks that each disk is the
//! pass-through LUN the host meant (`vmguest-attach verify`).
//!
//! Everything but [`apply`] is pure: a domain document, a
//! [`Topology`](crate::topology::Topology) and a cluster description in,
//! findings and XML out; [`apply`] acts only through the trait.

pub mod apply;
pub mod check;
pub mod guest;
pub mod hide;
pub mod hygiene;
pub mod hypervisor;
pub mod inventory;
pub mod metadata;
pub mod plan;
pub mod probe;
pub mod rules;
pub mod xml;
