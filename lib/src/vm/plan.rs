//! What `vmguest-attach plan` and `attach` do to a domain for one LUN: the
//! mode (the host's map as one disk, every path as its own disk, or a
//! single-path or iSCSI LUN), a persistent source name per disk, free
//! target names, free addresses on a virtio-scsi controller (a new
//! controller when the domain has none), the disk elements, fencekit's
//! metadata record, and every finding of [`rules`](super::rules) about it.
//!
//! The disk element is the one the guides write by hand, less `sgio`:
//! `type='block' device='lun' rawio='yes'`, `<driver name='qemu'
//! type='raw' cache='none' io='native'/>`, `<shareable/>`, a drive address,
//! and in map mode `<reservations managed='yes'/>` (libvirt then runs
//! qemu-pr-helper, which registers the guest's key on every path of the
//! map). The guides' `sgio='unfiltered'` is left out because libvirt's
//! domain validation refuses it (libvirt 9.0, Debian 12, and later:
//! "unfiltered sgio is no longer supported"). An iSCSI URL gives `type='network' protocol='iscsi'` with the
//! guest's own initiator name: QEMU is then the initiator, no host path
//! and no helper are involved, and `sgio`/`rawio` do not apply.

use serde::Serialize;

use super::metadata::{DiskRecord, LunRecord, Mode};
use super::rules::{self, Cluster, Finding, Hygiene, Rule, Severity, SourceKind};
use super::xml::Domain;
use super::xml::{
    Controller, Disk, DriveAddress, Driver, Flag, Host, Initiator, Iqn, Reservations, Source,
    Target,
};
use crate::topology::{Lun, Topology};

/// Targets per virtio-scsi controller (QEMU's `max_target` + 1).
pub const VIRTIO_SCSI_TARGETS: u32 = 256;

/// A LUN named by an `iscsi://HOST[:PORT]/IQN/LUN` URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IscsiUrl {
    /// Portal host.
    pub host: String,
    /// Portal port (3260 when not given).
    pub port: u16,
    /// Target IQN.
    pub iqn: String,
    /// LUN number.
    pub lun: u32,
}

impl IscsiUrl {
    /// Parses `iscsi://HOST[:PORT]/IQN/LUN` (`[ADDR]` for IPv6).
    pub fn parse(s: &str) -> Option<IscsiUrl> {
        let rest = s.strip_prefix("iscsi://")?;
        let (portal, path) = rest.split_once('/')?;
        let (iqn, lun) = path.rsplit_once('/')?;
        let (host, port) = if let Some(v6) = portal.strip_prefix('[') {
            let (h, rest) = v6.split_once(']')?;
            match rest.strip_prefix(':') {
                Some(p) => (h, p.parse().ok()?),
                None if rest.is_empty() => (h, 3260),
                None => return None,
            }
        } else {
            match portal.split_once(':') {
                Some((h, p)) => (h, p.parse().ok()?),
                None => (portal, 3260),
            }
        };
        if host.is_empty() || iqn.is_empty() || iqn.contains('/') {
            return None;
        }
        Some(IscsiUrl {
            host: host.to_string(),
            port,
            iqn: iqn.to_string(),
            lun: lun.parse().ok()?,
        })
    }

    /// libvirt's source name: `IQN/LUN`.
    pub fn source_name(&self) -> String {
        format!("{}/{}", self.iqn, self.lun)
    }
}

impl std::fmt::Display for IscsiUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(
                f,
                "iscsi://[{}]:{}/{}/{}",
                self.host, self.port, self.iqn, self.lun
            )
        } else {
            write!(
                f,
                "iscsi://{}:{}/{}/{}",
                self.host, self.port, self.iqn, self.lun
            )
        }
    }
}

/// The mode for `l`: `requested`, or the host's map when there is one, a
/// single path as it is, and several paths without a map one by one.
pub fn choose_mode(l: &Lun, requested: Option<Mode>) -> Mode {
    if let Some(m) = requested {
        return m;
    }
    if l.multipath.is_some() {
        Mode::Map
    } else if l.paths.len() > 1 {
        Mode::Paths
    } else {
        Mode::Lun
    }
}

