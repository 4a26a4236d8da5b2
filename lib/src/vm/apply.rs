//! Carrying out plans through a [`Hypervisor`]: `attach` adds the
//! planned controller and disks (persistently, and live when the domain
//! runs) and records each LUN in fencekit's metadata; `detach` removes
//! disks by target name and drops them from the record. Each change is
//! reported, done or failed, so the caller can say exactly what changed.

use serde::Serialize;

use super::hypervisor::{Affect, Hypervisor, HypervisorError};
use super::metadata::Record;
use super::plan::{IscsiUrl, Plan};
use super::rules;
use super::xml::Domain;
use crate::topology::{resolve, Topology};

/// One change made, or tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What: `controller 0`, or a disk's target name.
    pub what: String,
    /// The disk's source, for a disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The hypervisor's error, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What `attach` or `detach` did to a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// The domain.
    pub domain: String,
    /// True when the running domain was changed as well as its definition.
    pub live: bool,
    /// Every change, in order.
    pub changes: Vec<Change>,
}

impl Applied {
    /// The disks changed, and the disks tried.
    pub fn counts(&self) -> (usize, usize) {
        let disks = self.changes.iter().filter(|c| c.source.is_some());
        let (mut done, mut total) = (0, 0);
        for c in disks {
            total += 1;
            if c.error.is_none() {
                done += 1;
            }
        }
        (done, total)
    }
}

fn record(hv: &dyn Hypervisor, domain: &str, running: bool) -> Result<Record, HypervisorError> {
    Ok(match hv.metadata(domain, !running)? {
        Some(x) => Record::parse(&x)?,
        None => Record::default(),
    })
}

/// Attaches what `plans` say to `domain`: each plan's controller (a
/// failure there stops everything, since the disks need it), then its
/// disks, then the record of the LUNs whose disks were attached.
pub fn attach(
    hv: &dyn Hypervisor,
    domain: &str,
    plans: &[Plan],
) -> Result<Applied, HypervisorError> {
    let running = hv.is_running(domain)?;
    let affect = Affect::persistent(running);
    let mut rec = record(hv, domain, running)?;
    let mut changes = Vec::new();
    for p in plans {
        if let Some(c) = &p.controller {
            hv.attach(domain, &c.to_xml()?, affect)?;
            changes.push(Change {
                what: format!("controller {}", c.index.as_deref().unwrap_or("?")),
                source: None,
                error: None,
            });
        }
        let mut attached = p.record.clone();
        attached.disks.clear();
        for (d, r) in p.disks.iter().zip(&p.record.disks) {
            let error = match hv.attach(domain, &d.to_xml()?, affect) {
                Ok(()) => {
                    attached.disks.push(r.clone());
                    None
                }
                Err(e) => Some(e.to_string()),
            };
            changes.push(Change {
                what: r.target.clone(),
                source: Some(r.source.clone()),
                error,
            });
        }
        if !attached.disks.is_empty() {
            rec.upsert(attached);
        }
    }
    let out = Applied {
        domain: domain.to_string(),
        live: affect.live,
        changes,
    };
    if out.counts().0 > 0 {
        hv.set_metadata(domain, Some(&rec.to_xml()?), affect)?;
    }
    Ok(out)
}

/// The target names of the disks of `dom` that carry `lun`: a target name
/// itself (`sdb`), an iSCSI URL, or any name of a unit in `topo` (the
/// disks whose source is that unit, and those `rec` records for its
/// WWID). Empty when none does.
pub fn targets_of(dom: &Domain, rec: &Record, topo: &Topology, lun: &str) -> Vec<String> {
    if dom.disk_by_target(lun).is_some() {
        return vec![lun.to_string()];
    }
    let mut v: Vec<String> = if let Some(u) = IscsiUrl::parse(lun) {
        let name = u.source_name();
        dom.devices
            .disks
            .iter()
            .filter(|d| d.iscsi().and_then(|s| s.name.as_deref()) == Some(name.as_str()))
            .filter_map(|d| d.target_dev().map(str::to_string))
            .collect()
    } else if let Some(r) = resolve::resolve(topo, lun) {
        let mut v: Vec<String> = dom
            .devices
            .disks
            .iter()
            .filter(|d| rules::classify_source(d, topo).lun() == Some(r.lun))
            .filter_map(|d| d.target_dev().map(str::to_string))
            .collect();
        let wwid = topo
            .luns
            .get(r.lun)
            .and_then(|l| l.wwid.as_ref())
            .map(|w| w.as_str().to_string());
        if let Some(l) = wwid.as_deref().and_then(|w| rec.lun(w)) {
            v.extend(
                l.disks
                    .iter()
                    .filter(|d| dom.disk_by_target(&d.target).is_some())
                    .map(|d| d.target.clone()),
            );
        }
        v
    } else {
        Vec::new()
    };
    v.sort();
    v.dedup();
    v
}

