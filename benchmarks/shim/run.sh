#!/usr/bin/env bash
# Benchmark: libreadmit vs a raw libzmq REQ/REP round trip of the same bytes, one run, one
# daemon. Reproduce from the repository root:
#   bash benchmarks/shim/run.sh            (after scripts/tests/00-build.sh)
# Extra arguments go to bench_shim (e.g. --calls 5000 --batch-reps 5).
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
build/bench_shim "tcp://127.0.0.1:$port" "$@"
