//! fencekit's record in a domain's `<metadata>`: for each shared LUN it
//! attached, the LUN's identity as the host saw it (WWID, serial, vendor,
//! product, size, the source names, the host), so that `list` and the
//! guest-side check can tell the LUN meant from the one found.
//!
//! libvirt keeps custom metadata as one element per namespace URI
//! (`virDomainSetMetadata` with `VIR_DOMAIN_METADATA_ELEMENT`, key
//! [`PREFIX`], URI [`NAMESPACE`]): libvirt puts the namespace on the
//! element it is given and keeps its children as they are, so the children
//! here carry no prefix. [`Record::from_domain_xml`] finds the element by
//! its namespace, whatever prefix the document gives it.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use serde::{Deserialize, Serialize};

use super::xml::{to_xml, XmlError};

/// The namespace URI of fencekit's metadata element.
pub const NAMESPACE: &str = "https://example.invalid/fencekit/xmlns/vm/1";

/// The prefix fencekit asks libvirt to write the element with.
pub const PREFIX: &str = "fencekit";

/// How a LUN is given to the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The host's multipath map, as one disk (multipath on the host).
    Map,
    /// Every path as its own disk (multipath in the guest).
    Paths,
    /// A LUN with a single path, or an iSCSI LUN reached by QEMU's own
    /// initiator.
    Lun,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Map => "map",
            Mode::Paths => "paths",
            Mode::Lun => "lun",
        })
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "map" => Ok(Mode::Map),
            "paths" => Ok(Mode::Paths),
            "lun" => Ok(Mode::Lun),
            _ => Err(format!("'{s}' is not a mode (map, paths, lun)")),
        }
    }
}

/// One LUN fencekit attached, and what it attached it as. In XML each
/// field is a child element (`<wwid>`, `<size_bytes>`, `<disk>`), so the
/// same names serve the JSON of `list` and `plan`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LunRecord {
    /// The WWID (`36001405...`), when the LUN has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wwid: Option<String>,
    /// Unit serial number (VPD page 0x80).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// T10 vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Capacity in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// The host that attached it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `map`, `paths` or `lun`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// The disks of the domain that carry it, by target name, with the
    /// source each was given (a persistent name or an iSCSI URL).
    #[serde(rename = "disk", default)]
    pub disks: Vec<DiskRecord>,
}

/// One disk element of a recorded LUN.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskRecord {
    /// Its target name (`sdb`).
    pub target: String,
    /// Its source: a device name or an `iscsi://` URL.
    pub source: String,
}

/// fencekit's metadata element: every LUN it attached to the domain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "luns")]
pub struct Record {
    /// The LUNs.
    #[serde(rename = "lun", default)]
    pub luns: Vec<LunRecord>,
}

impl Record {
    /// The element as libvirt's `virDomainSetMetadata` takes it: no
    /// namespace (libvirt adds [`NAMESPACE`] with [`PREFIX`]).
    pub fn to_xml(&self) -> Result<String, XmlError> {
        to_xml(self)
    }

    /// Parses the element (with or without a namespace prefix).
    pub fn parse(xml: &str) -> Result<Record, XmlError> {
        quick_xml::de::from_str(xml).map_err(|e| XmlError::Parse(e.to_string()))
    }

    /// fencekit's element in a whole domain document
    /// (`/domain/metadata/*` in [`NAMESPACE`]), or an empty record when
    /// the domain has none.
    pub fn from_domain_xml(xml: &str) -> Result<Record, XmlError> {
        match find_metadata(xml)? {
            Some(el) => Record::parse(el),
            None => Ok(Record::default()),
        }
    }

    /// The record of the LUN with `wwid`.
    pub fn lun(&self, wwid: &str) -> Option<&LunRecord> {
        self.luns.iter().find(|l| l.wwid.as_deref() == Some(wwid))
    }

    /// The record of the LUN carried by the disk with target `dev`.
    pub fn lun_of_target(&self, dev: &str) -> Option<&LunRecord> {
        self.luns
            .iter()
            .find(|l| l.disks.iter().any(|d| d.target == dev))
    }

    /// Adds `lun`, replacing the record with the same WWID (and, for a
    /// LUN without one, the record of the same disks).
    pub fn upsert(&mut self, lun: LunRecord) {
        let same = |l: &LunRecord| match (&l.wwid, &lun.wwid) {
            (Some(a), Some(b)) => a == b,
            (None, None) => l.disks == lun.disks,
            _ => false,
        };
        self.luns.retain(|l| !same(l));
        self.luns.push(lun);
    }

