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
bash benchmarks/shim/prepare.sh "$READMIT_BIN" "$MODEL" "$WORK"
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
