//! Reading the model from sysfs.
//!
//! SCSI devices are listed from `/sys/class/scsi_device` (or
//! `/sys/bus/scsi/devices`); each one's canonical directory gives the
//! inquiry strings (`vendor`, `model`, `rev`, `type`), `state`,
//! `queue_depth`, the identity (`vpd_pg83` through
//! [`crate::scsi::vpd::decode_device_identification`] and
//! [`crate::scsi::vpd::wwid`], else the `wwid` attribute; `vpd_pg80` for
//! the serial), the upper devices (`block/sdX`, `scsi_generic/sgN`) and,
//! from the path itself, the transport (`rport-` FC, `session` iSCSI,
//! `end_device-` SAS, `virtioN` virtio-scsi). Devices with the same WWID
//! are one logical unit. When sysfs lacks the identity, an
//! [`IdentitySource`] may ask the device itself (SG_IO INQUIRY).

use crate::scsi::wwid::Wwid;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::scsi::device::Device;
use crate::scsi::sgio::{OpenMode, SgIo};
use crate::scsi::vpd::{self, Designator};
use crate::util::fanout::par_chunks;

use super::dm::{self, Mounts};
use super::mpath_ll::{format_size, MpPath, MultipathMap, PathGroup};
use super::{by_id, path_id, sysfs};
use super::{Hctl, Lun, RawIdent, Roots, ScsiPath, Topology, TopologyError, Transport};

/// The fewest devices a scan gives one thread.
const MIN_CHUNK: usize = 256;

/// What a device says about itself when asked directly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// Vendor, product and revision, as sysfs would hold them (padded).
    pub vendor: Option<String>,
    /// Product identification.
    pub model: Option<String>,
    /// Revision.
    pub revision: Option<String>,
    /// Device Identification designators.
    pub designators: Vec<Designator>,
    /// Unit serial number.
    pub serial: Option<String>,
}

/// A way to learn a device's identity when sysfs does not have it (asked
/// from several threads at once when there are many devices).
pub trait IdentitySource: Sync {
    /// Identity of the device at `node` (an sg or sd node), if it can be had.
    fn identify(&self, node: &Path) -> Option<Identity>;
}

/// Never asks a device: the model holds what sysfs says, nothing more.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDeviceQuery;

impl IdentitySource for NoDeviceQuery {
    fn identify(&self, _node: &Path) -> Option<Identity> {
        None
    }
}

/// Asks the device through SG_IO: standard INQUIRY, VPD 0x83 and 0x80,
/// opening the node read-only.
#[derive(Debug, Clone, Copy, Default)]
pub struct SgIoQuery;

impl IdentitySource for SgIoQuery {
    fn identify(&self, node: &Path) -> Option<Identity> {
        let dev = Device::new(SgIo::open(node, OpenMode::ReadOnly).ok()?);
        let inq = dev.inquiry().ok()?;
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Some(Identity {
            vendor: Some(text(&inq.vendor)),
            model: Some(text(&inq.product)),
            revision: Some(text(&inq.revision)),
            designators: dev.device_identification().unwrap_or_default(),
            serial: dev.unit_serial().ok(),
        })
    }
}

/// What a scan reads besides sysfs and /dev.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// A mountinfo file (normally `/proc/self/mountinfo`); `None` for no
    /// mount information.
    pub mountinfo: Option<PathBuf>,
    /// udev's database; when set, a device's by-path and by-id names are
    /// the links udev recorded for it (devices without any fall back to
    /// the device directory and derivation).
    pub udev: Option<super::udev_db::UdevLinks>,
}

struct Found {
    path: ScsiPath,
    device_type: Option<u8>,
    wwid: Option<Wwid>,
    designators: Vec<Designator>,
    serial: Option<String>,
    size_bytes: Option<u64>,
    lbs: Option<u32>,
    pbs: Option<u32>,
}

