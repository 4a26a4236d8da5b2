//! The few things fencekit asks of libvirt, as a trait: list domains, read
//! a domain's XML (live or inactive definition), attach and detach a
//! device (live, persistent or both), read and set fencekit's metadata
//! element, and whether a domain runs. The programs use the libvirt
//! implementation in the `fencekit-libvirt` crate (libvirt's C library
//! through the `virt` crate); [`Fake`] keeps domains in memory, so the
//! commands are tested without a daemon.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::metadata::Record;
use super::xml::{Disk, XmlError};

/// Which definition a change affects (`VIR_DOMAIN_AFFECT_LIVE`,
/// `VIR_DOMAIN_AFFECT_CONFIG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Affect {
    /// The running domain.
    pub live: bool,
    /// The persistent definition.
    pub config: bool,
}

impl Affect {
    /// The persistent definition, and the running domain when it runs:
    /// what `attach` does by default.
    pub fn persistent(running: bool) -> Affect {
        Affect {
            live: running,
            config: true,
        }
    }
}

/// A hypervisor call that failed.
#[derive(Debug, thiserror::Error)]
pub enum HypervisorError {
    /// No domain by that name.
    #[error("{0}: no such domain")]
    NoDomain(String),
    /// The connection could not be opened.
    #[error("cannot connect to {uri}: {message}")]
    Connect {
        /// The URI.
        uri: String,
        /// libvirt's message.
        message: String,
    },
    /// A call on a domain failed.
    #[error("{domain}: {op}: {message}")]
    Call {
        /// The domain.
        domain: String,
        /// What was asked (`attach`, `dumpxml`, ...).
        op: &'static str,
        /// libvirt's message.
        message: String,
    },
    /// The hypervisor's XML does not parse.
    #[error(transparent)]
    Xml(#[from] XmlError),
}

/// What fencekit asks of libvirt.
pub trait Hypervisor {
    /// Every domain's name, defined or running, sorted.
    fn domains(&self) -> Result<Vec<String>, HypervisorError>;
    /// The domain's XML: the running domain's, or with `inactive` the
    /// persistent definition.
    fn domain_xml(&self, domain: &str, inactive: bool) -> Result<String, HypervisorError>;
    /// True when the domain runs.
    fn is_running(&self, domain: &str) -> Result<bool, HypervisorError>;
    /// Attaches the device in `xml`.
    fn attach(&self, domain: &str, xml: &str, affect: Affect) -> Result<(), HypervisorError>;
    /// Detaches the device in `xml`.
    fn detach(&self, domain: &str, xml: &str, affect: Affect) -> Result<(), HypervisorError>;
    /// fencekit's metadata element (namespace
    /// [`NAMESPACE`](super::metadata::NAMESPACE)), `None` when the
    /// domain has none.
    fn metadata(&self, domain: &str, inactive: bool) -> Result<Option<String>, HypervisorError>;
    /// Sets fencekit's metadata element (`None` removes it).
    fn set_metadata(
        &self,
        domain: &str,
        xml: Option<&str>,
        affect: Affect,
    ) -> Result<(), HypervisorError>;
}

/// One domain of the [`Fake`]: its definition as given, what was attached
/// since, its metadata.
#[derive(Debug, Clone, Default)]
struct FakeDomain {
    running: bool,
    /// The definition's XML.
    xml: String,
    /// Devices attached, with where.
    attached: Vec<(String, Affect)>,
    /// Targets detached from the definition.
    detached: Vec<(String, Affect)>,
    /// Metadata element, live and persistent.
    metadata: (Option<String>, Option<String>),
}

/// Domains in memory, for tests and for domains read from definition
/// files (`vmguest-attach --domain-xml`): a domain's XML is its definition
/// with the attached disks added to `<devices>`. Only disk elements can be attached
/// and detached; detach matches by target name, as libvirt does.
#[derive(Debug, Default)]
pub struct Fake {
    domains: RefCell<BTreeMap<String, FakeDomain>>,
}

impl Fake {
    /// An empty hypervisor.
    pub fn new() -> Fake {
        Fake::default()
    }

