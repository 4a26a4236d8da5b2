//! End-to-end tests of `qdisk` on image files and, where the host allows,
//! loop devices. Layouts are checked by reading raw bytes and with an
//! independent Python reader and writer (`tests/qdisk/*.py`) that do not use
//! the fencekit library.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use common::{code, text};

fn qdisk(args: &[&str]) -> Output {
    Command::new(common::QDISK)
        .args(args)
        .output()
        .expect("run qdisk")
}

fn python(script: &str, args: &[&str]) -> Output {
    Command::new("python3")
        .arg(fencekit_tests::harness_file("qdisk").join(script))
        .args(args)
        .output()
        .expect("run python3")
}

/// An image of 1 MiB filled with 0xA5, so that untouched bytes show.
fn image(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, vec![0xA5u8; 1 << 20]).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Checks the raw layout of a freshly created qdisk with sector size `ssz`.
fn check_layout(img: &Path, ssz: usize, label: &str) {
    let all = fs::read(img).unwrap();
    let offsets: Vec<usize> = (0..=16).map(|n| n * 4096).collect();
    for &off in &offsets {
        assert_eq!(
            &all[off..off + 4],
            &[0x1e, 0xbb, 0xde, 0x00],
            "magic at {off}"
        );
        // The whole sector is written, nothing after it in the block's space.
        assert!(
            all[off + 32 + 272.min(ssz)..off + ssz]
                .iter()
                .all(|&b| b != 0xA5),
            "sector at {off} fully written"
        );
        if ssz < 4096 {
            assert!(
                all[off + ssz..off + 4096].iter().all(|&b| b == 0xA5),
                "bytes after the sector at {off} untouched"
            );
        }
    }
    assert_eq!(&all[32..36], &[0xeb, 0x7a, 0x62, 0xc2]);
    assert_eq!(&all[32 + 144..32 + 144 + label.len()], label.as_bytes());
    assert_eq!(
        &all[32 + 264..32 + 268],
        &u32::try_from(ssz).unwrap().to_be_bytes()
    );
    for n in 1..=16u32 {
        let p = 4096 * n as usize + 32;
        assert_eq!(&all[p..p + 4], &[0x47, 0xba, 0xce, 0xf8]);
        assert_eq!(&all[p + 16..p + 20], &n.to_be_bytes());
    }
    assert!(
        all[73728..].iter().all(|&b| b == 0xA5),
        "nothing written after the qdisk region"
    );
}

