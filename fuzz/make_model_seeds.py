#!/usr/bin/env python3
"""Writes the model-file fuzz target's seeds (fuzz/corpus/model/) from a real model file.

A seed should be small (libFuzzer mutates every byte, and a large input is slow to run) yet
load and score: this keeps the model's spec, schema, layout, detector, calibrator and tiers,
and cuts the isolation forest to its first trees, the atypicality reference to every 16th
value, and the booster to its first trees (through the xgboost Python package). The seeds
were made from a model trained on the first 3,000 rows of Diabetes 130:

    zcat ../shared/data/diabetes130/diabetic_data.csv.gz | head -3001 > /tmp/enc.csv
    .build/release/readmit train --quick --data /tmp/enc.csv --out /tmp/small --no-report
    python3 fuzz/make_model_seeds.py /tmp/small/model.readmit fuzz/corpus/model
    .build/release/FuzzModelFile fuzz/corpus/model     # replays them: each should say 'scored'

Two seeds: `small.readmit` (the harness repairs its envelope: mutations reach the header and
sections) and `small-as-is.readmit` (reserved bit 0 set: decoded as given, so mutations hit
the envelope checks).
"""
import hashlib
import json
import os
import struct
import sys

import xgboost

FOREST_TREES = 3
BOOSTER_TREES = 3
REFERENCE_STEP = 16


def sections(payload, header):
    return {k: payload[v["offset"]:v["offset"] + v["length"]] for k, v in header["sections"].items()}


def small_booster(ubj):
    booster = xgboost.Booster()
    booster.load_model(bytearray(ubj))
    return bytes(booster[0:BOOSTER_TREES].save_raw(raw_format="ubj"))


def main(model_path, out_dir):
    data = open(model_path, "rb").read()
    header_length, payload_length = struct.unpack_from("<QQ", data, 16)
    header = json.loads(data[32:32 + header_length])
    parts = sections(data[32 + header_length:32 + header_length + payload_length], header)

    roots = struct.unpack(f"<{len(parts['forest.roots']) // 4}i", parts["forest.roots"])
    nodes = roots[FOREST_TREES]
    parts["forest.roots"] = struct.pack(f"<{FOREST_TREES}i", *roots[:FOREST_TREES])
    parts["forest.feature"] = parts["forest.feature"][:4 * nodes]
    parts["forest.left"] = parts["forest.left"][:4 * nodes]
    parts["forest.value"] = parts["forest.value"][:8 * nodes]
    reference = parts["atypicality_reference"]
    parts["atypicality_reference"] = b"".join(reference[i:i + 8] for i in range(0, len(reference), 8 * REFERENCE_STEP))
    parts["booster.ubj"] = small_booster(parts["booster.ubj"])
    header["forest"]["trees"], header["forest"]["nodes"] = FOREST_TREES, nodes

    payload, table = b"", {}
    for name in sorted(parts):
        payload += b"\0" * (-len(payload) % 8)
        table[name] = {"offset": len(payload), "length": len(parts[name])}
        payload += parts[name]
    header["sections"] = table
    header_bytes = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()

    os.makedirs(out_dir, exist_ok=True)
    for name, reserved in (("small.readmit", 0), ("small-as-is.readmit", 1)):
        body = data[:8] + struct.pack("<IIQQ", 2, reserved, len(header_bytes), len(payload)) + header_bytes + payload
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(body + hashlib.sha256(body).digest())
        print(f"{out_dir}/{name}: {len(body) + 32} bytes")


if __name__ == "__main__":
    main(*sys.argv[1:3])
