#!/usr/bin/env python3
"""Instructions per request from two callgrind dumps (the daemon's and the echo server's), and
the daemon's own instructions by function (its top ten, self cost).

    python3 benchmarks/daemon/callgrind_split.py DAEMON_DUMP ECHO_DUMP REQUESTS BINARY COLS

Reads the dumps directly: callgrind_annotate of valgrind 3.19 attributes everything to the
thread entry point for these multi-threaded, stripped processes. Names are demangled with
swift-demangle when it is on PATH."""
import collections
import re
import shutil
import subprocess
import sys


def self_costs(path):
    names, cost, fn, after_calls = {}, collections.Counter(), None, False
    for line in open(path, errors="replace"):
        m = re.match(r"^(c?)fn=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if m:
            if m.group(3):
                names[m.group(2)] = m.group(3)
            if not m.group(1):
                fn = m.group(2)
            continue
        if line.startswith("calls="):
            after_calls = True  # the next cost line is the call's inclusive cost, not self
            continue
        if line[:1].isdigit() or line[:1] in "+-*":
            parts = line.split()
            if after_calls:
                after_calls = False
            elif len(parts) >= 2 and fn is not None:
                cost[fn] += int(parts[1])
    return names, cost


def main():
    daemon, echo, requests, binary, cols = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    names, cost = self_costs(daemon)
    _, echo_cost = self_costs(echo)
    total, echo_total = sum(cost.values()), sum(echo_cost.values())
    print(f"readmitd ({binary}): {total / requests:,.0f} instructions per one-row SCORE of {cols} features (all threads)")
    print(f"raw libzmq echo server: {echo_total / requests:,.0f} instructions per echo of the same request bytes")
    print(f"ratio: {total / echo_total:.2f}x")
    top = cost.most_common(10)
    labels = [names.get(k, k) for k, _ in top]
    if shutil.which("swift-demangle"):
        out = subprocess.run(["swift-demangle", "--simplified", "--compact"], input="\n".join(labels),
                             capture_output=True, text=True).stdout.split("\n")
        labels = [d or l for d, l in zip(out, labels)]
    print("the daemon's instructions per request by function (self):")
    for (_, v), label in zip(top, labels):
        print(f"  {v / requests:10,.0f}  {100 * v / total:4.1f}%  {label[:110]}")


if __name__ == "__main__":
    main()
