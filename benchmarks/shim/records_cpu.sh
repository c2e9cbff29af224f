#!/usr/bin/env bash
# Benchmark: one raw encounter from C against a libzmq echo of the same bytes, as
# run_records.sh measures it, plus the CPU time each server thread spent per round trip (user
# and system, from /proc/PID/task/*/stat around the run; 10 ms ticks, so runs of 20,000 round
# trips). The wall-clock ratio moves with the machine's load; the daemon's CPU per request much
# less. Reproduce from the repository root (after scripts/tests/00-build.sh):
#   bash benchmarks/shim/records_cpu.sh [--pairs 10] [--calls 1000]
# READMITD_BIN=... measures another build (alternate two builds to compare them).
set -euo pipefail
cd "$(dirname "$0")/../.."
READMITD_BIN=${READMITD_BIN:-.build/release/readmitd}
READMIT_BIN=${READMIT_BIN:-.build/release/readmit}
MODEL=${MODEL:-${READMIT_TEST_MODEL:-.build/fixtures/model.readmit}}
WORK=${BENCH_OUT:-output/bench-records}
PAIRS=10 CALLS=1000
while [ $# -gt 0 ]; do
  case "$1" in
    --pairs) PAIRS=$2; shift 2 ;;
    --calls) CALLS=$2; shift 2 ;;
    *) echo "usage: records_cpu.sh [--pairs N] [--calls N]" >&2; exit 2 ;;
  esac
done
bash benchmarks/shim/prepare.sh "$READMIT_BIN" "$MODEL" "$WORK"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
dport=$(port); eport=$(port)
"$READMITD_BIN" --model "$MODEL" --endpoint "tcp://127.0.0.1:$dport" >/dev/null 2>&1 &
dpid=$!
build/echo_server "tcp://127.0.0.1:$eport" &
epid=$!
trap 'kill $dpid $epid 2>/dev/null || true; wait $dpid $epid 2>/dev/null || true' EXIT
sleep 1
ticks() {  # per thread: tid name utime stime (clock ticks)
  for t in /proc/"$1"/task/*; do awk -v tid="$(basename "$t")" '{ print tid, $2, $14, $15 }' "$t/stat"; done | sort
}
d0=$(ticks $dpid); e0=$(ticks $epid)
build/records_latency "tcp://127.0.0.1:$dport" "tcp://127.0.0.1:$eport" "$WORK/row.tsv" --pairs "$PAIRS" --calls "$CALLS" | tail -3
d1=$(ticks $dpid); e1=$(ticks $epid)
hz=$(getconf CLK_TCK)
report() {  # $1 label, $2 before, $3 after: CPU per round trip of each thread that ran
  join <(echo "$2") <(echo "$3") | awk -v n=$((PAIRS * CALLS)) -v hz="$hz" -v who="$1" '{
    u = ($6 - $3) / hz / n * 1e9; s = ($7 - $4) / hz / n * 1e9
    if (u + s > 0) printf "%s thread %s: user %.0f ns, system %.0f ns per round trip\n", who, $2, u, s }'
}
report readmitd "$d0" "$d1"
report echo "$e0" "$e1"
