"""Compares two readmitd builds request by request: one client alternates single SCORE round
trips between a daemon of each build (`load_client interleaved`), so both sides' medians come
from the same moments and the machine's drift falls on both alike. Fresh daemons for each
instance, the builds' ports swapped every other instance (so neither build always has the
first-started daemon), one-row SCOREs and SCOREs of no row. Prints the median of the per-run
ratios A/B with its quartiles, and writes them to BENCH_OUT/compare.json.

Run through compare_builds.sh (which builds load_client). Every load is bounded in request count.
"""
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import bench  # noqa: E402  (reads BENCH_OUT, READMITD_BIN and BENCH_MODEL, set by compare_builds.sh)

INSTANCES = int(os.environ.get("COMPARE_INSTANCES", "4"))
RUNS = int(os.environ.get("COMPARE_RUNS", "3"))
PAIRS = int(os.environ.get("COMPARE_PAIRS", "3000"))
# COMPARE_CPU=N keeps both daemons' threads on CPU N (bench.keep_on_cpu), out of the scheduler's
# placement: two daemons of one build measured 0.998-0.999x (quartiles) that way, 0.998-1.005x not.
ONE_CPU = os.environ.get("COMPARE_CPU")


def start(binary):
    endpoint = bench.free_endpoint()
    proc = subprocess.Popen([binary, "--model", bench.MODEL, "--endpoint", endpoint, "--log-level", "warning"])
    bench.wait_ready(endpoint, proc, binary)
    return endpoint, proc


def main():
    build_a, build_b = sys.argv[1], sys.argv[2]
    ratios = {1: [], 0: []}
    medians = {1: ([], []), 0: ([], [])}
    cols = None
    for instance in range(INSTANCES):
        order = [build_a, build_b] if instance % 2 == 0 else [build_b, build_a]
        started = {}
        try:
            for binary in order:
                started[binary] = start(binary)
            (ep_a, _), (ep_b, _) = started[build_a], started[build_b]
            if ONE_CPU is not None:
                bench.keep_on_cpu([proc.pid for _, proc in started.values()], int(ONE_CPU))
            if cols is None:
                cols = json.loads(bench.request(ep_a, 3)[1])["n_features"]
                if bench.ROWS == "real":
                    os.environ["LOAD_ROWS_F64"], _ = bench.real_rows(cols)
            for _ in range(RUNS):
                for rows in (1, 0):
                    r = bench.run_client("interleaved", ep_a, cols, PAIRS, rows, ep_b)
                    if r["failures"]:
                        sys.exit(f"{r['failures']} round trips failed: {r}")
                    ratios[rows].append(r["median_ratio"])
                    medians[rows][0].append(r["median_us"])
                    medians[rows][1].append(r["reference_median_us"])
        finally:
            for _, proc in started.values():
                proc.terminate()
                proc.wait(timeout=30)
    summary = {"a": build_a, "b": build_b, "instances": INSTANCES, "runs": RUNS, "pairs": PAIRS, "cpu_flags": bench.vector_flags(),
               "one_cpu": ONE_CPU}
    print(f"A: {build_a}\nB: {build_b}\n{INSTANCES} pairs of fresh daemons x {RUNS} runs of {PAIRS} interleaved round trips"
          + (f", the daemons' threads on CPU {ONE_CPU}" if ONE_CPU is not None else "") + f"; CPU flags {summary['cpu_flags']}")
    for rows in (1, 0):
        q = statistics.quantiles(ratios[rows], n=4) if len(ratios[rows]) > 1 else ratios[rows] * 3
        summary[f"rows_{rows}"] = {"ratios": ratios[rows], "median_ratio": statistics.median(ratios[rows]),
                                   "a_median_us": statistics.median(medians[rows][0]),
                                   "b_median_us": statistics.median(medians[rows][1])}
        print(f"SCORE of {rows} row{'s' if rows != 1 else ''}: A/B median {statistics.median(ratios[rows]):.3f}x "
              f"(quartiles {q[0]:.3f}-{q[2]:.3f}); A {summary[f'rows_{rows}']['a_median_us']:.1f} us, "
              f"B {summary[f'rows_{rows}']['b_median_us']:.1f} us (medians of the runs' medians)")
    with open(os.path.join(bench.OUT, "compare.json"), "w") as f:
        json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