    /// Adds a domain defined by `xml` (its `<name>` names it); its
    /// metadata is read from the document.
    pub fn define(&self, xml: &str, running: bool) -> Result<String, HypervisorError> {
        let d = super::xml::Domain::parse(xml)?;
        let meta = Record::from_domain_xml(xml)?;
        let meta = if meta.luns.is_empty() {
            None
        } else {
            Some(meta.to_xml()?)
        };
        self.domains.borrow_mut().insert(
            d.name.clone(),
            FakeDomain {
                running,
                xml: xml.to_string(),
                metadata: (meta.clone(), meta),
                ..FakeDomain::default()
            },
        );
        Ok(d.name)
    }

    fn with<T>(
        &self,
        domain: &str,
        f: impl FnOnce(&mut FakeDomain) -> Result<T, HypervisorError>,
    ) -> Result<T, HypervisorError> {
        let mut all = self.domains.borrow_mut();
        let d = all
            .get_mut(domain)
            .ok_or_else(|| HypervisorError::NoDomain(domain.to_string()))?;
        f(d)
    }
}

fn call(domain: &str, op: &'static str, message: impl Into<String>) -> HypervisorError {
    HypervisorError::Call {
        domain: domain.to_string(),
        op,
        message: message.into(),
    }
}

fn check_affect(
    domain: &str,
    op: &'static str,
    d: &FakeDomain,
    a: Affect,
) -> Result<(), HypervisorError> {
    if a.live && !d.running {
        return Err(call(domain, op, "domain is not running"));
    }
    if !a.live && !a.config {
        return Err(call(domain, op, "neither live nor config"));
    }
    Ok(())
}

impl Hypervisor for Fake {
    fn domains(&self) -> Result<Vec<String>, HypervisorError> {
        Ok(self.domains.borrow().keys().cloned().collect())
    }

    fn domain_xml(&self, domain: &str, inactive: bool) -> Result<String, HypervisorError> {
        self.with(domain, |d| {
            let visible = |a: &Affect| {
                if inactive || !d.running {
                    a.config
                } else {
                    a.live
                }
            };
            // The definition without the detached disks, with the attached
            // ones: rebuilt from the text, since the fake keeps no tree.
            let mut xml = d.xml.clone();
            for (t, _) in d.detached.iter().filter(|(_, a)| visible(a)) {
                xml = remove_disk(&xml, t);
            }
            let added: String = d
                .attached
                .iter()
                .filter(|(_, a)| visible(a))
                .map(|(x, _)| x.as_str())
                .collect();
            if let Some(at) = xml.rfind("</devices>") {
                xml.insert_str(at, &added);
            }
            Ok(xml)
        })
    }

    fn is_running(&self, domain: &str) -> Result<bool, HypervisorError> {
        self.with(domain, |d| Ok(d.running))
    }

    fn attach(&self, domain: &str, xml: &str, affect: Affect) -> Result<(), HypervisorError> {
        let new_target = Disk::parse(xml)
            .ok()
            .and_then(|x| x.target_dev().map(str::to_string));
        let current = self.domain_xml(domain, !affect.live)?;
        let dom = super::xml::Domain::parse(&current)?;
        self.with(domain, |d| {
            check_affect(domain, "attach", d, affect)?;
            if let Some(t) = &new_target {
                if dom.disk_by_target(t).is_some() {
                    return Err(call(domain, "attach", format!("target {t} already exists")));
                }
            }
            d.attached.push((xml.to_string(), affect));
            Ok(())
        })
    }

    fn detach(&self, domain: &str, xml: &str, affect: Affect) -> Result<(), HypervisorError> {
        let disk = Disk::parse(xml)?;
        let t = disk
            .target_dev()
            .ok_or_else(|| call(domain, "detach", "the disk has no target"))?
            .to_string();
        self.with(domain, |d| {
            check_affect(domain, "detach", d, affect)?;
            let before = d.attached.len();
            d.attached.retain(|(x, _)| {
                Disk::parse(x)
                    .ok()
                    .and_then(|x| x.target_dev().map(str::to_string))
                    .as_deref()
                    != Some(&t)
            });
            if d.attached.len() == before {
                d.detached.push((t, affect));
            }
            Ok(())
        })
    }

    fn metadata(&self, domain: &str, inactive: bool) -> Result<Option<String>, HypervisorError> {
        self.with(domain, |d| {
            Ok(if inactive || !d.running {
                d.metadata.1.clone()
            } else {
                d.metadata.0.clone()
            })
        })
    }

