#!/usr/bin/env bash
# Benchmark: in-process scoring throughput on 100,000 rows, one thread, Swift vs Python, same run.
#
#   benchmarks/train/score_throughput.sh [MODEL_DIR] [ROWS]
#
# MODEL_DIR holds model.readmit and metrics.json from `readmit train` (default: a fresh
# `readmit train --no-report` into a temporary folder). The Python side fits scikit-learn's
# IsolationForest and an XGBoost booster of the depth, min_child_weight, eta and round count
# that readmit chose (from metrics.json), so both score the same amount of model.
# Swift side: the hidden `readmit benchmark-scoring` subcommand (skipped if the binary lacks it),
# which also exports the model's booster and its input rows: XGBoost's inplace_predict and
# tl2cgen's compiled C then score those same trees and rows as the booster's references
# (booster_references.py; tl2cgen is installed from PyPI if missing).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BIN=${READMIT_BIN:-$ROOT/.build/release/readmit}
PYTHON=${PYTHON:-python3}
ROWS=${2:-100000}
REPEATS=${REPEATS:-5}
export PATH="/opt/swift/usr/bin:$PATH"
CORES=$(nproc)  # before OMP_NUM_THREADS=1, which nproc obeys
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
if [ ! -x "$BIN" ]; then swift build -c release --product readmit >&2; fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/readmit-score-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
DIR=${1:-}
if [ -z "$DIR" ]; then
  DIR=$WORK/model
  echo "score_throughput: training a model (readmit train --no-report)" >&2
  "$BIN" train --out "$DIR" --no-report >"$WORK/train.log" 2>&1 || { cat "$WORK/train.log" >&2; exit 1; }
fi
# The vector flags the tree walks choose by (AVX2 here; AVX-512 named when present).
FLAGS=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|avx2|fma|bmi2|avx512f|avx512bw|avx512vl)$' | sort -u | tr '\n' ' ')
case " $FLAGS" in *" avx512f "*) ;; *) FLAGS="${FLAGS}(no avx512f)" ;; esac
echo "machine: $CORES cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); CPU flags: $FLAGS; date: $(date -u +%Y-%m-%dT%H:%M:%SZ); load: $(cut -d' ' -f1-3 /proc/loadavg)"
# The Python booster gets as many rounds as the model holds trees: `trees` (the refit keeps its
# best rounds on the calibration patients; `rounds` is what the refit was allowed). Models
# written before `trees` was recorded fall back to `rounds`, and the Swift side's tree count
# (below) is checked against it.
read -r DEPTH MCW ETA ROUNDS < <("$PYTHON" -c '
import json, sys
t = json.load(open(sys.argv[1]))["model"]["training_summary"]
print(t["max_depth"], t["min_child_weight"], t["eta"], t.get("trees", t["rounds"]))' "$DIR/metrics.json")

SWIFT_JSON=""
if "$BIN" benchmark-scoring --help 2>&1 | grep -q -- '--rows'; then
  EXPORT=()  # a binary from before --export-booster is timed without the booster's references
  if "$BIN" benchmark-scoring --help 2>&1 | grep -q -- '--export-booster'; then EXPORT=(--export-booster "$WORK/booster"); fi
  "$BIN" benchmark-scoring --model "$DIR/model.readmit" --rows "$ROWS" --repeats "$REPEATS" "${EXPORT[@]}" >"$WORK/swift.json"
  SWIFT_JSON=$WORK/swift.json
  TREES=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1])).get("booster_trees", ""))' "$SWIFT_JSON")
  if [ -n "$TREES" ] && [ "$TREES" != "$ROUNDS" ]; then
    echo "score_throughput: the model holds $TREES trees, metrics.json says $ROUNDS: the sides would not score the same amount of model" >&2
    exit 1
  fi
else
  echo "score_throughput: $BIN has no benchmark-scoring subcommand; Python side only" >&2
fi
"$PYTHON" benchmarks/train/score_throughput.py --rows "$ROWS" --repeats "$REPEATS" --max-depth "$DEPTH" \
  --min-child-weight "$MCW" --eta "$ETA" --rounds "$ROUNDS" >"$WORK/python.json"
