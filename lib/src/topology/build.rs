//! The one pipeline that turns a host (or a captured one) into a
//! [`Topology`]: the sysfs scan, device-mapper's view of the multipath
//! maps, LVM's reports, the paths' checker states, and captured
//! `multipath -ll` and `multipathd show paths` output merged on top.
//!
//! Every program that needs the storage stack calls [`build`] with the
//! [`Sources`] it has; the callers read input files themselves (standard
//! input included) and hand over their text as [`Input`]s, so the file
//! names appear in errors.

use std::path::{Path, PathBuf};

use super::{
    checker, dm_mpath, lvm, mpath_ll, mpathd, scan, udev_db, LineError, Roots, ScanOptions,
    SgIoQuery, Topology, TopologyError,
};

/// A captured text (a file, or standard input) and the name to show for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// File name, or `-`/`standard input`.
    pub name: String,
    /// Its contents.
    pub text: String,
}

impl Input {
    /// An input with a name and text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Input {
        Input {
            name: name.into(),
            text: text.into(),
        }
    }
}

/// What [`build`] reads. The default is this host, live, with everything.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Where sysfs and /dev are.
    pub roots: Roots,
    /// The mount table (`/proc/self/mountinfo` format).
    pub mountinfo: PathBuf,
    /// Read udev's database for link names (live trees only).
    pub udev: bool,
    /// Ask devices with SG_IO INQUIRY when sysfs lacks their identity.
    pub query_devices: bool,
    /// Send TEST UNIT READY and REPORT TARGET PORT GROUPS to the paths of
    /// multipath maps (live trees only).
    pub check_paths: bool,
    /// Read LVM (captured reports, or `pvs`/`lvs` on a live tree).
    pub lvm: bool,
    /// Checker states and priorities of map paths.
    pub checker: bool,
    /// Captured `multipath -ll`: the maps, in the capture's order.
    pub multipath_ll: Option<Input>,
    /// Captured `multipathd show paths`, and the format when it is `raw
    /// format FMT` output.
    pub multipathd_paths: Option<(Input, Option<String>)>,
    /// Captured `dmsetup table` and, optionally, `dmsetup status`.
    pub dmsetup: Option<(Input, Option<Input>)>,
    /// Captured `pvs --reportformat json` and, optionally, `lvs`.
    pub lvm_reports: Option<(Input, Option<Input>)>,
}

impl Default for Sources {
    fn default() -> Self {
        Sources {
            roots: Roots::default(),
            mountinfo: PathBuf::from("/proc/self/mountinfo"),
            udev: true,
            query_devices: false,
            check_paths: true,
            lvm: true,
            checker: true,
            multipath_ll: None,
            multipathd_paths: None,
            dmsetup: None,
            lvm_reports: None,
        }
    }
}

impl Sources {
    /// True when the tree is this host's own /sys and /dev, so the running
    /// kernel's device-mapper, LVM and the devices can be asked.
    pub fn live(&self) -> bool {
        self.roots.sys == Path::new("/sys") && self.roots.dev == Path::new("/dev")
    }
}