fn u32_attr(p: &Path) -> Option<u32> {
    sysfs::read_u64(p).and_then(|v| u32::try_from(v).ok())
}

fn transport(root: &sysfs::Root, dir: &Path, hctl: &Hctl) -> Transport {
    let sys = root.path();
    let rel = format!("/{}", root.relative(dir));
    let class = |c: &str, n: &str, a: &str| {
        root.memo(
            sysfs::Memo::Attr,
            &sys.join("class").join(c).join(n).join(a),
        )
    };
    let target = format!("target{}:{}:{}", hctl.host, hctl.channel, hctl.target);
    let host = format!("host{}", hctl.host);
    if rel.contains("/rport-") {
        return Transport::Fc {
            host_wwpn: class("fc_host", &host, "port_name"),
            target_wwpn: class("fc_transport", &target, "port_name"),
            port_id: class("fc_transport", &target, "port_id"),
        };
    }
    if rel.contains("/session") {
        let session = rel
            .split('/')
            .find(|c| c.starts_with("session"))
            .map(str::to_string);
        let (mut target_name, mut tpgt, mut portal) = (None, None, None);
        if let Some(s) = &session {
            target_name = class("iscsi_session", s, "targetname");
            tpgt = class("iscsi_session", s, "tpgt").and_then(|t| t.parse().ok());
            let conn = format!("connection{}:0", s.trim_start_matches("session"));
            let addr = class("iscsi_connection", &conn, "persistent_address")
                .or_else(|| class("iscsi_connection", &conn, "address"));
            let port = class("iscsi_connection", &conn, "persistent_port")
                .or_else(|| class("iscsi_connection", &conn, "port"));
            if let (Some(a), Some(p)) = (addr, port) {
                portal = Some(format!("{a}:{p}"));
            }
        }
        return Transport::Iscsi {
            target_name,
            portal,
            tpgt,
            session,
        };
    }
    if rel.contains("/end_device-") {
        let end = rel
            .split('/')
            .rfind(|c| c.starts_with("end_device-"))
            .unwrap_or("");
        return Transport::Sas {
            address: class("sas_device", end, "sas_address"),
        };
    }
    if rel.split('/').any(|c| {
        c.strip_prefix("virtio")
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
    }) {
        return Transport::VirtioScsi;
    }
    Transport::Other {
        driver: class("scsi_host", &host, "proc_name"),
    }
}

/// The `/dev/disk/by-path` and `/dev/disk/by-id` links of the tree.
struct Links {
    by_path: by_id::LinkIndex,
    by_id: by_id::LinkIndex,
}

