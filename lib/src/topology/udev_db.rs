//! Names from udev's database (the `udev` crate, libudev): the `DEVLINKS`
//! udev recorded for each block device, which hold its `/dev/disk/by-path`
//! and `/dev/disk/by-id` names. Where the database exists (a host running
//! udevd, `/run/udev/data`) these are the names; where it does not, the
//! scan reads the links under the device directory or derives them from
//! sysfs as udev's rules would ([`super::path_id`], [`super::by_id`]). Both
//! give the same model; the test bed checks that by starting udevd.

use std::collections::HashMap;
use std::path::Path;

/// `DEVLINKS` of every block device udev knows, by kernel name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UdevLinks(HashMap<String, Vec<String>>);

/// Where udevd keeps its database.
pub const DATABASE: &str = "/run/udev/data";

impl UdevLinks {
    /// Reads the database of the running system; `None` when there is
    /// none (no udevd) or libudev cannot enumerate block devices.
    pub fn read() -> Option<UdevLinks> {
        if !Path::new(DATABASE).is_dir() {
            return None;
        }
        let mut e = udev::Enumerator::new().ok()?;
        e.match_subsystem("block").ok()?;
        let mut m = HashMap::new();
        for d in e.scan_devices().ok()? {
            let Some(links) = d.property_value("DEVLINKS") else {
                continue;
            };
            let links: Vec<String> = links
                .to_string_lossy()
                .split_whitespace()
                .map(str::to_string)
                .collect();
            if !links.is_empty() {
                m.insert(d.sysname().to_string_lossy().into_owned(), links);
            }
        }
        Some(UdevLinks(m))
    }

    /// Builds the table from `(kernel name, DEVLINKS value)` pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> UdevLinks {
        UdevLinks(
            pairs
                .into_iter()
                .map(|(n, l)| {
                    (
                        n.to_string(),
                        l.split_whitespace().map(str::to_string).collect(),
                    )
                })
                .filter(|(_, l): &(String, Vec<String>)| !l.is_empty())
                .collect(),
        )
    }

    /// The names of device `name` under `/dev/disk/<kind>/` (`by-path`,
    /// `by-id`), sorted; `None` when udev recorded no links at all for the
    /// device (then the caller falls back to the directory or derivation).
    pub fn names(&self, name: &str, kind: &str) -> Option<Vec<String>> {
        let links = self.0.get(name)?;
        let prefix = format!("/dev/disk/{kind}/");
        let mut v: Vec<String> = links
            .iter()
            .filter_map(|l| l.strip_prefix(&prefix))
            .filter(|n| !n.is_empty() && !n.contains('/'))
            .map(str::to_string)
            .collect();
        v.sort();
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_by_kind() {
        let u = UdevLinks::from_pairs([
            (
                "sdb",
                "/dev/disk/by-id/wwn-0x6001405abc /dev/disk/by-path/pci-0000:00:05.0-scsi-0:0:1:0 /dev/disk/by-id/scsi-36001405abc",
            ),
            ("sdc", ""),
        ]);
        assert_eq!(
            u.names("sdb", "by-id").unwrap(),
            vec!["scsi-36001405abc", "wwn-0x6001405abc"]
        );
        assert_eq!(
            u.names("sdb", "by-path").unwrap(),
            vec!["pci-0000:00:05.0-scsi-0:0:1:0"]
        );
        assert_eq!(u.names("sdb", "by-uuid").unwrap(), Vec::<String>::new());
        assert_eq!(u.names("sdc", "by-id"), None);
        assert_eq!(u.names("sdd", "by-id"), None);
    }
}
