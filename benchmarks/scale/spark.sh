#!/usr/bin/env bash
# Benchmark: 1,000,000 raw encounters through Spark local[2] (and Dask) with two readmitd
# against the Python binding directly, side by side (benchmarks/scale/spark.py says how).
# Reproduce from the repository root (after scripts/tests/00-build.sh, `make` and
# scripts/setup.sh, with the binding importable: `pip install ./bindings/python`, or
# READMIT_LIBRARY=$PWD/build/libreadmit.so PYTHONPATH=$PWD/bindings/python/src):
#   nice bash benchmarks/scale/spark.sh [--rows N] [--repeats N] [--no-dask]
set -euo pipefail
cd "$(dirname "$0")/../.."
READMITD_BIN=${READMITD_BIN:-.build/release/readmitd}
MODEL=${READMIT_TEST_MODEL:-.build/fixtures/model.readmit}
DATA=${READMIT_DATA:-../shared/data/diabetes130/diabetic_data.csv.gz}
[ -f data/diabetes130/diabetic_data.csv.gz ] && DATA=${READMIT_DATA:-data/diabetes130/diabetic_data.csv.gz}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done' EXIT
endpoints=()
for i in 1 2; do
  port=$(free_port)
  "$READMITD_BIN" --model "$MODEL" --endpoint "tcp://127.0.0.1:$port" >/dev/null 2>&1 &
  pids+=($!)
  endpoints+=("tcp://127.0.0.1:$port")
done
echo "machine: $(nproc) cores, $(uname -m), load $(cut -d' ' -f1-3 /proc/loadavg); daemons $READMITD_BIN x2, model $MODEL"
python3 benchmarks/scale/spark.py --endpoints "${endpoints[@]}" --data "$DATA" "$@"