fn read_device(
    roots: &Roots,
    opts: &ScanOptions,
    root: &sysfs::Root,
    links: &Links,
    name: &str,
    ident: &dyn IdentitySource,
    warnings: &mut Vec<String>,
) -> Option<Found> {
    let sys = &roots.sys;
    let hctl: Hctl = name.parse().ok()?;
    let Some(dir) = root.scsi_device_dir(name) else {
        warnings.push(format!(
            "{}: no device directory",
            sys.join("class/scsi_device").join(name).display()
        ));
        return None;
    };
    let sd = sysfs::first_entry(&dir.join("block"));
    let sg = sysfs::first_entry(&dir.join("scsi_generic"));
    let sd_dir = sd.as_ref().map(|s| dir.join("block").join(s));
    let mut raw = RawIdent {
        vendor: sysfs::read_line(&dir.join("vendor")),
        model: sysfs::read_line(&dir.join("model")),
        rev: sysfs::read_line(&dir.join("rev")),
    };
    let mut designators = Vec::new();
    if let Some(b) = sysfs::read_bytes(&dir.join("vpd_pg83")) {
        match vpd::decode_device_identification(&b) {
            Ok(d) => designators = d,
            Err(e) => warnings.push(format!("{}: {e}", dir.join("vpd_pg83").display())),
        }
    }
    let mut serial = None;
    if let Some(b) = sysfs::read_bytes(&dir.join("vpd_pg80")) {
        match vpd::decode_unit_serial(&b) {
            Ok(s) => serial = Some(s).filter(|s| !s.is_empty()),
            Err(e) => warnings.push(format!("{}: {e}", dir.join("vpd_pg80").display())),
        }
    }
    let mut wwid = vpd::wwid(&designators).or_else(|| {
        sysfs::read_trim(&dir.join("wwid")).and_then(|w| by_id::wwid_from_sysfs_attr(&w))
    });
    if wwid.is_none() || raw.vendor.is_none() {
        let node = sg.as_ref().or(sd.as_ref()).map(|n| roots.dev.join(n));
        if let Some(id) = node.and_then(|n| ident.identify(&n)) {
            raw.vendor = raw.vendor.or(id.vendor);
            raw.model = raw.model.or(id.model);
            raw.rev = raw.rev.or(id.revision);
            if wwid.is_none() {
                wwid = vpd::wwid(&id.designators);
                designators = id.designators;
            }
            serial = serial.or(id.serial);
        }
    }
    let udev = |kind: &str| {
        let (u, s) = (opts.udev.as_ref()?, sd.as_ref()?);
        u.names(s, kind)
    };
    let by_path = match udev("by-path").or_else(|| sd.as_ref().and_then(|s| links.by_path.names(s)))
    {
        Some(v) => v,
        None => path_id::derive_in(root, &dir).into_iter().collect(),
    };
    let by_id_names = match udev("by-id").or_else(|| sd.as_ref().and_then(|s| links.by_id.names(s)))
    {
        Some(v) => v,
        None if sd.is_some() => by_id::derive_disk(wwid.as_deref(), &designators),
        None => Vec::new(),
    };
    let path = ScsiPath {
        hctl,
        sd_devt: sd_dir
            .as_ref()
            .and_then(|d| sysfs::read_trim(&d.join("dev"))),
        sg_devt: sg
            .as_ref()
            .and_then(|s| sysfs::read_trim(&dir.join("scsi_generic").join(s).join("dev"))),
        sd,
        sg,
        state: sysfs::read_trim(&dir.join("state")),
        queue_depth: u32_attr(&dir.join("queue_depth")),
        transport: transport(root, &dir, &hctl),
        by_path,
        by_id: by_id_names,
        sysfs_path: root.relative(&dir),
        raw,
    };
    Some(Found {
        device_type: sysfs::read_u64(&dir.join("type")).and_then(|t| u8::try_from(t).ok()),
        wwid,
        designators,
        serial,
        size_bytes: sd_dir
            .as_ref()
            .and_then(|d| sysfs::read_u64(&d.join("size")))
            .and_then(|s| s.checked_mul(512)),
        lbs: sd_dir
            .as_ref()
            .and_then(|d| u32_attr(&d.join("queue/logical_block_size"))),
        pbs: sd_dir
            .as_ref()
            .and_then(|d| u32_attr(&d.join("queue/physical_block_size"))),
        path,
    })
}

/// The H:C:T:L names of every SCSI device in the tree.
pub fn scsi_device_names(sys: &Path) -> Result<Vec<String>, TopologyError> {
    let class = sys.join("class/scsi_device");
    let dir = if class.is_dir() {
        class
    } else {
        sys.join("bus/scsi/devices")
    };
    let rd = std::fs::read_dir(&dir).map_err(|source| TopologyError::NoScsi {
        path: dir.display().to_string(),
        source,
    })?;
    let mut v: Vec<(Hctl, String)> = rd
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.parse::<Hctl>().ok().map(|h| (h, n))
        })
        .collect();
    v.sort();
    Ok(v.into_iter().map(|(_, n)| n).collect())
}

/// Scans without asking any device.
pub fn scan(roots: &Roots, opts: &ScanOptions) -> Result<Topology, TopologyError> {
    scan_with(roots, opts, &NoDeviceQuery)
}

