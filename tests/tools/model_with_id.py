#!/usr/bin/env python3
"""Writes a copy of a model file whose header names another model id (metadata.model_id; the
header length and the SHA-256 trailer are rewritten, the payload is kept). The copy scores
exactly as the original but every reply carries the other version, as a daemon that already
serves a newer model would during a rolling update. tests/c/test_balance.c serves it to check
that a split batch whose chunks come back from two model versions is scored whole instead.

    python3 tests/tools/model_with_id.py IN.readmit OUT.readmit 0123456789abcdef
"""
import hashlib
import json
import re
import struct
import sys


def with_id(data: bytes, model_id: str) -> bytes:
    if data[:8] != b"RDMTMODL":
        raise SystemExit("not a readmit model file")
    version, reserved, h, p = struct.unpack_from("<IIQQ", data, 8)
    if len(data) != 32 + h + p + 32:
        raise SystemExit("the file's length does not match its header")
    header = json.loads(data[32:32 + h])
    header["metadata"]["model_id"] = model_id
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    body = data[:8] + struct.pack("<IIQQ", version, reserved, len(text), p) + text + data[32 + h:32 + h + p]
    return body + hashlib.sha256(body).digest()


def main() -> None:
    if len(sys.argv) != 4 or not re.fullmatch(r"[0-9a-f]{16}", sys.argv[3]):
        raise SystemExit(__doc__)
    with open(sys.argv[1], "rb") as f:
        out = with_id(f.read(), sys.argv[3])
    with open(sys.argv[2], "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
