"""Writes the seed corpora of the C targets from real readmitd replies: fuzz/corpus/c_reply/
(reply frames, prefixed by the request's op, n_rows and k, as fuzz/c/fuzz_reply.c reads them)
and fuzz/corpus/c_json/ (the JSON frames alone). Requests are built by the raw protocol client
of Tests/protocol (docs/PROTOCOL.md); every request uses id 1, which fuzz_reply.c expects.

    READMITD_BIN=.build/release/readmitd READMIT_TEST_MODEL=.build/fixtures/model.readmit \\
        python3 fuzz/make_reply_seeds.py
"""
import json
import os
import struct
import subprocess
import sys
import time

import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Tests", "protocol"))
from test_raw_protocol import OPS, free_port, header, one_encounter, records_request  # noqa: E402

HISTORY = 8


def join(frames):
    """fuzz/swift/FuzzFrames.swift's layout: u16 length + bytes; the last frame may be longer
    (its length is then 0xFFFF, which takes what is left)."""
    out = b""
    for i, f in enumerate(frames):
        last = i == len(frames) - 1
        assert len(f) < 0xFFFF or last, "only the last frame may be 64 KiB or more"
        out += struct.pack("<H", min(len(f), 0xFFFF)) + f
    return out


def main():
    root = os.path.join(HERE, "..")
    binary = os.environ.get("READMITD_BIN", os.path.join(root, ".build", "release", "readmitd"))
    model = os.environ.get("READMIT_TEST_MODEL", os.path.join(root, ".build", "fixtures", "model.readmit"))
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    proc = subprocess.Popen([binary, "--model", model, "--endpoint", endpoint], stdout=subprocess.DEVNULL)
    ctx = zmq.Context()
    try:
        def call(frames):
            s = ctx.socket(zmq.REQ)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.RCVTIMEO, 500)
            s.connect(endpoint)
            s.send_multipart(frames)
            try:
                return s.recv_multipart()
            finally:
                s.close()

        deadline = time.time() + 30
        while True:
            try:
                info = call([header(OPS["INFO"], 1)])
                break
            except zmq.Again:
                assert time.time() < deadline and proc.poll() is None, "readmitd did not answer"
        schema = json.loads(info[1])
        # The INFO seed is cut to a few features and levels (libFuzzer mutates small inputs far
        # faster); it keeps every member, so it still parses as a schema.
        small = dict(schema)
        small["features"] = [dict(f, levels=f["levels"][:3]) if "levels" in f else f for f in schema["features"][:4]]
        small["raw_fields"] = [dict(f, levels=f["levels"][:3]) if "levels" in f else f for f in schema["raw_fields"][:4]]
        info = [info[0], json.dumps(small, separators=(",", ":")).encode()]
        one = one_encounter(schema)
        rows = 3
        columns = [(n, [v] * rows) for n, v in one.items()]
        number = next(f["name"] for f in schema["raw_fields"] if f["type"] == "number" and not f["history"])
        bad = [(n, ["1", "three", None] if n == number else v) for n, v in columns]
        # HISTORY: the fields INFO's history_inputs names (numbers; one patient, ids 1..rows),
        # under missing_fields_ok so that the names need not be known here.
        needed = schema.get("history_inputs", {}).get("required", [])
        history = records_request(1, rows, [(n, [float(1 + (r if i == 1 else 0)) for r in range(rows)])
                                            for i, n in enumerate(needed)], options=1)
        history[0] = header(HISTORY, 1)
        seeds = {
            "info": (OPS["INFO"], 0, 0, info),
            "records": (OPS["RECORDS"], rows, 2, call(records_request(1, rows, columns, k=2))),
            "records-row-errors": (OPS["RECORDS"], rows, 0, call(records_request(1, rows, bad))),
            "history": (HISTORY, rows, 0, call(history)),
            # Risk intervals (the k byte's bit 3 says the request asked for them).
            "records-interval": (OPS["RECORDS"], rows, 2 | 8, call(records_request(1, rows, bad, k=2, options=4))),
            "score-interval": (OPS["SCORE"], rows, 8, call([header(OPS["SCORE"], 1, flags=2),
                                                            struct.pack("<II", rows, len(schema["features"])),
                                                            struct.pack("<d", float("nan")) * rows
                                                            * len(schema["features"])])),
            "error-bad-frames": (OPS["SCORE"], 1, 0, call([header(OPS["SCORE"], 1)])),
            "error-unreadable-header": (OPS["HEALTH"], 0, 0, call([b"XXXX"])),
            "health": (OPS["HEALTH"], 0, 0, call([header(OPS["HEALTH"], 1)])),
        }
        for d in ("c_reply", "c_json"):
            os.makedirs(os.path.join(HERE, "corpus", d), exist_ok=True)
        for name, (op, n_rows, k, frames) in seeds.items():
            with open(os.path.join(HERE, "corpus", "c_reply", name), "wb") as f:
                f.write(bytes([op, n_rows, k]) + join(frames))
            body = frames[-1]
            if body[:1] == b"{":
                with open(os.path.join(HERE, "corpus", "c_json", name + ".json"), "wb") as f:
                    f.write(body)
            print(f"{name}: {len(frames)} frames, status {struct.unpack('<H', frames[0][6:8])[0]}")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        ctx.term()


if __name__ == "__main__":
    main()