/// The persistent source names of `l` in `mode`, or the finding that says
/// why there is none.
pub fn source_names(l: &Lun, mode: Mode) -> Result<Vec<String>, Finding> {
    let none = |why: &str| {
        Finding {
        rule: Rule::NotPersistent,
        severity: Severity::Refused,
        subject: l.label(),
        reason: why.to_string(),
        way_out: "let udev create the /dev/disk/by-id and by-path links (udevadm trigger), or name the map in multipath.conf".into(),
    }
    };
    match mode {
        Mode::Map => {
            let m = l
                .multipath
                .as_ref()
                .ok_or_else(|| none("map mode, but the host has no multipath map for this LUN"))?;
            let by_id = m.by_id.iter().find(|b| b.starts_with("dm-uuid-mpath-"));
            Ok(vec![match by_id {
                Some(b) => format!("/dev/disk/by-id/{b}"),
                None => format!("/dev/mapper/{}", m.name),
            }])
        }
        Mode::Paths => l
            .paths
            .iter()
            .map(|p| {
                p.by_path
                    .first()
                    .map(|b| format!("/dev/disk/by-path/{b}"))
                    .ok_or_else(|| none(&format!("path {} has no /dev/disk/by-path name", p.hctl)))
            })
            .collect(),
        Mode::Lun => {
            if l.paths.len() > 1 {
                return Err(Finding {
                    rule: Rule::MappedAndPaths,
                    severity: Severity::Refused,
                    subject: l.label(),
                    reason: format!(
                        "lun mode gives the guest one path of {}, which has {}",
                        l.label(),
                        l.paths.len()
                    ),
                    way_out: "use --mode map (multipath on the host) or --mode paths (multipath in the guest)".into(),
                });
            }
            let ids: Vec<&String> = l.paths.iter().flat_map(|p| p.by_id.iter()).collect();
            let pick = ids
                .iter()
                .find(|b| b.starts_with("wwn-"))
                .or_else(|| ids.iter().find(|b| b.starts_with("scsi-3")))
                .or_else(|| ids.first())
                .map(|b| format!("/dev/disk/by-id/{b}"))
                .or_else(|| {
                    l.paths
                        .iter()
                        .find_map(|p| p.by_path.first())
                        .map(|b| format!("/dev/disk/by-path/{b}"))
                });
            pick.map(|p| vec![p])
                .ok_or_else(|| none("the LUN has no /dev/disk/by-id or by-path name"))
        }
    }
}

/// `n` target names not used in `domain`: `sda`, `sdb`, ... `sdz`,
/// `sdaa`, ...
pub fn free_targets(domain: &Domain, n: usize) -> Vec<String> {
    let used: Vec<&str> = domain
        .devices
        .disks
        .iter()
        .filter_map(Disk::target_dev)
        .collect();
    (0u32..)
        .map(sd_name)
        .filter(|t| !used.contains(&t.as_str()))
        .take(n)
        .collect()
}

/// The kernel's name for disk number `i` (0: `sda`, 26: `sdaa`).
fn sd_name(i: u32) -> String {
    let mut i = i;
    let mut s = Vec::new();
    loop {
        // `i % 26` is below 26: the letter fits in a byte.
        s.push(b'a' + u8::try_from(i % 26).unwrap_or(0));
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    format!("sd{}", String::from_utf8_lossy(&s))
}

/// Where `n` new disks go: the controller to add first (when the domain
/// has no virtio-scsi controller), and a free drive address for each, one
/// target per disk with unit 0, on the lowest-indexed virtio-scsi
/// controller with room.
pub fn free_addresses(domain: &Domain, n: usize) -> (Option<Controller>, Vec<DriveAddress>) {
    let used: Vec<DriveAddress> = domain
        .devices
        .disks
        .iter()
        .filter_map(Disk::drive_address)
        .collect();
    let taken = |c: u32, t: u32| {
        used.iter()
            .any(|a| a.controller == c && a.bus == 0 && a.target == t)
    };
    let mut controllers = domain.virtio_scsi_controllers();
    let mut new = None;
    if controllers.is_empty() {
        // The next free index among SCSI controllers of any model.
        let index = domain
            .devices
            .controllers
            .iter()
            .filter(|c| c.kind == "scsi")
            .filter_map(Controller::index)
            .max()
            .map_or(0, |m| m.saturating_add(1));
        controllers.push(index);
        new = Some(Controller::virtio_scsi(index));
    }
    let mut out = Vec::with_capacity(n);
    'outer: for &c in &controllers {
        for t in 0..VIRTIO_SCSI_TARGETS {
            if out.len() == n {
                break 'outer;
            }
            if !taken(c, t) {
                out.push(DriveAddress {
                    controller: c,
                    bus: 0,
                    target: t,
                    unit: 0,
                });
            }
        }
    }
    if out.len() < n && new.is_none() {
        // Every controller full: one more.
        let index = controllers.iter().max().map_or(0, |m| m.saturating_add(1));
        new = Some(Controller::virtio_scsi(index));
        let more = n - out.len();
        out.extend((0..).take(more).map(|t| DriveAddress {
            controller: index,
            bus: 0,
            target: t,
            unit: 0,
        }));
    }
    (new, out)
}

