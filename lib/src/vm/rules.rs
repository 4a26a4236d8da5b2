//! The known ways to give a cluster guest a shared LUN wrongly, as pure
//! functions over a domain ([`Domain`]), the host's storage model
//! ([`Topology`]) and the cluster's description ([`Cluster`]). Each
//! returns [`Finding`]s: what is wrong, why it matters, and the way out.
//!
//! The rules come from the cluster guides (HPE Serviceguard, Veritas
//! InfoScale and Red Hat cluster guides for KVM guests) and libvirt's
//! documentation: SCSI-3 PR needs a pass-through disk (`device='lun'`,
//! `sgio='unfiltered'`) on a virtio-scsi controller, a whole LUN under a
//! persistent name, one multipath layer (host or guest, never both), an
//! active-active map when the host multipaths, and guests of one cluster
//! that reach a LUN through different initiators (PR registrations belong
//! to I_T nexuses: two guests behind one host initiator are one node to
//! the array).

use serde::{Deserialize, Serialize};

use super::xml::{Disk, Domain};
use crate::topology::resolve::{find_in_tree, strip};
use crate::topology::{resolve, BlockKind, Hctl, Lun, Topology};

/// What a rule says about a disk or an attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// `device='disk'` for a shared LUN: an emulated disk (`scsi-hd`)
    /// that rejects PR commands.
    NotPassThrough,
    /// `bus='virtio'`: virtio-blk cannot carry SCSI commands at all.
    VirtioBlk,
    /// A partition as the source: `device='lun'` works on whole devices.
    PartitionSource,
    /// A logical volume as the source: not a SCSI device.
    LvSource,
    /// `/dev/sdX`, `/dev/dm-N`, a label: a name that changes across
    /// reboots or that the guest can change.
    NotPersistent,
    /// A WWID that the host maps with multipath and that is also passed
    /// through path by path.
    MappedAndPaths,
    /// Paths mode on a host that has not blacklisted the WWID in its
    /// multipath configuration.
    NotBlacklisted,
    /// Paths mode on a host whose LVM does not filter the paths out.
    NotLvmFiltered,
    /// An active-passive multipath map given to a cluster guest.
    ActivePassiveMap,
    /// One LUN through the same host initiator to two guests of a cluster.
    SharedInitiator,
    /// A domain that a cluster manager runs: changes go through it.
    ClusterManaged,
    /// `sgio='unfiltered'`: libvirt's domain validation refuses it (in
    /// libvirt 9.0 and in current libvirt), so the domain cannot be
    /// defined, or the disk attached, with it.
    UnfilteredSgio,
    /// A shared LUN without `<shareable/>`.
    NotShareable,
    /// Host caching on a shared disk (`cache` other than `none`).
    HostCache,
    /// Map mode without `<reservations managed='yes'/>`: the guest's PR
    /// commands reach one path of the map only.
    UnmanagedReservations,
    /// `use_lvmetad = 1` while a guest's LUN is not in the host's
    /// `global_filter`: lvmetad caches (and autoactivates) the guest's PVs.
    Lvmetad,
    /// A volume group on a guest's LUN active on the host.
    HostVgActive,
    /// One host runs half or more of a cluster's guests.
    HalfTheCluster,
    /// A LUN known by different names (by-path, map alias) on two hosts.
    NamesDiffer,
    /// A LUN given to guests with different disk definitions.
    DefinitionDiffers,
}

impl Rule {
    /// What the rule checks, as a sentence that holds when it passes.
    pub fn check(self) -> &'static str {
        match self {
            Rule::NotPassThrough => "the disk is a pass-through LUN (device='lun')",
            Rule::VirtioBlk => "the disk is on a SCSI bus, not virtio-blk",
            Rule::PartitionSource => "the source is a whole LUN, not a partition",
            Rule::LvSource => "the source is a LUN, not a logical volume",
            Rule::NotPersistent => "the source name is persistent",
            Rule::MappedAndPaths => {
                "one multipath layer only (host or guest), the LUN attached once"
            }
            Rule::NotBlacklisted => "the host's multipath blacklists the WWID",
            Rule::NotLvmFiltered => "the host's LVM filters the paths out",
            Rule::ActivePassiveMap => "the map is active-active",
            Rule::SharedInitiator => {
                "no other guest of the cluster reaches the LUN through the same initiator"
            }
            Rule::ClusterManaged => "no cluster manager runs the domain",
            Rule::UnfilteredSgio => "no sgio='unfiltered', which libvirt refuses",
            Rule::NotShareable => "the disk is shareable",
            Rule::HostCache => "host caching is off (cache='none')",
            Rule::UnmanagedReservations => {
                "libvirt runs qemu-pr-helper for the map (reservations managed)"
            }
            Rule::Lvmetad => "no lvmetad caches the guests' LUNs",
            Rule::HostVgActive => "no host volume group is active on a guest's LUN",
            Rule::HalfTheCluster => "no host runs half or more of a cluster's guests",
            Rule::NamesDiffer => "each LUN has the same names on every host",
            Rule::DefinitionDiffers => "each LUN has the same disk definition everywhere",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The serde name: kebab-case of the variant.
        let s = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        f.write_str(&s)
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing is refused.
    Warning,
    /// Refused unless forced (`--force`).
    Forcible,
    /// Refused.
    Refused,
}

/// One finding: the rule, its subject (a target name, a source, a
/// domain), why it matters and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule.
    pub rule: Rule,
    /// How bad.
    pub severity: Severity,
    /// What it is about.
    pub subject: String,
    /// Why it is wrong.
    pub reason: String,
    /// The way out.
    pub way_out: String,
}

