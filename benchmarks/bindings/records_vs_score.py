#!/usr/bin/env python3
"""Benchmark: the raw-records path (RECORDS) against the numeric SCORE of the same rows' feature
vectors, both through the Python binding, in the same run, alternating.

    python3 benchmarks/bindings/records_vs_score.py ENDPOINT FLAT_CSV VECTORS_F64 [N]

FLAT_CSV holds the raw records (`readmit history --model M --data CSV --out FLAT_CSV`: the rows
with their history fields); VECTORS_F64 their feature vectors as the daemon encodes them
(`readmit encode --model M --records FLAT_CSV --format f64 --out VECTORS_F64`), which is what a
client with ready vectors sends with SCORE. Before timing, every risk of the two paths must be
equal to the bit: both sides score the same rows.

The raw side is timed on three DataFrames of the same rows: `pandas.read_csv(dtype=str,
keep_default_na=False)` (every column text, numbers included: pandas 3's Arrow-backed strings
go as text buffers, the daemon parses the numbers), `readmit.read_records`-style categorical
columns (`dtype="category"`: the codes are sent as they are) and `pandas.read_csv(
keep_default_na=False)` with pandas' own dtypes (numbers as int64/float64, texts as strings).
Prints each run, then the medians and the ratios numeric / raw time (raw throughput as a share
of the numeric path's).
"""
import statistics
import sys
import time

import numpy as np
import pandas as pd

import readmit


def main():
    endpoint, flat, vectors = sys.argv[1], sys.argv[2], sys.argv[3]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    frames = {
        "records(object)": pd.read_csv(flat, dtype=str, keep_default_na=False),
        "records(category)": pd.read_csv(flat, dtype="category", keep_default_na=False),
        "records(read_csv)": pd.read_csv(flat, keep_default_na=False),
    }
    rows = len(frames["records(object)"])
    with readmit.Client(endpoint, timeout_ms=120000) as cl:
        n_features = len(cl.info()["features"])
        x = np.fromfile(vectors, dtype="<f8").reshape(rows, n_features)
        # The same rows: the raw path and the numeric path give the same risks, to the bit.
        numeric = np.asarray(cl.score(x), dtype=np.float64)
        for name, frame in frames.items():
            result = cl.score_records(frame, warn=False)
            raw, scored = result["risk"].to_numpy(), result["error"].isna().to_numpy()
            # Rows with an error (stays the cohort excludes) have no risk on the raw path; their
            # vectors (all missing, as `readmit encode` writes them) still score on the numeric one.
            if not np.array_equal(raw[scored].view(np.uint64), numeric[scored].view(np.uint64)) or not np.isnan(raw[~scored]).all():
                sys.exit(f"{name}: the raw path's risks differ from the numeric path's")
        print(f"rows: {rows}; features: {n_features}; risks of both paths equal to the bit "
              f"(the {int((~scored).sum())} rows with an error excepted)")
        sides = ["score", *frames]
        times = {s: [] for s in sides}
        for i in range(n):
            for side in (sides if i % 2 == 0 else sides[::-1]):
                start = time.perf_counter()
                out = cl.score(x) if side == "score" else cl.score_records(frames[side], warn=False)
                times[side].append(time.perf_counter() - start)
                print(f"run {i + 1} {side}: {times[side][-1]:.3f} s ({len(out)} rows)")
        med = {k: statistics.median(v) for k, v in times.items()}
        print("median seconds: " + ", ".join(f"{k} {v:.3f}" for k, v in med.items()))
        print("rows/s: " + ", ".join(f"{k} {rows / v:,.0f}" for k, v in med.items()))
        for side in frames:
            print(f"ratio {side} / score throughput: {med['score'] / med[side]:.2f} (target >= 0.8)")


if __name__ == "__main__":
    main()
