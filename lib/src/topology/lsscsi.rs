//! `lsscsi`'s default one-line-per-device format, byte for byte
//! (lsscsi 0.31/0.32 `src/lsscsi.c`, `one_sdev_entry`), with its `-g`
//! (sg node), `-i` (scsi_id) and `-k` (kernel names) columns.
//!
//! Columns: `[H:C:T:L]` left-justified in 13 (a longer one gets one space),
//! the short peripheral type and a space, vendor `%-8s `, model `%-16s `,
//! revision `%-4s  ` (the sysfs strings unchanged), then the block node
//! `%-9s` (or `-` when the device has none), `  <scsi_id>` with `-i`, and
//! `  %-9s` for the sg node with `-g`. Nodes are found as lsscsi finds
//! them: the newest block or character node in the /dev directory (not its
//! subdirectories) with the device number sysfs gives; `-k` prints
//! `/dev/<kernel name>` instead. The scsi_id is the name after `scsi-`,
//! `dm-uuid-mpath-` or `usb-` of the first `/dev/disk/by-id` entry (in
//! directory order) that is the same device, else that of a holder.

use std::cell::OnceCell;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use super::scan;
use super::sysfs;
use super::{Roots, ScsiPath, Topology, TopologyError};
use crate::util::fanout::par_chunks;

/// lsscsi's short peripheral device type names.
const SHORT_TYPES: [&str; 32] = [
    "disk   ", "tape   ", "printer", "process", "worm   ", "cd/dvd ", "scanner", "optical",
    "mediumx", "comms  ", "(0xa)  ", "(0xb)  ", "storage", "enclosu", "sim dsk", "opti rd",
    "bridge ", "osd    ", "adi    ", "sec man", "zbc    ", "(0x15) ", "(0x16) ", "(0x17) ",
    "(0x18) ", "(0x19) ", "(0x1a) ", "(0x1b) ", "(0x1c) ", "(0x1d) ", "wlun   ", "no dev ",
];

/// Which lsscsi options to reproduce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// `-g`: add the sg node.
    pub generic: bool,
    /// `-i`: add the scsi_id.
    pub scsi_id: bool,
    /// `-k`: kernel names instead of a /dev lookup.
    pub kname: bool,
}