impl Finding {
    pub(crate) fn new(
        rule: Rule,
        severity: Severity,
        subject: impl Into<String>,
        reason: impl Into<String>,
        way_out: impl Into<String>,
    ) -> Finding {
        Finding {
            rule,
            severity,
            subject: subject.into(),
            reason: reason.into(),
            way_out: way_out.into(),
        }
    }

    /// True when the finding stops an attachment (`force`: forcible ones
    /// do not).
    pub fn blocks(&self, force: bool) -> bool {
        match self.severity {
            Severity::Refused => true,
            Severity::Forcible => !force,
            Severity::Warning => false,
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Forcible => "refused (--force overrides)",
            Severity::Refused => "refused",
        };
        write!(
            f,
            "{}: {sev}: {}; {}",
            self.subject, self.reason, self.way_out
        )
    }
}

/// A cluster whose nodes are guests on this host (and elsewhere).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// The cluster's name.
    #[serde(default)]
    pub name: String,
    /// Its guests, by domain name.
    #[serde(default)]
    pub guests: Vec<String>,
    /// The guests a cluster manager runs (Pacemaker `VirtualDomain`,
    /// Serviceguard or VCS packages): not to be changed behind its back.
    #[serde(default)]
    pub managed: Vec<String>,
}

/// A cluster description file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {detail}")]
pub struct ClusterFileError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub detail: String,
}

impl Cluster {
    /// Reads a cluster description (TOML: `name`, `guests`, `managed`);
    /// `file` names it in errors.
    pub fn from_toml(file: &str, text: &str) -> Result<Cluster, ClusterFileError> {
        toml::from_str(text).map_err(|e| ClusterFileError {
            file: file.to_string(),
            detail: e.to_string(),
        })
    }

    /// True when `domain` is a guest of the cluster.
    pub fn has(&self, domain: &str) -> bool {
        self.guests.iter().any(|g| g == domain)
    }
}

/// What a disk's source is on this host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SourceKind {
    /// One path (one SCSI device) of unit `lun`.
    Path {
        /// Index in [`Topology::luns`].
        lun: usize,
        /// The path.
        hctl: Hctl,
    },
    /// The multipath map of unit `lun`.
    Map {
        /// Index in [`Topology::luns`].
        lun: usize,
    },
    /// Unit `lun`, by a name of the whole unit (by-id, WWID).
    Unit {
        /// Index in [`Topology::luns`].
        lun: usize,
    },
    /// A partition (of unit `lun` when the host knows).
    Partition {
        /// Index in [`Topology::luns`], when known.
        lun: Option<usize>,
    },
    /// A logical volume (on unit `lun` when the host knows).
    Lv {
        /// Index in [`Topology::luns`], when known.
        lun: Option<usize>,
    },
    /// An iSCSI LUN reached by QEMU's own initiator.
    Iscsi,
    /// A file, a volume, or a name the host does not know.
    Other,
}

impl SourceKind {
    /// The unit behind the source, when it is one the host knows.
    pub fn lun(&self) -> Option<usize> {
        match self {
            SourceKind::Path { lun, .. } | SourceKind::Map { lun } | SourceKind::Unit { lun } => {
                Some(*lun)
            }
            SourceKind::Partition { lun } | SourceKind::Lv { lun } => *lun,
            SourceKind::Iscsi | SourceKind::Other => None,
        }
    }
}

/// True for `sdb1`, `vdb2`, `nvme0n1p1`-like kernel names of partitions
/// and `...-partN` links.
fn looks_like_partition(base: &str) -> bool {
    if let Some((_, n)) = base.rsplit_once("-part") {
        return !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
    }
    let letters = base.trim_end_matches(|c: char| c.is_ascii_digit());
    letters.len() < base.len()
        && (letters.starts_with("sd") || letters.starts_with("vd") || letters.starts_with("xvd"))
        && letters.len() > 2
}