/// Scans, asking `ident` for the identity of devices sysfs does not
/// identify.
pub fn scan_with(
    roots: &Roots,
    opts: &ScanOptions,
    ident: &dyn IdentitySource,
) -> Result<Topology, TopologyError> {
    let sys = &roots.sys;
    let mut warnings = Vec::new();
    let mounts = opts
        .mountinfo
        .as_deref()
        .map(Mounts::read)
        .unwrap_or_default();
    let root = sysfs::Root::new(sys);
    let links = Links {
        by_path: by_id::LinkIndex::read(&roots.dev.join("disk/by-path")),
        by_id: by_id::LinkIndex::read(&roots.dev.join("disk/by-id")),
    };
    let mut luns: Vec<Lun> = Vec::new();
    // Index in `luns` of the unit with each WWID.
    let mut by_wwid: HashMap<Wwid, usize> = HashMap::new();
    // The devices are read in chunks on parallel threads; the results and
    // warnings come back in name order.
    let names = scsi_device_names(sys)?;
    let read = par_chunks(&names, MIN_CHUNK, |c| {
        let mut w = Vec::new();
        let found: Vec<Found> = c
            .iter()
            .filter_map(|n| read_device(roots, opts, &root, &links, n, ident, &mut w))
            .collect();
        (found, w)
    });
    let mut found = Vec::with_capacity(names.len());
    for (f, w) in read {
        found.extend(f);
        warnings.extend(w);
    }
    for f in found {
        if let Some(&i) = f.wwid.as_ref().and_then(|w| by_wwid.get(w)) {
            luns[i].paths.push(f.path);
            continue;
        }
        if let Some(w) = &f.wwid {
            by_wwid.insert(w.clone(), luns.len());
        }
        let t = |s: &Option<String>| s.as_deref().unwrap_or("").trim_end().to_string();
        luns.push(Lun {
            wwid: f.wwid,
            device_type: f.device_type,
            vendor: t(&f.path.raw.vendor),
            model: t(&f.path.raw.model),
            revision: t(&f.path.raw.rev),
            serial: f.serial,
            size_bytes: f.size_bytes,
            logical_block_size: f.lbs,
            physical_block_size: f.pbs,
            paths: vec![f.path],
            multipath: None,
            holders: Vec::new(),
            lvm: Vec::new(),
        });
        let _ = f.designators;
    }
    // Index in `luns` of the first unit with a path on each sd device.
    let mut by_sd: HashMap<&str, usize> = HashMap::new();
    for (i, l) in luns.iter().enumerate() {
        for s in l.paths.iter().filter_map(|p| p.sd.as_deref()) {
            by_sd.entry(s).or_insert(i);
        }
    }
    // A map belongs to the first unit with its WWID or with one of its
    // slaves as a path.
    let maps = dm::multipath_maps(sys);
    let owners: Vec<Option<usize>> = maps
        .iter()
        .map(|m| {
            let w = by_wwid.get(m.wwid.as_str()).copied();
            let s = m
                .slaves
                .iter()
                .filter_map(|s| by_sd.get(s.as_str()).copied());
            w.into_iter().chain(s).min()
        })
        .collect();
    drop(by_sd);
    for (m, owner) in maps.into_iter().zip(owners) {
        let Some(lun) = owner.map(|i| &mut luns[i]) else {
            warnings.push(format!(
                "{}: multipath map {} has no SCSI paths in this tree",
                sys.join("block").join(&m.kernel_name).display(),
                m.name
            ));
            continue;
        };
        let paths = m
            .slaves
            .iter()
            .map(|s| {
                let p = lun
                    .paths
                    .iter()
                    .find(|p| p.sd.as_deref() == Some(s.as_str()));
                MpPath {
                    hctl: p.map(|p| p.hctl),
                    dev: s.clone(),
                    devt: p
                        .and_then(|p| p.sd_devt.clone())
                        .or_else(|| sysfs::read_trim(&sysfs::block_dir(sys, s).join("dev"))),
                    dm_state: None,
                    checker_state: None,
                    dev_state: p.and_then(|p| p.state.clone()),
                    ..MpPath::default()
                }
            })
            .collect();
        let by_id = opts
            .udev
            .as_ref()
            .and_then(|u| u.names(&m.kernel_name, "by-id"))
            .or_else(|| links.by_id.names(&m.kernel_name))
            .unwrap_or_else(|| by_id::derive_map(&m.name, &m.wwid));
        // With a map, udev points the LU's by-id names at the map.
        if !links.by_id.exists() {
            for p in &mut lun.paths {
                p.by_id.clear();
            }
        }
        lun.holders = dm::holders_tree(sys, &m.kernel_name, &mounts, &[]);
        lun.multipath = Some(MultipathMap {
            name: m.name.clone(),
            wwid: m.wwid.clone(),
            dm: Some(m.kernel_name.clone()),
            vendor: Some(lun.vendor.clone()),
            product: Some(lun.model.clone()),
            size: m.sectors.map(format_size),
            features: None,
            hwhandler: None,
            wp: m.read_only.map(|r| if r { "ro" } else { "rw" }.to_string()),
            groups: vec![PathGroup {
                policy: None,
                prio: None,
                status: None,
                paths,
            }],
            by_id,
            header_widths: false,
        });
    }
    for lun in luns.iter_mut().filter(|l| l.multipath.is_none()) {
        let mut h = Vec::new();
        for p in &lun.paths {
            if let Some(sd) = &p.sd {
                h.extend(dm::holders_tree(sys, sd, &mounts, &p.by_path));
            }
        }
        lun.holders = h;
    }
    for l in &mut luns {
        l.paths.sort_by_key(|p| p.hctl);
        // by-id names name the unit, not a path: udev records them for
        // every path but can point each link at only one, so a name read
        // from one path's link belongs to all of them.
        if l.wwid.is_some() && l.paths.len() > 1 {
            let mut all: Vec<String> = l.paths.iter().flat_map(|p| p.by_id.clone()).collect();
            all.sort();
            all.dedup();
            for p in &mut l.paths {
                p.by_id.clone_from(&all);
            }
        }
    }
    luns.sort_by_key(|l| l.paths.first().map(|p| p.hctl));
    Ok(Topology {
        schema: super::SCHEMA_VERSION,
        host: None,
        luns,
        warnings,
    })
}