fn reader(img: &Path) -> Value {
    let o = python("independent_reader.py", &[s(img)]);
    assert_eq!(
        code(&o),
        0,
        "independent reader rejected the image: {}",
        text(&o)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn create_lays_out_blocks_for_512_and_4096_byte_sectors() {
    let t = tempfile::tempdir().unwrap();
    for ssz in [512usize, 4096] {
        let img = image(t.path(), &format!("q{ssz}.img"));
        let o = qdisk(&[
            "create",
            "--sector-size",
            &ssz.to_string(),
            "-l",
            "mylabel",
            "--yes",
            s(&img),
        ]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains(&format!(
            "wrote status block of node 16: bytes 65536-{} ({ssz} bytes)",
            65536 + ssz - 1
        )));
        check_layout(&img, ssz, "mylabel");
        let v = reader(&img);
        assert_eq!(v["header"]["label"], "mylabel");
        assert_eq!(v["header"]["sector_size"], ssz);
        assert_eq!(v["nodes"].as_array().unwrap().len(), 16);
        for (i, n) in v["nodes"].as_array().unwrap().iter().enumerate() {
            assert_eq!(n["node_id"], i + 1);
            assert_eq!(n["state"], 0);
        }
    }
}

#[test]
fn evict_is_accepted_by_the_independent_reader() {
    let t = tempfile::tempdir().unwrap();
    let img = image(t.path(), "e.img");
    assert_eq!(code(&qdisk(&["create", "-l", "e", "-y", s(&img)])), 0);
    let o = qdisk(&["evict", "--node", "5", "--writer", "2", s(&img)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("node 5: state None -> Evicted"));
    let v = reader(&img);
    for n in v["nodes"].as_array().unwrap() {
        if n["node"] == 5 {
            assert_eq!(n["state"], 1);
            assert_eq!(n["update_node"], 2);
            assert_eq!(n["node_id"], 5);
        } else {
            assert_eq!(n["state"], 0);
        }
    }
    for bad in ["0", "17"] {
        let o = qdisk(&["evict", "--node", bad, s(&img)]);
        assert_eq!(code(&o), 1, "{}", text(&o));
    }
}

#[test]
fn dump_json_shows_what_an_independent_writer_wrote() {
    let t = tempfile::tempdir().unwrap();
    for ssz in ["512", "4096"] {
        let img = t.path().join(format!("w{ssz}.img"));
        let w = python("independent_writer.py", &[s(&img), ssz]);
        assert_eq!(code(&w), 0, "{}", text(&w));
        let want: Value = serde_json::from_slice(&w.stdout).unwrap();
        let o = qdisk(&["dump", "--json", "--sector-size", ssz, s(&img)]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        let got: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(got["header"]["label"], want["label"]);
        assert_eq!(got["header"]["host"], want["host"]);
        assert_eq!(got["header"]["created"], want["created"]);
        assert_eq!(got["header"]["recorded_sector_size"], want["sector_size"]);
        assert_eq!(got["header"]["magic"], "eb7a62c2");
        let names = ["none", "evict", "init", "", "", "run", "master"];
        let msgs = ["none", "bid", "ack", "nack", "mask"];
        let nodes = got["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 16);
        for g in nodes {
            let n = g["node"].as_u64().unwrap();
            let w = &want["nodes"][n.to_string()];
            assert_eq!(g["offset"], 4096 * n);
            assert_eq!(g["error"], Value::Null);
            let st = usize::try_from(w["state"].as_u64().unwrap()).unwrap();
            assert_eq!(g["state"], names[st], "node {n}");
            assert_eq!(g["state_value"], w["state"]);
            for k in [
                "update_node",
                "timestamp",
                "flags",
                "score",
                "score_max",
                "seq",
                "arg",
            ] {
                assert_eq!(g[k], w[k], "node {n} field {k}");
            }
            assert_eq!(g["message_value"], w["msg"]);
            assert_eq!(
                g["message"],
                msgs[usize::try_from(w["msg"].as_u64().unwrap()).unwrap()]
            );
            assert_eq!(g["online"], w["online"], "node {n} online");
            assert_eq!(g["master"], w["master"], "node {n} master");
            assert_eq!(
                g["incarnation"],
                format!("{:016x}", w["incarnation"].as_u64().unwrap())
            );
            let cyc = |v: &Value| format!("{}.{:06}", v[0], v[1].as_u64().unwrap());
            assert_eq!(g["average_cycle"], cyc(&w["avg"]));
            assert_eq!(g["last_cycle"], cyc(&w["last"]));
            let age = got["now"].as_i64().unwrap() - w["timestamp"].as_i64().unwrap();
            assert_eq!(g["age_seconds"], age);
        }
        // The text dump shows the non-empty blocks only.
        let o = qdisk(&["dump", "--sector-size", ssz, s(&img)]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("Status block for node 4\n"));
        assert!(!out.contains("Status block for node 5\n"));
        assert!(out.contains("\tOnline mask: 1,2,16\n"));
        // And watch draws the table.
        let o = qdisk(&["watch", "--count", "1", "--interval", "0", s(&img)]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains("   3  Evicted       no     no      yes"),
            "{out}"
        );
    }
}

fn expect_refusal(img: &Path, what: &str) {
    let o = qdisk(&["create", "-l", "q", "--yes", s(img)]);
    assert_eq!(code(&o), 4, "{what}: {}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(what), "{what}: {err}");
    assert!(err.contains("--force"), "{err}");
}

fn poke(img: &Path, off: u64, bytes: &[u8]) {
    let f = fs::OpenOptions::new().write(true).open(img).unwrap();
    f.write_all_at(bytes, off).unwrap();
}

fn blank(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    File::create(&p).unwrap().set_len(1 << 20).unwrap();
    p
}

#[test]
fn create_refuses_recognised_data_unless_forced() {
    let t = tempfile::tempdir().unwrap();

    let ext = blank(t.path(), "ext4.img");
    let made = Command::new("mkfs.ext4")
        .args(["-q", "-F", s(&ext)])
        .status()
        .is_ok_and(|st| st.success());
    if !made {
        eprintln!("mkfs.ext4 unavailable: crafting the ext4 magic instead");
        poke(&ext, 1080, &[0x53, 0xEF]);
    }
    expect_refusal(&ext, "ext2/ext3/ext4");
    let o = qdisk(&["create", "-l", "q", "--yes", "--force", s(&ext)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("overwriting (--force)"));

    let lvm = blank(t.path(), "lvm.img");
    poke(&lvm, 512, b"LABELONE");
    expect_refusal(&lvm, "LVM physical volume");

    let mbr = blank(t.path(), "mbr.img");
    poke(&mbr, 446 + 4, &[0x83]);
    poke(&mbr, 510, &[0x55, 0xAA]);
    expect_refusal(&mbr, "MBR partition table");

    let gpt = blank(t.path(), "gpt.img");
    poke(&gpt, 512, b"EFI PART");
    expect_refusal(&gpt, "GPT partition table");

    let other = blank(t.path(), "other.img");
    assert_eq!(code(&qdisk(&["create", "-l", "first", "-y", s(&other)])), 0);
    expect_refusal(&other, "quorum disk labelled 'first'");
    // Re-creating with the same label is what mkqdisk is for.
    assert_eq!(code(&qdisk(&["create", "-l", "first", "-y", s(&other)])), 0);
    // Writing one sector per block leaves the rest of a GPT in place: after
    // a forced create the GPT header at byte 512 is still recognised.
    assert_eq!(
        code(&qdisk(&["create", "-l", "q", "-y", "--force", s(&gpt)])),
        0
    );
    expect_refusal(&gpt, "GPT partition table");
}

#[test]
fn create_without_terminal_needs_yes() {
    let t = tempfile::tempdir().unwrap();
    let img = blank(t.path(), "n.img");
    let o = Command::new(common::QDISK)
        .args(["create", "-l", "q", s(&img)])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&o), 4, "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--yes"));
    assert!(fs::read(&img).unwrap().iter().all(|&b| b == 0));
}

#[test]
fn errors_have_documented_exit_codes() {
    let t = tempfile::tempdir().unwrap();
    // 3: I/O error (no such file).
    assert_eq!(code(&qdisk(&["dump", s(&t.path().join("missing"))])), 3);
    // 3: too small (the device cannot hold a quorum disk).
    let small = t.path().join("small.img");
    File::create(&small).unwrap().set_len(65536).unwrap();
    assert_eq!(code(&qdisk(&["create", "-l", "q", "-y", s(&small)])), 3);
    // 2: corrupt header (no valid quorum disk there).
    let img = blank(t.path(), "c.img");
    assert_eq!(code(&qdisk(&["create", "-l", "q", "-y", s(&img)])), 0);
    poke(&img, 40, &[0xff]);
    let o = qdisk(&["dump", s(&img)]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("data CRC"));
    // 1: usage.
    assert_eq!(code(&qdisk(&["create", s(&img)])), 1);
    // 3: timeout (a device error), on a FIFO whose open never completes.
    let fifo = t.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let t0 = std::time::Instant::now();
    let o = qdisk(&["dump", "--timeout", "300", s(&fifo)]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(t0.elapsed() < std::time::Duration::from_secs(3));
}

#[test]
fn list_and_find_prefer_multipath_maps() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    for d in [
        "proc",
        "dev/mapper",
        "sys/block/dm-0/dm",
        "sys/block/dm-0/slaves/sdb",
        "sys/block/dm-0/slaves/sdc",
    ] {
        fs::create_dir_all(r.join(d)).unwrap();
    }
    fs::write(
        r.join("proc/partitions"),
        "major minor  #blocks  name\n\n   8       16       1024 sdb\n   8       32       1024 sdc\n   8       48       1024 sdd\n 253        0       1024 dm-0\n",
    )
    .unwrap();
    fs::write(r.join("sys/block/dm-0/dm/uuid"), "mpath-36001405aa\n").unwrap();
    fs::write(r.join("sys/block/dm-0/dm/name"), "mpatha\n").unwrap();
    for (name, label) in [
        ("sdb", "quorum"),
        ("sdc", "quorum"),
        ("mapper/mpatha", "quorum"),
        ("sdd", "plain"),
    ] {
        let img = blank(r, "x.img");
        assert_eq!(code(&qdisk(&["create", "-l", label, "-y", s(&img)])), 0);
        fs::rename(&img, r.join("dev").join(name)).unwrap();
    }
    let o = qdisk(&["list", "--root", s(r)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.matches("/dev/mapper/mpatha:\n").count(), 1, "{out}");
    assert!(!out.contains("/dev/sdb"), "{out}");
    assert!(out
        .contains("/dev/sdd:\n\tMagic:                eb7a62c2\n\tLabel:                plain\n"));
    let o = qdisk(&["list", "--json", "--root", s(r)]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[1]["device"], "/dev/mapper/mpatha");
    assert_eq!(v[1]["multipath"], true);
    let o = qdisk(&["find", "quorum", "--root", s(r)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "/dev/mapper/mpatha\n");
    assert_eq!(code(&qdisk(&["find", "nothing", "--root", s(r)])), 2);
}

/// A loop device over an image, detached on drop.
struct Loop {
    dev: String,
}

impl Loop {
    fn attach(img: &Path, ssz: u32) -> Result<Loop, String> {
        let o = Command::new("losetup")
            .args(["-f", "--show", "--sector-size", &ssz.to_string(), s(img)])
            .output()
            .map_err(|e| format!("losetup: {e}"))?;
        if !o.status.success() {
            return Err(format!(
                "losetup failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        Ok(Loop {
            dev: String::from_utf8_lossy(&o.stdout).trim().to_string(),
        })
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dev).output();
        let _ = Command::new("losetup").args(["-d", &self.dev]).status();
    }
}

#[test]
fn loop_test_create_on_512_and_4096_byte_sector_loop_devices() {
    let t = tempfile::tempdir().unwrap();
    for ssz in [512u32, 4096] {
        let img = image(t.path(), &format!("loop{ssz}.img"));
        let lp = match Loop::attach(&img, ssz) {
            Ok(l) => l,
            Err(why) => {
                eprintln!("SKIPPED loop_test_create_on_*: cannot create a loop device: {why}");
                return;
            }
        };
        let o = qdisk(&["create", "-l", "looplabel", "-y", &lp.dev]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("sector size {ssz}")));
        let o = qdisk(&["dump", "--json", &lp.dev]);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["sector_size"], ssz);
        assert_eq!(code(&qdisk(&["evict", "--node", "2", &lp.dev])), 0);
        drop(lp);
        check_layout_after_evict(&img, ssz as usize);
    }
}

fn check_layout_after_evict(img: &Path, ssz: usize) {
    let v = reader(img);
    assert_eq!(v["header"]["sector_size"], ssz);
    assert_eq!(v["header"]["label"], "looplabel");
    assert_eq!(v["nodes"][1]["state"], 1);
    let all = fs::read(img).unwrap();
    assert!(all[73728..].iter().all(|&b| b == 0xA5));
}

#[test]
fn loop_test_create_refuses_a_mounted_device_even_with_force() {
    let t = tempfile::tempdir().unwrap();
    let img = blank(t.path(), "m.img");
    let lp = match Loop::attach(&img, 512) {
        Ok(l) => l,
        Err(why) => {
            eprintln!("SKIPPED loop_test_create_refuses_a_mounted_device: {why}");
            return;
        }
    };
    let mkfs = Command::new("mkfs.ext4")
        .args(["-q", "-F", &lp.dev])
        .status();
    let mnt = t.path().join("mnt");
    fs::create_dir(&mnt).unwrap();
    let mounted = mkfs.is_ok_and(|s| s.success())
        && Command::new("mount")
            .args([&lp.dev, s(&mnt)])
            .status()
            .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIPPED loop_test_create_refuses_a_mounted_device: cannot mkfs or mount (mountinfo parsing is unit-tested on a fixture)");
        return;
    }
    let o = qdisk(&["create", "-l", "q", "-y", "--force", &lp.dev]);
    let _ = Command::new("umount").arg(&mnt).status();
    assert_eq!(code(&o), 4, "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("mounted on"), "{err}");
    assert!(!err.contains("use --force"), "{err}");
}
