//! Inside the guest: whether each disk is the pass-through LUN the host
//! meant, and whether it can carry fencing (`vmguest-attach verify`).
//!
//! For every disk the guest has (or the ones named): how it is attached
//! (virtio-scsi pass-through, QEMU's emulated `scsi-hd`, virtio-blk, or a
//! SCSI host of another kind such as the guest's own iSCSI initiator), its
//! sg node, INQUIRY vendor and product, the WWID from VPD page 0x83, and
//! whether PERSISTENT RESERVE IN is accepted (READ KEYS, REPORT
//! CAPABILITIES), all read with [`fence::verify::gather`](crate::fence::verify::gather)
//! and judged by [`fence::verify::assess`](crate::fence::verify::assess)
//! plus the checks of this module. Nothing is written: the guest-side
//! check is read-only (the two-node test is `fence::verify::pair`).
//!
//! With the host's `vmguest-attach list --json` ([`expected_from_list`])
//! or a WWID, each LUN the host attached must be found among the guest's
//! disks, with as many paths as the host gave it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::fence::verify::{self, check, Check, Facts, State};
use crate::paths::{Opener, Unit};

/// How a disk reaches the guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "driver")]
pub enum Attachment {
    /// virtio-scsi with SCSI commands passed to the LUN (`scsi-block`,
    /// libvirt's `device='lun'`).
    PassThrough,
    /// QEMU's emulated SCSI disk (`scsi-hd`, libvirt's `device='disk'` on
    /// a SCSI bus): INQUIRY says `QEMU QEMU HARDDISK`, PR is refused.
    Emulated,
    /// virtio-blk: no SCSI at all.
    VirtioBlk,
    /// A SCSI host of another driver (its `proc_name`: `iscsi_tcp` for the
    /// guest's own iSCSI initiator, `tcm_loopback`, ...).
    Other(String),
    /// The driver could not be read.
    Unknown,
}

impl std::fmt::Display for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Attachment::PassThrough => f.write_str("virtio-scsi pass-through (scsi-block)"),
            Attachment::Emulated => f.write_str("virtio-scsi emulated disk (scsi-hd)"),
            Attachment::VirtioBlk => f.write_str("virtio-blk"),
            Attachment::Other(d) => write!(f, "SCSI host {d}"),
            Attachment::Unknown => f.write_str("unknown driver"),
        }
    }
}

/// Judges the attachment from the facts: a virtio-blk disk, the SCSI
/// host's driver (`proc_name`), and the INQUIRY vendor and product.
pub fn classify(
    virtio_blk: bool,
    host_driver: Option<&str>,
    vendor: Option<&str>,
    product: Option<&str>,
) -> Attachment {
    if virtio_blk {
        return Attachment::VirtioBlk;
    }
    let emulated = vendor == Some("QEMU") && product.is_some_and(|p| p.starts_with("QEMU "));
    match host_driver {
        Some("virtio_scsi") if emulated => Attachment::Emulated,
        Some("virtio_scsi") => Attachment::PassThrough,
        Some(d) => Attachment::Other(d.to_string()),
        None if emulated => Attachment::Emulated,
        None => Attachment::Unknown,
    }
}

/// The block devices of a guest that may be shared disks: `sd*` and `vd*`
/// under `<sys>/block`, sorted by name (`sdb` before `sdaa`).
pub fn disks(sys: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(sys.join("block")) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("sd") || n.starts_with("vd"))
        .map(|n| format!("/dev/{n}"))
        .collect();
    v.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
    v
}

