//! qdisk on real block devices in the guest test bed: a quorum disk on a
//! dm-multipath map over LIO, a device whose I/O hangs (device-mapper
//! `delay` target and a suspended map), and a disk with 4096-byte logical
//! sectors (scsi_debug). The tests skip when the test bed is not built,
//! unless `FENCEKIT_TESTBED=require` is set.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use fencekit_tests::{guest_script, require_or_skip};

#[test]
fn guest_qdisk_multipath() {
    if !require_or_skip("guest_qdisk_multipath") {
        return;
    }
    let out = common::lio(2, 1)
        .lun_size_mb(8)
        .multipath(true)
        .file(common::QDISK)
        .timeout(Duration::from_secs(180))
        .run_script_file(guest_script("qdisk_multipath.sh"));
    out.assert_success()
        .assert_stdout_contains("qdisk multipath test passed");
}

#[test]
fn guest_qdisk_read_deadline() {
    if !require_or_skip("guest_qdisk_read_deadline") {
        return;
    }
    let out = common::lio(1, 1)
        .lun_size_mb(4)
        .file(common::QDISK)
        .timeout(Duration::from_secs(150))
        .run_script_file(guest_script("qdisk_hang.sh"));
    out.assert_success()
        .assert_stdout_contains("ok: delay target (6000 ms): timeout error after")
        .assert_stdout_contains("ok: suspended map: exit status 3")
        .assert_stdout_contains("qdisk hang test passed");
}

#[test]
fn guest_qdisk_4k_sectors() {
    if !require_or_skip("guest_qdisk_4k_sectors") {
        return;
    }
    // scsi_debug with 4096-byte logical sectors: the header and every
    // status block are one 4096-byte sector at n * 4096, the sector size is
    // recorded in the header, and nothing from 69632 on (the 18th block,
    // unused, and the rest of the disk) is touched.
    let out = common::lio(1, 1)
        .lun_size_mb(4)
        .scsi_debug("sector_size=4096 dev_size_mb=8")
        .file(common::QDISK)
        .timeout(Duration::from_secs(120))
        .run_script(
            r#"set -u
. /fk/bin/steps.sh
d=${FK_SCSI_DEBUG_SD%% *}
[ -n "$d" ] || fail "no scsi_debug disk"
ssz=$(cat /sys/block/${d#/dev/}/queue/logical_block_size)
[ "$ssz" = 4096 ] || fail "$d has $ssz-byte sectors"
# 0xff over the first 128 KiB, to see what is written.
tr '\000' '\377' </dev/zero | head -c 131072 >/tmp/ff
dd if=/tmp/ff of=$d bs=4096 oflag=direct 2>/dev/null || fail "dd"
qdisk create -l fk4k --yes --force $d >/tmp/c || fail "create: $(cat /tmp/c)"
cat /tmp/c
grep -q "^$d: sector size 4096, block spacing 4096, qdisk region bytes 0-73727$" /tmp/c || fail "geometry line"
grep -q "^wrote quorum header: bytes 0-4095 (4096 bytes)$" /tmp/c || fail "header line"
grep -q "^wrote status block of node 16: bytes 65536-69631 (4096 bytes)$" /tmp/c || fail "node 16 line"
hex() { od -A n -t x1 -j "$1" -N "$2" $d | tr -d ' \n'; }
[ "$(hex 0 4)" = 1ebbde00 ] || fail "shared header magic at 0: $(hex 0 4)"
[ "$(hex 32 4)" = eb7a62c2 ] || fail "quorum header magic at 32: $(hex 32 4)"
n=1
while [ $n -le 16 ]; do
    o=$((n * 4096))
    [ "$(hex $o 4)" = 1ebbde00 ] || fail "node $n: shared header magic at $o: $(hex $o 4)"
    [ "$(hex $((o + 32)) 4)" = 47bacef8 ] || fail "node $n: status magic at $((o + 32)): $(hex $((o + 32)) 4)"
    [ "$(hex $((o + 48)) 4)" = "$(printf '%08x' $n)" ] || fail "node $n: node id at $((o + 48)): $(hex $((o + 48)) 4)"
    n=$((n + 1))
done
head -c 61440 /tmp/ff >/tmp/ff15
dd if=$d bs=4096 skip=17 count=15 iflag=direct 2>/dev/null | cmp -s - /tmp/ff15 || fail "bytes 69632-131071 changed"
qdisk dump $d >/tmp/dump || fail "dump: $(cat /tmp/dump)"
grep -q "Recorded Sector Size: 4096$" /tmp/dump || fail "recorded sector size: $(cat /tmp/dump)"
grep -q "Kernel Sector Size: *4096$" /tmp/dump || fail "kernel sector size: $(cat /tmp/dump)"
echo "4k sectors passed""#,
        );
    out.assert_success()
        .assert_stdout_contains("4k sectors passed");
}
