//! Volume groups on shared units across hosts (`pathmap vgs`): for each
//! VG its units (WWIDs), system ID, lock type and where it is visible and
//! active, from one or more hosts' models (the PVs `pvs`/`lvs` joined onto
//! the units, [`super::lvm::join`], and the LVs stacked on them in sysfs),
//! and an ownership policy checked against them.
//!
//! The policy (TOML) is a list of `[[vg]]` entries, each a `name` (a VG
//! name, or a glob with `*` and `?`) and one owner: `host = "NAME"` (only
//! that host activates it), `guest = "DOMAIN"` (a guest's VG: no host
//! should see it), `shared = true` (active on several hosts under
//! lvmlockd: its lock type must be `sanlock` or `dlm`), or
//! `failover = true` (active on at most one host at a time). The first
//! entry whose name matches a VG is its entry.

use serde::{Deserialize, Serialize};

use super::{BlockDev, BlockKind, Topology};

/// One host's view of a volume group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VgOnHost {
    /// The host (the model's `host`, or the name its caller gave it).
    pub host: String,
    /// True when an LV of the VG is active there.
    pub active: bool,
    /// The active LVs.
    pub active_lvs: Vec<String>,
}

/// A volume group with a PV on a unit of some host's model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeGroup {
    /// The VG's name.
    pub name: String,
    /// The units its PVs are on (WWIDs, or the first path's address).
    pub luns: Vec<String>,
    /// `vg_systemid`, when any host reports one.
    pub system_id: Option<String>,
    /// `vg_lock_type` (`sanlock`, `dlm`), when any host reports one.
    pub lock_type: Option<String>,
    /// The VG's attributes say shared (lvmlockd) on some host.
    pub shared: bool,
    /// The VG's attributes say clustered (clvmd) on some host.
    pub clustered: bool,
    /// The hosts that see it, in the order of the models given.
    pub hosts: Vec<VgOnHost>,
}

impl VolumeGroup {
    /// The hosts where it is active.
    pub fn active_on(&self) -> Vec<&str> {
        self.hosts
            .iter()
            .filter(|h| h.active)
            .map(|h| h.host.as_str())
            .collect()
    }
}

fn lvs_in(b: &[BlockDev], vg_out: &mut Vec<(String, String)>) {
    for d in b {
        if let BlockKind::LvmLv { vg, lv } = &d.kind {
            vg_out.push((vg.clone(), lv.clone()));
        }
        lvs_in(&d.holders, vg_out);
    }
}

/// The volume groups of `hosts` (each a model and its host name).
pub fn collect(hosts: &[(String, &Topology)]) -> Vec<VolumeGroup> {
    let mut out: Vec<VolumeGroup> = Vec::new();
    for (host, t) in hosts {
        for l in &t.luns {
            // (vg, active LV names) seen on this unit.
            let mut seen: Vec<(String, Vec<String>)> = Vec::new();
            let mut note = |vg: &str, lvs: Vec<String>| match seen.iter_mut().find(|s| s.0 == vg) {
                Some(s) => s.1.extend(lvs),
                None => seen.push((vg.to_string(), lvs)),
            };
            let mut stacked = Vec::new();
            lvs_in(&l.holders, &mut stacked);
            for (vg, lv) in stacked {
                note(&vg, vec![lv]);
            }
            for pv in &l.lvm {
                if let Some(vg) = &pv.vg {
                    let active = pv.lvs.iter().filter(|x| x.active).map(|x| x.name.clone());
                    note(vg, active.collect());
                }
            }
            for (name, lvs) in seen {
                let i = match out.iter().position(|v| v.name == name) {
                    Some(i) => i,
                    None => {
                        out.push(VolumeGroup {
                            name: name.clone(),
                            luns: Vec::new(),
                            system_id: None,
                            lock_type: None,
                            shared: false,
                            clustered: false,
                            hosts: Vec::new(),
                        });
                        out.len() - 1
                    }
                };
                let v = &mut out[i];
                let label = l.label();
                if !v.luns.contains(&label) {
                    v.luns.push(label);
                }
                for pv in l.lvm.iter().filter(|p| p.vg.as_deref() == Some(&name)) {
                    v.system_id = v.system_id.take().or_else(|| pv.system_id.clone());
                    v.lock_type = v.lock_type.take().or_else(|| pv.lock_type.clone());
                    v.shared |= pv.shared;
                    v.clustered |= pv.clustered;
                }
                let h = match v.hosts.iter().position(|h| h.host == *host) {
                    Some(j) => &mut v.hosts[j],
                    None => {
                        v.hosts.push(VgOnHost {
                            host: host.clone(),
                            active: false,
                            active_lvs: Vec::new(),
                        });
                        let last = v.hosts.len() - 1;
                        &mut v.hosts[last]
                    }
                };
                for lv in lvs {
                    if !h.active_lvs.contains(&lv) {
                        h.active_lvs.push(lv);
                    }
                }
                h.active = !h.active_lvs.is_empty();
            }
        }
    }
    out
}

