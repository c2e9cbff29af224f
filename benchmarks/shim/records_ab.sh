#!/usr/bin/env bash
# Benchmark: two builds of the client (records_latency.c linked with two libreadmit.a) on one
# raw encounter, alternated against one daemon and one echo server, so that a client change is
# seen through run_records.sh's own figure (the median of its pair ratios raw / echo) with the
# machine's load shared by both builds. Reproduce from the repository root (after
# benchmarks/shim/prepare.sh, which builds build/records_latency):
#   bash benchmarks/shim/records_ab.sh ROUNDS CLIENT_A CLIENT_B [--pairs 10] [--calls 1000]
# CLIENT_A / CLIENT_B: records_latency binaries (for an older libreadmit: check it out in a
# worktree, `make -s all` there, and link benchmarks/shim/records_latency.c with its
# build/libreadmit.a as prepare.sh does). READMITD_BIN and MODEL as for run_records.sh;
# READMITD_A and READMITD_B (both) give each client its own daemon build instead, started side
# by side, so that a client and daemon pair is compared with another (the echo stays shared).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:?ROUNDS}; a=${2:?CLIENT_A}; b=${3:?CLIENT_B}; shift 3
READMITD_BIN=${READMITD_BIN:-.build/release/readmitd}
MODEL=${MODEL:-${READMIT_TEST_MODEL:-.build/fixtures/model.readmit}}
ROW=${BENCH_OUT:-output/bench-records}/row.tsv
[ -s "$ROW" ] || { echo "records_ab.sh: no $ROW (run benchmarks/shim/prepare.sh first)" >&2; exit 1; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
daemon_a=${READMITD_A:-$READMITD_BIN} daemon_b=${READMITD_B:-$READMITD_BIN}
aport=$(port); eport=$(port)
"$daemon_a" --model "$MODEL" --endpoint "tcp://127.0.0.1:$aport" >/dev/null 2>&1 &
pids=($!)
bport=$aport
if [ "$daemon_b" != "$daemon_a" ]; then
  bport=$(port)
  "$daemon_b" --model "$MODEL" --endpoint "tcp://127.0.0.1:$bport" >/dev/null 2>&1 &
  pids+=($!)
fi
build/echo_server "tcp://127.0.0.1:$eport" &
pids+=($!)
trap 'kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true' EXIT
sleep 1
declare -A ratios
for r in $(seq "$rounds"); do
  for client in "$a" "$b"; do
    dport=$([ "$client" = "$a" ] && echo "$aport" || echo "$bport")
    line=$("$client" "tcp://127.0.0.1:$dport" "tcp://127.0.0.1:$eport" "$ROW" "$@" | grep '^ratio')
    ratio=$(sed -E 's/.*pair ratios: ([0-9.]+)x.*/\1/' <<<"$line")
    ratios[$client]="${ratios[$client]:-} $ratio"
    echo "round $r $client: $line"
  done
done
for client in "$a" "$b"; do
  python3 -c "import statistics, sys; v = [float(x) for x in sys.argv[2:]]; print(f'{sys.argv[1]}: ratios {\" \".join(sys.argv[2:])}; median {statistics.median(v):.3f}')" "$client" ${ratios[$client]}
done
