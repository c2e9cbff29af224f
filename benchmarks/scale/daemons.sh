#!/usr/bin/env bash
# Requests/s and p99 with 1, 2 and 3 readmitd behind one multi-endpoint libreadmit client, and
# with 3 where one is SIGKILLed mid-run (0 failed requests expected). Configurations alternate
# (the order rotates every repetition) and the figures are the medians over repetitions.
#
#   bash benchmarks/scale/daemons.sh [--reps 5] [--seconds 3]
#
# Two loads: "small" = 4 client threads, each its own client over the endpoints, 100-row SCORE
# requests back to back; "split" = 1 client thread, 20,000-row SCORE requests split into chunks
# of 2,000 rows over the daemons (readmit_options_set_split_rows). READMITD_BIN and
# READMIT_TEST_MODEL as for the tests (default: .build/release/readmitd, the fixture model).
set -euo pipefail
cd "$(dirname "$0")/../.."
READMITD_BIN="${READMITD_BIN:-$PWD/.build/release/readmitd}"
MODEL="${READMIT_TEST_MODEL:-$PWD/.build/fixtures/model.readmit}"
REPS=5
SECONDS_PER_RUN=3
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; shift 2;;
    --seconds) SECONDS_PER_RUN=$2; shift 2;;
    *) echo "usage: $0 [--reps N] [--seconds S]" >&2; exit 2;;
  esac
done

make -s all >/dev/null
mkdir -p build/bench
cc -std=c11 -O2 -Wall -Wextra -Iinclude -o build/bench/daemons benchmarks/scale/daemons.c build/libreadmit.a \
  $(pkg-config --libs libzmq 2>/dev/null || echo -lzmq) -pthread -lm

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
declare -a PORT PID
start() { # start daemon $1 on its port and wait until it scores
  "$READMITD_BIN" --model "$MODEL" --endpoint "tcp://127.0.0.1:${PORT[$1]}" >/dev/null 2>&1 &
  PID[$1]=$!
  for _ in $(seq 600); do build/readmit_score -e "tcp://127.0.0.1:${PORT[$1]}" -s >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "daemons: readmitd $1 did not start" >&2; exit 1
}
cleanup() { for i in 0 1 2; do [ -n "${PID[$i]:-}" ] && kill "${PID[$i]}" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
for i in 0 1 2; do PORT[$i]=$(free_port); start $i; done

OUT=$(mktemp)
run() { # run LOAD CONFIG: CONFIG is 1, 2, 3 or 3k (3 daemons, the third killed mid-run)
  local load=$1 config=$2 n=${2%k} args=()
  for i in $(seq 0 $((n - 1))); do args+=(--endpoint "tcp://127.0.0.1:${PORT[$i]}"); done
  if [ "$load" = small ]; then args+=(--threads 4 --rows 100); else args+=(--threads 1 --rows 20000 --split 2000); fi
  if [ "$config" = 3k ]; then args+=(--kill "${PID[2]}" --kill-after-ms $((SECONDS_PER_RUN * 500))); fi
  local line
  line=$(build/bench/daemons "${args[@]}" --seconds "$SECONDS_PER_RUN") || true
  echo "load=$load config=$config $line" | tee -a "$OUT"
  if [ "$config" = 3k ]; then wait "${PID[2]}" 2>/dev/null || true; start 2; fi
}
configs=(1 2 3 3k)
for rep in $(seq "$REPS"); do
  for load in small split; do
    for k in 0 1 2 3; do run "$load" "${configs[$(( (k + rep) % 4 ))]}"; done
  done
done

echo "--- medians over $REPS repetitions (uptime: $(uptime | sed 's/.*load/load/'))"
python3 - "$OUT" <<'PY'
import statistics, sys
rows = [dict(kv.split("=", 1) for kv in line.split()) for line in open(sys.argv[1]) if "calls=" in line]
print(f"{'load':6} {'daemons':8} {'req/s':>9} {'rows/s':>10} {'p50 us':>9} {'p99 us':>9} {'failed':>7} runs")
for load in ("small", "split"):
    for config in ("1", "2", "3", "3k"):
        rs = [r for r in rows if r["load"] == load and r["config"] == config]
        if not rs:
            continue
        med = lambda k: statistics.median(float(r[k]) for r in rs)
        name = "3, 1 killed" if config == "3k" else config
        print(f"{load:6} {name:8} {med('req_s'):9.1f} {med('rows_s'):10.0f} {med('p50_us'):9.1f} {med('p99_us'):9.1f} "
              f"{sum(int(r['failed']) for r in rs):7d} {len(rs)}")
PY
rm -f "$OUT"