    /// Removes the disks with these targets, and the LUNs left without
    /// a disk.
    pub fn remove_targets(&mut self, targets: &[String]) {
        for l in &mut self.luns {
            l.disks.retain(|d| !targets.contains(&d.target));
        }
        self.luns.retain(|l| !l.disks.is_empty());
    }
}

/// The text of the element in [`NAMESPACE`] directly under
/// `/domain/metadata`.
fn find_metadata(xml: &str) -> Result<Option<&str>, XmlError> {
    let err = |e: quick_xml::Error| XmlError::Parse(e.to_string());
    let mut r = NsReader::from_str(xml);
    let mut depth: Vec<Vec<u8>> = Vec::new();
    loop {
        let before = usize::try_from(r.buffer_position()).unwrap_or(usize::MAX);
        let (ns, ev) = r.read_resolved_event().map_err(err)?;
        let ours = matches!(ns, ResolveResult::Bound(n) if n.as_ref() == NAMESPACE.as_bytes());
        let in_metadata = depth.len() == 2 && depth[0] == b"domain" && depth[1] == b"metadata";
        match ev {
            Event::Start(s) => {
                if ours && in_metadata {
                    let name = s.name().as_ref().to_vec();
                    r.read_to_end(quick_xml::name::QName(&name)).map_err(err)?;
                    let after = usize::try_from(r.buffer_position()).unwrap_or(usize::MAX);
                    return Ok(xml.get(before..after));
                }
                depth.push(s.local_name().as_ref().to_vec());
            }
            Event::Empty(_) if ours && in_metadata => {
                let after = usize::try_from(r.buffer_position()).unwrap_or(usize::MAX);
                return Ok(xml.get(before..after));
            }
            Event::End(_) => {
                depth.pop();
            }
            Event::Eof => return Ok(None),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record {
            luns: vec![LunRecord {
                wwid: Some("36001405abcdef".into()),
                serial: Some("abcdef".into()),
                vendor: Some("LIO-ORG".into()),
                product: Some("disk0".into()),
                size_bytes: Some(1 << 30),
                host: Some("kvm1".into()),
                mode: Some(Mode::Paths),
                disks: vec![
                    DiskRecord {
                        target: "sdb".into(),
                        source: "/dev/disk/by-path/ip-10.0.0.1:3260-iscsi-iqn.x-lun-0".into(),
                    },
                    DiskRecord {
                        target: "sdc".into(),
                        source: "/dev/disk/by-path/ip-10.0.0.2:3260-iscsi-iqn.x-lun-0".into(),
                    },
                ],
            }],
        }
    }

    #[test]
    fn a_record_round_trips() {
        let r = sample();
        let x = r.to_xml().unwrap();
        assert!(x.starts_with("<luns>"), "{x}");
        assert_eq!(Record::parse(&x).unwrap(), r);
    }

    #[test]
    fn the_record_is_found_by_namespace_not_prefix() {
        let inner = sample().to_xml().unwrap();
        let el = inner
            .replacen("<luns>", &format!("<fk:luns xmlns:fk=\"{NAMESPACE}\">"), 1)
            .replace("</luns>", "</fk:luns>");
        let doc = format!(
            "<domain type='kvm'><name>a</name><metadata>\
             <other:luns xmlns:other='urn:x'><lun wwid='1'/></other:luns>{el}\
             </metadata><devices/></domain>"
        );
        assert_eq!(Record::from_domain_xml(&doc).unwrap(), sample());
    }

    #[test]
    fn no_record_is_empty() {
        let doc = "<domain><name>a</name><metadata/><devices/></domain>";
        assert_eq!(Record::from_domain_xml(doc).unwrap(), Record::default());
        let doc = format!(
            "<domain><name>a</name><metadata><f:luns xmlns:f='{NAMESPACE}'/></metadata></domain>"
        );
        assert_eq!(Record::from_domain_xml(&doc).unwrap(), Record::default());
        assert!(Record::from_domain_xml("<domain><metadata><x").is_err());
    }

    #[test]
    fn upsert_replaces_by_wwid_and_remove_drops_empty_luns() {
        let mut r = sample();
        let mut l = r.luns[0].clone();
        l.mode = Some(Mode::Map);
        l.disks.truncate(1);
        r.upsert(l);
        assert_eq!(r.luns.len(), 1);
        assert_eq!(r.luns[0].mode, Some(Mode::Map));
        assert!(r.lun("36001405abcdef").is_some());
        assert!(r.lun_of_target("sdb").is_some());
        r.remove_targets(&["sdb".into()]);
        assert!(r.luns.is_empty());
    }
}
