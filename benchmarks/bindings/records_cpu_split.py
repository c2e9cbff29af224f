#!/usr/bin/env python3
"""Benchmark: where a 100,000-row call's time goes, client and daemon, for SCORE of ready
feature vectors and for RECORDS of the same rows from three DataFrames (as
records_vs_score.py builds them), alternating.

    python3 benchmarks/bindings/records_cpu_split.py ENDPOINT DAEMON_PID FLAT_CSV VECTORS_F64 [N]

Per call: wall time, the client's CPU (time.process_time: every thread of this process,
libzmq's I/O thread included) and the daemon's CPU (the sum over its threads of
/proc/DAEMON_PID/task/*/schedstat). Prints the medians of N calls of each kind (default 9).
On a machine of C cores a call cannot take less than (client CPU + daemon CPU) / C of wall
time, whatever overlaps: that bound, against SCORE's wall time, caps the raw path's ratio.
Linux only (schedstat); the daemon must run on this machine.
"""
import os
import statistics
import sys
import time
import warnings

import numpy as np
import pandas as pd

import readmit


def daemon_cpu(pid):
    """Seconds of CPU the daemon's threads have run (threads that ended are not counted)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:  # a thread that ended between the listing and the read
            pass
    return total / 1e9


def main():
    endpoint, pid, flat, vectors = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 9
    warnings.simplefilter("ignore")
    frames = {
        "records(object)": pd.read_csv(flat, dtype=str, keep_default_na=False),
        "records(category)": pd.read_csv(flat, dtype="category", keep_default_na=False),
        "records(read_csv)": pd.read_csv(flat, keep_default_na=False),
    }
    with readmit.Client(endpoint, timeout_ms=120000) as cl:
        x = np.fromfile(vectors, dtype="<f8").reshape(len(frames["records(object)"]), len(cl.info()["features"]))
        sides = ["score", *frames]
        for side in sides:  # warm: the daemon's buffers, the client's imports
            cl.score(x) if side == "score" else cl.score_records(frames[side], warn=False)
        got = {s: [] for s in sides}
        for i in range(n):
            for side in (sides if i % 2 == 0 else sides[::-1]):
                d0, c0, w0 = daemon_cpu(pid), time.process_time(), time.perf_counter()
                cl.score(x) if side == "score" else cl.score_records(frames[side], warn=False)
                got[side].append((time.perf_counter() - w0, time.process_time() - c0, daemon_cpu(pid) - d0))
    cores = os.cpu_count() or 1
    score_wall = statistics.median(w for w, _, _ in got["score"])
    print(f"medians of {n} calls, ms; {cores} cores")
    for side, runs in got.items():
        wall, client, daemon = (statistics.median(v) * 1000 for v in zip(*runs))
        bound = (client + daemon) / cores
        print(f"{side:18s} wall {wall:7.1f}  client CPU {client:6.1f}  daemon CPU {daemon:6.1f}  "
              f"(client + daemon) / cores {bound:6.1f}  SCORE wall / that {score_wall * 1000 / bound:5.2f}")


if __name__ == "__main__":
    main()
