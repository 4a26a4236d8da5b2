//! The part of libvirt's domain XML that shared LUNs live in, read and
//! written with serde (quick-xml): the domain's name, its `<disk>` and
//! `<controller>` elements, and the disk element fencekit attaches.
//!
//! The element and attribute names are libvirt's (formatdomain, "Hard
//! drives, floppy disks, CDROMs" and "Controllers"; the RelaxNG schema
//! `domaincommon.rng`). Attribute values are kept as strings, so a domain
//! with values this module does not know (a `cdrom`, an `nvme` bus, a
//! future cache mode) still parses; the typed questions the rules ask are
//! methods. Elements this model does not name (`<alias>`, `<boot>`,
//! `<encryption>`, every other device) are skipped when reading, and so
//! are not in what [`Disk::to_xml`] writes: the written element is the
//! one fencekit attaches, not a copy of a foreign one.
//!
//! Domain XML is untrusted input: a document that does not parse is a
//! [`XmlError`], never a panic.

use serde::{Deserialize, Serialize};

/// A domain document (or a device element) that does not parse or cannot
/// be written.
#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    /// The text is not a domain (or device) document this model reads.
    #[error("not libvirt domain XML: {0}")]
    Parse(String),
    /// The model could not be written (a value XML cannot hold).
    #[error("cannot write XML: {0}")]
    Write(String),
}

/// An empty element that is either there or not (`<shareable/>`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {}

/// A domain: what fencekit reads of `virsh dumpxml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename = "domain")]
pub struct Domain {
    /// `<domain type='kvm'>`.
    #[serde(rename = "@type", default)]
    pub kind: Option<String>,
    /// `<name>`.
    #[serde(default)]
    pub name: String,
    /// `<uuid>`.
    #[serde(default)]
    pub uuid: Option<String>,
    /// `<devices>`.
    #[serde(default)]
    pub devices: Devices,
}

/// The devices fencekit looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Devices {
    /// Every `<disk>`, in document order.
    #[serde(rename = "disk", default)]
    pub disks: Vec<Disk>,
    /// Every `<controller>`, in document order.
    #[serde(rename = "controller", default)]
    pub controllers: Vec<Controller>,
}

impl Domain {
    /// Parses a domain document (`virsh dumpxml`, a definition file).
    pub fn parse(xml: &str) -> Result<Domain, XmlError> {
        quick_xml::de::from_str(xml).map_err(|e| XmlError::Parse(e.to_string()))
    }

    /// The virtio-scsi controllers, by index.
    pub fn virtio_scsi_controllers(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .devices
            .controllers
            .iter()
            .filter(|c| c.is_virtio_scsi())
            .filter_map(Controller::index)
            .collect();
        v.sort_unstable();
        v
    }

    /// The disk whose target is `dev` (`sda`).
    pub fn disk_by_target(&self, dev: &str) -> Option<&Disk> {
        self.devices
            .disks
            .iter()
            .find(|d| d.target_dev() == Some(dev))
    }
}

/// `<disk>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "disk")]
pub struct Disk {
    /// `type`: `block`, `network`, `file`, `volume`, ...
    #[serde(rename = "@type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `device`: `disk` (default), `lun`, `cdrom`, `floppy`.
    #[serde(rename = "@device", default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// `sgio`: `filtered` (default) or `unfiltered`; `device='lun'` only.
    #[serde(rename = "@sgio", default, skip_serializing_if = "Option::is_none")]
    pub sgio: Option<String>,
    /// `rawio`: `yes` or `no`; `device='lun'` only.
    #[serde(rename = "@rawio", default, skip_serializing_if = "Option::is_none")]
    pub rawio: Option<String>,
    /// `<driver>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<Driver>,
    /// `<source>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// `<target>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// `<shareable/>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shareable: Option<Flag>,
    /// `<readonly/>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readonly: Option<Flag>,
    /// `<address>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

/// `<driver name='qemu' type='raw' cache='none' io='native'/>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Driver {
    /// `name`: `qemu`.
    #[serde(rename = "@name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `type`: the image format, `raw` for a LUN.
    #[serde(rename = "@type", default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// `cache`: `none` for shared disks.
    #[serde(rename = "@cache", default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<String>,
    /// `io`: `native`, `threads`, `io_uring`.
    #[serde(rename = "@io", default, skip_serializing_if = "Option::is_none")]
    pub io: Option<String>,
}