/// The pass-through disk element for a host block device.
pub fn block_disk(source: &str, target: &str, at: DriveAddress, managed_pr: bool) -> Disk {
    Disk {
        kind: Some("block".into()),
        device: Some("lun".into()),
        // libvirt refuses sgio='unfiltered' (rules::Rule::UnfilteredSgio).
        sgio: None,
        rawio: Some("yes".into()),
        driver: Some(driver()),
        source: Some(Source {
            dev: Some(source.into()),
            reservations: managed_pr.then(|| Reservations {
                managed: Some("yes".into()),
            }),
            ..Source::default()
        }),
        target: Some(scsi_target(target)),
        shareable: Some(Flag {}),
        readonly: None,
        address: Some(at.to_address()),
    }
}

/// The pass-through disk element for an iSCSI LUN reached by QEMU's own
/// initiator, named `initiator`.
pub fn iscsi_disk(url: &IscsiUrl, initiator: &str, target: &str, at: DriveAddress) -> Disk {
    Disk {
        kind: Some("network".into()),
        device: Some("lun".into()),
        sgio: None,
        rawio: None,
        driver: Some(driver()),
        source: Some(Source {
            protocol: Some("iscsi".into()),
            name: Some(url.source_name()),
            hosts: vec![Host {
                name: Some(url.host.clone()),
                port: Some(url.port.to_string()),
            }],
            initiator: Some(Initiator {
                iqn: Iqn {
                    name: initiator.into(),
                },
            }),
            ..Source::default()
        }),
        target: Some(scsi_target(target)),
        shareable: Some(Flag {}),
        readonly: None,
        address: Some(at.to_address()),
    }
}

fn driver() -> Driver {
    Driver {
        name: Some("qemu".into()),
        format: Some("raw".into()),
        cache: Some("none".into()),
        io: Some("native".into()),
    }
}

fn scsi_target(dev: &str) -> Target {
    Target {
        dev: dev.into(),
        bus: Some("scsi".into()),
    }
}

/// Everything the plan for a domain needs besides the LUN.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    /// The host's storage model.
    pub topology: Option<&'a Topology>,
    /// The other domains on this host.
    pub others: &'a [Domain],
    /// The cluster the domain belongs to (empty: none known).
    pub cluster: Cluster,
    /// The host's multipath blacklist and LVM filter.
    pub hygiene: Hygiene,
    /// This host's name, recorded in the metadata.
    pub host: Option<String>,
    /// The guest's iSCSI initiator name, for iSCSI URLs.
    pub initiator: Option<String>,
}

/// What a LUN is to the plan: a unit of the host's model, or an iSCSI
/// URL for QEMU's initiator.
#[derive(Debug, Clone)]
pub enum LunRef<'a> {
    /// A unit of [`Context::topology`].
    Host(&'a Lun),
    /// An iSCSI LUN QEMU reaches itself.
    Iscsi(IscsiUrl),
}

/// Why a name given as a LUN is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LunNameError {
    /// Nothing on the host has the name.
    NotFound(String),
    /// `iscsi:` but not `iscsi://HOST[:PORT]/IQN/LUN`.
    BadUrl(String),
    /// The name is a partition or a logical volume: a finding, refused.
    NotALun(Box<Finding>),
}

