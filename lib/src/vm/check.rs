//! `vmguest-attach check`: an audit of the shared LUNs of a host's
//! domains, and of a cluster's hosts from their `list --json` outputs
//! ([`HostList`]).
//!
//! On one host ([`audit_host`]): every rule of [`rules`] about every
//! shared disk (what [`inventory`](super::inventory) lists), plus the
//! host's side of it: the multipath blacklist and LVM filter of the LUNs
//! given path by path ([`rules::check_paths_hygiene`]), `use_lvmetad = 1`
//! in lvm.conf (the cluster guides want lvmetad off on a host whose LUNs
//! guests use: it caches and autoactivates their PVs), and no host volume
//! group active on a guest's LUN ([`lvm::vgs_on`], the LVM join of the
//! host's model).
//!
//! Across hosts ([`audit_cluster`]): no host runs more than half of a
//! cluster's guests (the guides' rule, "4 nodes: 2+2 is right, 3+1 is
//! wrong"; exactly half is a warning: the survivors need a tie-breaker),
//! each LUN has the same by-path names and map alias on every host that
//! has it ([`compare`], what `pathmap diff` reports), each LUN has the same
//! disk definition everywhere (device, bus, mode, sgio, rawio, shareable,
//! cache, managed reservations), and which guests cannot be live-migrated
//! and why: a pass-through disk through the host's initiator holds PR
//! registrations that belong to the host's I_T nexuses and stay behind;
//! a guest that is its own iSCSI initiator takes them along.
//!
//! Pure: lists, a cluster description and configuration texts in, a
//! [`Report`] out.

use serde::Serialize;

use super::inventory::{DomainLuns, HostList, SharedDisk};
use super::rules::{self, Cluster, Finding, Hygiene, Rule, Severity, SourceKind};
use crate::topology::compare::{self, Difference};
use crate::topology::lvm;

/// A `list --json` file (HOST.json) that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {detail}")]
pub struct HostFileError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub detail: String,
}

/// Reads one host's `list --json` output (`file` names it in errors and
/// stands for the host when the output has no host name). The array that
/// `list --json` printed before it carried the host's name and model is
/// read too, without a model: its LUNs' names cannot be compared.
pub fn read_host_list(file: &str, text: &str) -> Result<HostList, HostFileError> {
    let err = |detail: String| HostFileError {
        file: file.to_string(),
        detail,
    };
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| err(format!("not JSON: {e}")))?;
    let what = "not the output of vmguest-attach list --json";
    let mut l = if v.is_array() {
        HostList {
            host: None,
            running: None,
            domains: serde_json::from_value(v).map_err(|e| err(format!("{what}: {e}")))?,
            topology: Default::default(),
        }
    } else {
        serde_json::from_value::<HostList>(v).map_err(|e| err(format!("{what}: {e}")))?
    };
    if l.host.is_none() {
        l.host = Some(file.to_string());
    }
    Ok(l)
}

/// One host's domains as checked: their shared disks, each with its
/// findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostReport {
    /// The host.
    pub host: Option<String>,
    /// Its domains.
    pub domains: Vec<DomainLuns>,
}

/// Whether a guest can be live-migrated, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Migration {
    /// The host the guest is on.
    pub host: Option<String>,
    /// The guest.
    pub domain: String,
    /// True when no disk pins it to its host.
    pub migratable: bool,
    /// Why not: one line per disk that pins it.
    pub reasons: Vec<String>,
}

/// The numbers of a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Hosts checked.
    pub hosts: usize,
    /// Domains with shared disks.
    pub domains: usize,
    /// Shared disks.
    pub disks: usize,
    /// Findings that are refused.
    pub refused: usize,
    /// Findings refused unless forced.
    pub forcible: usize,
    /// Warnings.
    pub warnings: usize,
}

/// The result of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Each host's domains, with the findings about each disk and domain.
    pub hosts: Vec<HostReport>,
    /// Findings about a host, a LUN across hosts or a cluster.
    pub findings: Vec<Finding>,
    /// Each guest with shared disks: can it be live-migrated?
    pub migration: Vec<Migration>,
    /// The counts.
    pub summary: Summary,
}