/// `s` left-justified to `w` bytes, as printf's `%-Ns` does.
fn pad(s: &str, w: usize) -> String {
    let mut o = s.to_string();
    o.extend(std::iter::repeat_n(' ', w.saturating_sub(s.len())));
    o
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum NodeKind {
    Block,
    Char,
}

/// A `dev` attribute's `MAJOR:MINOR`.
pub fn parse_devt(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once(':')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// A block or character node of the /dev directory.
struct DevNode {
    name: String,
    kind: NodeKind,
    rdev: u64,
    mtime: i64,
}

/// The /dev directory and its `disk/by-id` links, each read once per
/// rendering, in directory order, when first needed (lsscsi's
/// `collect_dev_nodes` reads /dev once too).
#[derive(Default)]
struct DevCache {
    nodes: OnceCell<Vec<DevNode>>,
    by_id: OnceCell<Vec<(String, u64)>>,
}

impl DevCache {
    fn nodes(&self, dev: &Path) -> &[DevNode] {
        self.nodes.get_or_init(|| {
            sysfs::list_dir_unsorted(dev)
                .into_iter()
                .filter_map(|name| {
                    let md = std::fs::symlink_metadata(dev.join(&name)).ok()?;
                    let ft = md.file_type();
                    let kind = if ft.is_block_device() {
                        NodeKind::Block
                    } else if ft.is_char_device() {
                        NodeKind::Char
                    } else {
                        return None;
                    };
                    Some(DevNode {
                        name,
                        kind,
                        rdev: md.rdev(),
                        mtime: md.mtime(),
                    })
                })
                .collect()
        })
    }

    /// The entries of `dev/disk/by-id` with the device number they lead to.
    fn by_id(&self, dev: &Path) -> &[(String, u64)] {
        self.by_id.get_or_init(|| {
            let dir = dev.join("disk/by-id");
            sysfs::list_dir_unsorted(&dir)
                .into_iter()
                .filter_map(|e| {
                    let m = std::fs::metadata(dir.join(&e)).ok()?;
                    Some((e, m.rdev()))
                })
                .collect()
        })
    }
}

/// lsscsi's `get_dev_node`: the newest node of `kind` in `dev` with number
/// `devt`, as `/dev/NAME` (shown under the real /dev name).
fn find_node(dev: &Path, cache: &DevCache, devt: Option<&str>, kind: NodeKind) -> Option<String> {
    let (maj, min) = parse_devt(devt?)?;
    let mut best: Option<(i64, &str)> = None;
    for n in cache.nodes(dev) {
        if n.kind != kind || libc::major(n.rdev) != maj || libc::minor(n.rdev) != min {
            continue;
        }
        if best.as_ref().is_none_or(|(t, _)| n.mtime > *t) {
            best = Some((n.mtime, &n.name));
        }
    }
    best.map(|(_, n)| format!("{}/{n}", dev.display()))
}

/// lsscsi's `lookup_dev` over `dev/disk/by-id` for one prefix.
fn lookup_by_id(roots: &Roots, cache: &DevCache, node_name: &str, prefix: &str) -> Option<String> {
    let md = std::fs::metadata(roots.dev.join(node_name)).ok()?;
    cache
        .by_id(&roots.dev)
        .iter()
        .filter(|(_, rdev)| *rdev == md.rdev())
        .find_map(|(e, _)| e.strip_prefix(prefix).map(str::to_string))
}

/// lsscsi's `get_disk_scsi_id` for the node `/dev/<node_name>`.
fn scsi_id(roots: &Roots, cache: &DevCache, node_name: &str, depth: usize) -> Option<String> {
    if depth > 8 || node_name.is_empty() {
        return None;
    }
    for pfx in ["scsi-", "dm-uuid-mpath-", "usb-"] {
        if let Some(v) = lookup_by_id(roots, cache, node_name, pfx) {
            return Some(v);
        }
    }
    let holders = roots
        .sys
        .join("class/block")
        .join(node_name)
        .join("holders");
    sysfs::list_dir_unsorted(&holders)
        .into_iter()
        .find_map(|h| scsi_id(roots, cache, &h, depth + 1))
}

/// The node name lsscsi shows for a device, and the name after `/dev/`
/// used for the scsi_id lookup (`None` when no node was found).
fn node(
    roots: &Roots,
    cache: &DevCache,
    name: Option<&str>,
    devt: Option<&str>,
    kind: NodeKind,
    o: &Options,
) -> (String, Option<String>) {
    let Some(name) = name else {
        return ("-".into(), None);
    };
    if o.kname {
        return (format!("/dev/{name}"), Some(name.to_string()));
    }
    match find_node(&roots.dev, cache, devt, kind) {
        Some(full) => {
            let base = full.rsplit('/').next().unwrap_or("").to_string();
            let shown = format!("/dev/{base}");
            (shown, Some(base))
        }
        None => ("-".into(), None),
    }
}

fn line(
    p: &ScsiPath,
    device_type: Option<u8>,
    roots: &Roots,
    cache: &DevCache,
    o: &Options,
) -> String {
    let mut out = String::new();
    let addr = format!("[{}]", p.hctl);
    if addr.len() >= 13 {
        out.push_str(&addr);
        out.push(' ');
    } else {
        out.push_str(&pad(&addr, 13));
    }
    match device_type {
        Some(t) if usize::from(t) < SHORT_TYPES.len() => {
            out.push_str(SHORT_TYPES[usize::from(t)]);
            out.push(' ');
        }
        Some(_) => out.push_str("type??? "),
        None => out.push_str("type?   "),
    }
    match &p.raw.vendor {
        Some(v) => out.push_str(&format!("{} ", pad(v, 8))),
        None => out.push_str("vendor?  "),
    }
    match &p.raw.model {
        Some(v) => out.push_str(&format!("{} ", pad(v, 16))),
        None => out.push_str("model?           "),
    }
    match &p.raw.rev {
        Some(v) => out.push_str(&format!("{}  ", pad(v, 4))),
        None => out.push_str("rev?  "),
    }
    if p.sd.is_some() {
        let (shown, name) = node(
            roots,
            cache,
            p.sd.as_deref(),
            p.sd_devt.as_deref(),
            NodeKind::Block,
            o,
        );
        // lsscsi pads a missing node to "-       " before the %-9s.
        let shown = if name.is_none() {
            "-       ".to_string()
        } else {
            shown
        };
        out.push_str(&pad(&shown, 9));
        if o.scsi_id {
            let id = name.and_then(|n| scsi_id(roots, cache, &n, 0));
            out.push_str(&format!("  {}", id.as_deref().unwrap_or("-")));
        }
    } else if o.scsi_id {
        out.push_str(&format!("{}  -", pad("-", 9)));
    } else {
        out.push_str(&pad("-", 9));
    }
    if o.generic {
        let (shown, _) = node(
            roots,
            cache,
            p.sg.as_deref(),
            p.sg_devt.as_deref(),
            NodeKind::Char,
            o,
        );
        out.push_str(&format!("  {}", pad(&shown, 9)));
    }
    out.push('\n');
    out
}

/// Renders every SCSI device of `topo` in H:C:T:L order, as lsscsi does.
pub fn render(topo: &Topology, roots: &Roots, o: &Options) -> String {
    let rows: Vec<(&ScsiPath, Option<u8>)> = topo
        .luns
        .iter()
        .flat_map(|l| l.paths.iter().map(move |p| (p, l.device_type)))
        .collect();
    render_rows(rows, roots, o)
}

/// Renders devices and their peripheral device types, in H:C:T:L order.
pub fn render_rows(mut rows: Vec<(&ScsiPath, Option<u8>)>, roots: &Roots, o: &Options) -> String {
    rows.sort_by_key(|(p, _)| p.hctl);
    let cache = DevCache::default();
    rows.into_iter()
        .map(|(p, t)| line(p, t, roots, &cache, o))
        .collect()
}

/// The fewest devices [`read_devices`] gives one thread.
const MIN_CHUNK: usize = 256;

/// Every SCSI device of the tree with only what the listing shows (type,
/// vendor, model, revision, sd and sg names and device numbers), read on
/// parallel threads: eight reads a device where a full scan makes twenty,
/// so `pathmap --lsscsi` costs what lsscsi costs. Render with
/// [`render_rows`].
pub fn read_devices(sys: &Path) -> Result<Vec<(ScsiPath, Option<u8>)>, TopologyError> {
    let names = scan::scsi_device_names(sys)?;
    let base = if sys.join("class/scsi_device").is_dir() {
        sys.join("class/scsi_device")
    } else {
        sys.join("bus/scsi/devices")
    };
    let read = par_chunks(&names, MIN_CHUNK, |c| {
        c.iter()
            .filter_map(|n| device(&base, n))
            .collect::<Vec<_>>()
    });
    Ok(read.into_iter().flatten().collect())
}

fn device(base: &Path, name: &str) -> Option<(ScsiPath, Option<u8>)> {
    let hctl = name.parse().ok()?;
    let mut dir = base.join(name);
    if base.ends_with("class/scsi_device") {
        dir.push("device");
    }
    let sd = sysfs::first_entry(&dir.join("block"));
    let sg = sysfs::first_entry(&dir.join("scsi_generic"));
    let devt = |sub: &str, n: &Option<String>| {
        n.as_ref()
            .and_then(|n| sysfs::read_trim(&dir.join(sub).join(n).join("dev")))
    };
    let path = ScsiPath {
        hctl,
        sd_devt: devt("block", &sd),
        sg_devt: devt("scsi_generic", &sg),
        sd,
        sg,
        state: None,
        queue_depth: None,
        transport: super::Transport::Other { driver: None },
        by_path: Vec::new(),
        by_id: Vec::new(),
        sysfs_path: String::new(),
        raw: super::RawIdent {
            vendor: sysfs::read_line(&dir.join("vendor")),
            model: sysfs::read_line(&dir.join("model")),
            rev: sysfs::read_line(&dir.join("rev")),
        },
    };
    let t = sysfs::read_u64(&dir.join("type")).and_then(|t| u8::try_from(t).ok());
    Some((path, t))
}