/// `<source>`: a block device (`dev`), a file, or a network disk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// `dev`: the host's block device (`type='block'`).
    #[serde(rename = "@dev", default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// `file`: an image file (`type='file'`).
    #[serde(rename = "@file", default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// `protocol`: `iscsi`, `rbd`, `nbd`, ... (`type='network'`).
    #[serde(rename = "@protocol", default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// `name`: for iSCSI, `IQN/LUN`.
    #[serde(rename = "@name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `pool` and `volume` (`type='volume'`).
    #[serde(rename = "@pool", default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// `volume` of `pool`.
    #[serde(rename = "@volume", default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<String>,
    /// `<host name='...' port='...'/>` of a network disk.
    #[serde(rename = "host", default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<Host>,
    /// `<initiator><iqn name='...'/></initiator>`: the guest's own iSCSI
    /// initiator name (QEMU's initiator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiator: Option<Initiator>,
    /// `<reservations managed='yes'/>`: libvirt runs qemu-pr-helper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservations: Option<Reservations>,
}

/// `<host name='127.0.0.1' port='3260'/>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    /// Host name or address.
    #[serde(rename = "@name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// TCP port.
    #[serde(rename = "@port", default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
}

/// `<initiator>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Initiator {
    /// `<iqn name='...'/>`.
    pub iqn: Iqn,
}

/// `<iqn name='...'/>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Iqn {
    /// The initiator's IQN.
    #[serde(rename = "@name")]
    pub name: String,
}

/// `<reservations managed='yes'/>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservations {
    /// `managed`: `yes` (libvirt starts the helper) or `no`.
    #[serde(rename = "@managed", default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<String>,
}

/// `<target dev='sda' bus='scsi'/>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The name given to the guest (`sda`, `vdb`): a hint, unique in the
    /// domain; the guest names its disks itself.
    #[serde(rename = "@dev", default)]
    pub dev: String,
    /// `bus`: `scsi`, `virtio`, `sata`, `ide`, `usb`.
    #[serde(rename = "@bus", default, skip_serializing_if = "Option::is_none")]
    pub bus: Option<String>,
}

/// `<address>`: `type='drive'` for disks on a SCSI controller, `pci` for
/// virtio-blk and controllers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// `type`.
    #[serde(rename = "@type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `controller` (drive).
    #[serde(
        rename = "@controller",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub controller: Option<String>,
    /// `bus` (drive, pci).
    #[serde(rename = "@bus", default, skip_serializing_if = "Option::is_none")]
    pub bus: Option<String>,
    /// `target` (drive).
    #[serde(rename = "@target", default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// `unit` (drive).
    #[serde(rename = "@unit", default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// A drive address in numbers: controller, bus, target, unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DriveAddress {
    /// Controller index.
    pub controller: u32,
    /// Bus (0 on virtio-scsi).
    pub bus: u32,
    /// Target (0..=255 on virtio-scsi).
    pub target: u32,
    /// Unit: the LUN (0..=16383 on virtio-scsi).
    pub unit: u32,
}

impl DriveAddress {
    /// The `<address type='drive' .../>` element.
    pub fn to_address(self) -> Address {
        Address {
            kind: Some("drive".into()),
            controller: Some(self.controller.to_string()),
            bus: Some(self.bus.to_string()),
            target: Some(self.target.to_string()),
            unit: Some(self.unit.to_string()),
        }
    }
}

/// A number as libvirt writes it: decimal, or hexadecimal with `0x`.
fn number(s: &str) -> Option<u32> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

impl Address {
    /// The drive address, when this is one; a missing number is 0, as
    /// libvirt reads it.
    pub fn drive(&self) -> Option<DriveAddress> {
        if self.kind.as_deref() != Some("drive") {
            return None;
        }
        let n = |v: &Option<String>| v.as_deref().map_or(Some(0), number);
        Some(DriveAddress {
            controller: n(&self.controller)?,
            bus: n(&self.bus)?,
            target: n(&self.target)?,
            unit: n(&self.unit)?,
        })
    }
}

impl Disk {
    /// Parses one `<disk>` element.
    pub fn parse(xml: &str) -> Result<Disk, XmlError> {
        quick_xml::de::from_str(xml).map_err(|e| XmlError::Parse(e.to_string()))
    }

