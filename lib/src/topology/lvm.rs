//! LVM: volume groups from `vgs --reportformat json` output, and lvm.conf
//! `global_filter` lines that keep a host's LVM away from given units
//! (a shared LUN that belongs to a guest or to another cluster node).
//!
//! Reports are read as LVM writes them: `{"report": [{"vg": [{...}]}]}`
//! (`pv`, `lv` for `pvs`, `lvs`) with every value a string. For `vgs` the
//! fields used are `vg_name` and, when requested (`vgs -o
//! vg_name,pv_name,lv_active`), `pv_name` and `lv_active`; `pvs` and `lvs`
//! reports with [`PVS_FIELDS`] and [`LVS_FIELDS`] are joined onto the
//! units under them ([`join`]).

use std::collections::BTreeMap;
use std::process::Command;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{BlockDev, BlockKind, Lun, Topology};

/// Why an LVM report could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LvmError {
    /// The tool could not be started (`ErrorKind::NotFound`: no LVM on
    /// this host).
    #[error("{tool}: {source}")]
    Run {
        /// The program.
        tool: String,
        /// Why it did not start.
        #[source]
        source: std::io::Error,
    },
    /// The tool ran and failed.
    #[error("{tool} failed ({status}): {stderr}")]
    Failed {
        /// The program.
        tool: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it wrote to stderr, trimmed.
        stderr: String,
    },
    /// The report is not what LVM writes.
    #[error("{what}: {reason}")]
    Malformed {
        /// The tool or file the report came from.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl LvmError {
    /// The same error, naming `input` (a file, or the program that wrote
    /// the report) as where the malformed report came from.
    pub fn in_input(self, input: &str) -> LvmError {
        match self {
            LvmError::Malformed { reason, .. } => LvmError::Malformed {
                what: input.to_string(),
                reason,
            },
            e => e,
        }
    }

    /// True when the tool is not installed here.
    pub fn not_installed(&self) -> bool {
        matches!(self, LvmError::Run { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Runs `tool` with `args` and returns its standard output.
fn run_tool(tool: &str, args: &[&str]) -> Result<String, LvmError> {
    let out = Command::new(tool)
        .args(args)
        .output()
        .map_err(|source| LvmError::Run {
            tool: tool.to_string(),
            source,
        })?;
    if !out.status.success() {
        return Err(LvmError::Failed {
            tool: tool.to_string(),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The `pvs -o` fields [`join`] reads.
pub const PVS_FIELDS: &str = "pv_name,vg_name,vg_attr,vg_systemid,vg_lock_type";
/// The `lvs -o` fields [`join`] reads.
pub const LVS_FIELDS: &str = "vg_name,lv_name,lv_attr,lv_active";

/// One report row: field name to value.
pub type Row = BTreeMap<String, String>;

/// Parses `pvs`/`vgs`/`lvs --reportformat json` output: the rows of every
/// report's `kind` array (`pv`, `vg`, `lv`).
pub fn parse_report(text: &str, kind: &str) -> Result<Vec<Row>, LvmError> {
    let bad = |reason: String| LvmError::Malformed {
        what: format!("LVM {kind} report"),
        reason,
    };
    let v: Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let reports = v
        .get("report")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no \"report\" array".into()))?;
    let mut out = Vec::new();
    for r in reports {
        let Some(rows) = r.get(kind).and_then(Value::as_array) else {
            continue;
        };
        for row in rows {
            let o = row
                .as_object()
                .ok_or_else(|| bad(format!("a \"{kind}\" row that is not an object")))?;
            out.push(
                o.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect(),
            );
        }
    }
    Ok(out)
}

/// A logical volume of a volume group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogicalVolume {
    /// `lv_name`.
    pub name: String,
    /// `lv_attr` (`-wi-a-----`).
    pub attr: Option<String>,
    /// True when active on this host.
    pub active: bool,
}

/// An LVM physical volume on a unit, with its volume group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhysicalVolume {
    /// The PV's device as LVM names it (`/dev/mapper/mpatha`, `/dev/sdb1`).
    pub device: String,
    /// Volume group, when the PV belongs to one.
    pub vg: Option<String>,
    /// `vg_attr` (`wz--n-`; the sixth letter is `c` clustered, `s` shared).
    pub vg_attr: Option<String>,
    /// `vg_systemid`, when set.
    pub system_id: Option<String>,
    /// `vg_lock_type` (`dlm`, `sanlock`), when set.
    pub lock_type: Option<String>,
    /// Clustered (clvmd) VG.
    pub clustered: bool,
    /// Shared (lvmlockd) VG.
    pub shared: bool,
    /// The VG's logical volumes.
    pub lvs: Vec<LogicalVolume>,
}

/// Joins `pvs` rows ([`PVS_FIELDS`]) and `lvs` rows ([`LVS_FIELDS`]) onto
/// the units whose device names hold the PVs. Returns the PV devices that
/// are on no unit of the model (local disks, virtio disks).
pub fn join(topo: &mut Topology, pvs: &[Row], lvs: &[Row]) -> Vec<String> {
    let get = |r: &Row, k: &str| r.get(k).filter(|v| !v.is_empty()).cloned();
    let mut unmatched = Vec::new();
    if pvs.is_empty() {
        return unmatched;
    }
    let names: Vec<Vec<String>> = topo.luns.iter().map(device_names).collect();
    for r in pvs {
        let Some(dev) = get(r, "pv_name") else {
            continue;
        };
        let Some(i) = names.iter().position(|n| n.contains(&dev)) else {
            unmatched.push(dev);
            continue;
        };
        let vg = get(r, "vg_name");
        let attr = get(r, "vg_attr");
        let flag = attr.as_deref().and_then(|a| a.chars().nth(5));
        let lv_rows = lvs
            .iter()
            .filter(|l| vg.is_some() && get(l, "vg_name") == vg)
            .filter_map(|l| {
                Some(LogicalVolume {
                    name: get(l, "lv_name")?,
                    attr: get(l, "lv_attr"),
                    active: get(l, "lv_active").as_deref() == Some("active"),
                })
            })
            .collect();
        topo.luns[i].lvm.push(PhysicalVolume {
            device: dev,
            vg,
            clustered: flag == Some('c'),
            shared: flag == Some('s'),
            vg_attr: attr,
            system_id: get(r, "vg_systemid"),
            lock_type: get(r, "vg_lock_type"),
            lvs: lv_rows,
        });
    }
    unmatched
}

/// Runs `pvs` and `lvs` with [`PVS_FIELDS`] and [`LVS_FIELDS`] (reports;
/// `--readonly` would hide whether LVs are active) and returns their rows.
pub fn live_reports() -> Result<(Vec<Row>, Vec<Row>), LvmError> {
    let run = |tool: &str, fields: &str, kind: &str| -> Result<Vec<Row>, LvmError> {
        let text = run_tool(tool, &["--reportformat", "json", "-o", fields])?;
        parse_report(&text, kind).map_err(|e| e.in_input(tool))
    };
    Ok((run("pvs", PVS_FIELDS, "pv")?, run("lvs", LVS_FIELDS, "lv")?))
}

/// The `vgs` arguments fence_scsi uses to find the PVs of shared volume
/// groups (`get_shared_devices()`), for `devices = auto`.
pub const VGS_ARGS: [&str; 8] = [
    "--noheadings",
    "--separator",
    ":",
    "--sort",
    "pv_uuid",
    "--options",
    "vg_attr,pv_name",
    "--config",
];
/// The `--config` value that goes with [`VGS_ARGS`].
pub const VGS_CONFIG: &str =
    "global { locking_type = 0 } devices { preferred_names = [ \"^/dev/dm\" ] }";

/// Parses `vgs --noheadings --separator : --options vg_attr,pv_name`
/// output and keeps the PVs of clustered (`c`) or shared (`s`) VGs: the
/// sixth character of `vg_attr`. Order is kept, duplicates dropped.
pub fn parse_shared_pvs(text: &str) -> Result<Vec<String>, LvmError> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() {
            continue;
        }
        let (attr, pv) = l.split_once(':').ok_or_else(|| LvmError::Malformed {
            what: "vgs".into(),
            reason: format!("line without ':' separator: {l:?}"),
        })?;
        let pv = pv.trim();
        if matches!(attr.trim().chars().nth(5), Some('c' | 's'))
            && !pv.is_empty()
            && !out.iter().any(|p| p == pv)
        {
            out.push(pv.to_string());
        }
    }
    Ok(out)
}

/// Runs `vgs` (the program `vgs`) as fence_scsi does and returns the
/// shared PVs.
pub fn discover_shared_pvs(vgs: &str) -> Result<Vec<String>, LvmError> {
    let mut args: Vec<&str> = VGS_ARGS.to_vec();
    args.push(VGS_CONFIG);
    parse_shared_pvs(&run_tool(vgs, &args)?)
}

/// One row of a `vgs` report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VgRow {
    /// `vg_name`.
    pub vg_name: String,
    /// `pv_name`, when reported.
    pub pv_name: Option<String>,
    /// `lv_active`, when reported (`active` or empty).
    pub lv_active: Option<String>,
}

/// Parses `vgs --reportformat json` output.
pub fn parse_vgs_json(text: &str) -> Result<Vec<VgRow>, LvmError> {
    parse_report(text, "vg")?
        .into_iter()
        .map(|mut r| {
            Ok(VgRow {
                vg_name: r.remove("vg_name").ok_or_else(|| LvmError::Malformed {
                    what: "LVM vg report".into(),
                    reason: "a \"vg\" row without \"vg_name\"".into(),
                })?,
                pv_name: r.remove("pv_name").filter(|p| !p.is_empty()),
                lv_active: r.remove("lv_active"),
            })
        })
        .collect()
}

/// Every device node by which LVM could see the unit: its sd nodes and
/// partitions, the map and its kpartx maps, by-id and by-path links.
pub fn device_names(l: &Lun) -> Vec<String> {
    let mut v = Vec::new();
    for p in &l.paths {
        if let Some(s) = &p.sd {
            v.push(format!("/dev/{s}"));
        }
        v.extend(p.by_path.iter().map(|b| format!("/dev/disk/by-path/{b}")));
        v.extend(p.by_id.iter().map(|b| format!("/dev/disk/by-id/{b}")));
    }
    if let Some(m) = &l.multipath {
        v.push(format!("/dev/mapper/{}", m.name));
        if let Some(d) = &m.dm {
            v.push(format!("/dev/{d}"));
        }
        v.extend(m.by_id.iter().map(|b| format!("/dev/disk/by-id/{b}")));
    }
    fn parts(b: &[BlockDev], v: &mut Vec<String>) {
        for d in b {
            match &d.kind {
                BlockKind::Partition { .. } => v.push(format!("/dev/{}", d.name)),
                BlockKind::KpartxPartition { .. } => {
                    if let Some(n) = &d.dm_name {
                        v.push(format!("/dev/mapper/{n}"));
                    }
                    v.push(format!("/dev/{}", d.name));
                }
                _ => {}
            }
        }
    }
    parts(&l.holders, &mut v);
    v
}

fn regex_escape(s: &str) -> String {
    let mut o = String::new();
    for c in s.chars() {
        if "\\^$.|?*+()[]{}".contains(c) {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

/// The `global_filter` entries that reject the unit: by-id and by-path
/// links (and their `-partN`), the sd nodes and their partitions, the map
/// and its kpartx maps.
pub fn reject_patterns(l: &Lun) -> Vec<String> {
    let mut v = Vec::new();
    let mut push = |p: String| {
        if !v.contains(&p) {
            v.push(p);
        }
    };
    for p in &l.paths {
        for b in &p.by_id {
            push(format!(
                "r|^/dev/disk/by-id/{}(-part[0-9]+)?$|",
                regex_escape(b)
            ));
        }
        for b in &p.by_path {
            push(format!(
                "r|^/dev/disk/by-path/{}(-part[0-9]+)?$|",
                regex_escape(b)
            ));
        }
        if let Some(s) = &p.sd {
            push(format!("r|^/dev/{}[0-9]*$|", regex_escape(s)));
        }
    }
    if let Some(m) = &l.multipath {
        for b in &m.by_id {
            push(format!(
                "r|^/dev/disk/by-id/{}(-part[0-9]+)?$|",
                regex_escape(b)
            ));
        }
        push(format!(
            "r|^/dev/mapper/{}(p?[0-9]+)?$|",
            regex_escape(&m.name)
        ));
        if let Some(d) = &m.dm {
            push(format!("r|^/dev/{}$|", regex_escape(d)));
        }
    }
    v
}

/// lvm.conf lines: a comment naming each unit, then one `global_filter`
/// that rejects all of them and accepts everything else.
pub fn global_filter(luns: &[&Lun]) -> String {
    let mut out = String::new();
    let mut pats = Vec::new();
    for l in luns {
        let alias = l
            .multipath
            .as_ref()
            .map(|m| format!(" ({})", m.name))
            .unwrap_or_default();
        out.push_str(&format!("# reject {}{alias}\n", l.label()));
        pats.extend(reject_patterns(l));
    }
    pats.push("a|.*|".into());
    let quoted: Vec<String> = pats.iter().map(|p| format!("\"{p}\"")).collect();
    out.push_str(&format!("global_filter = [ {} ]\n", quoted.join(", ")));
    out
}

/// A volume group found on a unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VgOnLun {
    /// The unit's WWID (or label).
    pub lun: String,
    /// Volume group name.
    pub vg: String,
    /// True when the VG has an active LV on this host (a dm device in
    /// sysfs, or `lv_active` = `active` in the report).
    pub active: bool,
}

/// Volume groups on `luns`, from the sysfs holders, the PVs joined onto
/// the units ([`join`]) and the `vgs` rows whose `pv_name` is one of the
/// unit's device names.
pub fn vgs_on(luns: &[&Lun], rows: &[VgRow]) -> Vec<VgOnLun> {
    let mut out: Vec<VgOnLun> = Vec::new();
    for l in luns {
        let names = device_names(l);
        let mut add = |vg: &str, active: bool| {
            if let Some(e) = out.iter_mut().find(|e| e.vg == vg && e.lun == l.label()) {
                e.active |= active;
            } else {
                out.push(VgOnLun {
                    lun: l.label(),
                    vg: vg.to_string(),
                    active,
                });
            }
        };
        for vg in l.volume_groups() {
            add(&vg, true);
        }
        for pv in &l.lvm {
            if let Some(vg) = &pv.vg {
                add(vg, pv.lvs.iter().any(|lv| lv.active));
            }
        }
        for r in rows {
            if r.pv_name.as_ref().is_some_and(|p| names.contains(p)) {
                add(&r.vg_name, r.lv_active.as_deref() == Some("active"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vgs_shared_pvs() {
        // vgs --noheadings --separator : --sort pv_uuid --options vg_attr,pv_name
        let text = "  wz--n-:/dev/sda2\n  wz--ns:/dev/dm-3\n  wz--nc:/dev/dm-4\n  wz--ns:/dev/dm-3\n\n  wz--n-:/dev/sdb\n";
        assert_eq!(
            parse_shared_pvs(text).unwrap(),
            vec!["/dev/dm-3", "/dev/dm-4"]
        );
        assert!(parse_shared_pvs("garbage\n").is_err());
        assert!(parse_shared_pvs("").unwrap().is_empty());
        // Too short an attribute is not shared.
        assert!(parse_shared_pvs("wz:/dev/sdc\n").unwrap().is_empty());
    }

    #[test]
    fn a_missing_vgs_is_not_installed() {
        let e = discover_shared_pvs("/nonexistent/vgs").unwrap_err();
        assert!(e.not_installed(), "{e}");
        let e = discover_shared_pvs("false").unwrap_err();
        assert!(matches!(e, LvmError::Failed { .. }), "{e}");
    }

    #[test]
    fn vgs_report() {
        let t = r#"{ "report": [ { "vg": [
            {"vg_name":"vg0", "pv_name":"/dev/mapper/mpatha", "lv_active":"active"},
            {"vg_name":"root", "pv_name":"/dev/vda2", "lv_active":""} ] } ] }"#;
        let r = parse_vgs_json(t).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].pv_name.as_deref(), Some("/dev/mapper/mpatha"));
        assert!(parse_vgs_json("{}").is_err());
        assert!(parse_vgs_json("nope").is_err());
        assert!(parse_vgs_json(r#"{"report":[{"vg":[{"x":"1"}]}]}"#).is_err());
    }

    #[test]
    fn escapes() {
        assert_eq!(regex_escape("a.b|c"), "a\\.b\\|c");
    }

    #[test]
    fn pvs_and_lvs_join_onto_the_unit_under_them() {
        let mut t = Topology {
            luns: vec![
                Lun {
                    wwid: Some("3600a".into()),
                    multipath: Some(super::super::MultipathMap {
                        name: "mpatha".into(),
                        ..Default::default()
                    }),
                    ..Lun::default()
                },
                Lun {
                    wwid: Some("3600b".into()),
                    ..Lun::default()
                },
            ],
            ..Topology::default()
        };
        let pvs = parse_report(
            r#"{"report":[{"pv":[
              {"pv_name":"/dev/mapper/mpatha","vg_name":"shared","vg_attr":"wz--ns","vg_systemid":"","vg_lock_type":"dlm"},
              {"pv_name":"/dev/vda2","vg_name":"root","vg_attr":"wz--n-","vg_systemid":"host1","vg_lock_type":""}]}]}"#,
            "pv",
        )
        .unwrap();
        let lvs = parse_report(
            r#"{"report":[{"lv":[{"vg_name":"shared","lv_name":"data","lv_attr":"-wi-a-----","lv_active":"active"},
              {"vg_name":"root","lv_name":"root","lv_attr":"-wi-ao----","lv_active":"active"}]}]}"#,
            "lv",
        )
        .unwrap();
        let unmatched = join(&mut t, &pvs, &lvs);
        assert_eq!(unmatched, vec!["/dev/vda2"]);
        let pv = &t.luns[0].lvm[0];
        assert_eq!(pv.vg.as_deref(), Some("shared"));
        assert!(pv.shared && !pv.clustered);
        assert_eq!(pv.lock_type.as_deref(), Some("dlm"));
        assert_eq!(pv.system_id, None);
        assert_eq!(pv.lvs.len(), 1);
        assert!(pv.lvs[0].active);
        assert!(t.luns[1].lvm.is_empty());
        assert!(parse_report(r#"{"report":[{"pv":[1]}]}"#, "pv").is_err());
    }

    proptest::proptest! {
        #[test]
        fn vgs_json_never_panics(text in "\\PC{0,400}") {
            let _ = parse_vgs_json(&text);
            let _ = parse_report(&text, "pv");
        }
    }
}
