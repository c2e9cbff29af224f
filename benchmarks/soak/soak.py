#!/usr/bin/env python3
"""Soak: many clients for a long time against one readmitd, with hot reloads and one client
that misbehaves, reporting failed requests, latency per minute and the daemon's memory growth.

    python3 benchmarks/soak/soak.py READMITD MODEL FLAT_CSV [--minutes 10] [--clients 16]
                                    [--reload-every 30] [--out DIR]

* READMITD is started here on a free loopback port, serving MODEL.
* CLIENTS threads each hold their own readmit.Client and score, in a loop, one raw encounter
  (RECORDS, a row of FLAT_CSV, the model's raw fields) or a batch of 100 of them, alternately.
  Each loop is bounded by the deadline; each call by its timeout.
* Every RELOAD_EVERY seconds the daemon gets SIGHUP (a hot reload of the same model file).
* One misbehaving client (raw pyzmq DEALER) sends large SCORE requests (about 83 MB each,
  one per second) and never reads a reply.
* Each minute: requests, failures (any exception), p50 and p99 latency of that minute, and the
  daemon's VmRSS. At the end: totals, and RSS growth from the end of minute 1 to the end of the
  last minute (target < 5%), failed requests (target 0).
Results go to OUT/soak.json and are printed.
"""
import argparse
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import zmq

import readmit


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def misbehave(endpoint, n_features, stop):
    """Large SCOREs (about 83 MB), one a second, replies never read."""
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.RCVHWM, 1)
    s.setsockopt(zmq.SNDTIMEO, 1000)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    rows = 83_000_000 // (8 * n_features)
    matrix = np.zeros((rows, n_features)).tobytes()
    sent = 0
    while not stop.is_set():
        header = b"RDMT" + bytes([2, 1]) + struct.pack("<HQ", 0, sent)
        try:
            s.send_multipart([b"", header, struct.pack("<II", rows, n_features), matrix], copy=False)
            sent += 1
        except zmq.Again:
            pass
        stop.wait(1.0)
    s.close()
    return sent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("readmitd")
    ap.add_argument("model")
    ap.add_argument("flat")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--reload-every", type=float, default=30)
    ap.add_argument("--out", default="output/soak")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    port = free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    log = open(os.path.join(a.out, "readmitd.log"), "w")
    daemon = subprocess.Popen([a.readmitd, "--model", a.model, "--endpoint", endpoint], stdout=log, stderr=log)
    try:
        deadline = time.time() + 60
        while True:
            try:
                with readmit.Client(endpoint, timeout_ms=1000, retries=0) as c:
                    if c.health().get("ready"):
                        info = c.info()
                        break
            except readmit.ReadmitError:
                pass
            if time.time() > deadline:
                sys.exit("readmitd did not start")
            time.sleep(0.1)
        fields = [f["name"] for f in info["raw_fields"]]
        frame = pd.read_csv(a.flat, dtype=str, keep_default_na=False, nrows=2000)
        frame = frame[[c for c in frame.columns if c in fields]]
        n_features = len(info["features"])

        lock = threading.Lock()
        minute_lat = {}      # minute -> list of seconds
        minute_fail = {}     # minute -> count
        failures = []
        start = time.time()
        end = start + a.minutes * 60
        stop = threading.Event()

        def client(i):
            rng = random.Random(i)
            with readmit.Client(endpoint, timeout_ms=10000, retries=2) as c:
                k = 0
                while time.time() < end:
                    batch = 1 if k % 2 == 0 else 100
                    j = rng.randrange(0, len(frame) - batch)
                    t0 = time.perf_counter()
                    ok = True
                    try:
                        out = c.score_records(frame.iloc[j:j + batch], warn=False)
                        if len(out) != batch or out["error"].notna().any():
                            raise RuntimeError("wrong reply")
                    except Exception as e:  # every failure counts
                        ok = False
                        with lock:
                            failures.append(f"{time.time() - start:.1f}s client {i}: {type(e).__name__}: {e}")
                    dt = time.perf_counter() - t0
                    m = int((time.time() - start) // 60)
                    with lock:
                        minute_lat.setdefault(m, []).append(dt)
                        if not ok:
                            minute_fail[m] = minute_fail.get(m, 0) + 1
                    k += 1

        threads = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)]
        bad = threading.Thread(target=misbehave, args=(endpoint, n_features, stop))
        for t in threads:
            t.start()
        bad.start()
        rss = []
        reloads = 0
        next_reload = start + a.reload_every
        next_minute = start + 60
        while time.time() < end:
            now = time.time()
            if now >= next_reload:
                daemon.send_signal(signal.SIGHUP)
                reloads += 1
                next_reload += a.reload_every
            if now >= next_minute:
                rss.append(rss_mib(daemon.pid))
                m = len(rss) - 1
                with lock:
                    lat = sorted(minute_lat.get(m, []))
                    fails = minute_fail.get(m, 0)
                p50 = lat[len(lat) // 2] * 1e3 if lat else float("nan")
                p99 = lat[int(len(lat) * 0.99)] * 1e3 if lat else float("nan")
                print(f"minute {m + 1}: {len(lat)} requests, {fails} failed, p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
                      f"RSS {rss[-1]:.1f} MiB", flush=True)
                next_minute += 60
            time.sleep(0.05)
        for t in threads:
            t.join(timeout=60)
        stop.set()
        bad.join(timeout=10)
        with readmit.Client(endpoint, timeout_ms=5000) as c:
            stats = c.stats()
        total = sum(len(v) for v in minute_lat.values())
        growth = (rss[-1] - rss[0]) / rss[0] * 100 if len(rss) >= 2 else float("nan")
        result = {
            "minutes": a.minutes, "clients": a.clients, "reloads": reloads, "requests": total,
            "failed": len(failures), "first_failures": failures[:10],
            "rss_mib_per_minute": rss, "rss_growth_percent_minute1_to_last": growth,
            "per_minute": [{"minute": m + 1, "requests": len(v),
                            "p50_ms": sorted(v)[len(v) // 2] * 1e3, "p99_ms": sorted(v)[int(len(v) * 0.99)] * 1e3}
                           for m, v in sorted(minute_lat.items()) if v],
            "daemon_stats": {k: stats.get(k) for k in ("requests_total", "errors", "reloads", "replies_dropped")},
        }
        with open(os.path.join(a.out, "soak.json"), "w") as f:
            json.dump(result, f, indent=1)
        print(f"total: {total} requests, {len(failures)} failed (target 0), {reloads} reloads, "
              f"RSS {rss[0] if rss else float('nan'):.1f} -> {rss[-1] if rss else float('nan'):.1f} MiB "
              f"({growth:+.1f}% from minute 1; target < 5%)")
        for line in failures[:10]:
            print("  " + line)
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


if __name__ == "__main__":
    main()