/// What `disk`'s source is, looked up in `topo`.
pub fn classify_source(disk: &Disk, topo: &Topology) -> SourceKind {
    if disk.iscsi().is_some() {
        return SourceKind::Iscsi;
    }
    match disk.source_dev() {
        Some(dev) => classify_name(dev, topo),
        None => SourceKind::Other,
    }
}

/// What the device name `dev` is in `topo` (a path, the map, the unit, a
/// partition or an LV on it), or an LV or partition by its form.
pub fn classify_name(dev: &str, topo: &Topology) -> SourceKind {
    let base = strip(dev);
    let found = resolve::resolve(topo, dev);
    if let Some(r) = &found {
        let Some(l) = topo.luns.get(r.lun) else {
            return SourceKind::Other;
        };
        if let Some(h) = find_in_tree(&l.holders, base) {
            return match h.kind {
                BlockKind::LvmLv { .. } => SourceKind::Lv { lun: Some(r.lun) },
                _ => SourceKind::Partition { lun: Some(r.lun) },
            };
        }
        if looks_like_partition(base) {
            return SourceKind::Partition { lun: Some(r.lun) };
        }
        if let Some(h) = r.path {
            return SourceKind::Path {
                lun: r.lun,
                hctl: h,
            };
        }
        let is_map = l.multipath.as_ref().is_some_and(|m| {
            m.name == base || m.dm.as_deref() == Some(base) || m.by_id.iter().any(|b| b == base)
        });
        return if is_map {
            SourceKind::Map { lun: r.lun }
        } else {
            SourceKind::Unit { lun: r.lun }
        };
    }
    // Not a unit the host knows: an LV by its usual names, else other.
    let parts: Vec<&str> = dev.trim_start_matches("/dev/").split('/').collect();
    let vg_lv = parts.len() == 2 && !["disk", "mapper", "md", "bus"].contains(&parts[0]);
    if vg_lv {
        return SourceKind::Lv { lun: None };
    }
    if looks_like_partition(base) {
        return SourceKind::Partition { lun: None };
    }
    SourceKind::Other
}

/// Whether `name` is persistent: by-id, by-path or a device-mapper name
/// (alias or `dm-uuid-`), not a kernel name (`/dev/sdX`, `/dev/dm-N`,
/// `/dev/sgN`) nor a label the guest can change (`by-label`, `by-uuid`,
/// `by-partlabel`, `by-partuuid`).
pub fn is_persistent_name(name: &str) -> bool {
    if name.starts_with("/dev/disk/by-id/")
        || name.starts_with("/dev/disk/by-path/")
        || name.starts_with("/dev/mapper/")
    {
        return true;
    }
    // /dev/VG/LV is stable too, but an LV is refused on its own.
    let parts: Vec<&str> = name.trim_start_matches("/dev/").split('/').collect();
    parts.len() == 2 && parts[0] != "disk" && name.starts_with("/dev/")
}

/// An active-passive map: more than one path group, so that I/O (and the
/// guest's PR commands) go down one group at a time.
pub fn is_active_passive(l: &Lun) -> bool {
    l.multipath.as_ref().is_some_and(|m| m.groups.len() > 1)
}