impl Report {
    fn new(hosts: Vec<HostReport>, findings: Vec<Finding>) -> Report {
        let migration = hosts
            .iter()
            .flat_map(|h| h.domains.iter().filter_map(|d| migration(&h.host, d)))
            .collect();
        let mut r = Report {
            hosts,
            findings,
            migration,
            summary: Summary::default(),
        };
        let mut s = Summary {
            hosts: r.hosts.len(),
            ..Summary::default()
        };
        for h in &r.hosts {
            s.domains += h.domains.iter().filter(|d| !d.disks.is_empty()).count();
            s.disks += h.domains.iter().map(|d| d.disks.len()).sum::<usize>();
        }
        for f in r.all_findings() {
            match f.severity {
                Severity::Refused => s.refused += 1,
                Severity::Forcible => s.forcible += 1,
                Severity::Warning => s.warnings += 1,
            }
        }
        r.summary = s;
        r
    }

    /// Every finding: each disk's, each domain's, and the report's own.
    pub fn all_findings(&self) -> impl Iterator<Item = &Finding> {
        self.hosts
            .iter()
            .flat_map(|h| &h.domains)
            .flat_map(|d| d.disks.iter().flat_map(|x| &x.findings).chain(&d.findings))
            .chain(&self.findings)
    }

    /// True when a finding is more than a warning (refused, or refused
    /// unless forced).
    pub fn problems(&self) -> bool {
        self.summary.refused + self.summary.forcible > 0
    }
}

/// True when `lvm_conf` sets `use_lvmetad = 1` in an uncommented line.
pub fn lvmetad_on(lvm_conf: &str) -> bool {
    lvm_conf.lines().any(|raw| {
        let line = raw.split('#').next().unwrap_or_default();
        let Some((k, v)) = line.split_once('=') else {
            return false;
        };
        k.trim() == "use_lvmetad" && v.trim() == "1"
    })
}

fn subject(d: &SharedDisk) -> String {
    format!(
        "{} ({})",
        d.target.as_deref().unwrap_or("?"),
        d.source.as_deref().unwrap_or("no source")
    )
}

fn push_new(out: &mut Vec<Finding>, f: Finding) {
    if !out.contains(&f) {
        out.push(f);
    }
}

/// Checks one host: `list` is what `list` computes for it (every domain's
/// shared disks with the rules' findings, and the host's model),
/// `hygiene` its multipath blacklist and LVM filter, `lvm_conf` the text
/// of its lvm.conf (none when missing), `cluster` the cluster its guests
/// belong to.
pub fn audit_host(
    list: HostList,
    hygiene: &Hygiene,
    lvm_conf: Option<&str>,
    cluster: &Cluster,
) -> Report {
    let topo = &list.topology;
    let host = list.host.clone().unwrap_or_else(|| "this host".into());
    let mut findings = Vec::new();
    // Who counts for the cluster: the domains that run, when known.
    let names = list.running.unwrap_or_else(|| names_of(&list.domains));
    let mut domains = list.domains;
    let mut guest_luns: Vec<String> = Vec::new();
    for dom in &mut domains {
        for disk in &mut dom.disks {
            let Some(l) = disk.kind.lun().and_then(|i| topo.luns.get(i)) else {
                continue;
            };
            if !guest_luns.contains(&l.label()) {
                guest_luns.push(l.label());
            }
            let s = subject(disk);
            for vg in lvm::vgs_on(&[l], &[]).into_iter().filter(|v| v.active) {
                push_new(
                    &mut disk.findings,
                    Finding::new(
                        Rule::HostVgActive,
                        Severity::Refused,
                        &s,
                        format!(
                            "volume group {} on {} is active on {host}: the host holds open, and may write to, a LUN a guest owns",
                            vg.vg, vg.lun
                        ),
                        format!(
                            "deactivate it on the host (vgchange -an {}) and keep the host's LVM off the LUN (pathmap lvm-filter)",
                            vg.vg
                        ),
                    ),
                );
            }
            if matches!(disk.kind, SourceKind::Path { .. }) {
                // The map-and-paths case is check_domain's, already listed.
                for f in rules::check_paths_hygiene(l, hygiene)
                    .into_iter()
                    .filter(|f| f.rule != Rule::MappedAndPaths)
                {
                    push_new(&mut dom.findings, f);
                }
            }
        }
    }
    if lvm_conf.is_some_and(lvmetad_on) && !guest_luns.is_empty() {
        findings.push(Finding::new(
            Rule::Lvmetad,
            Severity::Forcible,
            &host,
            format!(
                "lvm.conf sets use_lvmetad = 1 and guests use {}: lvmetad caches their PVs and \
                 may activate the guests' volume groups on the host",
                guest_luns.join(", ")
            ),
            "set use_lvmetad = 0 in lvm.conf and stop lvm2-lvmetad (LVM 2.03 and later ignore the setting; remove it)",
        ));
    }
    findings.extend(half_the_cluster(&host, &names, cluster));
    let hosts = vec![HostReport {
        host: list.host,
        domains,
    }];
    findings.extend(definitions_differ(&hosts));
    Report::new(hosts, findings)
}

