#!/usr/bin/env python3
"""Writes a qdisk image without the fencekit library, with states, scores,
messages and masks set, and prints what it wrote as JSON so that a test can
compare `qdisk dump --json` field by field.

Written from the layout alone (qdisk(5)); see independent_reader.py.

Usage: independent_writer.py IMAGE SECTOR_SIZE
"""
import json
import struct
import sys
import zlib

NOW = 1_700_000_000


def put_block(img, off, payload, ssz, timestamp):
    dcrc = zlib.crc32(payload)
    hdr = struct.pack("<IIIIQQ", 0x00DEBB1E, 0, dcrc, len(payload), 0, timestamp)
    hcrc = zlib.crc32(hdr)
    hdr = hdr[:4] + struct.pack("<I", hcrc) + hdr[8:]
    sector = (hdr + payload).ljust(ssz, b"\0")
    img[off:off + ssz] = sector


def mask(nodes):
    b = bytearray(8)
    for n in nodes:
        b[(n - 1) // 8] |= 1 << ((n - 1) % 8)
    return bytes(b)


def main():
    path, ssz = sys.argv[1], int(sys.argv[2])
    img = bytearray(1 << 20)
    qh = struct.pack(">IIQ", 0xEB7A62C2, 0x389FABC4, NOW - 86400)
    qh += b"writer-host".ljust(128, b"\0") + b"pylabel".ljust(120, b"\0")
    qh += struct.pack(">II", ssz, 0)
    put_block(img, 0, qh, ssz, NOW - 86400)
    nodes = {
        1: dict(state=6, update_node=1, timestamp=NOW - 1, flags=4, score=3,
                score_max=4, avg=[0, 120000], last=[1, 5], incarnation=0x1122334455667788,
                msg=4, seq=7, arg=0, online=[1, 2, 16], master=[1]),
        2: dict(state=5, update_node=2, timestamp=NOW - 2, flags=1, score=2,
                score_max=4, avg=[0, 99], last=[0, 100], incarnation=0x0A0B0C0D,
                msg=2, seq=3, arg=1, online=[1, 2], master=[1]),
        3: dict(state=1, update_node=1, timestamp=NOW - 30, flags=0, score=0,
                score_max=0, avg=[0, 0], last=[0, 0], incarnation=42,
                msg=0, seq=0, arg=0, online=[], master=[]),
        4: dict(state=2, update_node=4, timestamp=NOW - 3, flags=2, score=1,
                score_max=4, avg=[2, 0], last=[3, 999999], incarnation=1,
                msg=1, seq=9, arg=4, online=[4, 9], master=[]),
    }
    for n in range(1, 17):
        v = nodes.get(n, dict(state=0, update_node=0, timestamp=NOW - 86400,
                              flags=0, score=0, score_max=0, avg=[0, 0],
                              last=[0, 0], incarnation=0, msg=0, seq=0, arg=0,
                              online=[], master=[]))
        nodes[n] = v
        p = struct.pack(">IIQII", 0x47BACEF8, v["update_node"], v["timestamp"], n, 0)
        p += struct.pack(">BBHHH", v["state"], 0, v["flags"], v["score"], v["score_max"])
        p += struct.pack(">IIII", *v["avg"], *v["last"])
        p += struct.pack("=Q", v["incarnation"])  # host order, as qdiskd
        p += struct.pack(">HHI", v["msg"], v["seq"], v["arg"])
        p += mask(v["online"]) + mask(v["master"])
        assert len(p) == 80
        put_block(img, 4096 * n, p, ssz, v["timestamp"])
    with open(path, "wb") as f:
        f.write(img)
    print(json.dumps({"label": "pylabel", "host": "writer-host",
                      "created": NOW - 86400, "sector_size": ssz,
                      "nodes": {str(k): v for k, v in nodes.items()}}))


if __name__ == "__main__":
    main()
