#!/usr/bin/env bash
# What the raw-encounter benchmarks (run_records.sh, records_instructions.sh) need: the shim
# and the two C programs built, and the encounter they send: the first row of `readmit history`
# on the shipped data (its raw fields, history included) as NAME<TAB>VALUE lines.
#   benchmarks/shim/prepare.sh READMIT_BIN MODEL OUT_DIR     (writes OUT_DIR/flat.csv and OUT_DIR/row.tsv)
set -euo pipefail
readmit_bin=$1 model=$2 work=$3
mkdir -p "$work" build
make -s all
cc -std=c11 -O2 -Wall -Iinclude -o build/records_latency benchmarks/shim/records_latency.c build/libreadmit.a \
  $(pkg-config --libs libzmq 2>/dev/null || echo -lzmq) -lm
cc -O2 -Wall -o build/echo_server benchmarks/daemon/echo_server.c $(pkg-config --libs libzmq 2>/dev/null || echo -lzmq)
[ -s "$work/row.tsv" ] && [ "$work/row.tsv" -nt "$model" ] && exit 0
"$readmit_bin" history --model "$model" --data-dir ../shared/data/diabetes130 --out "$work/flat.csv" 2>/dev/null
python3 - "$work/flat.csv" "$work/row.tsv" <<'PY'
import csv, sys
with open(sys.argv[1], newline="") as f:
    reader = csv.reader(f)
    names, values = next(reader), next(reader)
with open(sys.argv[2], "w") as out:
    for n, v in zip(names, values):
        out.write(f"{n}\t{v}\n")
PY
