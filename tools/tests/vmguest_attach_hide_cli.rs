//! `vmguest-attach hide` and `unhide` on the host, without libvirt: the
//! host's storage from a `pathmap --json` capture (`--topology`), its
//! multipath.conf and lvm.conf as files in a temporary directory.

// Tests: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{code, err, fixture, out, text, VMGUEST_ATTACH};

const WWID: &str = "36001405e6a3b4c5d6e7f8091a2b3c4d5";

const MULTIPATH_CONF: &str = "# multipath.conf of kvm1\ndefaults {\n\tuser_friendly_names yes\n}\n\nblacklist {\n\tdevnode \"^vd[a-z]\"\n\twwid 3600508b1001c4d2f5b5d6f2a7c0e1f00\n}\n";

const LVM_CONF: &str = "config {\n\tchecks = 1\n}\ndevices {\n\tdir = \"/dev\"\n\t# global_filter = [ \"a|.*|\" ]\n\tglobal_filter = [\n\t\t\"a|^/dev/vda2$|\",  # the root PV\n\t\t\"a|.*|\"\n\t]\n}\n";

struct Host {
    dir: tempfile::TempDir,
}

impl Host {
    fn new(mp: Option<&str>, lvm: Option<&str>) -> Host {
        let dir = tempfile::tempdir().unwrap();
        if let Some(t) = mp {
            fs::write(dir.path().join("multipath.conf"), t).unwrap();
        }
        if let Some(t) = lvm {
            fs::write(dir.path().join("lvm.conf"), t).unwrap();
        }
        Host { dir }
    }

    fn mp(&self) -> PathBuf {
        self.dir.path().join("multipath.conf")
    }

    fn lvm(&self) -> PathBuf {
        self.dir.path().join("lvm.conf")
    }

    fn read(p: &Path) -> Option<String> {
        fs::read_to_string(p).ok()
    }

    /// The directory's file names, sorted.
    fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn run(&self, topology: &Path, args: &[&str]) -> Output {
        Command::new(VMGUEST_ATTACH)
            .arg("--topology")
            .arg(topology)
            .arg("--multipath-conf")
            .arg(self.mp())
            .arg("--lvm-conf")
            .arg(self.lvm())
            .args(args)
            .output()
            .unwrap()
    }
}

fn map_topology() -> PathBuf {
    fixture("vm").join("topology-map.json")
}

#[test]
fn hide_without_apply_prints_the_change_and_writes_nothing() {
    let h = Host::new(Some(MULTIPATH_CONF), Some(LVM_CONF));
    // Named by its map alias (the WWID here) and by a by-path name.
    let o = h.run(
        &map_topology(),
        &[
            "hide",
            "/dev/disk/by-path/ip-192.168.10.1:3260-iscsi-iqn.2003-01.org.linux-iscsi.stor1.x8664:sn.4f2b1c-lun-0",
        ],
    );
    assert_eq!(code(&o), 0, "{}", text(&o));
    let s = out(&o);
    assert!(s.contains(&format!("+\twwid \"^{WWID}$\"\n")), "{s}");
    assert!(
        s.contains(
            "+\t\t\"r|^/dev/disk/by-id/wwn-0x6001405e6a3b4c5d6e7f8091a2b3c4d5(-part[0-9]+)?$|\",\n"
        ),
        "{s}"
    );
    // The filter accepts everything after the rejects: kernel names too.
    assert!(s.contains("\"r|^/dev/sdc[0-9]*$|\""), "{s}");
    assert!(s.contains("nothing written"), "{s}");
    assert!(s.contains(&format!("multipath -f {WWID}")), "{s}");
    assert_eq!(Host::read(&h.mp()).as_deref(), Some(MULTIPATH_CONF));
    assert_eq!(Host::read(&h.lvm()).as_deref(), Some(LVM_CONF));
    assert_eq!(h.files(), ["lvm.conf", "multipath.conf"]);
}