/// Replaces the sysfs view of each map with a parsed `multipath -ll` map of
/// the same WWID (which knows the path groups and the dm and checker
/// states); maps without a matching unit become units of their own.
pub fn merge_multipath(topo: &mut Topology, maps: Vec<MultipathMap>) {
    for mut m in maps {
        if let Some(l) = topo
            .luns
            .iter_mut()
            .find(|l| l.wwid.as_deref() == Some(m.wwid.as_str()))
        {
            if let Some(old) = &l.multipath {
                if m.by_id.is_empty() {
                    m.by_id = old.by_id.clone();
                }
            }
            l.multipath = Some(m);
            continue;
        }
        let paths = m
            .paths()
            .filter_map(|p| {
                Some(ScsiPath {
                    hctl: p.hctl?,
                    sd: Some(p.dev.clone()),
                    sg: None,
                    sd_devt: p.devt.clone(),
                    sg_devt: None,
                    state: p.dev_state.clone(),
                    queue_depth: None,
                    transport: Transport::Other { driver: None },
                    by_path: Vec::new(),
                    by_id: Vec::new(),
                    sysfs_path: String::new(),
                    raw: RawIdent::default(),
                })
            })
            .collect();
        topo.luns.push(Lun {
            wwid: Some(m.wwid.clone()),
            device_type: Some(0),
            vendor: m.vendor.clone().unwrap_or_default(),
            model: m.product.clone().unwrap_or_default(),
            paths,
            multipath: Some(m),
            ..Lun::default()
        });
    }
}
