#!/usr/bin/env python3
"""Reads a qdisk image or device without the fencekit library.

Written from the layout alone (qdisk(5)): every block is a 32-byte shared
header, little-endian (magic 0x00DEBB1E, header CRC, data CRC, data length,
view u64, timestamp u64), followed by a big-endian payload. The header CRC is
zlib crc32 of the 32 bytes with the header-CRC field zero; the data CRC is
crc32 of the payload. The quorum header is at byte 0; node n's status block
at 4096 * n (for sector sizes up to 4096).

Usage: independent_reader.py IMAGE
Prints one JSON object; exits 1 if any block fails a check.
"""
import json
import struct
import sys
import zlib

SHARED = struct.Struct("<IIIIQQ")


def block(buf, off, want_len, what):
    magic, hcrc, dcrc, length, view, ts = SHARED.unpack_from(buf, off)
    if magic != 0x00DEBB1E:
        raise ValueError(f"{what}: shared magic {magic:#x}")
    hdr = bytearray(buf[off:off + 32])
    hdr[4:8] = b"\0\0\0\0"
    if zlib.crc32(bytes(hdr)) != hcrc:
        raise ValueError(f"{what}: header CRC")
    if length != want_len:
        raise ValueError(f"{what}: length {length}")
    data = buf[off + 32:off + 32 + length]
    if zlib.crc32(data) != dcrc:
        raise ValueError(f"{what}: data CRC")
    return {"view": view, "timestamp": ts}, data


def cstr(b):
    return b.split(b"\0", 1)[0].decode("utf-8", "replace")


def mask(b):
    return [i + 1 for i in range(64) if b[i // 8] & (1 << (i % 8))]


def main():
    with open(sys.argv[1], "rb") as f:
        buf = f.read(4096 * 18)
    out = {"ok": True, "errors": [], "nodes": []}
    try:
        meta, d = block(buf, 0, 272, "quorum header")
        magic, version, ts = struct.unpack_from(">IIQ", d, 0)
        blksz, kernsz = struct.unpack_from(">II", d, 264)
        if magic != 0xEB7A62C2:
            raise ValueError("quorum header magic")
        out["header"] = {"magic": magic, "version": version, "timestamp": ts,
                         "host": cstr(d[16:144]), "label": cstr(d[144:264]),
                         "sector_size": blksz, "kernel_sector_size": kernsz,
                         "block_timestamp": meta["timestamp"]}
    except ValueError as e:
        out["ok"] = False
        out["errors"].append(str(e))
    for n in range(1, 17):
        off = 4096 * n
        try:
            meta, d = block(buf, off, 80, f"node {n}")
            (magic, upd, ts, nid, _pad, state, _p1, flags, score, smax,
             cas, cau, lcs, lcu) = struct.unpack_from(">IIQIIBBHHHIIII", d, 0)
            if magic != 0x47BACEF8:
                raise ValueError(f"node {n}: status magic")
            inc, = struct.unpack_from("=Q", d, 48)  # host order, as qdiskd
            msg, seq, arg = struct.unpack_from(">HHI", d, 56)
            out["nodes"].append({
                "node": n, "offset": off, "node_id": nid, "update_node": upd,
                "timestamp": ts, "state": state, "flags": flags,
                "score": score, "score_max": smax, "avg": [cas, cau],
                "last": [lcs, lcu], "incarnation": inc, "msg": msg,
                "seq": seq, "arg": arg, "online": mask(d[64:72]),
                "master": mask(d[72:80]), "block_timestamp": meta["timestamp"]})
        except ValueError as e:
            out["ok"] = False
            out["errors"].append(str(e))
    print(json.dumps(out, indent=1))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
