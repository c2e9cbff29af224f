"""Drives the readmitd benchmark: starts the references and readmitd, runs the C load client
against each, side by side in one run, and prints a table of medians and ratios.

Run through run.sh (which builds the C programs). Every load is bounded in request count.
"""
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import time

import zmq

OUT = os.environ["BENCH_OUT"]
READMITD = os.environ["READMITD_BIN"]
MODEL = os.environ["BENCH_MODEL"]
CLIENT = os.path.join(OUT, "load_client")
ECHO = os.path.join(OUT, "echo_server")
ROUTER = os.path.join(OUT, "router_server")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
READMIT = os.environ.get("READMIT_BIN", ".build/release/readmit")
# Real rows (default): the model's own encoding of the shipped data's encounters; "synthetic":
# one made-up row (every feature 0.0, every 5th missing), as before 2026-12-03.
ROWS = os.environ.get("BENCH_ROWS", "real")
DATA_DIR = os.environ.get("BENCH_DATA_DIR", "../shared/data/diabetes130")


def real_rows(cols):
    """Writes the feature vectors of the data's encounters as the daemon encodes them
    (`readmit history` then `readmit encode --format f64`, stays out of the cohort left out)
    and returns the file's path, for load_client's LOAD_ROWS_F64."""
    import numpy as np
    flat, vectors = os.path.join(OUT, "flat.csv"), os.path.join(OUT, "rows.f64")
    for args in ([READMIT, "history", "--model", MODEL, "--data-dir", DATA_DIR, "--out", flat],
                 [READMIT, "encode", "--model", MODEL, "--records", flat, "--format", "f64", "--out", vectors]):
        out = subprocess.run(args, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            sys.exit(f"{' '.join(args)} failed (BENCH_ROWS=synthetic skips real rows): {out.stderr[-2000:]}")
    x = np.fromfile(vectors, dtype="<f8").reshape(-1, cols)
    x = x[~np.isnan(x).all(axis=1)]  # a row with an error (a stay out of the cohort) is all missing
    x.tofile(vectors)
    return vectors, len(x)


def free_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def request(endpoint, op, timeout_ms=500):
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, timeout_ms)
    s.connect(endpoint)
    try:
        s.send(b"RDMT" + bytes([2, op]) + struct.pack("<HQ", 0, 1))
        return s.recv_multipart()
    finally:
        s.close()