#[test]
fn hide_apply_is_idempotent_and_unhide_restores_the_bytes() {
    let h = Host::new(Some(MULTIPATH_CONF), Some(LVM_CONF));
    let o = h.run(&map_topology(), &["hide", "--apply", WWID]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let s = out(&o);
    assert!(s.contains("multipath.conf: backed up as "), "{s}");
    assert!(s.contains("lvm.conf: written"), "{s}");
    let mp = Host::read(&h.mp()).unwrap();
    let lvm = Host::read(&h.lvm()).unwrap();
    assert!(
        mp.contains(&format!(
            "blacklist {{\n\t# fencekit-hide: begin {WWID}\n\twwid \"^{WWID}$\"\n"
        )),
        "{mp}"
    );
    // The rejects come first in the array, before the accepts.
    let reject = lvm.find("\"r|^/dev/disk/by-path/").unwrap();
    assert!(reject < lvm.find("\"a|^/dev/vda2$|\"").unwrap(), "{lvm}");
    let files = h.files();
    assert_eq!(files.len(), 4, "{files:?}");
    for f in files.iter().filter(|f| f.contains(".fencekit-")) {
        let orig = if f.starts_with("lvm") {
            LVM_CONF
        } else {
            MULTIPATH_CONF
        };
        assert_eq!(
            fs::read_to_string(h.dir.path().join(f)).unwrap(),
            orig,
            "{f}"
        );
    }
    // Again: nothing changes, no new backup.
    let o = h.run(&map_topology(), &["hide", "--apply", WWID]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(
        out(&o).contains("multipath.conf: unchanged (already hides them)"),
        "{}",
        text(&o)
    );
    assert_eq!(h.files().len(), 4);
    assert_eq!(Host::read(&h.mp()).unwrap(), mp);
    // unhide gives the original bytes back (backing up the hidden ones).
    let o = h.run(&map_topology(), &["unhide", "--apply", WWID]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(Host::read(&h.mp()).as_deref(), Some(MULTIPATH_CONF));
    assert_eq!(Host::read(&h.lvm()).as_deref(), Some(LVM_CONF));
    assert_eq!(h.files().len(), 6);
    let o = h.run(&map_topology(), &["unhide", "--apply", WWID]);
    assert!(
        out(&o).contains("unchanged (has no entries of hide for them)"),
        "{}",
        text(&o)
    );
}

#[test]
fn missing_files_are_created_and_removed_again() {
    let h = Host::new(None, None);
    let o = h.run(&map_topology(), &["hide", "--apply", WWID]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(h.files(), ["lvm.conf", "multipath.conf"]);
    let lvm = Host::read(&h.lvm()).unwrap();
    assert!(
        lvm.contains("devices {\n") && lvm.contains("global_filter = [\n"),
        "{lvm}"
    );
    // No accept pattern: persistent names only.
    assert!(!lvm.contains("/dev/sdb") && !lvm.contains("a|"), "{lvm}");
    // A LUN the host no longer sees is named by its WWID.
    let empty = tempfile::NamedTempFile::new().unwrap();
    fs::write(empty.path(), "{\"schema\": 1, \"luns\": []}").unwrap();
    let o = h.run(empty.path(), &["hide", WWID]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let o = h.run(empty.path(), &["unhide", "--apply", WWID]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(
        out(&o).contains("removed (hide had created it)"),
        "{}",
        text(&o)
    );
    assert!(
        h.files().iter().all(|f| f.contains(".fencekit-")),
        "{:?}",
        h.files()
    );
}

#[test]
fn an_active_vg_on_the_lun_is_refused() {
    let h = Host::new(Some(MULTIPATH_CONF), Some(LVM_CONF));
    let o = h.run(
        &fixture("vgs").join("kvm1.json"),
        &["hide", "--apply", WWID],
    );
    assert_eq!(code(&o), 4, "{}", text(&o));
    assert!(
        err(&o).contains("VG guestvg on 36001405e6a3b4c5d6e7f8091a2b3c4d5 is active on this host"),
        "{}",
        text(&o)
    );
    assert!(err(&o).contains("vgchange -an guestvg"), "{}", text(&o));
    assert_eq!(Host::read(&h.mp()).as_deref(), Some(MULTIPATH_CONF));
    assert_eq!(h.files().len(), 2);
}

#[test]
fn unknown_luns_unsupported_files_and_json() {
    let h = Host::new(
        Some(MULTIPATH_CONF),
        Some("devices {\n\tglobal_filter = \"a|.*|\"\n}\n"),
    );
    let o = h.run(&map_topology(), &["hide", "mpathz"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let o = h.run(&map_topology(), &["hide", "--apply", WWID]);
    assert_eq!(code(&o), 6, "{}", text(&o));
    assert!(err(&o).contains("lvm.conf: line 2: "), "{}", text(&o));
    assert_eq!(Host::read(&h.mp()).as_deref(), Some(MULTIPATH_CONF));
    assert_eq!(h.files().len(), 2);
    let h = Host::new(Some(MULTIPATH_CONF), None);
    let o = h.run(&map_topology(), &["--json", "hide", WWID]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["action"], "hide");
    assert_eq!(v["applied"], false);
    assert_eq!(v["wwids"][0], WWID);
    assert_eq!(v["files"][0]["changed"], true);
    assert!(v["files"][1]["diff"]
        .as_str()
        .unwrap()
        .starts_with("--- /dev/null\n"));
    assert_eq!(v["commands"][0][0], "multipathd");
    // --reload needs --apply.
    let o = h.run(&map_topology(), &["hide", "--reload", WWID]);
    assert_eq!(code(&o), 1, "{}", text(&o));
}
