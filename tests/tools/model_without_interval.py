#!/usr/bin/env python3
"""Writes a copy of a model file without its risk interval, as a file written before intervals
existed (docs/MODEL_FORMAT.md): the three venn_abers.* entries leave the header's section map,
the header and payload lengths and the SHA-256 trailer are rewritten. The payload keeps its
bytes (no section refers to them any more), so the model id, which hashes the payload and the
header without its sections, stays the same. The C, Python and R tests serve the copy to check
what a client gets when it asks such a model for an interval.

    python3 tests/tools/model_without_interval.py IN.readmit OUT.readmit
"""
import hashlib
import json
import struct
import sys


def strip(data: bytes) -> bytes:
    if data[:8] != b"RDMTMODL":
        raise SystemExit("not a readmit model file")
    version, reserved, h, p = struct.unpack_from("<IIQQ", data, 8)
    if len(data) != 32 + h + p + 32:
        raise SystemExit("the file's length does not match its header")
    header = json.loads(data[32:32 + h])
    sections = header["sections"]
    dropped = [name for name in sections if name.startswith("venn_abers.")]
    if not dropped:
        raise SystemExit("the model has no interval sections")
    for name in dropped:
        del sections[name]
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    body = data[:8] + struct.pack("<IIQQ", version, reserved, len(text), p) + text + data[32 + h:32 + h + p]
    return body + hashlib.sha256(body).digest()


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    with open(sys.argv[1], "rb") as f:
        out = strip(f.read())
    with open(sys.argv[2], "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