fn names_of(domains: &[DomainLuns]) -> Vec<String> {
    domains.iter().map(|d| d.domain.clone()).collect()
}

/// A host that runs half or more of `cluster`'s guests (`names`: the
/// domains it runs, or has, when it is not known which run).
pub fn half_the_cluster(host: &str, names: &[String], cluster: &Cluster) -> Option<Finding> {
    let total = cluster.guests.len();
    let here: Vec<&str> = cluster
        .guests
        .iter()
        .filter(|g| names.contains(g))
        .map(String::as_str)
        .collect();
    let n = here.len();
    if total < 2 || n * 2 < total {
        return None;
    }
    let (severity, why) = if n * 2 > total {
        (
            Severity::Forcible,
            "when it fails the cluster loses a majority of its nodes and with them quorum",
        )
    } else {
        (
            Severity::Warning,
            "when it fails the other half keeps quorum only with a tie-breaker (a quorum disk or device)",
        )
    };
    Some(Finding::new(
        Rule::HalfTheCluster,
        severity,
        host,
        format!(
            "{host} carries {n} of the {total} guests of cluster {} ({}): {why}",
            cluster.name,
            here.join(", ")
        ),
        format!(
            "spread the guests over more hosts: at most {} of them per host",
            total / 2
        ),
    ))
}

/// The key of the LUN a disk carries: its WWID, or its iSCSI source.
fn lun_key(d: &SharedDisk) -> Option<String> {
    d.lun
        .as_ref()
        .and_then(|l| l.wwid.clone())
        .or_else(|| match d.kind {
            SourceKind::Iscsi => d.source.as_ref().map(|s| format!("iscsi {s}")),
            _ => None,
        })
}

/// A disk's definition as the guides want it the same everywhere.
fn definition(d: &SharedDisk) -> String {
    let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    format!(
        "device={} bus={} mode={} sgio={} rawio={} shareable={} cache={} reservations={}",
        d.device,
        o(&d.bus),
        d.mode.map_or_else(|| "-".into(), |m| m.to_string()),
        o(&d.sgio),
        o(&d.rawio),
        if d.shareable { "yes" } else { "no" },
        o(&d.cache),
        if d.managed_reservations {
            "managed"
        } else {
            "-"
        },
    )
}

/// A disk definition and the disks (`host:domain:target`) that have it.
type Uses = (String, Vec<String>);

/// Each LUN given to guests with more than one disk definition.
fn definitions_differ(hosts: &[HostReport]) -> Vec<Finding> {
    // LUN -> its definitions, in the order met.
    let mut seen: Vec<(String, Vec<Uses>)> = Vec::new();
    for h in hosts {
        let host = h.host.as_deref().unwrap_or("?");
        for dom in &h.domains {
            for d in &dom.disks {
                let Some(key) = lun_key(d) else { continue };
                let place = format!(
                    "{host}:{}:{}",
                    dom.domain,
                    d.target.as_deref().unwrap_or("?")
                );
                let def = definition(d);
                let i = match seen.iter().position(|(k, _)| *k == key) {
                    Some(i) => i,
                    None => {
                        seen.push((key, Vec::new()));
                        seen.len() - 1
                    }
                };
                let defs = &mut seen[i].1;
                match defs.iter_mut().find(|(x, _)| *x == def) {
                    Some((_, w)) => w.push(place),
                    None => defs.push((def, vec![place])),
                }
            }
        }
    }
    seen.into_iter()
        .filter(|(_, defs)| defs.len() > 1)
        .map(|(key, defs)| {
            let each: Vec<String> = defs
                .iter()
                .map(|(def, w)| format!("{def} on {}", w.join(" ")))
                .collect();
            Finding::new(
                Rule::DefinitionDiffers,
                Severity::Forcible,
                key,
                format!(
                    "the LUN is given to guests in {} different ways: {}",
                    defs.len(),
                    each.join("; ")
                ),
                "give every guest, on every host, the same disk element (vmguest-attach plan prints it)",
            )
        })
        .collect()
}

