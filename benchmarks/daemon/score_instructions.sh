#!/usr/bin/env bash
# Benchmark: the instructions readmitd executes per one-row SCORE (a real encounter's feature
# vector, as `benchmarks/daemon/run.sh` sends it), against those a raw libzmq echo server
# executes per echo of the same request bytes, both counted by valgrind's callgrind in one run,
# with the daemon's share split by function. Instruction counts do not move with the load of a
# shared machine, so this compares builds where the wall-clock ratio of run.sh cannot (that
# ratio stays the figure issue 15's target is stated in). From the repository root, after
# scripts/tests/00-build.sh:
#   bash benchmarks/daemon/score_instructions.sh [--calls N] [MODEL]
# READMITD_BIN=... counts another build. Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/../.."
READMITD_BIN=${READMITD_BIN:-.build/release/readmitd}
READMIT_BIN=${READMIT_BIN:-.build/release/readmit}
OUT=${BENCH_OUT:-output/bench-daemon}
CALLS=1000
MODEL=${READMIT_TEST_MODEL:-.build/fixtures/model.readmit}
while [ $# -gt 0 ]; do
  case "$1" in
    --calls) CALLS=$2; shift 2 ;;
    -*) echo "usage: score_instructions.sh [--calls N] [MODEL]" >&2; exit 2 ;;
    *) MODEL=$1; shift ;;
  esac
done
command -v valgrind >/dev/null || { echo "score_instructions.sh: valgrind is needed (scripts/setup.sh installs it)" >&2; exit 1; }
mkdir -p "$OUT"
cc -O2 -Wall -o "$OUT/echo_server" benchmarks/daemon/echo_server.c -lzmq
cc -O2 -Wall -o "$OUT/load_client" benchmarks/daemon/load_client.c -lzmq -lpthread -lm
# The data's encounters as this model encodes them (the first row is sent); the stays out of
# the cohort (all-missing vectors) left out, as run.sh does.
DATA_DIR=${BENCH_DATA_DIR:-../shared/data/diabetes130}
"$READMIT_BIN" history --model "$MODEL" --data-dir "$DATA_DIR" --out "$OUT/si-flat.csv" >/dev/null 2>&1
head -n 201 "$OUT/si-flat.csv" > "$OUT/si-flat200.csv"
"$READMIT_BIN" encode --model "$MODEL" --records "$OUT/si-flat200.csv" --format f64 --out "$OUT/si-rows.f64" >/dev/null 2>&1 || true
COLS=$(python3 - "$OUT/si-rows.f64" "$OUT/si-flat200.csv" <<'PY'
import os, sys
rows = sum(1 for _ in open(sys.argv[2])) - 1
print(os.path.getsize(sys.argv[1]) // 8 // rows)
PY
)
python3 - "$OUT/si-rows.f64" "$COLS" <<'PY'
import math, struct, sys
path, cols = sys.argv[1], int(sys.argv[2])
data = open(path, "rb").read()
rows = [data[i:i + 8 * cols] for i in range(0, len(data), 8 * cols)]
keep = [r for r in rows if not all(math.isnan(v) for v in struct.unpack(f"<{cols}d", r))]
open(path, "wb").write(b"".join(keep))
PY
export LOAD_ROWS_F64=$OUT/si-rows.f64
# valgrind cannot read the DWARF 5 that Swift writes: count a copy without debug sections (the
# symbol table stays, so functions are still named).
strip -g -o "$OUT/readmitd.counted" "$READMITD_BIN"
source benchmarks/callgrind_pair.sh
callgrind_pair_start "$OUT" "$OUT/readmitd.counted" "$MODEL" "$OUT/echo_server"
callgrind_pair_zero
# load_client sends 200 warm-up calls, then CALLS timed ones: both counted.
"$OUT/load_client" latency "tcp://127.0.0.1:$dport" "$COLS" "$CALLS" >/dev/null
"$OUT/load_client" latency "tcp://127.0.0.1:$eport" "$COLS" "$CALLS" >/dev/null
callgrind_pair_dump
python3 benchmarks/daemon/callgrind_split.py "$OUT/callgrind.daemon.1" "$OUT/callgrind.echo.1" $((CALLS + 200)) "$READMITD_BIN" "$COLS"
