#!/usr/bin/env bash
# The risk model's test figures over several seeds: `readmit train --seed S` for each seed
# (every random choice: the forest, the booster's subsampling, the history-withheld sample;
# hyperparameters and rounds are chosen again on the validation patients each time), then per
# seed and their mean: test ROC AUC and Brier score with history supplied and withheld, the
# chosen setting and the trees stored.
#
#   benchmarks/train/seeds.sh [SEEDS]      (default "42 43 44 45 46"; READMIT_BIN overrides the
#                                           binary, DATASET a spec other than the default,
#                                           KEEP=DIR keeps each run's output)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
SEEDS=${1:-"42 43 44 45 46"}
BIN=${READMIT_BIN:-$ROOT/.build/release/readmit}
[ -x "$BIN" ] || { echo "seeds.sh: $BIN missing: run scripts/tests/00-build.sh (or swift build -c release)" >&2; exit 1; }
if [ -n "${KEEP:-}" ]; then WORK=$KEEP; mkdir -p "$WORK"; else
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/readmit-seeds.XXXXXX"); trap 'rm -rf "$WORK"' EXIT; fi
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ); readmit: $BIN; seeds: $SEEDS; dataset: ${DATASET:-default}"
for s in $SEEDS; do
  echo "seed $s: readmit train" >&2
  "$BIN" train --seed "$s" --no-report --no-ablation ${DATASET:+--dataset "$DATASET"} --out "$WORK/seed-$s" >"$WORK/seed-$s.log" 2>&1 \
    || { cat "$WORK/seed-$s.log" >&2; exit 1; }
done
python3 - "$WORK" $SEEDS <<'PY'
import json, statistics, sys
work, seeds = sys.argv[1], sys.argv[2:]
rows = []
for s in seeds:
    m = json.load(open(f"{work}/seed-{s}/metrics.json"))
    unknown = m.get("risk_model_history_unknown", {})
    summary = m["model"]["training_summary"]
    rows.append((s, m["risk_model"]["roc_auc"], m["risk_model"]["brier"], unknown.get("roc_auc", float("nan")),
                 unknown.get("brier", float("nan")), summary))
print("| seed | test ROC AUC | Brier | ROC AUC, history withheld | Brier, history withheld | setting |")
print("|---|---|---|---|---|---|")
for s, auc, brier, ua, ub, summary in rows:
    extra = "".join(f", {k} {summary[k]}" for k in ("eta", "colsample_bytree") if k in summary)
    setting = f"depth {summary['max_depth']}, min_child_weight {summary['min_child_weight']}{extra}, {summary['trees']} trees"
    print(f"| {s} | {auc:.4f} | {brier:.5f} | {ua:.4f} | {ub:.5f} | {setting} |")
aucs, briers = [r[1] for r in rows], [r[2] for r in rows]
print(f"| mean | {statistics.mean(aucs):.4f} | {statistics.mean(briers):.5f} | {statistics.mean(r[3] for r in rows):.4f} | {statistics.mean(r[4] for r in rows):.5f} | |")
print(f"\nROC AUC: mean {statistics.mean(aucs):.4f}, min {min(aucs):.4f}, max {max(aucs):.4f}; Brier: mean {statistics.mean(briers):.5f}, max {max(briers):.5f}")
PY
