//! The default human-readable rendering of a [`Topology`]: one block per
//! logical unit with its identity, map, paths and what is stacked on it.

use super::{BlockDev, BlockKind, Lun, Topology};

/// Bytes as a binary-unit size with one decimal (`10.0 GiB`).
pub fn human_size(bytes: u64) -> String {
    const U: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    #[allow(clippy::cast_precision_loss)]
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < U.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

fn holder(out: &mut String, d: &BlockDev, depth: usize) {
    let ind = "  ".repeat(depth + 2);
    let name = match &d.dm_name {
        Some(n) => format!("{n} ({})", d.name),
        None => d.name.clone(),
    };
    let what = match &d.kind {
        BlockKind::Partition { number } => format!("partition {number}"),
        BlockKind::KpartxPartition { number } => format!("kpartx partition {number}"),
        BlockKind::LvmLv { vg, lv } => format!("LVM {vg}/{lv}"),
        BlockKind::Dm { uuid } => format!("dm {uuid}"),
        BlockKind::Other => "holder".into(),
    };
    out.push_str(&format!("{ind}{name}  {what}"));
    if let Some(s) = d.size_bytes {
        out.push_str(&format!("  {}", human_size(s)));
    }
    for m in &d.mounts {
        out.push_str(&format!("  mounted on {m}"));
    }
    out.push('\n');
    for b in &d.by_path {
        out.push_str(&format!("{ind}  by-path {b}\n"));
    }
    for h in &d.holders {
        holder(out, h, depth + 1);
    }
}

/// One unit as text.
pub fn lun(l: &Lun) -> String {
    let mut out = String::new();
    out.push_str(l.wwid.as_deref().unwrap_or("(no WWID)"));
    out.push_str(&format!("  {} {} {}", l.vendor, l.model, l.revision));
    if let Some(s) = l.size_bytes {
        out.push_str(&format!("  {}", human_size(s)));
    }
    if let Some(s) = &l.serial {
        out.push_str(&format!("  serial {s}"));
    }
    out.push('\n');
    if let Some(m) = &l.multipath {
        out.push_str(&format!(
            "  map {} ({})",
            m.name,
            m.dm.as_deref().unwrap_or("inactive")
        ));
        let failed = m.failed_paths().len();
        if failed > 0 {
            out.push_str(&format!("  {failed} failed path(s)"));
        }
        out.push('\n');
    }
    for p in &l.paths {
        out.push_str(&format!(
            "  {}  {}  {}  {}  {}",
            p.hctl,
            p.sd.as_deref().unwrap_or("-"),
            p.sg.as_deref().unwrap_or("-"),
            p.transport,
            p.state.as_deref().unwrap_or("?"),
        ));
        // The map's view of the path: dm state and checker state.
        let mp = l.multipath.as_ref().and_then(|m| {
            m.paths()
                .find(|mp| p.sd.as_deref() == Some(mp.dev.as_str()))
        });
        if let Some(mp) = mp {
            let words: Vec<&str> = [mp.dm_state.as_deref(), mp.checker_state.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            if !words.is_empty() {
                out.push_str(&format!("  map: {}", words.join(" ")));
            }
        }
        out.push('\n');
        for b in &p.by_path {
            out.push_str(&format!("      by-path {b}\n"));
        }
    }
    for pv in &l.lvm {
        out.push_str(&format!("  PV {}", pv.device));
        if let Some(vg) = &pv.vg {
            out.push_str(&format!("  VG {vg}"));
            if let Some(a) = &pv.vg_attr {
                out.push_str(&format!(" ({a})"));
            }
            if pv.shared {
                out.push_str(" shared");
            }
            if pv.clustered {
                out.push_str(" clustered");
            }
            if let Some(s) = &pv.system_id {
                out.push_str(&format!(" system ID {s}"));
            }
        }
        out.push('\n');
        for lv in &pv.lvs {
            let act = if lv.active { "active" } else { "inactive" };
            out.push_str(&format!("      LV {}  {act}\n", lv.name));
        }
    }
    if !l.holders.is_empty() {
        out.push_str("  holders:\n");
        for h in &l.holders {
            holder(&mut out, h, 0);
        }
    }
    out
}

/// Every unit, separated by blank lines.
pub fn tree(t: &Topology) -> String {
    t.luns.iter().map(lun).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(10 << 30), "10.0 GiB");
    }
}
