#!/usr/bin/env python3
"""Benchmark: 100,000 rows through the Python binding vs the same number of rows through the C
shim, in one run against one readmitd.

    bash benchmarks/bindings/run_python.sh        (from the repository root, after the build)

Measures, in alternating blocks (so drift hits every variant alike):
  * C shim: `build/bench_shim --shim-only` timing readmit_score on a feature matrix;
  * Python, numeric SCORE: `Client.score(matrix)` on the same matrix (the binding's overhead);
  * Python, raw records: `Client.score(frame)` on the raw DataFrame (read as text), which goes
    through RECORDS: the daemon encodes the rows with the model's dataset spec.
The feature matrix is random, built from INFO's schema alone (small integers for numeric
features, valid level indices for categorical ones), with the shape of the raw rows: only the
time is compared, and the binding no longer encodes rows itself. The raw rows carry no history
fields (unknown history), which does not change the work per row.
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
from pathlib import Path

import numpy as np

import readmit

ROOT = Path(__file__).resolve().parents[2]


def timed(fn, reps):
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def schema_matrix(info: dict, n: int, seed: int = 0) -> np.ndarray:
    """A random (n, n_features) matrix of valid values for the schema in INFO."""
    rng = np.random.default_rng(seed)
    return np.column_stack([
        rng.integers(0, len(f["levels"]), n) if f["kind"] == "categorical" else rng.integers(0, 10, n)
        for f in info["features"]]).astype(np.float64)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("endpoint")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--blocks", type=int, default=3)
    ap.add_argument("--bench-shim", default=str(ROOT / "build" / "bench_shim"))
    args = ap.parse_args()

    # The data is not in the repository: a copy in data/diabetes130/, else the shared one beside it.
    candidates = [ROOT / "data/diabetes130/diabetic_data.csv.gz", ROOT.parent / "shared/data/diabetes130/diabetic_data.csv.gz"]
    data = next((p for p in candidates if p.exists()), candidates[0])
    frame = readmit.read_csv(data, nrows=args.rows)
    with readmit.Client(args.endpoint, timeout_ms=120_000, retries=0) as cl:
        x = schema_matrix(cl.info(), len(frame))
        cl.score(x)  # warm-up
        cl.score(frame, warn=False)
        with tempfile.NamedTemporaryFile(suffix=".f64") as f:
            x.astype("<f8").tofile(f.name)
            c_ms, py_ms, py_rec_ms = [], [], []
            block_ratios: list = []  # per block: (score(matrix), score(DataFrame)) / C shim
            for _ in range(args.blocks):
                out = subprocess.run([args.bench_shim, args.endpoint, "--shim-only", "--rows-file", f.name,
                                      "--batch-reps", str(args.reps)], check=True, capture_output=True, text=True)
                c_ms.append(float(out.stdout.split()[1]))  # the block's median
                block_py = [t * 1e3 for t in timed(lambda: cl.score(x), args.reps)]
                block_py_rec = [t * 1e3 for t in timed(lambda: cl.score(frame, warn=False), args.reps)]
                block_ratios.append((statistics.median(block_py) / c_ms[-1],
                                     statistics.median(block_py_rec) / c_ms[-1]))
                py_ms += block_py
                py_rec_ms += block_py_rec
    c, p, pr = (statistics.median(v) for v in (c_ms, py_ms, py_rec_ms))
    print(f"{len(x):,} rows x {x.shape[1]} features; {args.blocks} blocks x {args.reps} reps; medians")
    print(f"  C shim readmit_score             : {c:9.2f} ms")
    print(f"  Python Client.score(matrix)      : {p:9.2f} ms   ratio to C shim {p / c:.3f}")
    print(f"  Python Client.score(DataFrame)   : {pr:9.2f} ms   ratio to C shim {pr / c:.3f}   (RECORDS)")
    for name, i in (("score(matrix)", 0), ("score(DataFrame)", 1)):
        ratios = sorted(r[i] for r in block_ratios)
        print(f"    {name} / C shim per block: median {statistics.median(ratios):.3f}"
              f" (range {ratios[0]:.3f}-{ratios[-1]:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
