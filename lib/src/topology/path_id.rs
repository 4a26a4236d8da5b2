//! `/dev/disk/by-path` names, derived the way udev's `path_id` builtin
//! composes `ID_PATH` (systemd `src/udev/udev-builtin-path_id.c`), for hosts
//! and guests that run no udevd.
//!
//! The builtin walks from the device up its sysfs parents and prepends one
//! component per interesting parent: the SCSI transport (`fc-<wwpn>-lun-N`,
//! `sas-exp<addr>-phy<N>-lun-N`, `sas-phy<N>-lun-N`, `sas-<addr>-lun-N`,
//! `ip-<addr>:<port>-iscsi-<iqn>-lun-N`, `ata-N`, or the host-relative
//! `scsi-H:C:T:L`), then the bus (`pci-<slot>`, `platform-<name>`, ...);
//! virtio parents are skipped. A name is only produced when a parent bus
//! was recognised, as udev does. Partitions append `-partN`
//! (`60-persistent-storage.rules`).

use std::path::{Path, PathBuf};

use super::sysfs::{self, Memo};

/// udev's LUN component: `lun-N` for N < 256, otherwise the 64-bit LUN
/// rebuilt from Linux's 32-bit flat form (`lun-0x%04x%04x00000000`).
pub fn lun_component(lun: u64) -> String {
    if lun < 256 {
        format!("lun-{lun}")
    } else {
        format!(
            "lun-0x{:04x}{:04x}00000000",
            lun & 0xffff,
            (lun >> 16) & 0xffff
        )
    }
}

/// The trailing decimal digits of a sysfs name (udev's "sysnum").
fn sysnum(name: &str) -> Option<&str> {
    let start = name
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_digit())
        .last()
        .map(|(i, _)| i)?;
    Some(&name[start..])
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Finds the nearest ancestor of `dir` (inclusive) whose name satisfies `f`.
fn ancestor(dir: &Path, stop: &Path, f: impl Fn(&str) -> bool) -> Option<PathBuf> {
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d == stop {
            return None;
        }
        if f(&name_of(d)) {
            return Some(d.to_path_buf());
        }
        cur = d.parent();
    }
    None
}

struct Walk<'a> {
    sys: &'a Path,
    root: &'a sysfs::Root,
    top: PathBuf,
    path: Option<String>,
    supported_parent: bool,
    supported_transport: bool,
    /// The SCSI device the walk starts at: its subsystem (`scsi`) and
    /// devtype (`scsi_device`) are known, so they are not read (nor kept
    /// in the shared memo, which is for the parents devices share).
    device: PathBuf,
}

impl Walk<'_> {
    fn prepend(&mut self, s: String) {
        self.path = Some(match self.path.take() {
            Some(p) => format!("{s}-{p}"),
            None => s,
        });
    }

    fn lun(dev: &Path) -> Option<String> {
        let n = name_of(dev);
        let l: u64 = sysnum(&n)?.parse().ok()?;
        Some(lun_component(l))
    }

    fn class_attr(&self, class: &str, name: &str, attr: &str) -> Option<String> {
        let p = self.sys.join("class").join(class).join(name).join(attr);
        self.root.memo(Memo::Attr, &p)
    }

    /// `handle_scsi`: returns the device to continue from, or `None` to stop.
    fn scsi(&mut self, dev: &Path) -> Option<PathBuf> {
        if dev != self.device
            && self.root.memo(Memo::DevType, dev).as_deref() != Some("scsi_device")
        {
            return Some(dev.to_path_buf());
        }
        let rel = format!("/{}", self.root.relative(dev));
        if rel.contains("/rport-") {
            self.supported_parent = true;
            let target = ancestor(dev, &self.top, |n| n.starts_with("target"))?;
            let port = self.class_attr("fc_transport", &name_of(&target), "port_name")?;
            let lun = Self::lun(dev)?;
            self.prepend(format!("fc-{port}-{lun}"));
            return Some(dev.to_path_buf());
        }
        if rel.contains("/end_device-") {
            self.supported_parent = true;
            return self.sas(dev);
        }
        if rel.contains("/session") {
            self.supported_parent = true;
            let session = ancestor(dev.parent()?, &self.top, |n| n.starts_with("session"))?;
            let sname = name_of(&session);
            let target = self.class_attr("iscsi_session", &sname, "targetname")?;
            let conn = format!("connection{}:0", sysnum(&sname)?);
            let addr = self.class_attr("iscsi_connection", &conn, "persistent_address")?;
            let port = self.class_attr("iscsi_connection", &conn, "persistent_port")?;
            let lun = Self::lun(dev)?;
            self.prepend(format!("ip-{addr}:{port}-iscsi-{target}-{lun}"));
            return Some(dev.to_path_buf());
        }
        if rel.contains("/ata") {
            let host = ancestor(dev, &self.top, |n| n.starts_with("host"))?;
            let port_parent = host.parent()?;
            let port = self.class_attr("ata_port", &name_of(port_parent), "port_no")?;
            self.prepend(format!("ata-{port}"));
            return Some(dev.to_path_buf());
        }
        // handle_scsi_default: the host number rebased to the lowest host
        // number under the same parent device.
        let host = ancestor(dev, &self.top, |n| {
            n.starts_with("host") && n[4..].bytes().all(|b| b.is_ascii_digit()) && n.len() > 4
        })?;
        let hctl: super::Hctl = name_of(dev).parse().ok()?;
        let base = sysfs::list_dir(host.parent()?)
            .iter()
            .filter_map(|n| n.strip_prefix("host").and_then(|d| d.parse::<u32>().ok()))
            .min();
        let Some(base) = base else {
            return Some(host);
        };
        self.prepend(format!(
            "scsi-{}:{}:{}:{}",
            hctl.host.wrapping_sub(base),
            hctl.channel,
            hctl.target,
            hctl.lun
        ));
        Some(host)
    }

    fn sas(&mut self, dev: &Path) -> Option<PathBuf> {
        let target = ancestor(dev, &self.top, |n| n.starts_with("target"))?;
        let end_dev = target.parent()?;
        let end_name = name_of(end_dev);
        let lun = Self::lun(dev)?;
        // sas_device class entry of the end device must exist.
        let class_ok = self.sys.join("class/sas_device").join(&end_name).exists();
        if !class_ok {
            return None;
        }
        let port = end_dev.parent()?;
        let num_phys = self.class_attr("sas_port", &name_of(port), "num_phys")?;
        if num_phys != "1" {
            let addr = self.class_attr("sas_device", &end_name, "sas_address")?;
            self.prepend(format!("sas-{addr}-{lun}"));
            return Some(dev.to_path_buf());
        }
        let phy = self.class_attr("sas_device", &end_name, "phy_identifier")?;
        let expander = port.parent()?;
        let exp_name = name_of(expander);
        let exp_addr = if self.sys.join("class/sas_device").join(&exp_name).exists() {
            Some(self.class_attr("sas_device", &exp_name, "sas_address")?)
        } else {
            None
        };
        match exp_addr {
            Some(a) => self.prepend(format!("sas-exp{a}-phy{phy}-{lun}")),
            None => self.prepend(format!("sas-phy{phy}-{lun}")),
        }
        Some(dev.to_path_buf())
    }

    fn skip(&self, dev: &Path, subsys: &str) -> PathBuf {
        let mut d = dev.to_path_buf();
        while let Some(p) = d.parent() {
            if p == self.top || self.root.memo(Memo::Subsystem, p).as_deref() != Some(subsys) {
                break;
            }
            d = p.to_path_buf();
        }
        d
    }
}

