//! LVM: volume groups from `vgs --reportformat json` output, and lvm.conf
//! `global_filter` lines that keep a host's LVM away from given units
//! (a shared LUN that belongs to a guest or to another cluster node).
//!
//! The report is read as LVM writes it: `{"report": [{"vg": [{...}]}]}`
//! with every value a string; the fields used are `vg_name` and, when
//! requested (`vgs -o vg_name,pv_name,lv_active`), `pv_name` and
//! `lv_active`.

use serde::Serialize;
use serde_json::Value;

use super::{BlockDev, BlockKind, Lun};

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
pub fn parse_vgs_json(text: &str) -> Result<Vec<VgRow>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let reports = v
        .get("report")
        .and_then(Value::as_array)
        .ok_or("no \"report\" array")?;
    let mut out = Vec::new();
    for r in reports {
        let Some(rows) = r.get("vg").and_then(Value::as_array) else {
            continue;
        };
        for row in rows {
            let s = |k: &str| row.get(k).and_then(Value::as_str).map(str::to_string);
            let vg_name = s("vg_name").ok_or("a \"vg\" row without \"vg_name\"")?;
            out.push(VgRow {
                vg_name,
                pv_name: s("pv_name").filter(|p| !p.is_empty()),
                lv_active: s("lv_active"),
            });
        }
    }
    Ok(out)
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

/// Volume groups on `luns`, from the sysfs holders and the `vgs` rows
/// whose `pv_name` is one of the unit's device names.
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

    proptest::proptest! {
        #[test]
        fn vgs_json_never_panics(text in "\\PC{0,400}") {
            let _ = parse_vgs_json(&text);
        }
    }
}