    fn set_metadata(
        &self,
        domain: &str,
        xml: Option<&str>,
        affect: Affect,
    ) -> Result<(), HypervisorError> {
        if let Some(x) = xml {
            Record::parse(x)?;
        }
        self.with(domain, |d| {
            check_affect(domain, "set metadata", d, affect)?;
            if affect.live {
                d.metadata.0 = xml.map(str::to_string);
            }
            if affect.config {
                d.metadata.1 = xml.map(str::to_string);
            }
            Ok(())
        })
    }
}

/// `xml` without the `<disk>` element whose target is `target` (the
/// fake's detach of a disk of the definition).
fn remove_disk(xml: &str, target: &str) -> String {
    let mut out = String::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<disk") {
        let Some(len) = rest[start..].find("</disk>") else {
            break;
        };
        let end = start + len + "</disk>".len();
        let el = &rest[start..end];
        let hit = Disk::parse(el)
            .ok()
            .is_some_and(|d| d.target_dev() == Some(target));
        out.push_str(&rest[..start]);
        if !hit {
            out.push_str(el);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::xml::{Domain, DriveAddress};

    const DOM: &str = "<domain type='kvm'><name>node1</name><devices>\
        <controller type='scsi' index='0' model='virtio-scsi'/>\
        <disk type='file' device='disk'><source file='/i.qcow2'/><target dev='vda' bus='virtio'/></disk>\
        </devices></domain>";

    fn lun(t: &str) -> String {
        crate::vm::plan::block_disk(
            "/dev/disk/by-id/wwn-0x6001405aaaa",
            t,
            DriveAddress {
                controller: 0,
                bus: 0,
                target: 0,
                unit: 0,
            },
            false,
        )
        .to_xml()
        .unwrap()
    }

    #[test]
    fn attach_and_detach_live_and_persistent() {
        let h = Fake::new();
        h.define(DOM, true).unwrap();
        assert_eq!(h.domains().unwrap(), ["node1"]);
        h.attach("node1", &lun("sda"), Affect::persistent(true))
            .unwrap();
        for inactive in [false, true] {
            let d = Domain::parse(&h.domain_xml("node1", inactive).unwrap()).unwrap();
            assert!(d.disk_by_target("sda").is_some());
        }
        // The same target twice is refused.
        assert!(h
            .attach("node1", &lun("sda"), Affect::persistent(true))
            .is_err());
        h.detach("node1", &lun("sda"), Affect::persistent(true))
            .unwrap();
        let d = Domain::parse(&h.domain_xml("node1", false).unwrap()).unwrap();
        assert!(d.disk_by_target("sda").is_none());
        // A disk of the definition goes too.
        let vda = "<disk type='file' device='disk'><target dev='vda' bus='virtio'/></disk>";
        h.detach("node1", vda, Affect::persistent(true)).unwrap();
        let d = Domain::parse(&h.domain_xml("node1", true).unwrap()).unwrap();
        assert!(d.devices.disks.is_empty());
    }

    #[test]
    fn config_only_changes_are_not_live() {
        let h = Fake::new();
        h.define(DOM, true).unwrap();
        let config = Affect {
            live: false,
            config: true,
        };
        h.attach("node1", &lun("sdb"), config).unwrap();
        let live = Domain::parse(&h.domain_xml("node1", false).unwrap()).unwrap();
        let inactive = Domain::parse(&h.domain_xml("node1", true).unwrap()).unwrap();
        assert!(live.disk_by_target("sdb").is_none());
        assert!(inactive.disk_by_target("sdb").is_some());
        // A stopped domain cannot take a live change.
        h.define(&DOM.replace("node1", "node2"), false).unwrap();
        assert!(h
            .attach("node2", &lun("sdb"), Affect::persistent(true))
            .is_err());
        assert!(!h.is_running("node2").unwrap());
        assert!(matches!(
            h.is_running("nope"),
            Err(HypervisorError::NoDomain(_))
        ));
    }

    #[test]
    fn metadata_is_set_and_read() {
        let h = Fake::new();
        h.define(DOM, true).unwrap();
        assert_eq!(h.metadata("node1", false).unwrap(), None);
        let r = Record::default().to_xml().unwrap();
        h.set_metadata("node1", Some(&r), Affect::persistent(true))
            .unwrap();
        assert_eq!(
            h.metadata("node1", true).unwrap().as_deref(),
            Some(r.as_str())
        );
        assert!(h
            .set_metadata("node1", Some("<x"), Affect::persistent(true))
            .is_err());
    }
}