def wait_ready(endpoint, proc, what):
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}")
        try:
            return request(endpoint, 4)
        except zmq.Again:
            pass
    sys.exit(f"{what} did not answer within 60 s")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_and_faults(pid):
    """The process's CPU seconds (user + system) and minor page faults so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), int(fields[7])


def tasks(pid):
    return [int(t) for t in os.listdir(f"/proc/{pid}/task")]


def keep_on_cpu(pids, cpu):
    """Sets every thread of the processes to run on CPU `cpu` only and returns what to restore.
    With a server's application thread and its ZeroMQ I/O thread on one CPU, the round trip does
    not depend on where this VM's scheduler happens to place them: with readmitd's two on
    different CPUs its one-row round trip took 1.26x as long as free, with both on one CPU 0.95x
    (the echo server's 0.95x too). The client is left free."""
    saved = {}
    for pid in pids:
        for tid in tasks(pid):
            try:
                saved[tid] = os.sched_getaffinity(tid)
                os.sched_setaffinity(tid, {cpu})
            except ProcessLookupError:  # a thread that ended meanwhile
                saved.pop(tid, None)
    return saved


def restore_cpus(saved):
    for tid, cpus in saved.items():
        try:
            os.sched_setaffinity(tid, cpus)
        except ProcessLookupError:
            pass


def run_client(*args):
    out = subprocess.run([CLIENT, *map(str, args)], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        sys.exit(f"load_client {' '.join(map(str, args))} failed: {out.stderr}{out.stdout}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    procs = []
    try:
        echo_ep, daemon_ep, sk_ep, router_ep = free_endpoint(), free_endpoint(), free_endpoint(), free_endpoint()
        echo, router = subprocess.Popen([ECHO, echo_ep]), subprocess.Popen([ROUTER, router_ep])
        procs += [echo, router]
        daemon = subprocess.Popen([READMITD, "--model", MODEL, "--endpoint", daemon_ep, "--log-level", "warning"])
        procs.append(daemon)
        wait_ready(daemon_ep, daemon, "readmitd")
        info = json.loads(request(daemon_ep, 3)[1])
        cols = info["n_features"]
        rss_start = rss_mb(daemon.pid)
        with_sklearn = os.environ.get("BENCH_SKLEARN", "1") == "1"
        if with_sklearn:
            # The reference scores with the model's own booster (XGBoost) after its forest.
            booster_dir = os.path.join(OUT, "booster")
            args = [READMIT, "benchmark-scoring", "--model", MODEL, "--data-dir", DATA_DIR, "--rows", "1", "--repeats", "1",
                    "--export-booster", booster_dir]
            out = subprocess.run(args, capture_output=True, text=True, timeout=600)
            if out.returncode != 0:
                sys.exit(f"{' '.join(args)} failed (BENCH_SKLEARN=0 skips the Python reference): {out.stderr[-2000:]}")
            sk = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "sklearn_server.py"), sk_ep, str(cols),
                                   os.path.join(booster_dir, "booster.ubj")])
            procs.append(sk)
            wait_ready_sk(sk_ep, sk, cols)

        results = {"cols": cols, "workers": os.cpu_count(), "rss_start_mb": rss_start, "rounds": ROUNDS, "rows": ROWS,
                   "cpu_flags": vector_flags()}
        if ROWS == "real":
            os.environ["LOAD_ROWS_F64"], results["real_rows"] = real_rows(cols)
        # Short runs, alternating which side goes first: this machine's round-trip floor drifts
        # (the echo's median has ranged from 47 to 113 us between runs), so each pair's ratio is
        # taken from two runs a second apart, and the median of those ratios is the figure.
        def alternating_pairs(count, rows):
            pairs = []
            for k in range(count):
                order = [("echo", echo_ep), ("daemon", daemon_ep)]
                got = {name: run_client("latency", ep, cols, 1500, rows) for name, ep in (order if k % 2 == 0 else order[::-1])}
                pairs.append((got["echo"], got["daemon"]))
            return pairs

        pairs = alternating_pairs(4 * ROUNDS, 1)
        pair_ratios = [d["median_us"] / e["median_us"] for e, d in pairs]
        results["latency_pairs"] = len(pair_ratios)
        results["pair_ratio_median"] = statistics.median(pair_ratios)
        results["pair_ratio_quartiles"] = statistics.quantiles(pair_ratios, n=4)
        results["echo_median_us"] = statistics.median(e["median_us"] for e, _ in pairs)
        results["echo_p99_us"] = statistics.median(e["p99_us"] for e, _ in pairs)
        results["score1_median_us"] = statistics.median(d["median_us"] for _, d in pairs)
        results["score1_p99_us"] = statistics.median(d["p99_us"] for _, d in pairs)
        # The same with a SCORE of no row: what the daemon costs beyond the echo before it scores
        # anything (parsing, the reply, the broker), so the 1-row gap can be split.
        zero_ratios = [d["median_us"] / e["median_us"] for e, d in alternating_pairs(2 * ROUNDS, 0)]
        results["zero_row_pairs"] = len(zero_ratios)
        results["zero_row_pair_ratio_median"] = statistics.median(zero_ratios)
        # Request by request: one client alternates single round trips between the daemon and
        # the echo (which goes first swapped every pair), so both are timed in the same machine
        # state; between its requests each sits idle while the other answers, so the daemon's
        # code and trees are as cold as the echo's activity and the kernel leave them. The C
        # ROUTER server (router_server.c: readmitd's socket options and reply frames, no work)
        # is the share of the socket pattern. Medians of ROUNDS runs of 3,000 pairs each.
        def interleaved(endpoint, rows):
            runs = [run_client("interleaved", endpoint, cols, 3000, rows, echo_ep) for _ in range(ROUNDS)]
            return {key: statistics.median(run[key] for run in runs)
                    for key in ("median_us", "p99_us", "reference_median_us", "reference_p99_us", "median_ratio", "p99_ratio")}
        results["interleaved_score1"] = interleaved(daemon_ep, 1)
        results["interleaved_score0"] = interleaved(daemon_ep, 0)
        results["interleaved_router"] = interleaved(router_ep, 1)
        # The same three with each server's threads kept on one CPU (the same one for all, the
        # first this process may use, so the client, left free, runs on another): the daemon's
        # own cost without the scheduler's placement of its threads, which moves a run's ratio
        # by a few percent either way.
        allowed = sorted(os.sched_getaffinity(0))
        if len(allowed) > 1:
            saved = keep_on_cpu([daemon.pid, echo.pid, router.pid], allowed[0])
            try:
                results["one_cpu_score1"] = interleaved(daemon_ep, 1)
                results["one_cpu_score0"] = interleaved(daemon_ep, 0)
                results["one_cpu_router"] = interleaved(router_ep, 1)
            finally:
                restore_cpus(saved)
        results["batch1k_rows_per_s"] = statistics.median(run_client("batch", daemon_ep, cols, 1000, 100)["rows_per_s"] for _ in range(ROUNDS))
        # The daemon's own CPU time and page faults per 100,000-row request (all its threads),
        # from /proc around these runs: they do not depend on the client's share of the machine.
        cpu0, faults0 = cpu_and_faults(daemon.pid)
        results["batch100k_rows_per_s"] = statistics.median(run_client("batch", daemon_ep, cols, 100000, 10)["rows_per_s"] for _ in range(ROUNDS))
        cpu1, faults1 = cpu_and_faults(daemon.pid)
        results["batch100k_daemon_cpu_s"] = (cpu1 - cpu0) / (10 * ROUNDS)
        results["batch100k_daemon_faults"] = (faults1 - faults0) / (10 * ROUNDS)
        par = [run_client("parallel", daemon_ep, cols, 16, 300) for _ in range(ROUNDS)]
        results["parallel16_req_per_s"] = statistics.median(p["requests_per_s"] for p in par)
        results["parallel16_p50_us"] = statistics.median(p["p50_us"] for p in par)
        results["parallel16_p99_us"] = statistics.median(p["p99_us"] for p in par)
        results["rss_after_mb"] = rss_mb(daemon.pid)
        # The daemon keeps a large request's buffer for the next one and hands it back (malloc_trim)
        # at most once a second after the load has passed (ArenaPolicy.swift): RSS once idle.
        time.sleep(2.5)
        results["rss_idle_mb"] = rss_mb(daemon.pid)
        if with_sklearn:
            results["sklearn_score1_median_us"] = statistics.median(run_client("latency", sk_ep, cols, 300)["median_us"] for _ in range(ROUNDS))
            results["sklearn_batch1k_rows_per_s"] = statistics.median(run_client("batch", sk_ep, cols, 1000, 20)["rows_per_s"] for _ in range(ROUNDS))
            results["sklearn_batch100k_rows_per_s"] = statistics.median(run_client("batch", sk_ep, cols, 100000, 3)["rows_per_s"] for _ in range(ROUNDS))
        report(results)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def wait_ready_sk(endpoint, proc, cols):
    ctx = zmq.Context.instance()
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("sklearn server exited")
        s = ctx.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, 1000)
        s.connect(endpoint)
        try:
            s.send_multipart([b"RDMT" + bytes([2, 1]) + struct.pack("<HQ", 0, 1), struct.pack("<II", 1, cols), bytes(8 * cols)])
            s.recv_multipart()
            return
        except zmq.Again:
            pass
        finally:
            s.close()
    sys.exit("sklearn server did not answer")