/// The findings about one disk of a domain, on its own.
pub fn check_disk(disk: &Disk, topo: &Topology) -> Vec<Finding> {
    use Severity::*;
    let mut out = Vec::new();
    let kind = classify_source(disk, topo);
    let subject = format!(
        "{} ({})",
        disk.target_dev().unwrap_or("?"),
        disk.source_dev()
            .or(disk.iscsi().and_then(|s| s.name.as_deref()))
            .unwrap_or("no source")
    );
    let scsi_lun = kind.lun().is_some()
        || matches!(
            kind,
            SourceKind::Iscsi | SourceKind::Partition { .. } | SourceKind::Lv { .. }
        );
    let shared_block = disk.is_shareable() && disk.kind() == "block";
    if !(scsi_lun || disk.is_lun() || shared_block) {
        // An image, a cdrom, a volume, a private block device: not a
        // shared LUN, no rules apply.
        return out;
    }
    let shared = disk.is_shareable() || disk.is_lun();
    if disk.bus() == Some("virtio") {
        out.push(Finding::new(
            Rule::VirtioBlk,
            Refused,
            &subject,
            "virtio-blk cannot carry SCSI commands, so the guest cannot use persistent reservations",
            "attach it as <disk device='lun'> with <target bus='scsi'/> on a virtio-scsi controller",
        ));
    } else if !disk.is_lun() && shared {
        out.push(Finding::new(
            Rule::NotPassThrough,
            Refused,
            &subject,
            "device='disk' makes QEMU emulate the disk (scsi-hd), which rejects PR commands",
            "attach it as device='lun' (a pass-through LUN, QEMU's scsi-block)",
        ));
    }
    match kind {
        SourceKind::Partition { .. } => out.push(Finding::new(
            Rule::PartitionSource,
            Refused,
            &subject,
            "a partition is not a SCSI logical unit: device='lun' passes whole devices only",
            "give the guest the whole LUN and partition it inside the guest",
        )),
        SourceKind::Lv { .. } => out.push(Finding::new(
            Rule::LvSource,
            Refused,
            &subject,
            "a logical volume is not a SCSI logical unit and cannot carry reservations",
            "give the guest the LUN itself, and keep the host's LVM off it",
        )),
        _ => {}
    }
    if let Some(dev) = disk.source_dev() {
        if !is_persistent_name(dev) {
            out.push(Finding::new(
                Rule::NotPersistent,
                Refused,
                &subject,
                format!("{dev} is not a persistent name: it may name another disk after a reboot or a rescan"),
                "use a /dev/disk/by-id, /dev/disk/by-path or /dev/mapper name (vmguest-attach plan picks one)",
            ));
        }
    }
    if disk.is_lun() {
        if disk.unfiltered() {
            out.push(Finding::new(
                Rule::UnfilteredSgio,
                Warning,
                &subject,
                "sgio='unfiltered', which the cluster guides write, is refused by libvirt's domain \
                 validation (libvirt 9.0 and later): defining the domain or attaching the disk fails",
                "remove sgio from the disk; rawio='yes' and, for a map, <reservations managed='yes'/> let the guest's PR commands through",
            ));
        }
        if !disk.is_shareable() {
            out.push(Finding::new(
                Rule::NotShareable,
                Warning,
                &subject,
                "the disk is not marked <shareable/>: libvirt may lock it to this guest",
                "add <shareable/>",
            ));
        }
    }
    if shared && disk.cache().is_some_and(|c| c != "none") {
        out.push(Finding::new(
            Rule::HostCache,
            Warning,
            &subject,
            format!(
                "cache='{}': the host caches a disk that other nodes write",
                disk.cache().unwrap_or_default()
            ),
            "use <driver cache='none'/>",
        ));
    }
    if let SourceKind::Map { lun } = kind {
        if let Some(l) = topo.luns.get(lun) {
            if is_active_passive(l) {
                out.push(active_passive(&subject, l));
            }
        }
        if disk.is_lun() && !disk.managed_reservations() {
            out.push(unmanaged_reservations(&subject));
        }
    }
    out
}

fn active_passive(subject: &str, l: &Lun) -> Finding {
    let groups = l.multipath.as_ref().map_or(0, |m| m.groups.len());
    Finding::new(
        Rule::ActivePassiveMap,
        Severity::Refused,
        subject,
        format!(
            "the map of {} is active-passive ({groups} path groups): cluster guides do not allow \
             active-passive maps for guests",
            l.label()
        ),
        "attach every path (--mode paths, multipath in the guest), or make the map active-active",
    )
}

fn unmanaged_reservations(subject: &str) -> Finding {
    Finding::new(
        Rule::UnmanagedReservations,
        Severity::Warning,
        subject,
        "a map without <reservations managed='yes'/>: the guest's PR commands reach one path only",
        "add <reservations managed='yes'/> to the source (libvirt runs qemu-pr-helper, which registers on every path)",
    )
}

/// The findings about a whole domain: each disk's, and the WWIDs that
/// reach the guest both as the host's map and path by path.
pub fn check_domain(domain: &Domain, topo: &Topology) -> Vec<Finding> {
    let mut out: Vec<Finding> = domain
        .devices
        .disks
        .iter()
        .flat_map(|d| check_disk(d, topo))
        .collect();
    for (i, l) in topo.luns.iter().enumerate() {
        let kinds: Vec<SourceKind> = domain
            .devices
            .disks
            .iter()
            .map(|d| classify_source(d, topo))
            .filter(|k| k.lun() == Some(i))
            .collect();
        let by_path = kinds.iter().any(|k| matches!(k, SourceKind::Path { .. }));
        if by_path && l.multipath.is_some() {
            out.push(mapped_and_paths(&domain.name, l));
        }
    }
    out
}

fn mapped_and_paths(subject: &str, l: &Lun) -> Finding {
    Finding::new(
        Rule::MappedAndPaths,
        Severity::Refused,
        subject,
        format!(
            "{} is mapped by the host's multipath and also passed through path by path: two \
             multipath layers fight over the paths",
            l.label()
        ),
        "either attach the map (--mode map), or blacklist the WWID in the host's multipath.conf and attach the paths",
    )
}