/// Whether `dom` on `host` can be live-migrated (none for a domain
/// without shared disks).
pub fn migration(host: &Option<String>, dom: &DomainLuns) -> Option<Migration> {
    if dom.disks.is_empty() {
        return None;
    }
    let mut reasons = Vec::new();
    for d in dom.disks.iter().filter(|d| d.device == "lun") {
        let s = subject(d);
        match (&d.kind, &d.initiator) {
            (SourceKind::Iscsi, Some(_)) => {}
            (SourceKind::Iscsi, None) => reasons.push(format!(
                "{s}: QEMU's iSCSI initiator under libvirt's default name, the same for every \
                 guest: give the guest its own initiator name"
            )),
            _ => reasons.push(format!(
                "{s}: SCSI pass-through through the host's initiator: the guest's PR \
                 registrations belong to this host's I_T nexuses and do not move with it"
            )),
        }
    }
    Some(Migration {
        host: host.clone(),
        domain: dom.domain.clone(),
        migratable: reasons.is_empty(),
        reasons,
    })
}

/// The LUNs `l`'s guests use, by WWID.
fn guest_wwids(l: &HostList) -> Vec<String> {
    l.domains
        .iter()
        .flat_map(|d| &d.disks)
        .filter_map(|d| d.lun.as_ref().and_then(|r| r.wwid.clone()))
        .collect()
}

/// True when a guest on one of `hosts` reaches `wwid` by a by-path name.
fn by_path_used(hosts: &[&HostList], wwid: &str) -> bool {
    hosts.iter().flat_map(|h| &h.domains).any(|dom| {
        dom.disks.iter().any(|d| {
            d.lun.as_ref().and_then(|r| r.wwid.as_deref()) == Some(wwid)
                && d.source
                    .as_deref()
                    .is_some_and(|s| s.starts_with("/dev/disk/by-path/"))
        })
    })
}

/// The names of each LUN the guests of `a` or `b` use, compared between
/// the two hosts' models.
fn names_differ(a: &HostList, b: &HostList) -> Vec<Finding> {
    let (ha, hb) = (
        a.host.as_deref().unwrap_or("?"),
        b.host.as_deref().unwrap_or("?"),
    );
    let used: Vec<String> = guest_wwids(a).into_iter().chain(guest_wwids(b)).collect();
    let mut out = Vec::new();
    for d in compare::compare(&a.topology, &b.topology) {
        match d {
            Difference::ByPath { wwid, a: pa, b: pb } if used.contains(&wwid.to_string()) => {
                let w = wwid.to_string();
                // Only a definition that names paths by by-path breaks.
                let severity = if by_path_used(&[a, b], &w) {
                    Severity::Forcible
                } else {
                    Severity::Warning
                };
                let show = |v: &[String]| {
                    if v.is_empty() {
                        "none".to_string()
                    } else {
                        v.join(" ")
                    }
                };
                out.push(Finding::new(
                    Rule::NamesDiffer,
                    severity,
                    w,
                    format!(
                        "by-path names differ: {ha} has {}, {hb} has {}: a guest defined with one \
                         host's names does not start on the other",
                        show(&pa),
                        show(&pb)
                    ),
                    "reach the LUN through the same portals and target ports from every host, or name it by by-id (map mode)",
                ));
            }
            Difference::MapAlias { wwid, a: ma, b: mb } if used.contains(&wwid.to_string()) => {
                let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "no map".into());
                out.push(Finding::new(
                    Rule::NamesDiffer,
                    Severity::Warning,
                    wwid.to_string(),
                    format!("map aliases differ: {ha} has {}, {hb} has {}", o(&ma), o(&mb)),
                    "give the map the same alias on every host (multipaths section of multipath.conf), or name it by dm-uuid-mpath-WWID",
                ));
            }
            _ => {}
        }
    }
    out
}

