#!/usr/bin/env bash
# readmitd benchmark, side by side with its references in one run (loopback tcp):
#   raw libzmq REQ/REP echo in C (round-trip floor), a C ROUTER server shaped like readmitd's front
#   (router_server.c), pyzmq + scikit-learn IsolationForest server.
# Usage: bash benchmarks/daemon/run.sh [MODEL]
#   env: READMITD_BIN (default .build/release/readmitd), BENCH_OUT (default output/bench-daemon),
#        BENCH_ROUNDS (default 3), BENCH_SKLEARN=0 to skip the scikit-learn reference,
#        BENCH_ROWS=synthetic to send one made-up row instead of the data's encounters as the
#        model encodes them (READMIT_BIN, BENCH_DATA_DIR: default ../shared/data/diabetes130).
set -euo pipefail
cd "$(dirname "$0")/../.."
export READMITD_BIN="${READMITD_BIN:-$PWD/.build/release/readmitd}"
export READMIT_BIN="${READMIT_BIN:-$PWD/.build/release/readmit}"
export BENCH_MODEL="${1:-${READMIT_TEST_MODEL:-$PWD/.build/fixtures/model.readmit}}"
export BENCH_OUT="${BENCH_OUT:-$PWD/output/bench-daemon}"
mkdir -p "$BENCH_OUT"
[ -x "$READMITD_BIN" ] || { echo "no readmitd at $READMITD_BIN (swift build -c release)" >&2; exit 1; }
[ -f "$BENCH_MODEL" ] || { echo "no model at $BENCH_MODEL" >&2; exit 1; }
cc -O2 -Wall -o "$BENCH_OUT/echo_server" benchmarks/daemon/echo_server.c -lzmq
cc -O2 -Wall -o "$BENCH_OUT/router_server" benchmarks/daemon/router_server.c -lzmq
cc -O2 -Wall -o "$BENCH_OUT/load_client" benchmarks/daemon/load_client.c -lzmq -lpthread -lm
python3 benchmarks/daemon/bench.py
