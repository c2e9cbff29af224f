#!/usr/bin/env python3
"""The one-row measure of run.sh taken between two raw libzmq echo servers: what one run's
figure does when nothing differs.

    python3 benchmarks/daemon/echo_vs_echo.py [RUNS]

Each run starts two fresh echo servers and takes run.sh's measure between them: 12 pairs of
1,500 one-row round trips (a row of 60 features, as run.sh sends the fixture model's),
alternating which server goes first, the ratio of the second server's median to the first's
per pair, and the median of those 12 ratios. On a quiet, fair instrument every run gives 1.00;
how far the runs spread is how far one run of run.sh's "median of 12 alternating pairs" can
move for reasons that are not the daemon's. Builds echo_server and load_client as run.sh does.
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.environ.get("BENCH_OUT", os.path.join(HERE, "..", "..", "output", "bench-daemon"))
ECHO, CLIENT = os.path.join(OUT, "echo_server"), os.path.join(OUT, "load_client")
COLS, CALLS, PAIRS = 60, 1500, 12


def free_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def median_us(endpoint):
    out = subprocess.run([CLIENT, "latency", endpoint, str(COLS), str(CALLS), "1"], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        sys.exit(f"load_client failed on {endpoint}: {out.stderr}{out.stdout}")
    return json.loads(out.stdout.strip().splitlines()[-1])["median_us"]


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    if not 1 <= runs <= 1000:
        sys.exit("echo_vs_echo.py: RUNS must be 1 to 1000")
    os.makedirs(OUT, exist_ok=True)
    subprocess.run(["cc", "-O2", "-Wall", "-o", ECHO, os.path.join(HERE, "echo_server.c"), "-lzmq"], check=True)
    subprocess.run(["cc", "-O2", "-Wall", "-o", CLIENT, os.path.join(HERE, "load_client.c"), "-lzmq", "-lpthread", "-lm"], check=True)
    os.environ.pop("LOAD_ROWS_F64", None)  # the synthetic row: the bytes, not their values, matter to an echo
    medians = []
    for r in range(runs):
        first, second = free_endpoint(), free_endpoint()
        servers = [subprocess.Popen([ECHO, first]), subprocess.Popen([ECHO, second])]
        try:
            time.sleep(0.3)
            ratios = []
            for k in range(PAIRS):
                order = [("first", first), ("second", second)]
                got = {name: median_us(ep) for name, ep in (order if k % 2 == 0 else order[::-1])}
                ratios.append(got["second"] / got["first"])
        finally:
            for s in servers:
                s.kill()
                s.wait()
        q = statistics.quantiles(ratios, n=4)
        medians.append(statistics.median(ratios))
        print(f"run {r + 1}: second / first echo {medians[-1]:.3f}x (pair quartiles {q[0]:.3f}-{q[2]:.3f})", flush=True)
    print(f"echo / echo, median of {PAIRS} alternating pairs, {runs} runs: median {statistics.median(medians):.3f}x, "
          f"runs {min(medians):.3f}-{max(medians):.3f}x")


if __name__ == "__main__":
    main()
