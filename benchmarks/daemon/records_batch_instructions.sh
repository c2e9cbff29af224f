#!/usr/bin/env bash
# Benchmark: instructions readmitd executes (callgrind, all threads) for one 100,000-row request
# of the same rows three ways: SCORE of their feature vectors, RECORDS of the raw rows from
# pandas categorical columns, and RECORDS from pandas string columns. Counts do not move with
# the load of a shared machine; the ratio RECORDS / SCORE is the daemon's cost of encoding.
#
#   bash benchmarks/daemon/records_batch_instructions.sh FLAT_CSV VECTORS_F64 [MODEL]
#
# FLAT_CSV / VECTORS_F64 as benchmarks/bindings/records_vs_score.py takes them (`readmit history`
# output, and `readmit encode --format f64` of it). READMITD_BIN picks the daemon (default the
# release build; a copy without debug sections is made, as valgrind cannot read Swift's DWARF 5).
# Needs valgrind and the Python binding (READMIT_LIBRARY / PYTHONPATH as for the other benchmarks).
set -euo pipefail
cd "$(dirname "$0")/../.."
flat=${1:?FLAT_CSV}; vectors=${2:?VECTORS_F64}; model=${3:-output/model.readmit}
work=$(mktemp -d); trap 'kill $dpid 2>/dev/null || true; wait $dpid 2>/dev/null || true; rm -rf "$work"' EXIT
cp "${READMITD_BIN:-.build/release/readmitd}" "$work/readmitd" && strip -g "$work/readmitd"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
valgrind --tool=callgrind --callgrind-out-file="$work/cg" "$work/readmitd" --model "$model" \
  --endpoint "tcp://127.0.0.1:$port" >"$work/log" 2>&1 &
dpid=$!
for _ in $(seq 240); do grep -q "readmitd serving" "$work/log" && break; sleep 0.5; done  # bounded: 120 s
grep -q "readmitd serving" "$work/log" || { cat "$work/log" >&2; exit 1; }
request() {  # one request of the whole file, as $1 says
  python3 - "$1" "tcp://127.0.0.1:$port" "$flat" "$vectors" <<'PY'
import sys, warnings
import numpy as np, pandas as pd, readmit
warnings.simplefilter("ignore")
mode, endpoint, flat, vectors = sys.argv[1:5]
with readmit.Client(endpoint, timeout_ms=600000) as c:
    if mode == "score":
        x = np.fromfile(vectors, dtype="<f8")
        c.score(x.reshape(-1, len(c.info()["features"])))
    else:
        c.score_records(pd.read_csv(flat, dtype="category" if mode == "category" else str, keep_default_na=False), warn=False)
PY
}
echo "daemon ${READMITD_BIN:-.build/release/readmitd}, model $model, $(python3 -c "import sys; print(sum(1 for _ in open(sys.argv[1])) - 1)" "$flat") rows"
declare -A count
for mode in score category string; do
  request "$mode"                       # warm: the model's caches, the client's imports
  callgrind_control -z "$dpid" >/dev/null 2>&1
  request "$mode"
  callgrind_control -d "$dpid" >/dev/null 2>&1
  dump=$(ls -t "$work"/cg.* | head -1)
  count[$mode]=$(awk '/^summary:|^totals:/ {print $2; exit}' "$dump")
  printf '%-9s %15s instructions per request\n' "$mode" "${count[$mode]}"
done
python3 -c "import sys; s, c, t = map(int, sys.argv[1:]); print(f'RECORDS / SCORE: categorical {c / s:.3f}, strings {t / s:.3f}')" \
  "${count[score]}" "${count[category]}" "${count[string]}"
