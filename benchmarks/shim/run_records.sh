#!/usr/bin/env bash
# Benchmark: one raw encounter sent from C through libreadmit (RECORDS) against a raw libzmq
# REQ/REP echo of the same request bytes, side by side in one run. Reproduce from the repository
# root (after scripts/tests/00-build.sh):
#   bash benchmarks/shim/run_records.sh [--pairs P] [--calls N]
# The encounter is the first row of `readmit history` on the shipped data (its raw fields, history
# included), served by the fixture model; MODEL=... and READMITD_BIN=... override the defaults.
set -euo pipefail
cd "$(dirname "$0")/../.."
READMITD_BIN=${READMITD_BIN:-.build/release/readmitd}
READMIT_BIN=${READMIT_BIN:-.build/release/readmit}
MODEL=${MODEL:-${READMIT_TEST_MODEL:-.build/fixtures/model.readmit}}
WORK=${BENCH_OUT:-output/bench-records}
mkdir -p "$WORK" build
make -s all
cc -std=c11 -O2 -Wall -Iinclude -o build/records_latency benchmarks/shim/records_latency.c build/libreadmit.a \
  $(pkg-config --libs libzmq 2>/dev/null || echo -lzmq) -lm
cc -O2 -Wall -o build/echo_server benchmarks/daemon/echo_server.c $(pkg-config --libs libzmq 2>/dev/null || echo -lzmq)
# One encounter as NAME<TAB>VALUE lines: the first patient row of the flat raw records.
"$READMIT_BIN" history --model "$MODEL" --data-dir ../shared/data/diabetes130 --out "$WORK/flat.csv" 2>/dev/null
python3 - "$WORK/flat.csv" "$WORK/row.tsv" <<'PY'
import csv, sys
with open(sys.argv[1], newline="") as f:
    reader = csv.reader(f)
    names, values = next(reader), next(reader)
with open(sys.argv[2], "w") as out:
    for n, v in zip(names, values):
        out.write(f"{n}\t{v}\n")
PY
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
dport=$(port); eport=$(port)
"$READMITD_BIN" --model "$MODEL" --endpoint "tcp://127.0.0.1:$dport" >/dev/null 2>&1 &
dpid=$!
build/echo_server "tcp://127.0.0.1:$eport" &
epid=$!
trap 'kill $dpid $epid 2>/dev/null || true; wait $dpid $epid 2>/dev/null || true' EXIT
sleep 1
echo "machine: $(nproc) cores, $(uname -m), load $(cut -d' ' -f1-3 /proc/loadavg); daemon $READMITD_BIN, model $MODEL"
build/records_latency "tcp://127.0.0.1:$dport" "tcp://127.0.0.1:$eport" "$WORK/row.tsv" "$@"
