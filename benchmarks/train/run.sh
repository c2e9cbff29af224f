#!/usr/bin/env bash
# Benchmark: `readmit train` against the equivalent Python pipeline (pandas, scikit-learn,
# xgboost), in the same run, N times each, alternating. Prints medians and ratios per stage,
# total wall time, peak RSS and each side's test ROC AUC.
#
#   benchmarks/train/run.sh [N]     (N defaults to 3; READMIT_BIN overrides the binary, THREADS the
#                                    XGBoost threads of both sides, KEEP=DIR keeps the outputs)
#
# Needs: swift (to build readmit if missing), python3 with numpy pandas scikit-learn xgboost,
# GNU time at /usr/bin/time (scripts/setup.sh installs all of them).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
N=${1:-3}
BIN=${READMIT_BIN:-$ROOT/.build/release/readmit}
PYTHON=${PYTHON:-python3}
THREADS=${THREADS:-$(nproc)}
export PATH="/opt/swift/usr/bin:$PATH"

if [ ! -x /usr/bin/time ]; then echo "run.sh: /usr/bin/time missing (apt-get install time, or scripts/setup.sh)" >&2; exit 1; fi
if [ ! -x "$BIN" ]; then
  echo "run.sh: building readmit (swift build -c release --product readmit)" >&2
  swift build -c release --product readmit >&2
fi
"$PYTHON" -c 'import numpy, pandas, sklearn, xgboost' || { echo "run.sh: python3 needs numpy pandas scikit-learn xgboost" >&2; exit 1; }

# KEEP=DIR keeps every run's output (models, metrics.json, GNU time logs) in DIR.
if [ -n "${KEEP:-}" ]; then WORK=$KEEP; mkdir -p "$WORK"; else
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/readmit-train-bench.XXXXXX"); trap 'rm -rf "$WORK"' EXIT; fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ); readmit: $BIN; threads: $THREADS; runs: $N"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

GRID=""
for i in $(seq 1 "$N"); do
  # Swift first on odd runs, Python first on even runs, so drift in machine load hits both.
  for side in $( [ $((i % 2)) -eq 1 ] && echo "swift python" || echo "python swift"); do
    if [ "$side" = swift ]; then
      echo "run $i: readmit train ($(cut -d' ' -f1 /proc/loadavg) load)" >&2
      /usr/bin/time -v -o "$WORK/swift-$i.time" "$BIN" train --out "$WORK/swift-$i" --threads "$THREADS" >"$WORK/swift-$i.log" 2>&1 \
        || { cat "$WORK/swift-$i.log" >&2; exit 1; }
      if [ -z "$GRID" ]; then
        # The Python side tries exactly the grid readmit tried (from its metrics.json).
        read -r GRID < <("$PYTHON" - "$WORK/swift-$i/metrics.json" <<'PY'
import json, re, sys
m = json.load(open(sys.argv[1]))
names = ["max_depth", "min_child_weight", "eta", "subsample", "colsample_bytree", "lambda"]
print(",".join(":".join(re.search(rf"\b{n}=([0-9.]+)", t["parameters"]).group(1) for n in names) for t in m["hyperparameter_search"]))
PY
)
      fi
    else
      [ -n "$GRID" ] || GRID="4:5,5:5,6:10,5:5:0.02:0.8:0.5"
      echo "run $i: python pipeline (grid $GRID; $(cut -d' ' -f1 /proc/loadavg) load)" >&2
      /usr/bin/time -v -o "$WORK/python-$i.time" "$PYTHON" benchmarks/train/python_pipeline.py --out "$WORK/python-$i" \
        --threads "$THREADS" --grid "$GRID" >"$WORK/python-$i.json" 2>"$WORK/python-$i.err" \
        || { cat "$WORK/python-$i.err" >&2; exit 1; }
    fi
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PYTHON" benchmarks/train/summarize.py "$WORK" "$N"