/// The `ID_PATH` of the SCSI device whose canonical sysfs directory is
/// `device_dir`, or `None` where udev would give none.
pub fn derive(sys: &Path, device_dir: &Path) -> Option<String> {
    derive_in(&sysfs::Root::new(sys), device_dir)
}

/// [`derive`] under a sysfs root resolved once for many devices.
pub fn derive_in(root: &sysfs::Root, device_dir: &Path) -> Option<String> {
    let top = root.devices()?.to_path_buf();
    let mut w = Walk {
        sys: root.path(),
        root,
        top: top.clone(),
        path: None,
        supported_parent: false,
        supported_transport: false,
        device: device_dir.to_path_buf(),
    };
    let mut cur = Some(device_dir.to_path_buf());
    while let Some(d) = cur {
        if d == top || !d.starts_with(&top) {
            break;
        }
        let name = name_of(&d);
        let subsystem = if d == device_dir {
            Some("scsi".to_string())
        } else {
            root.memo(Memo::Subsystem, &d)
        };
        let next = match subsystem.as_deref() {
            Some("scsi") => {
                w.supported_transport = true;
                w.scsi(&d)
            }
            Some("pci") => {
                w.prepend(format!("pci-{name}"));
                w.supported_parent = true;
                Some(w.skip(&d, "pci"))
            }
            Some("platform") => {
                w.prepend(format!("platform-{name}"));
                w.supported_parent = true;
                w.supported_transport = true;
                Some(w.skip(&d, "platform"))
            }
            Some("acpi") => {
                w.prepend(format!("acpi-{name}"));
                w.supported_parent = true;
                Some(w.skip(&d, "acpi"))
            }
            Some("xen") => {
                w.prepend(format!("xen-{name}"));
                w.supported_parent = true;
                Some(w.skip(&d, "xen"))
            }
            Some("virtio") => {
                w.supported_transport = true;
                Some(w.skip(&d, "virtio"))
            }
            _ => Some(d.clone()),
        };
        cur = next.and_then(|n| n.parent().map(Path::to_path_buf));
    }
    if !w.supported_parent || !w.supported_transport {
        return None;
    }
    w.path
}

/// The by-path name of partition `number` of a disk whose by-path is `disk`.
pub fn partition(disk: &str, number: u32) -> String {
    format!("{disk}-part{number}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lun_numbers() {
        assert_eq!(lun_component(0), "lun-0");
        assert_eq!(lun_component(255), "lun-255");
        assert_eq!(lun_component(256), "lun-0x0100000000000000");
        assert_eq!(lun_component(0x4001_0203), "lun-0x0203400100000000");
    }

    #[test]
    fn sysnums() {
        assert_eq!(sysnum("session12"), Some("12"));
        assert_eq!(sysnum("1:0:0:17"), Some("17"));
        assert_eq!(sysnum("host"), None);
    }
}
