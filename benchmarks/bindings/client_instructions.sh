#!/usr/bin/env bash
# Benchmark: the instructions the Python client executes (callgrind, every thread of the
# process: the binding, pandas, numpy, libreadmit and libzmq's I/O thread; not the kernel) per
# call of Client.score_records on a 100,000-row frame, or per Client.score of the same rows'
# feature vectors. Instruction counts do not move with the load of a shared machine, so this
# compares two builds of the client where wall-clock and CPU-time figures cannot
# (client_cpu_steps.py gives the CPU time per step; records_vs_score.py the wall-clock ratio the
# target is stated in). Counts of memcpy/memset are those of `rep movsb/stosb`, one per byte.
#
#   bash benchmarks/bindings/client_instructions.sh FLAT_CSV VECTORS_F64 [MODE ...]
#
# MODE: category (pandas.read_csv(dtype="category")), object (dtype=str: Arrow strings in
# pandas 3), read_csv (pandas' own dtypes), score (the numeric path); default all four.
# FLAT_CSV / VECTORS_F64 as records_vs_score.py takes them. READMIT_LIBRARY and PYTHONPATH pick
# the client build (default: the installed package); READMITD_BIN the daemon; MODEL the model
# (default .build/fixtures/model.readmit). CALLS (default 2) calls are counted after one warm-up.
set -euo pipefail
cd "$(dirname "$0")/../.."
flat=${1:?FLAT_CSV}; vectors=${2:?VECTORS_F64}; shift 2
modes=("$@"); [ ${#modes[@]} -gt 0 ] || modes=(category object read_csv score)
model=${MODEL:-.build/fixtures/model.readmit}; calls=${CALLS:-2}
command -v valgrind >/dev/null || { echo "client_instructions.sh: valgrind is needed (scripts/setup.sh installs it)" >&2; exit 1; }
# The interpreter itself, not a wrapper script (pyenv's shims are shell scripts).
python=$(python3 -c 'import sys; print(sys.executable)')
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${READMITD_BIN:-.build/release/readmitd}" --model "$model" --endpoint "tcp://127.0.0.1:$port" >"$work/daemon.log" 2>&1 &
dpid=$!
trap 'kill $dpid 2>/dev/null || true; wait $dpid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 240); do grep -q "readmitd serving" "$work/daemon.log" && break; sleep 0.5; done  # bounded: 120 s
grep -q "readmitd serving" "$work/daemon.log" || { cat "$work/daemon.log" >&2; exit 1; }
cat > "$work/client.py" <<'PY'
import os, subprocess, sys, warnings
import numpy as np, pandas as pd, readmit
warnings.simplefilter("ignore")
endpoint, flat, vectors, mode, calls = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
with readmit.Client(endpoint, timeout_ms=600000) as c:
    if mode == "score":
        x = np.fromfile(vectors, dtype="<f8").reshape(-1, len(c.info()["features"]))
        call = lambda: c.score(x)
    else:
        dtype = {"category": "category", "object": str, "read_csv": None}[mode]
        frame = pd.read_csv(flat, dtype=dtype, keep_default_na=False)
        call = lambda: c.score_records(frame, warn=False)
    call()  # warm: imports, the model's INFO, the batch kept for the next call
    subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], capture_output=True, check=True)
    for _ in range(calls):
        call()
    subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], capture_output=True, check=True)
PY
echo "client ${READMIT_LIBRARY:-installed libreadmit}, ${PYTHONPATH:-installed readmit}; daemon ${READMITD_BIN:-.build/release/readmitd}"
for mode in "${modes[@]}"; do
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg.$mode" \
    "$python" "$work/client.py" "tcp://127.0.0.1:$port" "$flat" "$vectors" "$mode" "$calls" >"$work/log.$mode" 2>&1 || {
    tail -20 "$work/log.$mode" >&2; exit 1; }
  total=$(cat "$work"/cg."$mode"* | awk '/^(summary|totals):/ { s += $2 } END { print s }')
  python3 -c "import sys; print(f'{sys.argv[1]:9s} {int(sys.argv[2]) / int(sys.argv[3]):15,.0f} client instructions per call')" \
    "$mode" "$total" "$calls"
done