/// What the host has done to keep its own multipath and LVM off LUNs that
/// guests multipath themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hygiene {
    /// WWIDs the host's multipath blacklists (`multipath.conf`).
    pub blacklisted: Vec<String>,
    /// WWIDs the host's LVM filter rejects (every name of the unit).
    pub lvm_filtered: Vec<String>,
}

/// The host's side of paths mode for unit `l`: the WWID blacklisted in
/// multipath (and so not mapped) and filtered out of LVM.
pub fn check_paths_hygiene(l: &Lun, hygiene: &Hygiene) -> Vec<Finding> {
    let mut out = Vec::new();
    let label = l.label();
    let wwid = l.wwid.as_ref().map(|w| w.as_str().to_string());
    if l.multipath.is_some() {
        out.push(mapped_and_paths(&label, l));
    } else if !wwid
        .as_ref()
        .is_some_and(|w| hygiene.blacklisted.contains(w))
    {
        out.push(Finding::new(
            Rule::NotBlacklisted,
            Severity::Forcible,
            &label,
            "paths mode, but the host's multipath does not blacklist this WWID: it may map the paths under the guest",
            "add the WWID to the blacklist section of /etc/multipath.conf (multipath -w WWID removes it from the wwids file)",
        ));
    }
    if !wwid
        .as_ref()
        .is_some_and(|w| hygiene.lvm_filtered.contains(w))
    {
        out.push(Finding::new(
            Rule::NotLvmFiltered,
            Severity::Forcible,
            &label,
            "paths mode, but the host's LVM does not filter these paths: it may activate the guest's volume groups",
            "add the lines of `pathmap lvm-filter WWID` to global_filter in /etc/lvm/lvm.conf",
        ));
    }
    out
}

/// Who reaches a LUN through which initiator: the key of the LUN (its
/// WWID, or the iSCSI URL) and the initiator's identity (the host's SCSI
/// host adapter for a path, the iSCSI initiator name for QEMU's own
/// initiator; libvirt's default name when the disk gives none).
pub fn nexus_of(disk: &Disk, topo: &Topology) -> Vec<(String, String)> {
    if let Some(s) = disk.iscsi() {
        let host = s.hosts.first();
        let key = format!(
            "iscsi://{}:{}/{}",
            host.and_then(|h| h.name.as_deref()).unwrap_or("?"),
            host.and_then(|h| h.port.as_deref()).unwrap_or("3260"),
            s.name.as_deref().unwrap_or("?")
        );
        let ini = s.initiator.as_ref().map_or_else(
            || "iqn (libvirt's default)".to_string(),
            |i| i.iqn.name.clone(),
        );
        return vec![(key, ini)];
    }
    let kind = classify_source(disk, topo);
    let Some(i) = kind.lun() else {
        return Vec::new();
    };
    let Some(l) = topo.luns.get(i) else {
        return Vec::new();
    };
    let key = l.label();
    let hosts: Vec<u32> = match kind {
        SourceKind::Path { hctl, .. } => vec![hctl.host],
        _ => l.paths.iter().map(|p| p.hctl.host).collect(),
    };
    hosts
        .into_iter()
        .map(|h| (key.clone(), format!("host{h}")))
        .collect()
}

/// One LUN through the same initiator to `domain` and to another guest
/// of `cluster` on this host: `disks` are the disks `domain` would get,
/// `others` the other domains on the host.
pub fn check_shared_initiator(
    domain: &str,
    disks: &[Disk],
    others: &[Domain],
    cluster: &Cluster,
    topo: &Topology,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if !cluster.has(domain) {
        return out;
    }
    let mine: Vec<(String, String)> = disks.iter().flat_map(|d| nexus_of(d, topo)).collect();
    for o in others {
        if o.name == domain || !cluster.has(&o.name) {
            continue;
        }
        let theirs: Vec<(String, String)> = o
            .devices
            .disks
            .iter()
            .flat_map(|d| nexus_of(d, topo))
            .collect();
        if let Some((lun, ini)) = mine.iter().find(|n| theirs.contains(n)) {
            out.push(Finding::new(
                Rule::SharedInitiator,
                Severity::Forcible,
                domain,
                format!(
                    "{lun} reaches {} of cluster {} through the same initiator ({ini}): the array \
                     sees one node, so PR cannot fence one guest from the other",
                    o.name, cluster.name
                ),
                "give each guest its own initiator (an NPIV vHBA, or iSCSI from the guest with its own initiator name), or run the guests on different hosts",
            ));
        }
    }
    out
}