/// Who owns a volume group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Owner {
    /// One host.
    Host(String),
    /// A guest (a libvirt domain): no host should see it.
    Guest(String),
    /// Several hosts at once, under lvmlockd.
    Shared,
    /// One host at a time.
    Failover,
}

/// One `[[vg]]` entry of the policy file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    host: Option<String>,
    guest: Option<String>,
    #[serde(default)]
    shared: bool,
    #[serde(default)]
    failover: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    vg: Vec<Entry>,
}

/// A policy file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {detail}")]
pub struct PolicyError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub detail: String,
}

/// The VG ownership policy: (name or glob, owner), first match wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// The entries in the file's order.
    pub entries: Vec<(String, Owner)>,
}

impl Policy {
    /// Reads a policy file's text; `file` names it in errors.
    pub fn from_toml(file: &str, text: &str) -> Result<Policy, PolicyError> {
        let bad = |detail: String| PolicyError {
            file: file.to_string(),
            detail,
        };
        let f: File = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut entries = Vec::new();
        for e in f.vg {
            let mut owners = Vec::new();
            if let Some(h) = e.host {
                owners.push(Owner::Host(h));
            }
            if let Some(g) = e.guest {
                owners.push(Owner::Guest(g));
            }
            if e.shared {
                owners.push(Owner::Shared);
            }
            if e.failover {
                owners.push(Owner::Failover);
            }
            if owners.len() != 1 || e.name.is_empty() {
                return Err(bad(format!(
                    "VG entry '{}': give a name and exactly one of host, guest, shared, failover",
                    e.name
                )));
            }
            entries.extend(owners.into_iter().map(|o| (e.name.clone(), o)));
        }
        Ok(Policy { entries })
    }

    /// The owner the policy gives to the VG `name`.
    pub fn owner(&self, name: &str) -> Option<&Owner> {
        self.entries
            .iter()
            .find(|(p, _)| glob(p.as_bytes(), name.as_bytes()))
            .map(|(_, o)| o)
    }
}

/// Shell-style match of `name` against `pat` with `*` and `?`.
fn glob(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pat.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pat[p.min(pat.len())..].iter().all(|&c| c == b'*')
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look; not a problem by itself.
    Warning,
    /// A problem.
    Error,
}

/// What is wrong with a volume group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The VG.
    pub vg: String,
    /// `active-on-several-hosts`, `active-on-other-host`,
    /// `guest-vg-on-host`, `shared-without-lock`, `not-in-policy`.
    pub kind: &'static str,
    /// How bad.
    pub severity: Severity,
    /// A sentence.
    pub message: String,
}