def vector_flags():
    """The CPU's vector flags the tree walks choose by (AVX2; AVX-512 named when present)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return "unknown"
    wanted = ["avx", "avx2", "fma", "bmi2", "avx512f", "avx512bw", "avx512vl"]
    have = [x for x in wanted if x in flags]
    return " ".join(have) + ("" if "avx512f" in have else " (no avx512f)")


def report(r):
    def ratio(a, b):
        return f"{a / b:.2f}x" if b else "n/a"
    lines = [
        f"readmitd benchmark ({r['cols']} features, {r['workers']} cores, CPU flags {r.get('cpu_flags', 'unknown')}, "
        f"loopback tcp, medians of {r['rounds']} rounds; "
        + (f"rows: {r['real_rows']:,} encounters of the data as the model encodes them, in order)" if r["rows"] == "real"
           else "rows: one synthetic row, every feature 0.0 and every 5th missing)"),
        "",
        "| measure | readmitd | reference | ratio (readmitd / reference) | target |",
        "|---|---|---|---|---|",
        f"| 1-row SCORE round trip, median | {r['score1_median_us']:.1f} us | raw libzmq REQ/REP echo {r['echo_median_us']:.1f} us | {ratio(r['score1_median_us'], r['echo_median_us'])} | <= 1.10x |",
        f"| 1-row SCORE / echo, median of {r['latency_pairs']} alternating pairs (quartiles) | | | {r['pair_ratio_median']:.2f}x ({r['pair_ratio_quartiles'][0]:.2f}-{r['pair_ratio_quartiles'][2]:.2f}) | <= 1.10x |",
        f"| SCORE of no row / echo of its bytes, median of {r['zero_row_pairs']} alternating pairs | | | {r['zero_row_pair_ratio_median']:.2f}x | (the daemon's cost before scoring) |",
        f"| 1-row SCORE round trip, p99 | {r['score1_p99_us']:.1f} us | echo {r['echo_p99_us']:.1f} us | {ratio(r['score1_p99_us'], r['echo_p99_us'])} | |",
    ]
    for key, label, target in (("interleaved_score1", "1-row SCORE / echo, interleaved request by request", "<= 1.10x"),
                               ("interleaved_score0", "SCORE of no row / echo, interleaved", ""),
                               ("interleaved_router", "C ROUTER server, readmitd's socket options and reply frames (router_server.c) / echo, interleaved", ""),
                               ("one_cpu_score1", "1-row SCORE / echo, interleaved, each server's threads on one CPU", ""),
                               ("one_cpu_score0", "SCORE of no row / echo, interleaved, each server's threads on one CPU", ""),
                               ("one_cpu_router", "C ROUTER server / echo, interleaved, each server's threads on one CPU", "")):
        if key in r:
            i = r[key]
            lines.append(f"| {label}: median (p99) | {i['median_us']:.1f} us ({i['p99_us']:.1f}) | echo {i['reference_median_us']:.1f} us ({i['reference_p99_us']:.1f}) "
                         f"| {i['median_ratio']:.3f}x (p99 {i['p99_ratio']:.2f}x) | {target} |")
    if "sklearn_score1_median_us" in r:
        lines.append(f"| 1-row SCORE, median vs pyzmq + scikit-learn + XGBoost | {r['score1_median_us']:.1f} us | {r['sklearn_score1_median_us']:.1f} us | {ratio(r['score1_median_us'], r['sklearn_score1_median_us'])} | |")
        lines.append(f"| 1,000-row batch | {r['batch1k_rows_per_s']:,.0f} rows/s | pyzmq + scikit-learn + XGBoost {r['sklearn_batch1k_rows_per_s']:,.0f} rows/s | {ratio(r['batch1k_rows_per_s'], r['sklearn_batch1k_rows_per_s'])} | |")
        lines.append(f"| 100,000-row batch | {r['batch100k_rows_per_s']:,.0f} rows/s | pyzmq + scikit-learn + XGBoost {r['sklearn_batch100k_rows_per_s']:,.0f} rows/s | {ratio(r['batch100k_rows_per_s'], r['sklearn_batch100k_rows_per_s'])} | >= 1,000,000 rows/s |")
    else:
        lines.append(f"| 1,000-row batch | {r['batch1k_rows_per_s']:,.0f} rows/s | | | |")
        lines.append(f"| 100,000-row batch | {r['batch100k_rows_per_s']:,.0f} rows/s | | | >= 1,000,000 rows/s |")
    lines += [
        f"| 16 concurrent clients, 1-row SCORE | {r['parallel16_req_per_s']:,.0f} req/s, p50 {r['parallel16_p50_us']:.0f} us, p99 {r['parallel16_p99_us']:.0f} us | | | |",
        f"| 100,000-row batch: the daemon's CPU time and minor page faults per request | {r['batch100k_daemon_cpu_s']:.3f} s, {r['batch100k_daemon_faults']:,.0f} faults | | | |",
        f"| daemon RSS (model loaded / after the run / 2.5 s later) | {r['rss_start_mb']:.1f} MB / {r['rss_after_mb']:.1f} MB / {r['rss_idle_mb']:.1f} MB | | | < 50 MB |",
        "",
        "Reproduce: bash benchmarks/daemon/run.sh [MODEL]",
    ]
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(r, f, indent=2)


if __name__ == "__main__":
    main()
