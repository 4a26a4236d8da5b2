//! Every shared LUN of a domain, as `vmguest-attach list` shows it: each
//! disk that is (or should be) a pass-through LUN, with its source, what
//! the source is on this host, the LUN's identity (from fencekit's
//! metadata record, else from the host's model), the mode, and the
//! findings of [`rules`](super::rules) about it; and [`HostList`], what
//! `list --json` prints: the host's name, those domains and the host's
//! storage model, which `check` compares across hosts.

use serde::{Deserialize, Serialize};

use super::metadata::{LunRecord, Mode, Record};
use super::rules::{self, Cluster, Finding, SourceKind};
use super::xml::{Domain, DriveAddress};
use crate::topology::Topology;

/// One shared disk of a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedDisk {
    /// Target name (`sdb`).
    pub target: Option<String>,
    /// `device`: `lun` or `disk`.
    pub device: String,
    /// The target bus.
    pub bus: Option<String>,
    /// The source: a device name, or the iSCSI `IQN/LUN`.
    pub source: Option<String>,
    /// What the source is on this host.
    pub kind: SourceKind,
    /// The drive address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<DriveAddress>,
    /// The mode (from the record, else inferred from the source).
    pub mode: Option<Mode>,
    /// The LUN's identity: fencekit's record when it has one for this
    /// disk, else what the host's model says.
    pub lun: Option<LunRecord>,
    /// The findings about this disk.
    pub findings: Vec<Finding>,
    /// `sgio` (`filtered`, `unfiltered`), when given.
    #[serde(default)]
    pub sgio: Option<String>,
    /// `rawio` (`yes`, `no`), when given.
    #[serde(default)]
    pub rawio: Option<String>,
    /// True with `<shareable/>`.
    #[serde(default)]
    pub shareable: bool,
    /// The driver's cache mode, when given.
    #[serde(default)]
    pub cache: Option<String>,
    /// True with `<reservations managed='yes'/>`.
    #[serde(default)]
    pub managed_reservations: bool,
    /// The guest's own iSCSI initiator name (iSCSI disks that give one).
    #[serde(default)]
    pub initiator: Option<String>,
}

/// A domain's shared disks and the findings about the domain as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainLuns {
    /// The domain.
    pub domain: String,
    /// Its shared disks.
    pub disks: Vec<SharedDisk>,
    /// Findings about more than one disk (a map and its paths both given).
    pub findings: Vec<Finding>,
}

/// The shared disks of `domain`, with its metadata `record`, on `topo`.
pub fn shared_disks(domain: &Domain, record: &Record, topo: &Topology) -> DomainLuns {
    let mut disks = Vec::new();
    for d in &domain.devices.disks {
        let kind = rules::classify_source(d, topo);
        let findings = rules::check_disk(d, topo);
        let shared = d.is_lun() || d.is_shareable() || kind.lun().is_some() || !findings.is_empty();
        if !shared {
            continue;
        }
        let rec = d
            .target_dev()
            .and_then(|t| record.lun_of_target(t))
            .cloned();
        let from_host = kind
            .lun()
            .and_then(|i| topo.luns.get(i))
            .map(|l| LunRecord {
                wwid: l.wwid.as_ref().map(|w| w.as_str().to_string()),
                serial: l.serial.clone(),
                vendor: Some(l.vendor.clone()).filter(|v| !v.is_empty()),
                product: Some(l.model.clone()).filter(|v| !v.is_empty()),
                size_bytes: l.size_bytes,
                host: topo.host.clone(),
                mode: None,
                disks: Vec::new(),
            });
        let mode = rec.as_ref().and_then(|r| r.mode).or(match kind {
            SourceKind::Map { .. } => Some(Mode::Map),
            SourceKind::Path { .. } => Some(Mode::Paths),
            SourceKind::Unit { .. } | SourceKind::Iscsi => Some(Mode::Lun),
            _ => None,
        });
        disks.push(SharedDisk {
            target: d.target_dev().map(str::to_string),
            device: d.device().to_string(),
            bus: d.bus().map(str::to_string),
            source: d
                .source_dev()
                .or(d.iscsi().and_then(|s| s.name.as_deref()))
                .map(str::to_string),
            kind,
            address: d.drive_address(),
            mode,
            lun: rec.or(from_host),
            findings,
            sgio: d.sgio.clone(),
            rawio: d.rawio.clone(),
            shareable: d.is_shareable(),
            cache: d.cache().map(str::to_string),
            managed_reservations: d.managed_reservations(),
            initiator: d
                .iscsi()
                .and_then(|s| s.initiator.as_ref())
                .map(|i| i.iqn.name.clone()),
        });
    }
    // Findings of the domain as a whole: the per-disk ones are above.
    let per_disk: Vec<&Finding> = disks.iter().flat_map(|d| d.findings.iter()).collect();
    let findings = rules::check_domain(domain, topo)
        .into_iter()
        .filter(|f| !per_disk.contains(&f))
        .collect();
    DomainLuns {
        domain: domain.name.clone(),
        disks,
        findings,
    }
}

