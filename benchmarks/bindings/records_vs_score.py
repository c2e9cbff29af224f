#!/usr/bin/env python3
"""Benchmark: the raw-records path (RECORDS) against the numeric SCORE of the same rows, both
through the Python binding, in the same run, alternating.

    python3 benchmarks/bindings/records_vs_score.py ENDPOINT FLAT_CSV [N]

FLAT_CSV is `readmit history --model M --data CSV --out FLAT_CSV` of the rows to score (the
raw records with their history). The numeric side sends a feature matrix of the same shape
(rows x the schema's features), made once outside the timing with numpy.random from INFO's
schema (small integers for numeric features, valid level indices for categorical ones): only
the time is compared, and the binding no longer encodes rows itself.
Prints each run, then medians and the ratio raw / numeric in rows per second.
"""
import statistics
import sys
import time

import numpy as np
import pandas as pd

import readmit


def schema_matrix(info, n, seed=0):
    """A random (n, n_features) matrix of valid values for the schema in INFO."""
    rng = np.random.default_rng(seed)
    return np.column_stack([
        rng.integers(0, len(f["levels"]), n) if f["kind"] == "categorical" else rng.integers(0, 10, n)
        for f in info["features"]]).astype(np.float64)


def main():
    endpoint, flat, n = sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 5
    frame = pd.read_csv(flat, dtype=str, keep_default_na=False)
    with readmit.Client(endpoint, timeout_ms=120000) as cl:
        x = schema_matrix(cl.info(), len(frame))  # a numeric matrix of the same shape (outside the timing)
        rows = len(frame)
        times = {"records": [], "score": []}
        for i in range(n):
            for side in (("records", "score") if i % 2 == 0 else ("score", "records")):
                start = time.perf_counter()
                if side == "records":
                    out = cl.score_records(frame, warn=False)
                else:
                    out = cl.score(x)
                times[side].append(time.perf_counter() - start)
                print(f"run {i + 1} {side}: {times[side][-1]:.3f} s ({len(out)} rows)")
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"rows: {rows}; median seconds: records {med['records']:.3f}, score {med['score']:.3f}")
        print(f"rows/s: records {rows / med['records']:,.0f}, score {rows / med['score']:,.0f}; "
              f"ratio records/score throughput {med['score'] / med['records']:.2f} (target >= 0.8)")


if __name__ == "__main__":
    main()