/// The findings for `vgs` under `policy` (without one, only VGs active
/// on several hosts that do not say they are shared or clustered).
pub fn check(vgs: &[VolumeGroup], policy: Option<&Policy>) -> Vec<Finding> {
    let mut out = Vec::new();
    for v in vgs {
        let owner = policy.and_then(|p| p.owner(&v.name));
        let mut add = |kind, severity, message: String| {
            out.push(Finding {
                vg: v.name.clone(),
                kind,
                severity,
                message,
            })
        };
        let active = v.active_on();
        let shared_ok = match owner {
            Some(Owner::Shared) => true,
            Some(_) => false,
            None => v.shared || v.clustered,
        };
        if active.len() > 1 && !shared_ok {
            add(
                "active-on-several-hosts",
                Severity::Error,
                format!(
                    "VG {} is not shared but active on {}",
                    v.name,
                    active.join(", ")
                ),
            );
        }
        match owner {
            Some(Owner::Host(h)) => {
                let others: Vec<&str> = active.iter().copied().filter(|a| a != h).collect();
                if !others.is_empty() {
                    add(
                        "active-on-other-host",
                        Severity::Error,
                        format!(
                            "VG {} belongs to host {h} but is active on {}",
                            v.name,
                            others.join(", ")
                        ),
                    );
                }
            }
            Some(Owner::Guest(g)) => {
                for h in &v.hosts {
                    let how = if h.active { "active" } else { "visible" };
                    add(
                        "guest-vg-on-host",
                        Severity::Error,
                        format!(
                            "VG {} belongs to guest {g} but is {how} on host {} (hide its LUNs: vmguest-attach hide {})",
                            v.name,
                            h.host,
                            v.luns.join(" ")
                        ),
                    );
                }
            }
            Some(Owner::Shared) => {
                let lock = v.lock_type.as_deref().unwrap_or("");
                if !matches!(lock, "sanlock" | "dlm") {
                    let had = if lock.is_empty() { "none" } else { lock };
                    add(
                        "shared-without-lock",
                        Severity::Error,
                        format!(
                            "VG {} is shared by the policy but its lock type is {had}, not sanlock or dlm",
                            v.name
                        ),
                    );
                }
            }
            Some(Owner::Failover) => {}
            None if policy.is_some() => add(
                "not-in-policy",
                Severity::Warning,
                format!("VG {} is not named by the policy", v.name),
            ),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::lvm::{LogicalVolume, PhysicalVolume};
    use crate::topology::Lun;

    fn pv(vg: &str, lock: Option<&str>, active: bool) -> PhysicalVolume {
        PhysicalVolume {
            device: "/dev/mapper/mpatha".into(),
            vg: Some(vg.into()),
            vg_attr: Some(if lock.is_some() { "wz--ns" } else { "wz--n-" }.into()),
            system_id: None,
            lock_type: lock.map(Into::into),
            clustered: false,
            shared: lock.is_some(),
            lvs: vec![LogicalVolume {
                name: "data".into(),
                attr: None,
                active,
            }],
        }
    }

    fn host(name: &str, pvs: Vec<(&str, PhysicalVolume)>) -> Topology {
        Topology {
            host: Some(name.into()),
            luns: pvs
                .into_iter()
                .map(|(w, p)| Lun {
                    wwid: Some(w.into()),
                    lvm: vec![p],
                    ..Lun::default()
                })
                .collect(),
            ..Topology::default()
        }
    }

    #[test]
    fn globs() {
        assert!(glob(b"guest*", b"guest_vg1"));
        assert!(glob(b"*", b""));
        assert!(glob(b"a?c*d", b"abcxxd"));
        assert!(!glob(b"a?c", b"ac"));
        assert!(!glob(b"data", b"data2"));
        assert!(glob(b"*vg*", b"myvgx"));
    }

    #[test]
    fn vgs_are_joined_across_hosts() {
        let a = host(
            "kvm1",
            vec![
                ("3600a", pv("vga", None, true)),
                ("3600b", pv("vgs", Some("dlm"), true)),
            ],
        );
        let b = host(
            "kvm2",
            vec![
                ("3600a", pv("vga", None, false)),
                ("3600b", pv("vgs", Some("dlm"), true)),
            ],
        );
        let v = collect(&[("kvm1".into(), &a), ("kvm2".into(), &b)]);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].name, "vga");
        assert_eq!(v[0].luns, ["3600a"]);
        assert_eq!(v[0].active_on(), ["kvm1"]);
        assert_eq!(v[0].hosts.len(), 2);
        assert_eq!(v[1].lock_type.as_deref(), Some("dlm"));
        assert!(v[1].shared);
        assert_eq!(v[1].active_on(), ["kvm1", "kvm2"]);
        // Shared by its own attributes: no finding without a policy.
        assert_eq!(check(&v, None), vec![]);
    }

    #[test]
    fn a_stacked_lv_counts_as_active() {
        let t = crate::vm::rules::tests::topo(1);
        let v = collect(&[("kvm1".into(), &t)]);
        assert_eq!(v[0].name, "vg_shared");
        assert_eq!(v[0].hosts[0].active_lvs, ["data"]);
    }

    #[test]
    fn findings() {
        let a = host(
            "kvm1",
            vec![
                ("3600a", pv("vga", None, true)),
                ("3600c", pv("guestvg", None, false)),
                ("3600d", pv("lonely", None, false)),
            ],
        );
        let b = host(
            "kvm2",
            vec![
                ("3600a", pv("vga", None, true)),
                ("3600b", pv("vgs", None, true)),
            ],
        );
        let v = collect(&[("kvm1".into(), &a), ("kvm2".into(), &b)]);
        let kinds = |f: &[Finding]| f.iter().map(|f| (f.vg.clone(), f.kind)).collect::<Vec<_>>();
        assert_eq!(
            kinds(&check(&v, None)),
            [("vga".to_string(), "active-on-several-hosts")]
        );
        let p = Policy::from_toml(
            "p.toml",
            "[[vg]]\nname = \"vga\"\nhost = \"kvm1\"\n[[vg]]\nname = \"guest*\"\nguest = \"node1\"\n[[vg]]\nname = \"vg?\"\nshared = true\n",
        )
        .unwrap();
        let f = check(&v, Some(&p));
        assert_eq!(
            kinds(&f),
            [
                ("vga".to_string(), "active-on-several-hosts"),
                ("vga".to_string(), "active-on-other-host"),
                ("guestvg".to_string(), "guest-vg-on-host"),
                ("lonely".to_string(), "not-in-policy"),
                ("vgs".to_string(), "shared-without-lock"),
            ]
        );
        assert!(
            f[2].message.contains("visible on host kvm1"),
            "{}",
            f[2].message
        );
        assert_eq!(f[3].severity, Severity::Warning);
        let p = Policy::from_toml("p.toml", "[[vg]]\nname = \"vga\"\nfailover = true\n").unwrap();
        assert_eq!(check(&v[..1], Some(&p)).len(), 1);
        let p = Policy::from_toml("p.toml", "[[vg]]\nname = \"vga\"\nshared = true\n").unwrap();
        assert_eq!(
            kinds(&check(&v[..1], Some(&p))),
            [("vga".to_string(), "shared-without-lock")]
        );
    }

    #[test]
    fn bad_policies_name_the_file() {
        for t in [
            "[[vg]]\nname = \"x\"\n",
            "[[vg]]\nname = \"x\"\nhost = \"a\"\nshared = true\n",
            "[[vg]]\nname = \"x\"\nowner = \"a\"\n",
            "vg = 3",
            "[[vg]]\nname = \"\"\nfailover = true\n",
        ] {
            let e = Policy::from_toml("p.toml", t).unwrap_err();
            assert!(e.to_string().starts_with("p.toml: "), "{e}");
        }
        assert_eq!(Policy::from_toml("p.toml", "").unwrap(), Policy::default());
    }

    proptest::proptest! {
        #[test]
        fn policies_never_panic(text in "\\PC{0,200}", name in "[a-z*?]{0,8}") {
            if let Ok(p) = Policy::from_toml("p", &text) {
                let _ = p.owner(&name);
            }
            let _ = glob(name.as_bytes(), b"abc");
        }
    }
}
