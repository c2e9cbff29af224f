#!/usr/bin/env bash
# Soak benchmark (not part of CI): 16 clients for 10 minutes against one readmitd, a hot reload
# every 30 s, and one client that sends large requests and never reads. Reproduce from the
# repository root, after scripts/tests/00-build.sh and `pip install ./bindings/python`:
#   bash benchmarks/soak/run.sh [--minutes 10] [--clients 16] [--reload-every 30]
set -euo pipefail
cd "$(dirname "$0")/../.."
READMITD_BIN=${READMITD_BIN:-.build/release/readmitd}
READMIT_BIN=${READMIT_BIN:-.build/release/readmit}
MODEL=${MODEL:-.build/fixtures/model.readmit}
OUT=${BENCH_OUT:-output/soak}
mkdir -p "$OUT"
# Raw records with their history: the encounters the clients send.
"$READMIT_BIN" history --model "$MODEL" --data-dir ../shared/data/diabetes130 --out "$OUT/flat.csv" 2>/dev/null
python3 benchmarks/soak/soak.py "$READMITD_BIN" "$MODEL" "$OUT/flat.csv" --out "$OUT" "$@"