/// Why [`build`] has no model.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The sysfs scan failed.
    #[error(transparent)]
    Scan(#[from] TopologyError),
    /// A captured text did not parse.
    #[error("{input}: {source}")]
    Text {
        /// The input's name.
        input: String,
        /// The line that did not parse.
        #[source]
        source: LineError,
    },
    /// Captured `dmsetup` text did not parse.
    #[error("{input}: {source}")]
    Dmsetup {
        /// The inputs' names.
        input: String,
        /// What did not parse.
        #[source]
        source: dm_mpath::DmsetupLineError,
    },
    /// A captured LVM report is not what LVM writes.
    #[error(transparent)]
    Lvm(#[from] lvm::LvmError),
}

/// What [`build`] made.
#[derive(Debug)]
pub struct Built {
    /// The model.
    pub topology: Topology,
    /// The names of the maps of a captured `multipath -ll` in the
    /// capture's order (empty without one).
    pub map_order: Vec<String>,
    /// The scan's error when a captured `multipath -ll` stood in for a
    /// tree with no SCSI devices (the caller decides whether to say so).
    pub scan_error: Option<TopologyError>,
}

/// Builds the model from `src`.
pub fn build(src: &Sources) -> Result<Built, BuildError> {
    let live = src.live();
    let opts = ScanOptions {
        mountinfo: Some(src.mountinfo.clone()),
        udev: (live && src.udev).then(udev_db::UdevLinks::read).flatten(),
    };
    let maps = match &src.multipath_ll {
        Some(i) => Some(mpath_ll::parse(&i.text).map_err(|source| BuildError::Text {
            input: i.name.clone(),
            source,
        })?),
        None => None,
    };
    let ident: &dyn scan::IdentitySource = if src.query_devices {
        &SgIoQuery
    } else {
        &scan::NoDeviceQuery
    };
    let mut scan_error = None;
    let mut t = match scan::scan_with(&src.roots, &opts, ident) {
        Ok(t) => t,
        // With a captured map and no SCSI in sysfs, the capture is the model.
        Err(e) if maps.is_some() => {
            scan_error = Some(e);
            Topology::default()
        }
        Err(e) => return Err(e.into()),
    };
    let dm = dm_maps(src, &mut t)?;
    let w = dm_mpath::apply(&mut t, &dm, &src.roots.sys);
    t.warnings.extend(w);
    if src.lvm {
        let (pvs, lvs) = lvm_reports(src, &mut t)?;
        lvm::join(&mut t, &pvs, &lvs);
    }
    if src.checker {
        let probe = checker::SgIoProbe;
        let probe: Option<&dyn checker::PathProbe> = (live && src.check_paths).then_some(&probe);
        checker::apply(&mut t, &src.roots.dev, probe);
    }
    if let Some((i, fmt)) = &src.multipathd_paths {
        let rows = match fmt {
            Some(fmt) => mpathd::parse_raw(fmt, &i.text),
            None => mpathd::parse(&i.text),
        }
        .map_err(|source| BuildError::Text {
            input: i.name.clone(),
            source,
        })?;
        let w = mpathd::merge_into(&mut t, &rows);
        t.warnings.extend(w);
        checker::group_priorities(&mut t);
    }
    let mut order = Vec::new();
    if let Some(m) = maps {
        order = m.iter().map(|m| m.name.clone()).collect();
        scan::merge_multipath(&mut t, m);
    }
    Ok(Built {
        topology: t,
        map_order: order,
        scan_error,
    })
}

/// Device-mapper's view of the multipath maps: captured `dmsetup` text,
/// or the running kernel's when the tree is live and has maps.
fn dm_maps(src: &Sources, t: &mut Topology) -> Result<Vec<dm_mpath::DmMap>, BuildError> {
    if let Some((table, status)) = &src.dmsetup {
        let (maps, w) = dm_mpath::from_dmsetup(&table.text, status.as_ref().map(|s| &*s.text))
            .map_err(|source| BuildError::Dmsetup {
                input: match status {
                    Some(s) => format!("{} or {}", table.name, s.name),
                    None => table.name.clone(),
                },
                source,
            })?;
        t.warnings.extend(w);
        return Ok(maps);
    }
    if !src.live() || t.luns.iter().all(|l| l.multipath.is_none()) {
        return Ok(Vec::new());
    }
    match dm_mpath::live() {
        Ok((maps, w)) => {
            t.warnings.extend(w);
            Ok(maps)
        }
        Err(e) => {
            t.warnings.push(format!(
                "{e}; path groups and dm states of the multipath maps are unknown"
            ));
            Ok(Vec::new())
        }
    }
}

/// LVM's reports: captured JSON, or pvs and lvs run on a live tree (a host
/// without LVM has no PVs; a failing pvs is a warning).
fn lvm_reports(
    src: &Sources,
    t: &mut Topology,
) -> Result<(Vec<lvm::Row>, Vec<lvm::Row>), BuildError> {
    let parse =
        |i: &Input, kind: &str| lvm::parse_report(&i.text, kind).map_err(|e| e.in_input(&i.name));
    if let Some((pvs, lvs)) = &src.lvm_reports {
        let pvs = parse(pvs, "pv")?;
        let lvs = match lvs {
            Some(i) => parse(i, "lv")?,
            None => Vec::new(),
        };
        return Ok((pvs, lvs));
    }
    if !src.live() {
        return Ok((Vec::new(), Vec::new()));
    }
    match lvm::live_reports() {
        Ok(r) => Ok(r),
        Err(e) if e.not_installed() => Ok((Vec::new(), Vec::new())),
        Err(e) => {
            t.warnings.push(format!("LVM not read: {e}"));
            Ok((Vec::new(), Vec::new()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captured(sys: &Path) -> Sources {
        Sources {
            roots: Roots {
                sys: sys.to_path_buf(),
                dev: sys.join("dev"),
            },
            mountinfo: sys.join("mountinfo"),
            ..Sources::default()
        }
    }

    #[test]
    fn a_tree_without_scsi_is_a_scan_error_unless_a_capture_is_the_model() {
        let t = tempfile::tempdir().unwrap();
        let src = captured(t.path());
        assert!(!src.live());
        assert!(matches!(build(&src), Err(BuildError::Scan(_))));
        let src = Sources {
            multipath_ll: Some(Input::new("ll.txt", "")),
            ..captured(t.path())
        };
        let b = build(&src).unwrap();
        assert!(b.topology.luns.is_empty() && b.map_order.is_empty());
        assert!(b.scan_error.is_some());
    }

    #[test]
    fn bad_captures_name_their_input() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("bus/scsi/devices")).unwrap();
        let src = Sources {
            lvm_reports: Some((Input::new("pvs.json", "not json"), None)),
            ..captured(t.path())
        };
        let e = build(&src).unwrap_err();
        assert!(e.to_string().starts_with("pvs.json: "), "{e}");
        let src = Sources {
            multipathd_paths: Some((Input::new("paths.txt", "garbage line\n"), None)),
            lvm: false,
            ..captured(t.path())
        };
        let e = build(&src).unwrap_err();
        assert!(e.to_string().starts_with("paths.txt: "), "{e}");
    }
}
