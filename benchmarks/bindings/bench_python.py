#!/usr/bin/env python3
"""Benchmark: 100,000 rows through the Python binding vs the same rows through the C shim, in
one run against one readmitd.

    bash benchmarks/bindings/run_python.sh        (from the repository root, after the build)

Measures, in alternating blocks (so drift hits every variant alike):
  * C shim: `build/bench_shim --shim-only` timing readmit_score on the encoded matrix;
  * Python, encoding excluded: `Client.score(matrix)`;
  * Python, encoding included: `Client.score(frame)` on the raw DataFrame (read as text);
  * Python encoding alone: `Client.encode(frame)`, also in one thread (the encoder's pool off),
    and on the same rows as `pandas.read_csv` reads them with its default dtypes (integer
    columns, "str" text columns).
Reports medians and the ratios to the C shim, and the ratios within each block (the C shim's block
median against the Python variant's measured right after it), which a load that drifts between
blocks disturbs less.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

import readmit
import readmit.encoding

ROOT = Path(__file__).resolve().parents[2]


def timed(fn, reps):
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("endpoint")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--blocks", type=int, default=3)
    ap.add_argument("--bench-shim", default=str(ROOT / "build" / "bench_shim"))
    args = ap.parse_args()

    warnings.simplefilter("ignore", readmit.ReadmitEncodingWarning)
    # The data is not in the repository: a copy in data/diabetes130/, else the shared one beside it.
    candidates = [ROOT / "data/diabetes130/diabetic_data.csv.gz", ROOT.parent / "shared/data/diabetes130/diabetic_data.csv.gz"]
    data = next((p for p in candidates if p.exists()), candidates[0])
    frame = readmit.read_csv(data, nrows=args.rows)
    default_frame = pd.read_csv(data, nrows=args.rows)
    # (None: a readmit from before the encoding pool, when comparing versions)
    parallel_min_rows = getattr(readmit.encoding, "PARALLEL_MIN_ROWS", None)
    with readmit.Client(args.endpoint, timeout_ms=120_000, retries=0) as cl:

        def encode_one_thread():
            if parallel_min_rows is None:
                return cl.encode(frame)
            readmit.encoding.PARALLEL_MIN_ROWS = len(frame) + 1
            try:
                cl.encode(frame)
            finally:
                readmit.encoding.PARALLEL_MIN_ROWS = parallel_min_rows

        x = cl.encode(frame)
        cl.score(x)  # warm-up
        with tempfile.NamedTemporaryFile(suffix=".f64") as f:
            x.astype("<f8").tofile(f.name)
            c_ms, py_ms, py_enc_ms, enc_ms, enc1_ms, encd_ms = [], [], [], [], [], []
            block_ratios: list = []  # per block: (score(matrix), score(DataFrame)) / C shim
            for _ in range(args.blocks):
                out = subprocess.run([args.bench_shim, args.endpoint, "--shim-only", "--rows-file", f.name,
                                      "--batch-reps", str(args.reps)], check=True, capture_output=True, text=True)
                c_ms.append(float(out.stdout.split()[1]))  # the block's median
                block_py = [t * 1e3 for t in timed(lambda: cl.score(x), args.reps)]
                block_py_enc = [t * 1e3 for t in timed(lambda: cl.score(frame), args.reps)]
                block_ratios.append((statistics.median(block_py) / c_ms[-1],
                                     statistics.median(block_py_enc) / c_ms[-1]))
                py_ms += block_py
                py_enc_ms += block_py_enc
                enc_ms += [t * 1e3 for t in timed(lambda: cl.encode(frame), args.reps)]
                enc1_ms += [t * 1e3 for t in timed(encode_one_thread, args.reps)]
                encd_ms += [t * 1e3 for t in timed(lambda: cl.encode(default_frame), args.reps)]
    c, p, pe, e, e1, ed = (statistics.median(v) for v in (c_ms, py_ms, py_enc_ms, enc_ms, enc1_ms, encd_ms))
    print(f"{len(x):,} rows x {x.shape[1]} features; {args.blocks} blocks x {args.reps} reps; medians")
    print(f"  C shim readmit_score             : {c:9.2f} ms")
    print(f"  Python Client.score(matrix)      : {p:9.2f} ms   ratio to C shim {p / c:.3f}")
    print(f"  Python Client.score(DataFrame)   : {pe:9.2f} ms   ratio to C shim {pe / c:.3f}")
    for name, i in (("score(matrix)", 0), ("score(DataFrame)", 1)):
        ratios = sorted(r[i] for r in block_ratios)
        print(f"    {name} / C shim per block: median {statistics.median(ratios):.3f}"
              f" (range {ratios[0]:.3f}-{ratios[-1]:.3f})")
    print(f"  Python Client.encode(DataFrame)  : {e:9.2f} ms   (encoding alone)")
    print(f"    ... in one thread              : {e1:9.2f} ms")
    print(f"    ... pandas default dtypes      : {ed:9.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
