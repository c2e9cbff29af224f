#!/usr/bin/env bash
# Benchmark: Python binding vs C shim on 100,000 rows, side by side against one readmitd.
# Reproduce from the repository root (after scripts/tests/00-build.sh and
# `pip install ./bindings/python`):
#   bash benchmarks/bindings/run_python.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
READMITD_BIN=${READMITD_BIN:-.build/release/readmitd}
MODEL=${READMIT_TEST_MODEL:-.build/fixtures/model.readmit}
make -s all
cc -std=c11 -O2 -Iinclude -o build/bench_shim benchmarks/shim/bench_shim.c build/libreadmit.a $(pkg-config --libs libzmq 2>/dev/null || echo -lzmq) -lm
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$READMITD_BIN" --model "$MODEL" --endpoint "tcp://127.0.0.1:$port" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
# Clients fail fast (READMIT_EUNAVAILABLE) until the daemon listens: wait for it.
for i in $(seq 600); do build/readmit_score -e "tcp://127.0.0.1:$port" -s >/dev/null 2>&1 && break; sleep 0.1; done
echo "machine: $(nproc) cores, $(uname -m); daemon $READMITD_BIN, model $MODEL"
python3 benchmarks/bindings/bench_python.py "tcp://127.0.0.1:$port" "$@"
