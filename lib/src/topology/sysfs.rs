//! Small, panic-free readers of sysfs attributes and links.
//!
//! sysfs content is untrusted input here: attributes are read with a size
//! cap, decoded lossily, and every failure becomes `None` so a missing or
//! odd attribute never stops a scan. Paths are always built under a sysfs
//! root, so the same code reads `/sys` and a fixture tree.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// Where sysfs and /dev are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    /// The sysfs mount, normally `/sys`.
    pub sys: PathBuf,
    /// The device directory, normally `/dev`.
    pub dev: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            sys: PathBuf::from("/sys"),
            dev: PathBuf::from("/dev"),
        }
    }
}

/// The most bytes read from one attribute (sysfs attributes are at most a
/// page; binary VPD attributes can be larger).
const MAX_ATTR: u64 = 64 * 1024;

/// Reads an attribute's raw bytes (at most 64 KiB).
pub fn read_bytes(p: &Path) -> Option<Vec<u8>> {
    let mut f = fs::File::open(p).ok()?;
    // One read for an attribute: sysfs hands over a whole attribute (at
    // most a page) per read, and a short read of a regular file is its end,
    // so a read that does not fill the buffer needs no second read to see
    // EOF (read_to_end would make two or three per file).
    let mut buf = [0u8; 4096];
    let mut v = Vec::new();
    loop {
        let n = match f.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        v.extend_from_slice(&buf[..n]);
        if n < buf.len() || v.len() as u64 >= MAX_ATTR {
            break;
        }
    }
    v.truncate(usize::try_from(MAX_ATTR).unwrap_or(usize::MAX));
    Some(v)
}

/// An attribute's bytes as text: the first line, trailing newline removed
/// and nothing else changed (the way lsscsi reads one).
pub fn attr_line(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    s.split('\n').next().unwrap_or("").to_string()
}