impl std::fmt::Display for LunNameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LunNameError::NotFound(n) => write!(f, "{n}: no such LUN on this host"),
            LunNameError::BadUrl(n) => write!(f, "{n}: not an iscsi://HOST[:PORT]/IQN/LUN URL"),
            LunNameError::NotALun(x) => write!(f, "{x}"),
        }
    }
}

impl std::error::Error for LunNameError {}

/// The LUN `name` stands for: an iSCSI URL, or a unit of `topo` named by a
/// path, the map or the unit. A partition or an LV is refused (a disk
/// element with it as source would be refused too), rather than taken as
/// the unit under it.
pub fn lun_ref<'a>(topo: &'a Topology, name: &str) -> Result<LunRef<'a>, LunNameError> {
    if let Some(u) = IscsiUrl::parse(name) {
        return Ok(LunRef::Iscsi(u));
    }
    if name.starts_with("iscsi:") {
        return Err(LunNameError::BadUrl(name.to_string()));
    }
    let refuse = |rule, reason: &str, way_out: &str| {
        Err(LunNameError::NotALun(Box::new(Finding {
            rule,
            severity: Severity::Refused,
            subject: name.to_string(),
            reason: reason.to_string(),
            way_out: way_out.to_string(),
        })))
    };
    match rules::classify_name(name, topo) {
        SourceKind::Path { lun, .. } | SourceKind::Map { lun } | SourceKind::Unit { lun } => {
            match topo.luns.get(lun) {
                Some(l) => Ok(LunRef::Host(l)),
                None => Err(LunNameError::NotFound(name.to_string())),
            }
        }
        SourceKind::Partition { .. } => refuse(
            Rule::PartitionSource,
            "a partition is not a SCSI logical unit: device='lun' passes whole devices only",
            "name the LUN itself (its WWID, by-id name or map) and partition it inside the guest",
        ),
        SourceKind::Lv { .. } => refuse(
            Rule::LvSource,
            "a logical volume is not a SCSI logical unit and cannot carry reservations",
            "name the LUN itself, and keep the host's LVM off it",
        ),
        SourceKind::Iscsi | SourceKind::Other => Err(LunNameError::NotFound(name.to_string())),
    }
}

/// The plan for one LUN and one domain.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The domain.
    pub domain: String,
    /// The mode.
    pub mode: Mode,
    /// A virtio-scsi controller to add first, when the domain has none
    /// (in JSON: its XML).
    #[serde(serialize_with = "controller_xml")]
    pub controller: Option<Controller>,
    /// The disks to attach (in JSON: each one's XML).
    #[serde(serialize_with = "disks_xml")]
    pub disks: Vec<Disk>,
    /// The metadata record of the LUN.
    pub record: LunRecord,
    /// Every finding, warnings included.
    pub findings: Vec<Finding>,
    /// Every rule checked, passed or not.
    pub checked: Vec<Rule>,
    /// In paths mode, what `vmguest-attach hide` would change in the
    /// host's multipath.conf and lvm.conf (diffs); set by the caller, who
    /// has the files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hygiene: Option<String>,
}

impl Plan {
    /// True when a finding stops the attachment (`force`: forcible
    /// findings do not).
    pub fn refused(&self, force: bool) -> bool {
        self.findings.iter().any(|f| f.blocks(force))
    }
}

fn controller_xml<S: serde::Serializer>(c: &Option<Controller>, s: S) -> Result<S::Ok, S::Error> {
    let x = c
        .as_ref()
        .map(Controller::to_xml)
        .transpose()
        .map_err(serde::ser::Error::custom)?;
    s.serialize_some(&x)
}

fn disks_xml<S: serde::Serializer>(d: &[Disk], s: S) -> Result<S::Ok, S::Error> {
    let x: Vec<String> = d
        .iter()
        .map(Disk::to_xml)
        .collect::<Result<_, _>>()
        .map_err(serde::ser::Error::custom)?;
    s.collect_seq(x)
}