/// A domain that a cluster manager runs.
pub fn check_managed(domain: &str, cluster: &Cluster) -> Vec<Finding> {
    if !cluster.managed.iter().any(|m| m == domain) {
        return Vec::new();
    }
    vec![Finding::new(
        Rule::ClusterManaged,
        Severity::Forcible,
        domain,
        format!(
            "the domain is managed by cluster {}: a change made with libvirt behind its back is lost or undone at the next failover",
            cluster.name
        ),
        "change the definition through the cluster manager on every host, or freeze the resource and use --force",
    )]
}

/// The findings of an attachment of `lun` to `domain` in `mode` (map:
/// the active-passive rule; paths: the host's hygiene).
pub fn check_mode(l: &Lun, mode: super::metadata::Mode, hygiene: &Hygiene) -> Vec<Finding> {
    match mode {
        super::metadata::Mode::Map if is_active_passive(l) => vec![active_passive(&l.label(), l)],
        super::metadata::Mode::Paths => check_paths_hygiene(l, hygiene),
        _ => Vec::new(),
    }
}

#[cfg(test)]
// The plan's tests build on these fixtures.
pub(crate) mod tests {
    use super::*;
    use crate::scsi::wwid::Wwid;
    use crate::topology::{BlockDev, MultipathMap, PathGroup, ScsiPath, Transport};
    use crate::vm::metadata::Mode;

    pub(crate) fn path(host: u32, sd: &str, by_path: &str) -> ScsiPath {
        ScsiPath {
            hctl: Hctl {
                host,
                channel: 0,
                target: 0,
                lun: 0,
            },
            sd: Some(sd.into()),
            sg: None,
            sd_devt: None,
            sg_devt: None,
            state: Some("running".into()),
            queue_depth: None,
            transport: Transport::Other { driver: None },
            by_path: vec![by_path.into()],
            by_id: vec!["scsi-36001405aaaa".into(), "wwn-0x6001405aaaa".into()],
            sysfs_path: String::new(),
            raw: Default::default(),
        }
    }

    /// One LUN, two paths (hosts 2 and 3), a map over them when `groups`
    /// is not 0, a partition and an LV on it.
    pub(crate) fn topo(groups: usize) -> Topology {
        let paths = vec![
            path(2, "sdb", "ip-10.0.0.1:3260-iscsi-iqn.t-lun-0"),
            path(3, "sdc", "ip-10.0.1.1:3260-iscsi-iqn.t-lun-0"),
        ];
        let multipath = (groups > 0).then(|| MultipathMap {
            name: "mpatha".into(),
            wwid: Wwid::new("36001405aaaa"),
            dm: Some("dm-0".into()),
            vendor: None,
            product: None,
            size: None,
            features: None,
            hwhandler: None,
            wp: None,
            groups: vec![PathGroup::default(); groups],
            by_id: vec!["dm-uuid-mpath-36001405aaaa".into()],
            header_widths: false,
        });
        let part = BlockDev {
            name: "dm-1".into(),
            kind: BlockKind::KpartxPartition { number: 1 },
            dm_name: Some("mpatha1".into()),
            size_bytes: None,
            by_path: vec![],
            mounts: vec![],
            holders: vec![BlockDev {
                name: "dm-2".into(),
                kind: BlockKind::LvmLv {
                    vg: "vg_shared".into(),
                    lv: "data".into(),
                },
                dm_name: Some("vg_shared-data".into()),
                size_bytes: None,
                by_path: vec![],
                mounts: vec![],
                holders: vec![],
            }],
        };
        Topology {
            schema: 1,
            host: Some("kvm1".into()),
            luns: vec![Lun {
                wwid: Some(Wwid::new("36001405aaaa")),
                vendor: "LIO-ORG".into(),
                model: "disk0".into(),
                serial: Some("aaaa".into()),
                size_bytes: Some(1 << 30),
                paths,
                multipath,
                holders: vec![part],
                ..Lun::default()
            }],
            warnings: vec![],
        }
    }

    pub(crate) fn lun_disk(dev: &str, target: &str) -> Disk {
        Disk::parse(&format!(
            "<disk type='block' device='lun' rawio='yes'><driver name='qemu' type='raw' cache='none'/>\
             <source dev='{dev}'/><target dev='{target}' bus='scsi'/><shareable/></disk>"
        ))
        .unwrap()
    }