/// An attribute's bytes as text, whitespace trimmed; empty counts as absent.
pub fn attr_trim(b: &[u8]) -> Option<String> {
    let s = attr_line(b);
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// An attribute's bytes as a decimal number.
pub fn attr_u64(b: &[u8]) -> Option<u64> {
    attr_trim(b)?.parse().ok()
}

/// The `DEVTYPE=` of a `uevent` attribute's bytes.
pub fn uevent_devtype(b: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(b);
    s.lines()
        .find_map(|l| l.strip_prefix("DEVTYPE="))
        .map(str::to_string)
}

/// Reads a text attribute with its trailing newline removed and nothing
/// else changed ([`attr_line`]).
pub fn read_line(p: &Path) -> Option<String> {
    read_bytes(p).map(|b| attr_line(&b))
}

/// Reads a text attribute, whitespace trimmed; empty counts as absent
/// ([`attr_trim`]).
pub fn read_trim(p: &Path) -> Option<String> {
    attr_trim(&read_bytes(p)?)
}

/// Reads a decimal attribute ([`attr_u64`]).
pub fn read_u64(p: &Path) -> Option<u64> {
    attr_u64(&read_bytes(p)?)
}

/// The entries of a directory, sorted by name; empty when unreadable.
pub fn list_dir(p: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The entries of a directory in the order the file system returns them
/// (what `readdir` and so C tools see).
pub fn list_dir_unsorted(p: &Path) -> Vec<String> {
    fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The first entry (in name order) of `dir`, for directories such as
/// `device/block/` that hold exactly one name.
pub fn first_entry(dir: &Path) -> Option<String> {
    list_dir(dir).into_iter().next()
}

/// The base name of a symlink's target (`subsystem` -> `scsi`).
pub fn link_name(p: &Path) -> Option<String> {
    let t = fs::read_link(p).ok()?;
    t.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// Canonical path of `p`, which must stay under `root`.
pub fn canonical_under(root: &Path, p: &Path) -> Option<PathBuf> {
    Root::new(root).canonical_under(p)
}

/// `p` relative to the (canonical) sysfs root, as a `/`-separated string.
pub fn relative(root: &Path, p: &Path) -> String {
    Root::new(root).relative(p)
}

/// The canonical path of directory `p` as the kernel names it: the target
/// of `/proc/self/fd/N` for `p` opened with `O_PATH` (no side effects).
/// realpath(3) reads every component of a path as a link, and a SCSI
/// device directory is a dozen components deep; this is one open and one
/// readlink. `None` when `p` is not a directory or /proc cannot tell (then
/// [`fs::canonicalize`] decides).
fn canonical_dir(p: &Path) -> Option<PathBuf> {
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(p)
        .ok()?;
    let t = fs::read_link(format!("/proc/self/fd/{}", f.as_raw_fd())).ok()?;
    (t.is_absolute() && !t.as_os_str().as_bytes().ends_with(b" (deleted)")).then_some(t)
}

/// A sysfs root with its canonical path resolved once, for scans that
/// resolve thousands of paths under it. Its methods give what the free
/// functions of the same names give for that root.
#[derive(Debug)]
pub struct Root {
    path: PathBuf,
    canonical: Option<PathBuf>,
    devices: OnceLock<Option<PathBuf>>,
    /// What [`Root::memo`] has read: the attributes of hosts, targets and
    /// ports that every device under them shares.
    memo: Mutex<HashMap<(Memo, PathBuf), Option<String>>>,
}

/// What a memoized path stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Memo {
    /// [`read_trim`] of an attribute.
    Attr,
    /// [`subsystem`] of a directory.
    Subsystem,
    /// [`scsi_devtype`] of a directory.
    DevType,
}

impl Root {
    /// Resolves `root` (a sysfs tree, normally `/sys`).
    pub fn new(root: &Path) -> Root {
        Root {
            path: root.to_path_buf(),
            canonical: fs::canonicalize(root).ok(),
            devices: OnceLock::new(),
            memo: Mutex::new(HashMap::new()),
        }
    }

    /// `what` of `p`, read once for the life of this `Root` (one scan):
    /// for attributes that many devices share.
    pub fn memo(&self, what: Memo, p: &Path) -> Option<String> {
        let key = (what, p.to_path_buf());
        if let Some(v) = self.memo.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return v;
        }
        let v = match what {
            Memo::Attr => read_trim(p),
            Memo::Subsystem => subsystem(p),
            Memo::DevType => scsi_devtype(p),
        };
        if let Ok(mut m) = self.memo.lock() {
            m.insert(key, v.clone());
        }
        v
    }

    /// The root as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The canonical `devices` directory under the root.
    pub fn devices(&self) -> Option<&Path> {
        self.devices
            .get_or_init(|| fs::canonicalize(self.path.join("devices")).ok())
            .as_deref()
    }

    /// Canonical path of `p`, which must stay under the root.
    pub fn canonical_under(&self, p: &Path) -> Option<PathBuf> {
        let root = self.canonical.as_ref()?;
        let c = canonical_dir(p).or_else(|| fs::canonicalize(p).ok())?;
        c.starts_with(root).then_some(c)
    }

    /// `p` relative to the canonical root, as a `/`-separated string.
    pub fn relative(&self, p: &Path) -> String {
        let root = self.canonical.as_deref().unwrap_or(&self.path);
        p.strip_prefix(root)
            .map(|r| r.to_string_lossy().into_owned())
            .unwrap_or_else(|_| p.to_string_lossy().into_owned())
    }

    /// The canonical sysfs directory of SCSI device `hctl` (see
    /// [`scsi_device_dir`]).
    pub fn scsi_device_dir(&self, hctl: &str) -> Option<PathBuf> {
        let sys = &self.path;
        self.canonical_under(&sys.join("class/scsi_device").join(hctl).join("device"))
            .or_else(|| self.canonical_under(&sys.join("bus/scsi/devices").join(hctl)))
    }
}

/// The kernel subsystem of a sysfs device directory: the name its
/// `subsystem` link points at, or, in trees without those links, the
/// subsystem its name implies.
pub fn subsystem(dir: &Path) -> Option<String> {
    if let Some(s) = link_name(&dir.join("subsystem")) {
        return Some(s);
    }
    let name = dir.file_name()?.to_string_lossy().into_owned();
    guess_subsystem(&name).map(str::to_string)
}

/// The subsystem that a device name implies, for trees without
/// `subsystem` links.
pub fn guess_subsystem(name: &str) -> Option<&'static str> {
    if is_pci_name(name) {
        Some("pci")
    } else if name.starts_with("virtio") && name[6..].bytes().all(|b| b.is_ascii_digit()) {
        Some("virtio")
    } else if is_hctl(name)
        || (name.starts_with("target") && name.contains(':'))
        || (name.starts_with("host") && name[4..].bytes().all(|b| b.is_ascii_digit()))
    {
        Some("scsi")
    } else {
        None
    }
}

/// The devtype of a SCSI device directory (`scsi_device`, `scsi_target`,
/// `scsi_host`), from `uevent` or from the name.
pub fn scsi_devtype(dir: &Path) -> Option<String> {
    if let Some(t) = read_bytes(&dir.join("uevent")).and_then(|b| uevent_devtype(&b)) {
        return Some(t);
    }
    let name = dir.file_name()?.to_string_lossy().into_owned();
    if is_hctl(&name) {
        Some("scsi_device".into())
    } else if name.starts_with("target") {
        Some("scsi_target".into())
    } else if name.starts_with("host") {
        Some("scsi_host".into())
    } else {
        None
    }
}

/// `dddd:bb:dd.f`.
pub fn is_pci_name(n: &str) -> bool {
    let b = n.as_bytes();
    b.len() == 12
        && b[4] == b':'
        && b[7] == b':'
        && b[10] == b'.'
        && b.iter()
            .enumerate()
            .all(|(i, c)| matches!(i, 4 | 7 | 10) || c.is_ascii_hexdigit())
}

/// Four colon-separated decimal numbers.
pub fn is_hctl(n: &str) -> bool {
    let parts: Vec<&str> = n.split(':').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// The canonical sysfs directory of SCSI device `hctl`, from
/// `class/scsi_device/H:C:T:L/device` or `bus/scsi/devices/H:C:T:L`.
pub fn scsi_device_dir(sys: &Path, hctl: &str) -> Option<PathBuf> {
    Root::new(sys).scsi_device_dir(hctl)
}

/// The block devices that hold `name` (`/sys/block/NAME/holders`), or for
/// partitions `/sys/class/block/NAME/holders`.
pub fn holders(sys: &Path, name: &str) -> Vec<String> {
    let mut v = list_dir(&sys.join("class/block").join(name).join("holders"));
    if v.is_empty() {
        v = list_dir(&sys.join("block").join(name).join("holders"));
    }
    v
}

/// The devices under a map or volume (`/sys/block/NAME/slaves`).
pub fn slaves(sys: &Path, name: &str) -> Vec<String> {
    list_dir(&sys.join("block").join(name).join("slaves"))
}

/// The kernel name of the block device with number `devt` (`8:16` ->
/// `sdb`), from the `/sys/dev/block/MAJ:MIN` link.
pub fn devt_name(sys: &Path, devt: &str) -> Option<String> {
    if devt.contains('/') {
        return None;
    }
    let t = std::fs::read_link(sys.join("dev/block").join(devt)).ok()?;
    Some(t.file_name()?.to_string_lossy().into_owned())
}

/// The directory of block device `name`: `/sys/class/block/NAME` or
/// `/sys/block/NAME`, canonical when possible.
pub fn block_dir(sys: &Path, name: &str) -> PathBuf {
    for p in [
        sys.join("class/block").join(name),
        sys.join("block").join(name),
    ] {
        if let Some(c) = canonical_under(sys, &p) {
            return c;
        }
        if p.exists() {
            return p;
        }
    }
    sys.join("block").join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_bytes_to_values() {
        assert_eq!(attr_line(b"running\nextra"), "running");
        assert_eq!(attr_line(b""), "");
        assert_eq!(attr_trim(b"  LIO-ORG \n"), Some("LIO-ORG".into()));
        assert_eq!(attr_trim(b" \n"), None);
        assert_eq!(attr_u64(b"512\n"), Some(512));
        assert_eq!(attr_u64(b"-1\n"), None);
        assert_eq!(attr_u64(b"99999999999999999999999\n"), None);
        assert_eq!(
            attr_trim(&[0xff, 0xfe, b'a']),
            Some("\u{fffd}\u{fffd}a".into())
        );
        assert_eq!(
            uevent_devtype(b"MAJOR=8\nDEVTYPE=scsi_device\n"),
            Some("scsi_device".into())
        );
        assert_eq!(uevent_devtype(b"MAJOR=8\n"), None);
    }

    #[test]
    fn names() {
        assert!(is_pci_name("0000:00:05.0"));
        assert!(!is_pci_name("pci0000:00"));
        assert!(is_hctl("2:0:0:10"));
        assert!(!is_hctl("2:0:0"));
        assert!(!is_hctl("2:0:x:1"));
        assert_eq!(guess_subsystem("virtio3"), Some("virtio"));
        assert_eq!(guess_subsystem("host12"), Some("scsi"));
        assert_eq!(guess_subsystem("rport-1:0-0"), None);
    }

    #[test]
    fn attributes() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("a");
        fs::write(&p, "LIO-ORG \nx\n").unwrap();
        assert_eq!(read_line(&p).unwrap(), "LIO-ORG ");
        assert_eq!(read_trim(&p).unwrap(), "LIO-ORG");
        fs::write(&p, [0xff, b'1', b'\n']).unwrap();
        assert!(read_u64(&p).is_none());
        assert!(read_line(&t.path().join("nope")).is_none());
    }
}
