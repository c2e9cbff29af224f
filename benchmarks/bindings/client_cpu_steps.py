#!/usr/bin/env python3
"""Benchmark: the client's own CPU in Client.score_records of a categorical DataFrame, per step,
for several builds of the client (libreadmit + Python sources), alternated in fresh processes.

    python3 benchmarks/bindings/client_cpu_steps.py ENDPOINT FLAT_CSV ROUNDS CALLS TAG=LIB:SRC ...

FLAT_CSV is read with pandas.read_csv(dtype="category", keep_default_na=False) (the columns
readmit.read_records-style callers send as codes). Each TAG names a variant: LIB a libreadmit.so
(READMIT_LIBRARY), SRC a bindings/python/src directory. Every round runs each variant in a new
process for CALLS calls after one warm-up call; per call, time.process_time (every thread of the
client, libzmq's I/O thread included) of the whole call and of its steps: _set_column (all
columns; within it readmit_records_set_codes and _set_numbers), readmit_score_records (building
and sending the request, receiving and reading the reply), _records_result (the DataFrame,
_messages included) and _messages; minflt counts minor page faults. Prints the median and the
minimum over all calls of each variant: CPU time, not wall time, so that a busy machine disturbs
the figures less (variants alternate; read the medians).
"""
import collections
import json
import os
import resource
import statistics
import subprocess
import sys
import time


# The library calls timed on their own (inside _set_column: the setters, summed over the columns).
TIMED_CALLS = ("readmit_score_records", "readmit_records_set_codes", "readmit_records_set_numbers")


def child(endpoint, flat, calls):
    import warnings

    import pandas as pd

    import readmit
    from readmit import client as C

    warnings.simplefilter("ignore")
    df = pd.read_csv(flat, dtype="category", keep_default_na=False)
    acc = collections.Counter()

    def timed(name, f):
        def g(*a, **k):
            t = time.process_time()
            try:
                return f(*a, **k)
            finally:
                acc[name] += time.process_time() - t
        return g

    C._set_column = timed("_set_column", C._set_column)
    C._messages = timed("_messages", C._messages)
    C.Client._records_result = timed("_records_result", C.Client._records_result)

    class Lib:
        def __init__(self, lib):
            self.lib = lib

        def __getattr__(self, name):
            f = getattr(self.lib, name)
            return timed(name, f) if name in TIMED_CALLS else f

    C.LIB = Lib(C.LIB)
    for _ in range(120):
        try:
            with readmit.Client(endpoint, timeout_ms=2000, retries=0) as c:
                c.health()
                break
        except readmit.ReadmitError:
            time.sleep(0.5)
    out = collections.defaultdict(list)
    with readmit.Client(endpoint, timeout_ms=120000) as c:
        c.score_records(df)
        for _ in range(calls):
            acc.clear()
            r0, t = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
            c.score_records(df)
            out["total"].append((time.process_time() - t) * 1e3)
            out["minflt"].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0.ru_minflt)
            for k, v in acc.items():
                out[k].append(v * 1e3)
    print(json.dumps(out))


def main():
    if sys.argv[1] == "--child":
        sys.path.insert(0, os.environ["CLIENT_CPU_SRC"])
        return child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    endpoint, flat, rounds, calls = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    variants = [a.split("=", 1) for a in sys.argv[5:]]
    res = collections.defaultdict(lambda: collections.defaultdict(list))
    for _ in range(rounds):
        for tag, spec in variants:
            lib, src = spec.split(":", 1)
            env = dict(os.environ, READMIT_LIBRARY=os.path.abspath(lib), CLIENT_CPU_SRC=os.path.abspath(src))
            out = subprocess.run([sys.executable, __file__, "--child", endpoint, flat, calls], env=env,
                                 capture_output=True, text=True, check=True)
            for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items():
                res[tag][k].extend(v)
    order = ["total", "_set_column", "readmit_records_set_codes", "readmit_records_set_numbers",
             "readmit_score_records", "_records_result", "_messages", "minflt"]
    print("ms of client CPU per call, median/min (minflt: minor page faults)")
    for tag, _ in variants:
        d = res[tag]
        print(f"{tag:>10}", "  ".join(f"{k} {statistics.median(d[k]):.1f}/{min(d[k]):.1f}" for k in order if k in d),
              f"({len(d['total'])} calls)")


if __name__ == "__main__":
    main()