    /// The element as XML, indented, as `virsh attach-device` takes it.
    pub fn to_xml(&self) -> Result<String, XmlError> {
        to_xml(self)
    }

    /// `device`, with libvirt's default `disk`.
    pub fn device(&self) -> &str {
        self.device.as_deref().unwrap_or("disk")
    }

    /// `type`, with libvirt's default `file`.
    pub fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or("file")
    }

    /// True for a SCSI pass-through disk (`device='lun'`).
    pub fn is_lun(&self) -> bool {
        self.device() == "lun"
    }

    /// The target bus, when given.
    pub fn bus(&self) -> Option<&str> {
        self.target.as_ref().and_then(|t| t.bus.as_deref())
    }

    /// The target name.
    pub fn target_dev(&self) -> Option<&str> {
        self.target.as_ref().map(|t| t.dev.as_str())
    }

    /// The host block device of a `type='block'` disk.
    pub fn source_dev(&self) -> Option<&str> {
        self.source.as_ref().and_then(|s| s.dev.as_deref())
    }

    /// The drive address, when the disk has one.
    pub fn drive_address(&self) -> Option<DriveAddress> {
        self.address.as_ref().and_then(Address::drive)
    }

    /// True with `<shareable/>`.
    pub fn is_shareable(&self) -> bool {
        self.shareable.is_some()
    }

    /// True with `sgio='unfiltered'`.
    pub fn unfiltered(&self) -> bool {
        self.sgio.as_deref() == Some("unfiltered")
    }

    /// True with `<reservations managed='yes'/>`.
    pub fn managed_reservations(&self) -> bool {
        self.source
            .as_ref()
            .and_then(|s| s.reservations.as_ref())
            .is_some_and(|r| r.managed.as_deref() == Some("yes"))
    }

    /// The iSCSI source of a `type='network' protocol='iscsi'` disk.
    pub fn iscsi(&self) -> Option<&Source> {
        self.source
            .as_ref()
            .filter(|s| self.kind() == "network" && s.protocol.as_deref() == Some("iscsi"))
    }

    /// `driver`'s cache mode.
    pub fn cache(&self) -> Option<&str> {
        self.driver.as_ref().and_then(|d| d.cache.as_deref())
    }
}

/// `<controller type='scsi' index='0' model='virtio-scsi'/>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "controller")]
pub struct Controller {
    /// `type`: `scsi`, `pci`, `usb`, `sata`, `virtio-serial`, ...
    #[serde(rename = "@type", default)]
    pub kind: String,
    /// `index`.
    #[serde(rename = "@index", default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// `model`: for SCSI `virtio-scsi`, `lsilogic`, ...
    #[serde(rename = "@model", default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl Controller {
    /// A virtio-scsi controller with index `index`.
    pub fn virtio_scsi(index: u32) -> Controller {
        Controller {
            kind: "scsi".into(),
            index: Some(index.to_string()),
            model: Some("virtio-scsi".into()),
        }
    }

    /// Parses one `<controller>` element.
    pub fn parse(xml: &str) -> Result<Controller, XmlError> {
        quick_xml::de::from_str(xml).map_err(|e| XmlError::Parse(e.to_string()))
    }

    /// The element as XML.
    pub fn to_xml(&self) -> Result<String, XmlError> {
        to_xml(self)
    }

    /// The index as a number.
    pub fn index(&self) -> Option<u32> {
        self.index.as_deref().and_then(number)
    }

    /// True for `type='scsi' model='virtio-scsi'`.
    pub fn is_virtio_scsi(&self) -> bool {
        self.kind == "scsi" && self.model.as_deref() == Some("virtio-scsi")
    }
}