# The booster's references on the model's own trees and the same rows (issue 15): XGBoost's
# inplace_predict and tl2cgen's compiled C, one thread. tl2cgen comes from PyPI (not a Debian
# package, and not needed by anything but this benchmark), so it is installed here if missing.
REFS_JSON=""
if [ -n "$SWIFT_JSON" ] && [ -s "$WORK/booster/booster_export.json" ]; then
  if ! "$PYTHON" -c 'import tl2cgen, treelite' >/dev/null 2>&1; then
    echo "score_throughput: installing tl2cgen from PyPI (the booster's compiled-C reference)" >&2
    "$PYTHON" -m pip install -q tl2cgen >&2 || "$PYTHON" -m pip install -q --break-system-packages tl2cgen >&2 \
      || echo "score_throughput: tl2cgen could not be installed; XGBoost alone as the booster's reference" >&2
  fi
  "$PYTHON" benchmarks/train/booster_references.py "$WORK/booster" --repeats "$REPEATS" --swift "$SWIFT_JSON" \
    >"$WORK/references.json" 2>"$WORK/references.log" || { cat "$WORK/references.log" >&2; exit 1; }
  REFS_JSON=$WORK/references.json
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PYTHON" - "$WORK/python.json" "$SWIFT_JSON" "$REFS_JSON" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
s = json.load(open(sys.argv[2])) if sys.argv[2] else {}
refs = json.load(open(sys.argv[3])) if sys.argv[3] else {}
b = p["booster"]
print(f"rows {p['rows']}, one thread, median of {p['repeats']}; booster depth {b['max_depth']}, {b['rounds']} trees")
print(f"{'rows/s (one thread)':<52}{'Swift':>12}{'Python':>12}{'Swift/Python':>14}")
def row(name, sv, pv):
    ratio = f"{sv / pv:14.2f}" if sv else f"{'-':>14}"
    print(f"{name:<52}{(f'{sv:12.0f}' if sv else f'{chr(45):>12}')}{pv:12.0f}{ratio}")
row("isolation forest (sklearn score_samples, expanded)", s.get("isolation_forest_rows_per_second"), p["isolation_forest_score_samples_rows_per_second"])
row("isolation forest (incl. one-hot expansion)", s.get("isolation_forest_rows_per_second"), p["isolation_forest_with_expansion_rows_per_second"])
row("risk model, full served path (schema rows in)", s.get("risk_model_rows_per_second"), p["risk_model_rows_per_second"])
row("  Python: XGBoost predict + Platt only", None, p["xgboost_platt_predict_proba_rows_per_second"])
# Every tree walk the CPU supports (issue 15), measured alternately in the same Swift run.
walks = s.get("tree_walks", {})
if walks:
    print(f"Swift tree walks (selected: {s['tree_walk']}; bit-identical: {s['tree_walks_bit_identical']}; chunk {s['chunk_rows']} rows)")
    print(f"{'walk':<10}{'forest rows/s':>15}{'ns/row/tree':>13}{'booster rows/s':>16}{'ns/row/tree':>13}{'served rows/s':>15}")
    for name, w in sorted(walks.items()):
        print(f"{name:<10}{w['isolation_forest_rows_per_second']:15.0f}{w['isolation_forest_ns_per_row_per_tree']:13.2f}"
              f"{w['booster_rows_per_second']:16.0f}{w['booster_ns_per_row_per_tree']:13.2f}{w['risk_model_rows_per_second']:15.0f}")
    if refs:
        # The same trees (the model file's booster) and the same rows, margins checked against readmit's.
        selected = s["tree_walk"]
        ours = walks[selected]["booster_rows_per_second"]
        print(f"booster references on the model's own {refs['booster_trees']} trees and the same rows (one thread; "
              f"readmit's {selected} walk / reference)")
        x = refs["xgboost_inplace_predict"]
        print(f"  XGBoost {refs['versions']['xgboost']} inplace_predict (margins, nthread=1): {x['rows_per_second']:.0f} rows/s, "
              f"{x['ns_per_row_per_tree']:.2f} ns/row/tree, max |margin difference| {x['max_abs_margin_difference']:.2g}; "
              f"{ours / x['rows_per_second']:.2f}x")
        t = refs["tl2cgen"]
        if "skipped" in t:
            print(f"  tl2cgen: skipped, {t['skipped']}")
        else:
            for name, v in t["variants"].items():
                print(f"  tl2cgen {refs['versions']['tl2cgen']} ({name}{'; the best' if name == t['best'] else ''}): "
                      f"{v['rows_per_second']:.0f} rows/s, {v['ns_per_row_per_tree']:.2f} ns/row/tree, "
                      f"max |margin difference| {v['max_abs_margin_difference']:.2g}; {ours / v['rows_per_second']:.2f}x")
    if "xgboost_inplace_predict_margin_rows_per_second" in p:
        print(f"booster of the same depth and rounds fitted in Python, XGBoost {p['versions']['xgboost']} inplace_predict "
              f"(margins, nthread=1): {p['xgboost_inplace_predict_margin_rows_per_second']:.0f} rows/s, "
              f"{p['xgboost_inplace_predict_ns_per_row_per_tree']:.2f} ns/row/tree")
PY