/// [`shared_disks`], plus the findings that need the other domains on the
/// host and the cluster: a LUN this domain shares with another guest of
/// the cluster through the same initiator.
pub fn shared_disks_in_cluster(
    domain: &Domain,
    record: &Record,
    topo: &Topology,
    others: &[Domain],
    cluster: &Cluster,
) -> DomainLuns {
    let mut l = shared_disks(domain, record, topo);
    l.findings.extend(rules::check_shared_initiator(
        &domain.name,
        &domain.devices.disks,
        others,
        cluster,
        topo,
    ));
    l
}

/// What `list --json` prints: one host's shared disks, with what another
/// host's `check` needs to compare hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostList {
    /// The host's name, when known.
    pub host: Option<String>,
    /// The domains that run, when the hypervisor says (none when the
    /// domains came from definition files).
    #[serde(default)]
    pub running: Option<Vec<String>>,
    /// Every domain's shared disks.
    pub domains: Vec<DomainLuns>,
    /// The host's storage model (`pathmap --json`); the `lun` indexes of
    /// the disks' `kind` are into its `luns`.
    #[serde(default)]
    pub topology: Topology,
}

impl HostList {
    /// The list of `domains` on the host `topo` describes.
    pub fn new(
        topo: &Topology,
        domains: Vec<DomainLuns>,
        running: Option<Vec<String>>,
    ) -> HostList {
        HostList {
            host: topo.host.clone(),
            running,
            domains,
            topology: topo.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::rules::tests::{lun_disk, topo};
    use crate::vm::rules::Rule;

    #[test]
    fn shared_disks_are_listed_with_identity_and_findings() {
        let t = topo(1);
        let mut d = Domain::parse(
            "<domain><name>node1</name><devices>\
             <disk type='file' device='disk'><source file='/a.qcow2'/><target dev='vda' bus='virtio'/></disk>\
             </devices></domain>",
        )
        .unwrap();
        d.devices.disks.push(lun_disk(
            "/dev/disk/by-path/ip-10.0.0.1:3260-iscsi-iqn.t-lun-0",
            "sda",
        ));
        let l = shared_disks(&d, &Record::default(), &t);
        assert_eq!(l.disks.len(), 1);
        let x = &l.disks[0];
        assert_eq!(x.target.as_deref(), Some("sda"));
        assert_eq!(x.mode, Some(Mode::Paths));
        assert_eq!(
            x.lun.as_ref().unwrap().wwid.as_deref(),
            Some("36001405aaaa")
        );
        // The map exists on the host: the path is a second multipath layer.
        let rules: Vec<Rule> = l.findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, [Rule::MappedAndPaths]);
    }

    #[test]
    fn two_guests_of_a_cluster_behind_one_initiator_are_listed() {
        let t = topo(0);
        let dom = |name: &str| {
            let mut d =
                Domain::parse(&format!("<domain><name>{name}</name><devices/></domain>")).unwrap();
            d.devices
                .disks
                .push(lun_disk("/dev/disk/by-id/wwn-0x6001405aaaa", "sda"));
            d
        };
        let (a, b) = (dom("node1"), dom("node2"));
        let cluster = Cluster {
            name: "prod".into(),
            guests: vec!["node1".into(), "node2".into()],
            managed: vec![],
        };
        let l = shared_disks_in_cluster(
            &a,
            &Record::default(),
            &t,
            std::slice::from_ref(&b),
            &cluster,
        );
        let rules: Vec<Rule> = l.findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, [Rule::SharedInitiator]);
        let l = shared_disks_in_cluster(&a, &Record::default(), &t, &[b], &Cluster::default());
        assert!(l.findings.is_empty());
    }
}