/// `value` as an indented XML element (its serde name is the tag).
pub(crate) fn to_xml<T: Serialize>(value: &T) -> Result<String, XmlError> {
    let mut out = String::new();
    let mut ser = quick_xml::se::Serializer::new(&mut out);
    ser.indent(' ', 2);
    value
        .serialize(ser)
        .map_err(|e| XmlError::Write(e.to_string()))?;
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// anchors §6: libvirt's own test of a PR pass-through disk.
    const RESERVATIONS: &str = r#"<disk type='block' device='lun' sgio='unfiltered' rawio='yes'>
  <driver name='qemu' type='raw' cache='none'/>
  <source dev='/dev/disk/by-id/wwn-0x600140512345678'>
    <reservations managed='yes'/>
  </source>
  <target dev='sda' bus='scsi'/>
  <shareable/>
  <address type='drive' controller='0' bus='0' target='0' unit='0'/>
</disk>"#;

    #[test]
    fn a_pass_through_disk_reads() {
        let d = Disk::parse(RESERVATIONS).unwrap();
        assert!(d.is_lun());
        assert!(d.unfiltered());
        assert_eq!(d.rawio.as_deref(), Some("yes"));
        assert!(d.is_shareable());
        assert!(d.managed_reservations());
        assert_eq!(d.cache(), Some("none"));
        assert_eq!(d.bus(), Some("scsi"));
        assert_eq!(d.target_dev(), Some("sda"));
        assert_eq!(
            d.source_dev(),
            Some("/dev/disk/by-id/wwn-0x600140512345678")
        );
        assert_eq!(
            d.drive_address(),
            Some(DriveAddress {
                controller: 0,
                bus: 0,
                target: 0,
                unit: 0
            })
        );
    }

    #[test]
    fn a_disk_survives_writing_and_reading() {
        let d = Disk::parse(RESERVATIONS).unwrap();
        let x = d.to_xml().unwrap();
        assert!(x.starts_with("<disk type=\"block\" device=\"lun\""), "{x}");
        assert!(x.contains("<shareable/>"), "{x}");
        assert_eq!(Disk::parse(&x).unwrap(), d);
    }

    #[test]
    fn defaults_are_libvirts() {
        let d = Disk::parse("<disk><target dev='vda' bus='virtio'/></disk>").unwrap();
        assert_eq!(d.device(), "disk");
        assert_eq!(d.kind(), "file");
        assert!(!d.is_lun() && !d.is_shareable() && !d.unfiltered());
    }

    #[test]
    fn addresses_read_in_decimal_and_hex() {
        let a = Address {
            kind: Some("drive".into()),
            controller: Some("0x1".into()),
            unit: Some("12".into()),
            ..Address::default()
        };
        assert_eq!(
            a.drive(),
            Some(DriveAddress {
                controller: 1,
                bus: 0,
                target: 0,
                unit: 12
            })
        );
        let bad = Address {
            unit: Some("x".into()),
            ..a.clone()
        };
        assert_eq!(bad.drive(), None);
        let pci = Address {
            kind: Some("pci".into()),
            ..Address::default()
        };
        assert_eq!(pci.drive(), None);
    }

    #[test]
    fn a_controller_round_trips() {
        let c = Controller::virtio_scsi(1);
        let x = c.to_xml().unwrap();
        assert_eq!(
            x,
            "<controller type=\"scsi\" index=\"1\" model=\"virtio-scsi\"/>\n"
        );
        assert_eq!(Controller::parse(&x).unwrap(), c);
        assert!(c.is_virtio_scsi());
        assert_eq!(c.index(), Some(1));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for x in [
            "",
            "<",
            "<domain><devices><disk",
            "not xml",
            "<domain><name>a</name><devices><disk><target/></disk></devices>",
            "<disk><address type='drive' unit='99999999999999'/></disk>",
        ] {
            let _ = Domain::parse(x);
            let _ = Disk::parse(x);
        }
    }

    proptest::proptest! {
        #[test]
        fn domain_xml_never_panics(text in "\\PC{0,400}") {
            let _ = Domain::parse(&text);
            let _ = Disk::parse(&text);
            let _ = crate::vm::metadata::Record::from_domain_xml(&text);
        }

        /// A real disk element cut at any point, or with a piece of
        /// another document spliced in, is an error or a model, never a
        /// panic, and a model that parses writes out.
        #[test]
        fn a_damaged_disk_never_panics(cut in 0usize..400, at in 0usize..400, piece in "[<>/='\" a-z0-9&;]{0,12}") {
            let mut x = RESERVATIONS.to_string();
            let at = at.min(x.len());
            if x.is_char_boundary(at) {
                x.insert_str(at, &piece);
            }
            let cut = cut.min(x.len());
            if x.is_char_boundary(cut) {
                x.truncate(cut.max(at));
            }
            let doc = format!("<domain><name>d</name><devices>{x}</devices></domain>");
            if let Ok(d) = Domain::parse(&doc) {
                for disk in &d.devices.disks {
                    let _ = disk.to_xml();
                    let _ = disk.drive_address();
                }
            }
        }
    }
}