/// The plan to give `lun` to `domain`: mode, disks and findings.
pub fn plan(domain: &Domain, lun: &LunRef, requested: Option<Mode>, ctx: &Context) -> Plan {
    let mut findings = rules::check_managed(&domain.name, &ctx.cluster);
    let empty = Topology::default();
    let topo = ctx.topology.unwrap_or(&empty);
    let (mode, sources, mut record) = match lun {
        LunRef::Host(l) => {
            let mode = choose_mode(l, requested);
            findings.extend(rules::check_mode(l, mode, &ctx.hygiene));
            let sources = match source_names(l, mode) {
                Ok(s) => s,
                Err(f) => {
                    findings.push(f);
                    Vec::new()
                }
            };
            let record = LunRecord {
                wwid: l.wwid.as_ref().map(|w| w.as_str().to_string()),
                serial: l.serial.clone(),
                vendor: Some(l.vendor.clone()).filter(|v| !v.is_empty()),
                product: Some(l.model.clone()).filter(|v| !v.is_empty()),
                size_bytes: l.size_bytes,
                host: ctx.host.clone(),
                mode: Some(mode),
                disks: Vec::new(),
            };
            (mode, sources, record)
        }
        LunRef::Iscsi(u) => {
            let record = LunRecord {
                host: ctx.host.clone(),
                mode: Some(Mode::Lun),
                ..LunRecord::default()
            };
            (Mode::Lun, vec![u.to_string()], record)
        }
    };
    let targets = free_targets(domain, sources.len());
    let (controller, addrs) = free_addresses(domain, sources.len());
    let mut disks = Vec::new();
    for ((src, t), at) in sources.iter().zip(&targets).zip(addrs) {
        let d = match lun {
            LunRef::Host(_) => block_disk(src, t, at, mode == Mode::Map),
            LunRef::Iscsi(u) => {
                let ini = ctx.initiator.clone().unwrap_or_default();
                if ini.is_empty() {
                    findings.push(Finding {
                        rule: Rule::SharedInitiator,
                        severity: Severity::Refused,
                        subject: u.to_string(),
                        reason: "no initiator name for the guest: every guest would log in with libvirt's default name, and PR could not tell them apart".into(),
                        way_out: "give the guest's own initiator name (--initiator IQN)".into(),
                    });
                }
                iscsi_disk(u, &ini, t, at)
            }
        };
        record.disks.push(DiskRecord {
            target: t.clone(),
            source: src.clone(),
        });
        disks.push(d);
    }
    findings.extend(rules::check_shared_initiator(
        &domain.name,
        &disks,
        ctx.others,
        &ctx.cluster,
        topo,
    ));
    for d in &disks {
        findings.extend(rules::check_disk(d, topo));
    }
    // The same LUN already given to this domain.
    if let Some(w) = &record.wwid {
        let already = domain.devices.disks.iter().any(|d| {
            rules::classify_source(d, topo)
                .lun()
                .and_then(|i| topo.luns.get(i))
                .and_then(|l| l.wwid.as_ref())
                .is_some_and(|x| x.as_str() == w)
        });
        if already {
            findings.push(Finding {
                rule: Rule::MappedAndPaths,
                severity: Severity::Refused,
                subject: domain.name.clone(),
                reason: format!("{w} is already attached to the domain"),
                way_out: "detach it first to change how it is attached".into(),
            });
        }
    }
    // Worst first; a rule met both by the LUN and by its disk once.
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(&b.rule)));
    findings.dedup_by(|a, b| a.rule == b.rule && a.reason == b.reason);
    let mut checked = vec![
        Rule::NotPassThrough,
        Rule::VirtioBlk,
        Rule::PartitionSource,
        Rule::LvSource,
        Rule::NotPersistent,
        Rule::MappedAndPaths,
        Rule::UnfilteredSgio,
        Rule::NotShareable,
        Rule::HostCache,
    ];
    // The cluster's rules only with a cluster to check against.
    if !ctx.cluster.guests.is_empty() || !ctx.cluster.managed.is_empty() {
        checked.extend([Rule::ClusterManaged, Rule::SharedInitiator]);
    }
    match (lun, mode) {
        (LunRef::Host(_), Mode::Map) => {
            checked.extend([Rule::ActivePassiveMap, Rule::UnmanagedReservations]);
        }
        (LunRef::Host(_), Mode::Paths) => {
            checked.extend([Rule::NotBlacklisted, Rule::NotLvmFiltered]);
        }
        _ => {}
    }
    checked.sort();
    Plan {
        domain: domain.name.clone(),
        mode,
        controller,
        disks,
        record,
        findings,
        checked,
        hygiene: None,
    }
}