/// Checks a cluster's hosts from their `list --json` outputs: what each
/// host found, who runs half the cluster, each LUN's names and disk
/// definitions across the hosts, and live migration.
pub fn audit_cluster(hosts: Vec<HostList>, cluster: &Cluster) -> Report {
    let mut findings = Vec::new();
    for h in &hosts {
        let names = h.running.clone().unwrap_or_else(|| names_of(&h.domains));
        let host = h.host.as_deref().unwrap_or("?");
        findings.extend(half_the_cluster(host, &names, cluster));
    }
    for (i, a) in hosts.iter().enumerate() {
        for b in &hosts[i + 1..] {
            findings.extend(names_differ(a, b));
        }
    }
    let reports: Vec<HostReport> = hosts
        .into_iter()
        .map(|h| HostReport {
            host: h.host,
            domains: h.domains,
        })
        .collect();
    findings.extend(definitions_differ(&reports));
    Report::new(reports, findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::lvm::{LogicalVolume, PhysicalVolume};
    use crate::topology::Topology;
    use crate::vm::inventory::shared_disks;
    use crate::vm::metadata::Record;
    use crate::vm::rules::tests::{lun_disk, topo};
    use crate::vm::xml::{Disk, Domain};

    const BY_PATH: &str = "/dev/disk/by-path/ip-10.0.0.1:3260-iscsi-iqn.t-lun-0";
    const BY_ID: &str = "/dev/disk/by-id/wwn-0x6001405aaaa";

    fn dom(name: &str, disks: Vec<Disk>) -> Domain {
        let mut d = Domain {
            name: name.into(),
            ..Domain::default()
        };
        d.devices.disks = disks;
        d
    }

    fn list(t: &Topology, doms: &[Domain]) -> HostList {
        let l = doms
            .iter()
            .map(|d| shared_disks(d, &Record::default(), t))
            .collect();
        HostList::new(t, l, None)
    }

    /// `topo(groups)` without the partition and LV stacked on the unit.
    fn bare(groups: usize) -> Topology {
        let mut t = topo(groups);
        t.luns[0].holders.clear();
        t
    }

    fn clean() -> Hygiene {
        Hygiene {
            blacklisted: vec!["36001405aaaa".into()],
            lvm_filtered: vec!["36001405aaaa".into()],
        }
    }

    fn rules(r: &Report) -> Vec<Rule> {
        r.all_findings().map(|f| f.rule).collect()
    }

    fn cluster(guests: &[&str]) -> Cluster {
        Cluster {
            name: "prod".into(),
            guests: guests.iter().map(|g| g.to_string()).collect(),
            managed: vec![],
        }
    }

    #[test]
    fn a_clean_host_has_no_findings() {
        let t = bare(0);
        let r = audit_host(
            list(&t, &[dom("node1", vec![lun_disk(BY_ID, "sda")])]),
            &Hygiene::default(),
            Some("global {\n    use_lvmetad = 0\n}\n"),
            &Cluster::default(),
        );
        assert_eq!(rules(&r), []);
        assert!(!r.problems());
        assert_eq!(r.summary.disks, 1);
        assert_eq!(r.summary.domains, 1);
    }

    #[test]
    fn the_rules_of_list_are_in_the_audit() {
        let t = bare(0);
        let mut d = lun_disk("/dev/sdb", "sda");
        d.driver.as_mut().unwrap().cache = Some("writeback".into());
        let r = audit_host(
            list(&t, &[dom("node1", vec![d])]),
            &clean(),
            None,
            &Cluster::default(),
        );
        assert_eq!(rules(&r), [Rule::NotPersistent, Rule::HostCache]);
        assert!(r.problems());
        assert_eq!((r.summary.refused, r.summary.warnings), (1, 1));
    }

    #[test]
    fn paths_mode_luns_need_the_blacklist_and_the_filter() {
        let t = bare(0);
        let doms = [dom("node1", vec![lun_disk(BY_PATH, "sda")])];
        let r = audit_host(
            list(&t, &doms),
            &Hygiene::default(),
            None,
            &Cluster::default(),
        );
        assert_eq!(rules(&r), [Rule::NotBlacklisted, Rule::NotLvmFiltered]);
        let r = audit_host(list(&t, &doms), &clean(), None, &Cluster::default());
        assert_eq!(rules(&r), []);
    }

    #[test]
    fn paths_of_a_mapped_lun_are_reported_once() {
        // The host maps the LUN: two multipath layers (list's finding),
        // and no blacklist finding on top of it.
        let t = bare(1);
        let doms = [dom("node1", vec![lun_disk(BY_PATH, "sda")])];
        let r = audit_host(
            list(&t, &doms),
            &Hygiene::default(),
            None,
            &Cluster::default(),
        );
        assert_eq!(rules(&r), [Rule::MappedAndPaths, Rule::NotLvmFiltered]);
    }

    #[test]
    fn guests_with_their_own_initiators_share_one_definition() {
        let iscsi = |ini: &str, cache: &str| {
            Disk::parse(&format!(
                "<disk type='network' device='lun'><driver name='qemu' type='raw' cache='{cache}'/>\
                 <source protocol='iscsi' name='iqn.t/1'><host name='127.0.0.1' port='3260'/>\
                 <initiator><iqn name='{ini}'/></initiator></source>\
                 <target dev='sdb' bus='scsi'/><shareable/></disk>"
            ))
            .unwrap()
        };
        let t = bare(0);
        let doms = [
            dom("a", vec![iscsi("iqn.x:a", "none")]),
            dom("b", vec![iscsi("iqn.x:b", "none")]),
        ];
        let r = audit_host(list(&t, &doms), &clean(), None, &Cluster::default());
        assert_eq!(rules(&r), []);
        assert!(r.migration.iter().all(|m| m.migratable));
        let doms = [
            dom("a", vec![iscsi("iqn.x:a", "none")]),
            dom("b", vec![iscsi("iqn.x:b", "writeback")]),
        ];
        let r = audit_host(list(&t, &doms), &clean(), None, &Cluster::default());
        assert_eq!(
            rules(&r),
            [Rule::HostCache, Rule::DefinitionDiffers],
            "{:?}",
            r.findings
        );
        assert_eq!(r.findings[0].subject, "iscsi iqn.t/1");
    }

    #[test]
    fn lvmetad_on_a_host_with_guest_luns_is_a_finding() {
        assert!(lvmetad_on("global {\n  use_lvmetad = 1\n}"));
        assert!(lvmetad_on("use_lvmetad=1"));
        assert!(!lvmetad_on("# use_lvmetad = 1\n"));
        assert!(!lvmetad_on("use_lvmetad = 0\nx = 1"));
        let t = bare(0);
        let conf = Some("global {\n    use_lvmetad = 1\n}\n");
        let r = audit_host(
            list(&t, &[dom("node1", vec![lun_disk(BY_ID, "sda")])]),
            &Hygiene::default(),
            conf,
            &Cluster::default(),
        );
        assert_eq!(rules(&r), [Rule::Lvmetad]);
        assert!(r.problems());
        // No guest LUN on the host: nothing for lvmetad to cache.
        let r = audit_host(
            list(&t, &[dom("node1", vec![])]),
            &Hygiene::default(),
            conf,
            &Cluster::default(),
        );
        assert_eq!(rules(&r), []);
    }

    #[test]
    fn a_host_vg_active_on_a_guest_lun_is_refused() {
        // topo(1) has an LV of vg_shared stacked on the map.
        let t = topo(1);
        let mut d = lun_disk("/dev/mapper/mpatha", "sda");
        d.source.as_mut().unwrap().reservations = Some(crate::vm::xml::Reservations {
            managed: Some("yes".into()),
        });
        let r = audit_host(
            list(&t, &[dom("node1", vec![d.clone()])]),
            &Hygiene::default(),
            None,
            &Cluster::default(),
        );
        assert_eq!(rules(&r), [Rule::HostVgActive]);
        let f = r.all_findings().next().unwrap();
        assert!(f.reason.contains("vg_shared"), "{f}");
        assert_eq!(f.severity, Severity::Refused);
        // From the LVM join: a PV whose LVs are inactive is no finding.
        let mut t = bare(1);
        t.luns[0].lvm.push(PhysicalVolume {
            device: "/dev/mapper/mpatha".into(),
            vg: Some("vg_guest".into()),
            vg_attr: None,
            system_id: None,
            lock_type: None,
            clustered: false,
            shared: false,
            lvs: vec![LogicalVolume {
                name: "data".into(),
                attr: None,
                active: false,
            }],
        });
        let l = list(&t, &[dom("node1", vec![d.clone()])]);
        let r = audit_host(l, &Hygiene::default(), None, &Cluster::default());
        assert_eq!(rules(&r), []);
        t.luns[0].lvm[0].lvs[0].active = true;
        let l = list(&t, &[dom("node1", vec![d])]);
        let r = audit_host(l, &Hygiene::default(), None, &Cluster::default());
        assert_eq!(rules(&r), [Rule::HostVgActive]);
    }

    #[test]
    fn a_host_with_a_majority_of_the_cluster_is_a_finding() {
        let c = cluster(&["n1", "n2", "n3", "n4"]);
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let f = half_the_cluster("kvm1", &names(&["n1", "n2", "n3"]), &c).unwrap();
        assert_eq!(f.severity, Severity::Forcible);
        assert!(f.reason.contains("3 of the 4"), "{f}");
        // 2+2 is the guides' right layout: a warning only.
        let f = half_the_cluster("kvm1", &names(&["n1", "n2", "web"]), &c).unwrap();
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(half_the_cluster("kvm1", &names(&["n1"]), &c), None);
        assert_eq!(
            half_the_cluster("kvm1", &names(&["n1"]), &cluster(&["n1"])),
            None
        );
        // On one host, through the audit.
        let t = bare(0);
        let doms = [dom("n1", vec![]), dom("n2", vec![]), dom("n3", vec![])];
        let r = audit_host(list(&t, &doms), &Hygiene::default(), None, &c);
        assert_eq!(rules(&r), [Rule::HalfTheCluster]);
        assert!(r.problems());
        // Running domains count when the hypervisor says which run.
        let mut l = list(&t, &doms);
        l.running = Some(vec!["n1".into()]);
        let r = audit_host(l, &Hygiene::default(), None, &c);
        assert_eq!(rules(&r), []);
    }

    #[test]
    fn pass_through_disks_pin_a_guest_to_its_host() {
        let t = bare(0);
        let iscsi = |ini: Option<&str>| {
            let i = ini
                .map(|n| format!("<initiator><iqn name='{n}'/></initiator>"))
                .unwrap_or_default();
            Disk::parse(&format!(
                "<disk type='network' device='lun'><source protocol='iscsi' name='iqn.t/1'>\
                 <host name='127.0.0.1' port='3260'/>{i}</source><target dev='sdb' bus='scsi'/><shareable/></disk>"
            ))
            .unwrap()
        };
        let l = list(
            &t,
            &[
                dom("a", vec![lun_disk(BY_ID, "sda")]),
                dom("b", vec![iscsi(Some("iqn.x:b"))]),
                dom("c", vec![iscsi(None)]),
                dom("d", vec![]),
            ],
        );
        let r = audit_host(l, &Hygiene::default(), None, &Cluster::default());
        let m: Vec<(&str, bool)> = r
            .migration
            .iter()
            .map(|m| (m.domain.as_str(), m.migratable))
            .collect();
        assert_eq!(m, [("a", false), ("b", true), ("c", false)]);
        assert!(r.migration[0].reasons[0].contains("host's initiator"));
        assert!(r.migration[2].reasons[0].contains("default name"));
    }

    fn host(name: &str, by_path: &str, doms: &[Domain]) -> HostList {
        let mut t = bare(0);
        t.host = Some(name.into());
        t.luns[0].paths[0].by_path = vec![by_path.into()];
        list(&t, doms)
    }

    #[test]
    fn a_lun_under_other_by_path_names_on_another_host_is_a_finding() {
        let p = "ip-10.0.0.1:3260-iscsi-iqn.t-lun-0";
        let by_path = |b: &str| format!("/dev/disk/by-path/{b}");
        let a = host("kvm1", p, &[dom("n1", vec![lun_disk(&by_path(p), "sda")])]);
        let b = host("kvm2", p, &[dom("n2", vec![lun_disk(&by_path(p), "sda")])]);
        let r = audit_cluster(vec![a.clone(), b], &Cluster::default());
        assert_eq!(rules(&r), []);
        let b = host(
            "kvm2",
            "ip-10.9.9.9:3260-iscsi-iqn.t-lun-0",
            &[dom("n2", vec![lun_disk(BY_ID, "sda")])],
        );
        let r = audit_cluster(vec![a, b.clone()], &Cluster::default());
        let f: Vec<&Finding> = r
            .findings
            .iter()
            .filter(|f| f.rule == Rule::NamesDiffer)
            .collect();
        assert_eq!(f.len(), 1, "{:?}", r.findings);
        assert_eq!(f[0].severity, Severity::Forcible);
        assert!(f[0].reason.contains("10.9.9.9"), "{}", f[0]);
        // Names no guest uses: a warning only.
        let a = host("kvm1", p, &[dom("n1", vec![lun_disk(BY_ID, "sda")])]);
        let r = audit_cluster(vec![a, b], &Cluster::default());
        let f: Vec<Severity> = r
            .findings
            .iter()
            .filter(|f| f.rule == Rule::NamesDiffer)
            .map(|f| f.severity)
            .collect();
        assert_eq!(f, [Severity::Warning]);
    }

    #[test]
    fn one_lun_with_two_definitions_is_a_finding() {
        let p = "ip-10.0.0.1:3260-iscsi-iqn.t-lun-0";
        let a = host("kvm1", p, &[dom("n1", vec![lun_disk(BY_ID, "sda")])]);
        let mut d = lun_disk(BY_ID, "sda");
        d.device = Some("disk".into());
        let b = host("kvm2", p, &[dom("n2", vec![d])]);
        let r = audit_cluster(vec![a, b], &Cluster::default());
        let f: Vec<&Finding> = r
            .findings
            .iter()
            .filter(|f| f.rule == Rule::DefinitionDiffers)
            .collect();
        assert_eq!(f.len(), 1, "{:?}", r.findings);
        assert_eq!(f[0].subject, "36001405aaaa");
        assert!(f[0].reason.contains("kvm2:n2:sda"), "{}", f[0]);
        assert!(r.problems());
    }

    #[test]
    fn the_cluster_audit_counts_each_hosts_guests() {
        let p = "ip-10.0.0.1:3260-iscsi-iqn.t-lun-0";
        let c = cluster(&["n1", "n2", "n3"]);
        let a = host("kvm1", p, &[dom("n1", vec![]), dom("n2", vec![])]);
        let b = host("kvm2", p, &[dom("n3", vec![])]);
        let r = audit_cluster(vec![a, b], &c);
        assert_eq!(rules(&r), [Rule::HalfTheCluster]);
        assert_eq!(r.findings[0].subject, "kvm1");
        assert_eq!(r.summary.hosts, 2);
    }

    #[test]
    fn host_files_are_read_or_named_in_the_error() {
        let t = bare(0);
        let l = list(&t, &[dom("n1", vec![lun_disk(BY_ID, "sda")])]);
        let text = serde_json::to_string(&l).unwrap();
        assert_eq!(read_host_list("a.json", &text).unwrap(), l);
        // The array of earlier versions: the file stands for the host.
        let text = serde_json::to_string(&l.domains).unwrap();
        let old = read_host_list("kvm9.json", &text).unwrap();
        assert_eq!(old.host.as_deref(), Some("kvm9.json"));
        assert_eq!(old.domains, l.domains);
        for bad in ["", "{", "3", "{\"domains\": 3}", "[{\"x\": 1}]", "{}"] {
            let e = read_host_list("bad.json", bad).unwrap_err();
            assert!(e.to_string().starts_with("bad.json: "), "{bad}: {e}");
        }
    }
}
