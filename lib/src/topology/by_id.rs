//! `/dev/disk/by-id` names, read from the links when udev made them and
//! otherwise derived as `60-persistent-storage.rules` would from scsi_id's
//! properties: `scsi-<ID_SERIAL>` (the WWID) and
//! `wwn-<ID_WWN_WITH_EXTENSION>` (an NAA designator of the logical unit),
//! `-partN` for partitions. For a multipath map, `dm-name-<alias>` and
//! `dm-uuid-mpath-<wwid>` (`11-dm-mpath.rules`, `13-dm-disk.rules`).

use crate::scsi::wwid::Wwid;
use std::collections::HashMap;
use std::path::Path;

use crate::scsi::vpd::{self, association, designator_type, Designator};

use super::sysfs;

/// `wwn-0x...` from the first NAA designator of the logical unit.
pub fn wwn(designators: &[Designator]) -> Option<String> {
    designators
        .iter()
        .find(|d| d.association == association::LU && d.naa_type().is_some())
        .map(|d| format!("wwn-0x{}", vpd::hex(&d.designator)))
}

/// The names udev gives a SCSI disk with this WWID and these designators.
pub fn derive_disk(wwid: Option<&str>, designators: &[Designator]) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(w) = wwid {
        v.push(format!("scsi-{w}"));
    }
    if let Some(w) = wwn(designators) {
        v.push(w);
    } else if let Some(naa) = wwid.and_then(|w| w.strip_prefix('3')) {
        if matches!(naa.len(), 16 | 32) && naa.bytes().all(|b| b.is_ascii_hexdigit()) {
            v.push(format!("wwn-0x{naa}"));
        }
    }
    v
}

/// The names udev gives a multipath map.
pub fn derive_map(name: &str, wwid: &str) -> Vec<String> {
    let mut v = vec![
        format!("dm-name-{name}"),
        format!("dm-uuid-mpath-{wwid}"),
        format!("scsi-{wwid}"),
    ];
    if let Some(naa) = wwid.strip_prefix('3') {
        if matches!(naa.len(), 16 | 32) && naa.bytes().all(|b| b.is_ascii_hexdigit()) {
            v.push(format!("wwn-0x{naa}"));
        }
    }
    v
}

/// The WWID (udev form) from the sysfs `wwid` attribute's form
/// (`naa.6001405...`, `eui.0011...`, `t10.LIO-ORG ...`, `name....`).
pub fn wwid_from_sysfs_attr(s: &str) -> Option<Wwid> {
    let s = s.trim();
    let (digit, rest) = if let Some(r) = s.strip_prefix("naa.") {
        (designator_type::NAA, r.to_ascii_lowercase())
    } else if let Some(r) = s.strip_prefix("eui.") {
        (designator_type::EUI64, r.to_ascii_lowercase())
    } else if let Some(r) = s.strip_prefix("t10.") {
        (
            designator_type::T10,
            r.split_whitespace().collect::<Vec<_>>().join("_"),
        )
    } else {
        return None;
    };
    (!rest.is_empty()).then(|| Wwid::from(format!("{digit:x}{rest}")))
}

/// The links of a `/dev/disk/by-*` directory, read once per scan and
/// indexed by the kernel name each points at (asking the directory once per
/// device would read every link of the host for every device).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkIndex(Option<HashMap<String, Vec<String>>>);

impl LinkIndex {
    /// Reads `dir`; an index of nothing when the directory does not exist.
    pub fn read(dir: &Path) -> LinkIndex {
        if !dir.is_dir() {
            return LinkIndex(None);
        }
        let mut m: HashMap<String, Vec<String>> = HashMap::new();
        // list_dir is sorted, so each device's names are too.
        for l in sysfs::list_dir(dir) {
            if let Some(t) = sysfs::link_name(&dir.join(&l)) {
                m.entry(t).or_default().push(l);
            }
        }
        LinkIndex(Some(m))
    }

    /// True when the directory exists.
    pub fn exists(&self) -> bool {
        self.0.is_some()
    }

    /// The names whose link points at block device `name`, sorted; `None`
    /// when the directory does not exist, so the caller knows to derive
    /// the names instead.
    pub fn names(&self, name: &str) -> Option<Vec<String>> {
        self.0
            .as_ref()
            .map(|m| m.get(name).cloned().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysfs_wwid_forms() {
        assert_eq!(
            wwid_from_sysfs_attr("naa.6001405ABCDEF0123456789ABCDEF012\n").as_deref(),
            Some("36001405abcdef0123456789abcdef012")
        );
        assert_eq!(
            wwid_from_sysfs_attr("t10.LIO-ORG  fk0001").as_deref(),
            Some("1LIO-ORG_fk0001")
        );
        assert_eq!(wwid_from_sysfs_attr("naa."), None);
        assert_eq!(wwid_from_sysfs_attr("bogus"), None);
    }

    #[test]
    fn derived_names() {
        assert_eq!(
            derive_disk(Some("36001405abcdef0123456789abcdef012"), &[]),
            vec![
                "scsi-36001405abcdef0123456789abcdef012",
                "wwn-0x6001405abcdef0123456789abcdef012"
            ]
        );
        assert_eq!(
            derive_map("mpatha", "35000c500a1b2c3d4")[3],
            "wwn-0x5000c500a1b2c3d4"
        );
    }
}