/// The plans for several LUNs given to `domain` at once: each LUN's
/// target names and addresses come after the ones planned before it.
pub fn plan_all(
    domain: &Domain,
    luns: &[LunRef],
    requested: Option<Mode>,
    ctx: &Context,
) -> Vec<Plan> {
    let mut dom = domain.clone();
    let mut out = Vec::with_capacity(luns.len());
    for lun in luns {
        let p = plan(&dom, lun, requested, ctx);
        if let Some(c) = &p.controller {
            dom.devices.controllers.push(c.clone());
        }
        dom.devices.disks.extend(p.disks.iter().cloned());
        out.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::rules::tests::{lun_disk, topo};
    use crate::vm::xml::Domain;

    fn domain(xml_devices: &str) -> Domain {
        Domain::parse(&format!(
            "<domain type='kvm'><name>node1</name><devices>{xml_devices}</devices></domain>"
        ))
        .unwrap()
    }

    #[test]
    fn iscsi_urls_parse() {
        let u = IscsiUrl::parse("iscsi://127.0.0.1:3261/iqn.2026-01.x:lun/1").unwrap();
        assert_eq!(u.host, "127.0.0.1");
        assert_eq!(u.port, 3261);
        assert_eq!(u.iqn, "iqn.2026-01.x:lun");
        assert_eq!(u.lun, 1);
        assert_eq!(u.source_name(), "iqn.2026-01.x:lun/1");
        assert_eq!(u.to_string(), "iscsi://127.0.0.1:3261/iqn.2026-01.x:lun/1");
        let u = IscsiUrl::parse("iscsi://san/iqn.x:y/0").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("san", 3260));
        let u = IscsiUrl::parse("iscsi://[fd00::1]:3260/iqn.x:y/2").unwrap();
        assert_eq!(u.host, "fd00::1");
        for bad in [
            "iscsi://",
            "iscsi://h/iqn",
            "iscsi://h/iqn/x",
            "http://h/i/0",
            "iscsi:///i/0",
        ] {
            assert_eq!(IscsiUrl::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_lun_is_named_by_path_map_unit_or_url_never_by_partition_or_lv() {
        let t = topo(1);
        for n in [
            "/dev/disk/by-path/ip-10.0.0.1:3260-iscsi-iqn.t-lun-0",
            "sdc",
            "mpatha",
            "/dev/mapper/mpatha",
            "36001405aaaa",
            "/dev/disk/by-id/wwn-0x6001405aaaa",
        ] {
            assert!(matches!(lun_ref(&t, n), Ok(LunRef::Host(_))), "{n}");
        }
        assert!(matches!(
            lun_ref(&t, "iscsi://h/iqn.x:y/0"),
            Ok(LunRef::Iscsi(_))
        ));
        assert_eq!(
            lun_ref(&t, "iscsi://h/iqn").unwrap_err(),
            LunNameError::BadUrl("iscsi://h/iqn".into())
        );
        for (n, rule) in [
            ("/dev/mapper/mpatha1", Rule::PartitionSource),
            (
                "/dev/disk/by-id/wwn-0x6001405aaaa-part1",
                Rule::PartitionSource,
            ),
            ("/dev/mapper/vg_shared-data", Rule::LvSource),
        ] {
            match lun_ref(&t, n) {
                Err(LunNameError::NotALun(f)) => assert_eq!(f.rule, rule, "{n}"),
                other => panic!("{n}: {other:?}"),
            }
        }
        assert_eq!(
            lun_ref(&t, "sdq").unwrap_err().to_string(),
            "sdq: no such LUN on this host"
        );
    }

    #[test]
    fn target_names_skip_used_ones() {
        let d = domain("<disk><target dev='sda'/></disk><disk><target dev='sdc'/></disk>");
        assert_eq!(free_targets(&d, 3), ["sdb", "sdd", "sde"]);
        assert_eq!(sd_name(25), "sdz");
        assert_eq!(sd_name(26), "sdaa");
        assert_eq!(sd_name(701), "sdzz");
        assert_eq!(sd_name(702), "sdaaa");
    }

    #[test]
    fn addresses_go_to_free_targets_of_the_virtio_scsi_controller() {
        let d = domain(
            "<controller type='scsi' index='0' model='lsilogic'/>\
             <controller type='scsi' index='1' model='virtio-scsi'/>\
             <disk><target dev='sda'/><address type='drive' controller='1' bus='0' target='0' unit='0'/></disk>\
             <disk><target dev='sdb'/><address type='drive' controller='0' bus='0' target='1' unit='0'/></disk>",
        );
        let (c, a) = free_addresses(&d, 2);
        assert_eq!(c, None);
        assert_eq!(
            a.iter()
                .map(|a| (a.controller, a.target))
                .collect::<Vec<_>>(),
            [(1, 1), (1, 2)]
        );
    }

    #[test]
    fn a_controller_is_created_when_there_is_none() {
        let d = domain("<controller type='scsi' index='0' model='lsilogic'/>");
        let (c, a) = free_addresses(&d, 1);
        assert_eq!(c, Some(Controller::virtio_scsi(1)));
        assert_eq!(a[0].controller, 1);
        let (c, _) = free_addresses(&domain(""), 1);
        assert_eq!(c, Some(Controller::virtio_scsi(0)));
    }

    #[test]
    fn a_full_controller_gets_a_second_one() {
        let mut d = domain("<controller type='scsi' index='0' model='virtio-scsi'/>");
        for t in 0..VIRTIO_SCSI_TARGETS {
            let mut x = lun_disk("/dev/disk/by-id/x", &sd_name(t));
            x.address = Some(
                DriveAddress {
                    controller: 0,
                    bus: 0,
                    target: t,
                    unit: 0,
                }
                .to_address(),
            );
            d.devices.disks.push(x);
        }
        let (c, a) = free_addresses(&d, 1);
        assert_eq!(c, Some(Controller::virtio_scsi(1)));
        assert_eq!((a[0].controller, a[0].target), (1, 0));
    }

    #[test]
    fn the_mode_follows_the_host() {
        assert_eq!(choose_mode(&topo(1).luns[0], None), Mode::Map);
        assert_eq!(choose_mode(&topo(0).luns[0], None), Mode::Paths);
        let mut one = topo(0).luns[0].clone();
        one.paths.truncate(1);
        assert_eq!(choose_mode(&one, None), Mode::Lun);
        assert_eq!(choose_mode(&one, Some(Mode::Paths)), Mode::Paths);
    }

    #[test]
    fn map_mode_attaches_the_map_with_managed_reservations() {
        let t = topo(1);
        let d = domain("<controller type='scsi' index='0' model='virtio-scsi'/>");
        let ctx = Context {
            topology: Some(&t),
            host: Some("kvm1".into()),
            ..Context::default()
        };
        let p = plan(&d, &LunRef::Host(&t.luns[0]), None, &ctx);
        assert_eq!(p.mode, Mode::Map);
        assert_eq!(p.findings, vec![]);
        assert_eq!(p.controller, None);
        assert_eq!(p.disks.len(), 1);
        let x = &p.disks[0];
        assert_eq!(
            x.source_dev(),
            Some("/dev/disk/by-id/dm-uuid-mpath-36001405aaaa")
        );
        assert!(x.managed_reservations() && x.is_lun() && !x.unfiltered() && x.is_shareable());
        assert_eq!(x.rawio.as_deref(), Some("yes"));
        assert_eq!(x.target_dev(), Some("sda"));
        assert_eq!(p.record.wwid.as_deref(), Some("36001405aaaa"));
        assert_eq!(p.record.disks[0].target, "sda");
        assert!(!p.refused(false));
    }

    #[test]
    fn paths_mode_attaches_every_path_by_path_name() {
        let t = topo(0);
        let d = domain("");
        let ctx = Context {
            topology: Some(&t),
            hygiene: Hygiene {
                blacklisted: vec!["36001405aaaa".into()],
                lvm_filtered: vec!["36001405aaaa".into()],
            },
            ..Context::default()
        };
        let p = plan(&d, &LunRef::Host(&t.luns[0]), None, &ctx);
        assert_eq!(p.mode, Mode::Paths);
        assert_eq!(p.findings, vec![]);
        assert_eq!(p.controller, Some(Controller::virtio_scsi(0)));
        let srcs: Vec<_> = p.disks.iter().map(|d| d.source_dev().unwrap()).collect();
        assert_eq!(
            srcs,
            [
                "/dev/disk/by-path/ip-10.0.0.1:3260-iscsi-iqn.t-lun-0",
                "/dev/disk/by-path/ip-10.0.1.1:3260-iscsi-iqn.t-lun-0"
            ]
        );
        assert!(p.disks.iter().all(|d| !d.managed_reservations()));
        let targets: Vec<_> = p
            .disks
            .iter()
            .map(|d| d.drive_address().unwrap().target)
            .collect();
        assert_eq!(targets, [0, 1]);
    }

    #[test]
    fn refusals_reach_the_plan() {
        // Active-passive map in map mode; a cluster-managed domain.
        let t = topo(2);
        let d = domain("");
        let ctx = Context {
            topology: Some(&t),
            cluster: Cluster {
                name: "prod".into(),
                guests: vec!["node1".into()],
                managed: vec!["node1".into()],
            },
            ..Context::default()
        };
        let p = plan(&d, &LunRef::Host(&t.luns[0]), Some(Mode::Map), &ctx);
        let rules: Vec<Rule> = p.findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, [Rule::ActivePassiveMap, Rule::ClusterManaged]);
        assert!(p.refused(true));
        // Lun mode on a unit with two paths.
        let t = topo(0);
        let ctx = Context {
            topology: Some(&t),
            ..Context::default()
        };
        let p = plan(&d, &LunRef::Host(&t.luns[0]), Some(Mode::Lun), &ctx);
        assert!(p.refused(true));
        assert!(p.disks.is_empty());
    }

    #[test]
    fn an_attached_lun_is_not_attached_twice() {
        let t = topo(1);
        let mut d = domain("<controller type='scsi' index='0' model='virtio-scsi'/>");
        d.devices.disks.push(lun_disk(
            "/dev/disk/by-id/dm-uuid-mpath-36001405aaaa",
            "sda",
        ));
        let ctx = Context {
            topology: Some(&t),
            ..Context::default()
        };
        let p = plan(&d, &LunRef::Host(&t.luns[0]), None, &ctx);
        assert!(p.refused(true));
        assert_eq!(p.disks[0].target_dev(), Some("sdb"));
    }

    #[test]
    fn luns_planned_together_get_different_targets_and_one_controller() {
        let t = topo(1);
        let u = IscsiUrl::parse("iscsi://127.0.0.1/iqn.t:lun/1").unwrap();
        let ctx = Context {
            topology: Some(&t),
            initiator: Some("iqn.x:node1".into()),
            ..Context::default()
        };
        let ps = plan_all(
            &domain(""),
            &[LunRef::Host(&t.luns[0]), LunRef::Iscsi(u)],
            None,
            &ctx,
        );
        assert_eq!(ps[0].controller, Some(Controller::virtio_scsi(0)));
        assert_eq!(ps[1].controller, None);
        assert_eq!(ps[0].disks[0].target_dev(), Some("sda"));
        assert_eq!(ps[1].disks[0].target_dev(), Some("sdb"));
        assert_eq!(ps[1].disks[0].drive_address().unwrap().target, 1);
    }

    #[test]
    fn an_iscsi_url_gives_a_network_disk_with_the_guests_initiator() {
        let u = IscsiUrl::parse("iscsi://127.0.0.1:3260/iqn.t:lun/1").unwrap();
        let d = domain("<controller type='scsi' index='0' model='virtio-scsi'/>");
        let ctx = Context {
            initiator: Some("iqn.x:node1".into()),
            ..Context::default()
        };
        let p = plan(&d, &LunRef::Iscsi(u.clone()), None, &ctx);
        assert_eq!(p.findings, vec![]);
        let x = &p.disks[0];
        assert_eq!(x.kind(), "network");
        let s = x.iscsi().unwrap();
        assert_eq!(s.name.as_deref(), Some("iqn.t:lun/1"));
        assert_eq!(s.initiator.as_ref().unwrap().iqn.name, "iqn.x:node1");
        // Without an initiator name: refused.
        let p = plan(&d, &LunRef::Iscsi(u), None, &Context::default());
        assert!(p.refused(true));
    }
}