fn base(dev: &str) -> String {
    let real = std::fs::canonicalize(dev).unwrap_or_else(|_| dev.into());
    real.file_name()
        .map(|b| b.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The sg node of a SCSI disk (`<sys>/block/<name>/device/scsi_generic`).
pub fn sg_of(dev: &str, sys: &Path) -> Option<String> {
    let dir = sys
        .join("block")
        .join(base(dev))
        .join("device/scsi_generic");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.first().map(|n| format!("/dev/{n}"))
}

/// The driver of the SCSI host a disk hangs off: the `hostN` component of
/// its sysfs device path, and that host's `proc_name`.
pub fn host_driver(dev: &str, sys: &Path) -> Option<String> {
    // `device` is a relative link (`../../../0:0:0:0`) whose target lies
    // under the SCSI host: resolve it whole.
    let link = std::fs::canonicalize(sys.join("block").join(base(dev)).join("device")).ok()?;
    let host = link.iter().find_map(|c| {
        let c = c.to_string_lossy();
        let n = c.strip_prefix("host")?;
        (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then(|| c.into_owned())
    })?;
    let name =
        std::fs::read_to_string(sys.join("class/scsi_host").join(host).join("proc_name")).ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// What was learnt about one disk in the guest.
#[derive(Debug, Clone, Serialize)]
pub struct GuestDisk {
    /// The device.
    pub device: String,
    /// Its sg node.
    pub sg: Option<String>,
    /// The SCSI host's driver.
    pub host_driver: Option<String>,
    /// How it is attached.
    pub attachment: Attachment,
    /// Unit serial number (VPD page 0x80).
    pub serial: Option<String>,
    /// Capacity in bytes.
    pub size_bytes: Option<u64>,
    /// INQUIRY, VPD 0x83 and PR IN, as fencectl verify reads them.
    pub facts: Facts,
}

impl GuestDisk {
    /// The WWID the disk reports.
    pub fn wwid(&self) -> Option<&str> {
        self.facts
            .path_wwids
            .first()
            .and_then(|p| p.wwid.as_ref())
            .map(|w| w.as_str())
    }
}

/// Reads one disk: never writes (no PR OUT, no data).
pub fn inspect<O: Opener>(opener: &O, dev: &str, sys: &Path) -> GuestDisk {
    let facts = verify::gather(opener, &Unit::single(dev), sys, verify::WriteTest::Never);
    let drv = host_driver(dev, sys);
    // INQUIRY and the VPD pages were read by gather; only the capacity
    // is asked here.
    let size_bytes = opener
        .open(Path::new(dev))
        .and_then(|d| d.read_capacity())
        .ok()
        .map(|c| c.bytes());
    GuestDisk {
        device: dev.to_string(),
        sg: sg_of(dev, sys),
        attachment: classify(
            facts.virtio_blk,
            drv.as_deref(),
            facts.vendor.as_deref(),
            facts.product.as_deref(),
        ),
        host_driver: drv,
        serial: facts.serial.clone(),
        size_bytes,
        facts,
    }
}

/// Judges one disk: fencectl verify's checks, then the attachment and the
/// sg node.
pub fn assess(d: &GuestDisk) -> Vec<Check> {
    let mut v = verify::assess(&d.facts);
    // register-test-key is fencectl's write test; verify here is read-only.
    v.retain(|c| c.name != "register-test-key");
    v.push(match &d.attachment {
        Attachment::PassThrough => check("pass-through", State::Pass, d.attachment.to_string()),
        Attachment::Other(drv) => check(
            "pass-through",
            State::Skip,
            format!("SCSI host {drv}: not a virtio-scsi disk (the guest's own initiator?)"),
        ),
        Attachment::Unknown => check("pass-through", State::Skip, "the driver could not be read"),
        Attachment::Emulated => check(
            "pass-through",
            State::Fail,
            "QEMU emulates this disk (scsi-hd): attach the LUN with device='lun' so that QEMU uses scsi-block",
        ),
        Attachment::VirtioBlk => check(
            "pass-through",
            State::Fail,
            "a virtio-blk disk: attach the LUN with device='lun' on a virtio-scsi controller",
        ),
    });
    v.push(match (&d.sg, &d.attachment) {
        (Some(sg), _) => check("sg-node", State::Pass, sg.clone()),
        (None, Attachment::VirtioBlk) => check("sg-node", State::Fail, "virtio-blk has no sg node"),
        (None, _) => check(
            "sg-node",
            State::Fail,
            "no sg node (is the sg module loaded?)",
        ),
    });
    v
}

/// A LUN the host attached, as its `list --json` records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Expected {
    /// The domain it was attached to.
    pub domain: String,
    /// WWID, when the host knew it.
    pub wwid: Option<String>,
    /// Unit serial number.
    pub serial: Option<String>,
    /// Vendor.
    pub vendor: Option<String>,
    /// Product.
    pub product: Option<String>,
    /// Capacity in bytes.
    pub size_bytes: Option<u64>,
    /// The host's source names (one per disk: paths mode has several).
    pub sources: Vec<String>,
    /// The mode (`map`, `paths`, `lun`).
    pub mode: Option<String>,
}

/// Why an expectation file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ExpectError {
    /// Not JSON.
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Not the shape `list --json` prints.
    #[error("not the output of vmguest-attach list --json: {0}")]
    Shape(String),
    /// More than one domain and none chosen.
    #[error("the file lists the domains {0}; choose one with --domain")]
    Ambiguous(String),
    /// The chosen domain is not in the file.
    #[error("domain {0} is not in the file")]
    NoDomain(String),
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The LUNs the host attached to `domain` (or to the only domain in the
/// file), from `vmguest-attach list --json`: an array of domains, or an
/// object whose `domains` is that array. Disks of one LUN (same WWID, or
/// the same record) are one [`Expected`] with several sources.
pub fn expected_from_list(
    text_in: &str,
    domain: Option<&str>,
) -> Result<Vec<Expected>, ExpectError> {
    let v: Value = serde_json::from_str(text_in)?;
    let doms = match &v {
        Value::Array(a) => a,
        Value::Object(o) => o
            .get("domains")
            .and_then(Value::as_array)
            .ok_or_else(|| ExpectError::Shape("an object without a \"domains\" array".into()))?,
        _ => return Err(ExpectError::Shape("neither an array nor an object".into())),
    };
    let named: Vec<(String, &Value)> = doms
        .iter()
        .map(|d| {
            text(d, "domain")
                .map(|n| (n, d))
                .ok_or_else(|| ExpectError::Shape("a domain without a \"domain\" name".into()))
        })
        .collect::<Result<_, _>>()?;
    let chosen: Vec<&(String, &Value)> = match domain {
        Some(n) => {
            let c: Vec<_> = named.iter().filter(|(m, _)| m == n).collect();
            if c.is_empty() {
                return Err(ExpectError::NoDomain(n.to_string()));
            }
            c
        }
        None => {
            let with: Vec<_> = named
                .iter()
                .filter(|(_, d)| {
                    d.get("disks")
                        .and_then(Value::as_array)
                        .is_some_and(|a| !a.is_empty())
                })
                .collect();
            if with.len() > 1 {
                let names: Vec<&str> = with.iter().map(|(n, _)| n.as_str()).collect();
                return Err(ExpectError::Ambiguous(names.join(", ")));
            }
            with
        }
    };
    let mut out: Vec<Expected> = Vec::new();
    for (name, d) in chosen {
        let disks = d
            .get("disks")
            .and_then(Value::as_array)
            .ok_or_else(|| ExpectError::Shape(format!("domain {name}: no \"disks\" array")))?;
        for disk in disks {
            let lun = disk.get("lun").cloned().unwrap_or(Value::Null);
            let source = text(disk, "source").unwrap_or_default();
            let e = Expected {
                domain: name.clone(),
                wwid: text(&lun, "wwid"),
                serial: text(&lun, "serial"),
                vendor: text(&lun, "vendor"),
                product: text(&lun, "product"),
                size_bytes: lun.get("size_bytes").and_then(Value::as_u64),
                sources: vec![source],
                mode: text(disk, "mode").or_else(|| text(&lun, "mode")),
            };
            let same = out.iter_mut().find(|x| {
                x.domain == e.domain
                    && e.wwid.is_some()
                    && x.wwid == e.wwid
                    && x.mode.as_deref() == Some("paths")
            });
            match same {
                Some(x) => x.sources.extend(e.sources),
                None => out.push(e),
            }
        }
    }
    Ok(out)
}

/// Whether a guest disk is the LUN `e` describes: the WWID when the host
/// knew it, else the serial, else vendor, product and size together.
fn is_lun(d: &GuestDisk, e: &Expected) -> Option<bool> {
    if let Some(w) = &e.wwid {
        return Some(d.wwid() == Some(w.as_str()));
    }
    if let Some(s) = &e.serial {
        return Some(d.serial.as_deref() == Some(s.as_str()));
    }
    match (&e.vendor, &e.product, e.size_bytes) {
        (Some(v), Some(p), Some(sz)) => Some(
            d.facts.vendor.as_deref() == Some(v.as_str())
                && d.facts.product.as_deref() == Some(p.as_str())
                && d.size_bytes == Some(sz),
        ),
        _ => None,
    }
}

/// The check of one expected LUN against the guest's disks: found, and
/// in paths mode with as many paths as the host attached.
pub fn match_expected(disks: &[GuestDisk], e: &Expected) -> Check {
    let what = e
        .wwid
        .clone()
        .or_else(|| e.serial.as_ref().map(|s| format!("serial {s}")))
        .or_else(|| e.sources.first().cloned())
        .unwrap_or_else(|| "?".into());
    let mut unknown = false;
    let found: Vec<&GuestDisk> = disks
        .iter()
        .filter(|d| match is_lun(d, e) {
            Some(b) => b,
            None => {
                unknown = true;
                false
            }
        })
        .collect();
    if unknown {
        return check(
            "expected-lun",
            State::Skip,
            format!(
                "{what}: the host recorded no WWID, serial, or vendor, product and size to compare"
            ),
        );
    }
    let names: Vec<&str> = found.iter().map(|d| d.device.as_str()).collect();
    if found.is_empty() {
        let seen: Vec<String> = disks
            .iter()
            .map(|d| format!("{}={}", d.device, d.wwid().unwrap_or("?")))
            .collect();
        return check(
            "expected-lun",
            State::Fail,
            format!(
                "{what} (attached to {} by the host) is not among the guest's disks ({})",
                e.domain,
                if seen.is_empty() {
                    "none".to_string()
                } else {
                    seen.join(" ")
                }
            ),
        );
    }
    let want = if e.mode.as_deref() == Some("paths") {
        e.sources.len()
    } else {
        1
    };
    if found.len() != want {
        return check(
            "expected-lun",
            State::Fail,
            format!(
                "{what}: the host attached {want} disk(s), the guest sees {} ({})",
                found.len(),
                names.join(" ")
            ),
        );
    }
    check(
        "expected-lun",
        State::Pass,
        format!("{what} is {}", names.join(" ")),
    )
}

/// The guest's disks grouped by WWID (disks without one are left out):
/// the paths the guest sees of each LUN.
pub fn paths_by_wwid(disks: &[GuestDisk]) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for d in disks {
        if let Some(w) = d.wwid() {
            m.entry(w.to_string()).or_default().push(d.device.clone());
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fence::verify::PathWwid;
    use crate::scsi::wwid::Wwid;

    fn disk(dev: &str, wwid: Option<&str>, att: Attachment) -> GuestDisk {
        GuestDisk {
            device: dev.into(),
            sg: Some("/dev/sg1".into()),
            host_driver: Some("virtio_scsi".into()),
            attachment: att,
            serial: Some(format!("sn-{dev}")),
            size_bytes: Some(64 << 20),
            facts: Facts {
                device: dev.into(),
                vendor: Some("FENCEKIT".into()),
                product: Some("TGT-LUN".into()),
                path_wwids: vec![PathWwid {
                    path: dev.into(),
                    wwid: wwid.map(|w| Wwid::from(w.to_string())),
                }],
                pr_in: Some(Ok(0)),
                ..Facts::default()
            },
        }
    }

    fn state(c: &[Check], name: &str) -> State {
        c.iter()
            .find(|c| c.name == name)
            .map(|c| c.state)
            .unwrap_or(State::Skip)
    }

    #[test]
    fn attachments_are_told_apart() {
        assert_eq!(
            classify(
                false,
                Some("virtio_scsi"),
                Some("FENCEKIT"),
                Some("TGT-LUN")
            ),
            Attachment::PassThrough
        );
        assert_eq!(
            classify(
                false,
                Some("virtio_scsi"),
                Some("QEMU"),
                Some("QEMU HARDDISK")
            ),
            Attachment::Emulated
        );
        assert_eq!(classify(true, None, None, None), Attachment::VirtioBlk);
        assert_eq!(
            classify(false, Some("iscsi_tcp"), Some("LIO-ORG"), Some("x")),
            Attachment::Other("iscsi_tcp".into())
        );
        assert_eq!(classify(false, None, None, None), Attachment::Unknown);
    }

    #[test]
    fn emulated_and_virtio_blk_disks_fail_with_the_way_out() {
        let ok = assess(&disk("/dev/sda", Some("3600"), Attachment::PassThrough));
        assert_eq!(state(&ok, "pass-through"), State::Pass);
        assert!(verify::passed(&ok), "{ok:?}");
        let hd = assess(&disk("/dev/sda", Some("3600"), Attachment::Emulated));
        assert_eq!(state(&hd, "pass-through"), State::Fail);
        assert!(hd.iter().any(|c| c.detail.contains("device='lun'")));
        let mut vd = disk("/dev/vda", None, Attachment::VirtioBlk);
        vd.sg = None;
        let vd = assess(&vd);
        assert_eq!(state(&vd, "pass-through"), State::Fail);
        assert_eq!(state(&vd, "sg-node"), State::Fail);
        // verify here never writes: no register-test-key check.
        assert!(ok.iter().all(|c| c.name != "register-test-key"));
    }

    const LIST: &str = r#"[
      {"domain": "a", "disks": [
        {"target": "sdb", "device": "lun", "source": "/dev/disk/by-path/p1", "mode": "paths",
         "lun": {"wwid": "36001405aa", "mode": "paths"}, "findings": []},
        {"target": "sdc", "device": "lun", "source": "/dev/disk/by-path/p2", "mode": "paths",
         "lun": {"wwid": "36001405aa", "mode": "paths"}, "findings": []}
      ], "findings": []},
      {"domain": "b", "disks": [], "findings": []}
    ]"#;

    #[test]
    fn the_list_of_the_host_gives_the_luns_and_their_paths() {
        let e = expected_from_list(LIST, None).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].wwid.as_deref(), Some("36001405aa"));
        assert_eq!(e[0].sources.len(), 2);
        // The object form too.
        let obj = format!(r#"{{"host": "h1", "domains": {LIST}}}"#);
        assert_eq!(expected_from_list(&obj, Some("a")).unwrap(), e);
        assert!(matches!(
            expected_from_list(LIST, Some("zz")),
            Err(ExpectError::NoDomain(_))
        ));
        assert!(matches!(
            expected_from_list("{}", None),
            Err(ExpectError::Shape(_))
        ));
        assert!(matches!(
            expected_from_list("[1]", None),
            Err(ExpectError::Shape(_))
        ));
        assert!(expected_from_list("nope", None).is_err());
    }

    #[test]
    fn two_domains_with_disks_need_a_choice() {
        let two = r#"[{"domain":"a","disks":[{"source":"x","lun":{"wwid":"1"}}]},
                      {"domain":"b","disks":[{"source":"y","lun":{"wwid":"2"}}]}]"#;
        assert!(matches!(
            expected_from_list(two, None),
            Err(ExpectError::Ambiguous(_))
        ));
        assert_eq!(
            expected_from_list(two, Some("b")).unwrap()[0]
                .wwid
                .as_deref(),
            Some("2")
        );
    }

    #[test]
    fn the_expected_lun_is_found_with_all_its_paths() {
        let e = &expected_from_list(LIST, None).unwrap()[0];
        let both = [
            disk("/dev/sda", Some("36001405aa"), Attachment::PassThrough),
            disk("/dev/sdb", Some("36001405aa"), Attachment::PassThrough),
        ];
        assert_eq!(match_expected(&both, e).state, State::Pass);
        // One path missing in the guest.
        let c = match_expected(&both[..1], e);
        assert_eq!(c.state, State::Fail);
        assert!(c.detail.contains("attached 2"), "{}", c.detail);
        // Another LUN.
        let other = [disk(
            "/dev/sda",
            Some("36001405bb"),
            Attachment::PassThrough,
        )];
        let c = match_expected(&other, e);
        assert_eq!(c.state, State::Fail);
        assert!(c.detail.contains("/dev/sda=36001405bb"), "{}", c.detail);
    }

    #[test]
    fn without_a_wwid_the_serial_or_vendor_product_and_size_decide() {
        let d = [disk("/dev/sda", None, Attachment::PassThrough)];
        let by_serial = Expected {
            serial: Some("sn-/dev/sda".into()),
            ..Expected::default()
        };
        assert_eq!(match_expected(&d, &by_serial).state, State::Pass);
        let by_model = Expected {
            vendor: Some("FENCEKIT".into()),
            product: Some("TGT-LUN".into()),
            size_bytes: Some(64 << 20),
            ..Expected::default()
        };
        assert_eq!(match_expected(&d, &by_model).state, State::Pass);
        let smaller = Expected {
            size_bytes: Some(1 << 20),
            ..by_model
        };
        assert_eq!(match_expected(&d, &smaller).state, State::Fail);
        assert_eq!(match_expected(&d, &Expected::default()).state, State::Skip);
    }

    #[test]
    fn drivers_and_sg_nodes_are_read_from_sysfs() {
        let t = std::env::temp_dir().join(format!("fk-guest-{}", std::process::id()));
        let dev = t.join("devices/pci0/virtio1/host2/target2:0:0/2:0:0:1");
        std::fs::create_dir_all(dev.join("scsi_generic/sg3")).unwrap();
        std::fs::create_dir_all(t.join("block/sdq")).unwrap();
        std::fs::create_dir_all(t.join("block/vdz")).unwrap();
        std::fs::create_dir_all(t.join("block/loop0")).unwrap();
        // As the kernel has it: /sys/block/X is a link into /sys/devices,
        // and device is relative to that.
        std::fs::create_dir_all(dev.join("block/sdq")).unwrap();
        std::fs::remove_dir_all(t.join("block/sdq")).unwrap();
        std::os::unix::fs::symlink(dev.join("block/sdq"), t.join("block/sdq")).unwrap();
        std::os::unix::fs::symlink("../../../2:0:0:1", dev.join("block/sdq/device")).unwrap();
        std::fs::create_dir_all(t.join("class/scsi_host/host2")).unwrap();
        std::fs::write(t.join("class/scsi_host/host2/proc_name"), "virtio_scsi\n").unwrap();
        assert_eq!(host_driver("/dev/sdq", &t).as_deref(), Some("virtio_scsi"));
        assert_eq!(sg_of("/dev/sdq", &t).as_deref(), Some("/dev/sg3"));
        assert_eq!(host_driver("/dev/vdz", &t), None);
        assert_eq!(
            disks(&t),
            vec!["/dev/sdq".to_string(), "/dev/vdz".to_string()]
        );
        std::fs::remove_dir_all(&t).unwrap();
    }

    proptest::proptest! {
        /// The host's list is untrusted input in the guest.
        #[test]
        fn the_expectation_reader_never_panics(text in "\\PC{0,300}", dom in proptest::option::of("[a-b]")) {
            let _ = expected_from_list(&text, dom.as_deref());
        }

        #[test]
        fn a_damaged_list_never_panics(cut in 0usize..800, piece in "[\\[\\]{}\",:0-9a-z ]{0,10}") {
            let mut x = LIST.to_string();
            let at = cut.min(x.len());
            x.insert_str(at, &piece);
            if let Ok(e) = expected_from_list(&x, None) {
                let d = [disk("/dev/sda", Some("36001405aa"), Attachment::PassThrough)];
                for one in &e {
                    let _ = match_expected(&d, one);
                }
            }
        }
    }
}