/// Detaches the disks with these target names from `domain` and drops
/// them from the record (the record goes when no LUN is left in it).
pub fn detach(
    hv: &dyn Hypervisor,
    domain: &str,
    targets: &[String],
) -> Result<Applied, HypervisorError> {
    let running = hv.is_running(domain)?;
    let affect = Affect::persistent(running);
    let dom = Domain::parse(&hv.domain_xml(domain, !running)?)?;
    let mut rec = record(hv, domain, running)?;
    let mut changes = Vec::new();
    let mut gone = Vec::new();
    for t in targets {
        let Some(d) = dom.disk_by_target(t) else {
            changes.push(Change {
                what: t.clone(),
                source: Some(String::new()),
                error: Some("no such disk".into()),
            });
            continue;
        };
        let source = d
            .source_dev()
            .or(d.iscsi().and_then(|s| s.name.as_deref()))
            .unwrap_or_default()
            .to_string();
        let error = match hv.detach(domain, &d.to_xml()?, affect) {
            Ok(()) => {
                gone.push(t.clone());
                None
            }
            Err(e) => Some(e.to_string()),
        };
        changes.push(Change {
            what: t.clone(),
            source: Some(source),
            error,
        });
    }
    if !gone.is_empty() {
        rec.remove_targets(&gone);
        let x = if rec.luns.is_empty() {
            None
        } else {
            Some(rec.to_xml()?)
        };
        hv.set_metadata(domain, x.as_deref(), affect)?;
    }
    Ok(Applied {
        domain: domain.to_string(),
        live: affect.live,
        changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::hypervisor::Fake;
    use crate::vm::plan::{plan, Context, LunRef};
    use crate::vm::rules::tests::topo;

    const DOM: &str = "<domain type='kvm'><name>node1</name><devices>\
        <disk type='file' device='disk'><source file='/i.qcow2'/><target dev='vda' bus='virtio'/></disk>\
        </devices></domain>";

    fn planned(h: &Fake, t: &Topology) -> Vec<Plan> {
        let d = Domain::parse(&h.domain_xml("node1", false).unwrap()).unwrap();
        let ctx = Context {
            topology: Some(t),
            host: Some("kvm1".into()),
            ..Context::default()
        };
        vec![plan(&d, &LunRef::Host(&t.luns[0]), None, &ctx)]
    }

    #[test]
    fn attach_then_detach_a_map_on_a_running_domain() {
        let h = Fake::new();
        h.define(DOM, true).unwrap();
        let t = topo(1);
        let a = attach(&h, "node1", &planned(&h, &t)).unwrap();
        assert!(a.live);
        assert_eq!(a.counts(), (1, 1));
        assert_eq!(a.changes[0].what, "controller 0");
        assert_eq!(a.changes[1].what, "sda");
        for inactive in [false, true] {
            let x = h.domain_xml("node1", inactive).unwrap();
            let d = Domain::parse(&x).unwrap();
            assert_eq!(d.virtio_scsi_controllers(), [0]);
            assert!(d.disk_by_target("sda").unwrap().managed_reservations());
            let r = Record::parse(&h.metadata("node1", inactive).unwrap().unwrap()).unwrap();
            assert_eq!(r.luns[0].wwid.as_deref(), Some("36001405aaaa"));
            assert_eq!(r.luns[0].host.as_deref(), Some("kvm1"));
        }
        // Named by the map's alias, by WWID or by target: the same disk.
        let d = Domain::parse(&h.domain_xml("node1", false).unwrap()).unwrap();
        let r = Record::parse(&h.metadata("node1", false).unwrap().unwrap()).unwrap();
        for n in ["mpatha", "36001405aaaa", "sda"] {
            assert_eq!(targets_of(&d, &r, &t, n), ["sda"], "{n}");
        }
        assert!(targets_of(&d, &r, &t, "nothing").is_empty());
        let a = detach(&h, "node1", &["sda".into()]).unwrap();
        assert_eq!(a.counts(), (1, 1));
        let d = Domain::parse(&h.domain_xml("node1", true).unwrap()).unwrap();
        assert!(d.disk_by_target("sda").is_none());
        assert_eq!(h.metadata("node1", true).unwrap(), None);
    }

    #[test]
    fn a_stopped_domain_changes_its_definition_only() {
        let h = Fake::new();
        h.define(DOM, false).unwrap();
        let t = topo(0);
        let a = attach(&h, "node1", &planned(&h, &t)).unwrap();
        assert!(!a.live);
        assert_eq!(a.counts(), (2, 2));
        let d = Domain::parse(&h.domain_xml("node1", true).unwrap()).unwrap();
        assert_eq!(d.devices.disks.len(), 3);
    }

    #[test]
    fn a_failed_disk_is_reported_and_not_recorded() {
        let h = Fake::new();
        h.define(DOM, true).unwrap();
        let t = topo(0);
        let mut ps = planned(&h, &t);
        // The second disk takes a target that exists: the fake refuses it.
        ps[0].disks[1].target.as_mut().unwrap().dev = "vda".into();
        let a = attach(&h, "node1", &ps).unwrap();
        assert_eq!(a.counts(), (1, 2));
        assert!(a.changes[2].error.as_deref().unwrap().contains("vda"));
        let r = Record::parse(&h.metadata("node1", false).unwrap().unwrap()).unwrap();
        assert_eq!(r.luns[0].disks.len(), 1);
        let a = detach(&h, "node1", &["sdz".into()]).unwrap();
        assert_eq!(a.counts(), (0, 1));
    }
}