    fn rules(f: &[Finding]) -> Vec<Rule> {
        f.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn a_good_pass_through_path_has_no_findings() {
        let d = lun_disk(
            "/dev/disk/by-path/ip-10.0.0.1:3260-iscsi-iqn.t-lun-0",
            "sda",
        );
        assert_eq!(check_disk(&d, &topo(0)), vec![]);
        assert_eq!(
            classify_source(&d, &topo(0)),
            SourceKind::Path {
                lun: 0,
                hctl: Hctl {
                    host: 2,
                    channel: 0,
                    target: 0,
                    lun: 0
                }
            }
        );
    }

    #[test]
    fn device_disk_for_a_shared_lun_is_refused() {
        let mut d = lun_disk("/dev/disk/by-id/wwn-0x6001405aaaa", "sda");
        d.device = Some("disk".into());
        d.sgio = None;
        let f = check_disk(&d, &topo(0));
        assert_eq!(rules(&f), [Rule::NotPassThrough]);
        assert!(f[0].blocks(true));
    }

    #[test]
    fn virtio_blk_is_refused() {
        let d = Disk::parse(
            "<disk type='block' device='disk'><source dev='/dev/disk/by-id/wwn-0x6001405aaaa'/>\
             <target dev='vdb' bus='virtio'/><shareable/></disk>",
        )
        .unwrap();
        assert_eq!(rules(&check_disk(&d, &topo(0))), [Rule::VirtioBlk]);
    }

    #[test]
    fn partitions_and_lvs_are_refused() {
        let t = topo(1);
        let p = lun_disk("/dev/mapper/mpatha1", "sda");
        assert_eq!(
            classify_source(&p, &t),
            SourceKind::Partition { lun: Some(0) }
        );
        assert!(rules(&check_disk(&p, &t)).contains(&Rule::PartitionSource));
        let p = lun_disk("/dev/disk/by-id/wwn-0x6001405aaaa-part1", "sda");
        assert_eq!(
            classify_source(&p, &t),
            SourceKind::Partition { lun: Some(0) }
        );
        let lv = lun_disk("/dev/mapper/vg_shared-data", "sdb");
        assert_eq!(classify_source(&lv, &t), SourceKind::Lv { lun: Some(0) });
        assert!(rules(&check_disk(&lv, &t)).contains(&Rule::LvSource));
        let lv = lun_disk("/dev/vg_other/lv", "sdb");
        assert_eq!(classify_source(&lv, &t), SourceKind::Lv { lun: None });
        assert!(rules(&check_disk(&lv, &t)).contains(&Rule::LvSource));
    }

    #[test]
    fn kernel_names_and_labels_are_not_persistent() {
        for n in [
            "/dev/sdb",
            "/dev/dm-0",
            "/dev/disk/by-label/data",
            "/dev/disk/by-uuid/x",
        ] {
            assert!(!is_persistent_name(n), "{n}");
        }
        for n in [
            "/dev/disk/by-id/wwn-0x6001405aaaa",
            "/dev/disk/by-path/ip-10.0.0.1:3260-iscsi-iqn.t-lun-0",
            "/dev/mapper/mpatha",
        ] {
            assert!(is_persistent_name(n), "{n}");
        }
        let d = lun_disk("/dev/sdb", "sda");
        assert_eq!(rules(&check_disk(&d, &topo(0))), [Rule::NotPersistent]);
    }

    #[test]
    fn a_mapped_wwid_passed_path_by_path_is_refused() {
        let t = topo(1);
        let mut dom = Domain {
            name: "node1".into(),
            ..Domain::default()
        };
        dom.devices.disks = vec![
            lun_disk(
                "/dev/disk/by-path/ip-10.0.0.1:3260-iscsi-iqn.t-lun-0",
                "sda",
            ),
            lun_disk(
                "/dev/disk/by-path/ip-10.0.1.1:3260-iscsi-iqn.t-lun-0",
                "sdb",
            ),
        ];
        assert_eq!(rules(&check_domain(&dom, &t)), [Rule::MappedAndPaths]);
        // Without a map on the host the same domain is right.
        assert_eq!(check_domain(&dom, &topo(0)), vec![]);
    }

    #[test]
    fn paths_mode_needs_blacklist_and_filter() {
        let t = topo(0);
        let l = &t.luns[0];
        let f = check_mode(l, Mode::Paths, &Hygiene::default());
        assert_eq!(rules(&f), [Rule::NotBlacklisted, Rule::NotLvmFiltered]);
        assert!(f.iter().all(|f| f.blocks(false) && !f.blocks(true)));
        let clean = Hygiene {
            blacklisted: vec!["36001405aaaa".into()],
            lvm_filtered: vec!["36001405aaaa".into()],
        };
        assert_eq!(check_mode(l, Mode::Paths, &clean), vec![]);
        // Paths mode on a mapped LUN: two multipath layers.
        let t = topo(1);
        assert_eq!(
            rules(&check_mode(&t.luns[0], Mode::Paths, &clean)),
            [Rule::MappedAndPaths]
        );
    }

    #[test]
    fn an_active_passive_map_is_refused_in_map_mode() {
        let t = topo(2);
        assert_eq!(
            rules(&check_mode(&t.luns[0], Mode::Map, &Hygiene::default())),
            [Rule::ActivePassiveMap]
        );
        assert_eq!(
            check_mode(&topo(1).luns[0], Mode::Map, &Hygiene::default()),
            vec![]
        );
        let mut d = lun_disk("/dev/mapper/mpatha", "sda");
        let f = rules(&check_disk(&d, &t));
        assert_eq!(f, [Rule::ActivePassiveMap, Rule::UnmanagedReservations]);
        d.source.as_mut().unwrap().reservations = Some(crate::vm::xml::Reservations {
            managed: Some("yes".into()),
        });
        assert_eq!(check_disk(&d, &topo(1)), vec![]);
    }

    fn cluster() -> Cluster {
        Cluster {
            name: "prod".into(),
            guests: vec!["node1".into(), "node2".into()],
            managed: vec!["node2".into()],
        }
    }

    #[test]
    fn one_initiator_for_two_guests_of_a_cluster_is_refused() {
        let t = topo(0);
        let mut other = Domain {
            name: "node2".into(),
            ..Domain::default()
        };
        other.devices.disks = vec![lun_disk(
            "/dev/disk/by-path/ip-10.0.0.1:3260-iscsi-iqn.t-lun-0",
            "sda",
        )];
        let mine = [lun_disk("/dev/disk/by-id/wwn-0x6001405aaaa", "sda")];
        let f = check_shared_initiator("node1", &mine, &[other.clone()], &cluster(), &t);
        assert_eq!(rules(&f), [Rule::SharedInitiator]);
        assert!(f[0].reason.contains("host2"), "{}", f[0].reason);
        // A guest outside the cluster, or a domain not in it: no finding.
        other.name = "web".into();
        assert_eq!(
            check_shared_initiator("node1", &mine, &[other.clone()], &cluster(), &t),
            vec![]
        );
        other.name = "node2".into();
        assert_eq!(
            check_shared_initiator("db", &mine, &[other], &cluster(), &t),
            vec![]
        );
    }

    #[test]
    fn guests_with_their_own_iscsi_initiators_are_apart() {
        let t = topo(0);
        let iscsi = |ini: &str| {
            Disk::parse(&format!(
                "<disk type='network' device='lun'><source protocol='iscsi' name='iqn.t/1'>\
                 <host name='127.0.0.1' port='3260'/><initiator><iqn name='{ini}'/></initiator>\
                 </source><target dev='sda' bus='scsi'/><shareable/></disk>"
            ))
            .unwrap()
        };
        let mut other = Domain {
            name: "node2".into(),
            ..Domain::default()
        };
        other.devices.disks = vec![iscsi("iqn.x:node2")];
        let f = check_shared_initiator(
            "node1",
            &[iscsi("iqn.x:node1")],
            &[other.clone()],
            &cluster(),
            &t,
        );
        assert_eq!(f, vec![]);
        let f = check_shared_initiator("node1", &[iscsi("iqn.x:node2")], &[other], &cluster(), &t);
        assert_eq!(rules(&f), [Rule::SharedInitiator]);
    }

    #[test]
    fn a_cluster_file_reads() {
        let c = Cluster::from_toml(
            "c.toml",
            "name = \"prod\"\nguests = [\"node1\", \"node2\"]\nmanaged = [\"node2\"]\n",
        )
        .unwrap();
        assert_eq!(c, cluster());
        let e = Cluster::from_toml("c.toml", "guests = 3").unwrap_err();
        assert!(e.to_string().starts_with("c.toml: "), "{e}");
        assert_eq!(Rule::SharedInitiator.to_string(), "shared-initiator");
    }

    #[test]
    fn a_cluster_managed_domain_needs_force() {
        let f = check_managed("node2", &cluster());
        assert_eq!(rules(&f), [Rule::ClusterManaged]);
        assert!(f[0].blocks(false) && !f[0].blocks(true));
        assert_eq!(check_managed("node1", &cluster()), vec![]);
    }

    #[test]
    fn host_cache_and_unfiltered_sgio_are_warnings() {
        let mut d = lun_disk("/dev/disk/by-id/wwn-0x6001405aaaa", "sda");
        d.sgio = Some("unfiltered".into());
        d.shareable = None;
        d.driver.as_mut().unwrap().cache = Some("writeback".into());
        let f = check_disk(&d, &topo(0));
        assert_eq!(
            rules(&f),
            [Rule::UnfilteredSgio, Rule::NotShareable, Rule::HostCache]
        );
        assert!(f.iter().all(|f| !f.blocks(false)));
    }

    #[test]
    fn images_and_cdroms_are_not_judged() {
        let d = Disk::parse(
            "<disk type='file' device='cdrom'><source file='/x.iso'/><target dev='sdz' bus='sata'/></disk>",
        )
        .unwrap();
        assert_eq!(check_disk(&d, &topo(0)), vec![]);
    }
}
