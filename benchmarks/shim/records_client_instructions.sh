#!/usr/bin/env bash
# Benchmark: the instructions the client executes per raw encounter through libreadmit
# (readmit_records_new, a readmit_records_set_text per field, readmit_score_records,
# readmit_result_row, both frees: records_latency.c's shim_round_trip) against those of a raw
# libzmq REQ round trip of the same request bytes (its raw_round_trip), counted by valgrind's
# callgrind in one process. The daemon and the echo server run natively; records_instructions.sh
# counts the daemon's side. Reproduce from the repository root (after scripts/tests/00-build.sh):
#   bash benchmarks/shim/records_client_instructions.sh [--calls N]
# READMITD_BIN=... and MODEL=... as for run_records.sh; RECORDS_LATENCY_BIN=... counts a client
# built against another libreadmit (records_latency.c linked with its libreadmit.a). Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/../.."
READMITD_BIN=${READMITD_BIN:-.build/release/readmitd}
READMIT_BIN=${READMIT_BIN:-.build/release/readmit}
MODEL=${MODEL:-${READMIT_TEST_MODEL:-.build/fixtures/model.readmit}}
WORK=${BENCH_OUT:-output/bench-records}
RECORDS_LATENCY_BIN=${RECORDS_LATENCY_BIN:-build/records_latency}
CALLS=300
while [ $# -gt 0 ]; do
  case "$1" in
    --calls) CALLS=$2; shift 2 ;;
    *) echo "usage: records_client_instructions.sh [--calls N]" >&2; exit 2 ;;
  esac
done
command -v valgrind >/dev/null || { echo "records_client_instructions.sh: valgrind is needed (scripts/setup.sh installs it)" >&2; exit 1; }
bash benchmarks/shim/prepare.sh "$READMIT_BIN" "$MODEL" "$WORK"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
dport=$(port); eport=$(port)
"$READMITD_BIN" --model "$MODEL" --endpoint "tcp://127.0.0.1:$dport" >/dev/null 2>&1 &
dpid=$!
build/echo_server "tcp://127.0.0.1:$eport" >/dev/null 2>&1 &
epid=$!
trap 'kill $dpid $epid 2>/dev/null || true; wait $dpid $epid 2>/dev/null || true' EXIT
sleep 1
rm -f "$WORK/callgrind.client"
valgrind -q --tool=callgrind --callgrind-out-file="$WORK/callgrind.client" \
  "$RECORDS_LATENCY_BIN" "tcp://127.0.0.1:$dport" "tcp://127.0.0.1:$eport" "$WORK/row.tsv" --pairs 1 --calls "$CALLS" | head -1
# Inclusive instructions per call of the two round-trip functions: the cost lines that follow
# each `calls=` line from main (callgrind's format) over the calls they count. The client's
# libzmq I/O thread is not in either (it moves the same bytes for both).
python3 - "$WORK/callgrind.client" <<'PY'
import re, sys
names, cost, calls = {}, {}, {}
fn = cfn = None
pending = None
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"^(c?)fn=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
    if m:
        if m.group(3):
            names[m.group(2)] = m.group(3)
        if m.group(1):
            cfn = m.group(2)
        else:
            fn = m.group(2)
        continue
    if line.startswith("calls="):
        pending = int(line.split()[0][6:])
        continue
    if pending is not None and (line[:1].isdigit() or line[:1] in "+-*"):
        parts = line.split()
        callee = names.get(cfn, "")
        if names.get(fn) == "main" and len(parts) >= 2:
            for side in ("shim_round_trip", "raw_round_trip"):
                if callee.startswith(side):
                    cost[side] = cost.get(side, 0) + int(parts[1])
                    calls[side] = calls.get(side, 0) + pending
        pending = None
if set(cost) != {"shim_round_trip", "raw_round_trip"}:
    sys.exit("records_client_instructions.sh: the round-trip functions were not found in the profile")
shim, raw = cost["shim_round_trip"] / calls["shim_round_trip"], cost["raw_round_trip"] / calls["raw_round_trip"]
print(f"libreadmit: {shim:,.0f} instructions per raw encounter in the calling thread ({calls['shim_round_trip']} calls)")
print(f"raw libzmq REQ round trip of the same bytes: {raw:,.0f} ({calls['raw_round_trip']} calls)")
print(f"ratio: {shim / raw:.2f}x")
PY
