#!/usr/bin/env bash
# Training stays on one machine: `readmit train` on the shipped Diabetes 130 data replicated 1x,
# 2x and 4x (every patient copied under new patient and encounter ids, so the copies are new
# patients, split by patient like the originals), with its wall time and peak memory (GNU time),
# then per 100,000 encounters and a linear extrapolation of the largest cohort that fits in the
# machine's memory. The full job (hyperparameter search, refit, references, evaluation) without
# the report and the ablation.
#
#   benchmarks/scale/training.sh [FACTORS]     (default "1 2 4"; READMIT_BIN overrides the binary,
#                                               THREADS the XGBoost threads, KEEP=DIR keeps outputs;
#                                               SUMMARY_ONLY=1 with KEEP re-prints the table)
#
# Caveat, by construction: a replicated patient's copies are identical, so copies land in the
# validation and test patients of their originals. Early stopping then runs to its cap (2,000
# rounds) and the test ROC AUC is meaningless; the table gives the trees and the refit's
# milliseconds per boosting round per 100,000 rows, which compare across factors.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
FACTORS=${1:-"1 2 4"}
BIN=${READMIT_BIN:-$ROOT/.build/release/readmit}
THREADS=${THREADS:-$(nproc)}
DATA=${DATA:-$ROOT/../shared/data/diabetes130/diabetic_data.csv.gz}
[ -x "$BIN" ] || { echo "training.sh: $BIN missing: run scripts/tests/00-build.sh" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "training.sh: /usr/bin/time missing (scripts/setup.sh installs it)" >&2; exit 1; }
if [ -n "${KEEP:-}" ]; then WORK=$KEEP; mkdir -p "$WORK"; else
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/readmit-train-scale.XXXXXX"); trap 'rm -rf "$WORK"' EXIT; fi
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); date: $(date -u +%Y-%m-%dT%H:%M:%SZ); threads: $THREADS"
for f in $FACTORS; do
  [ -z "${SUMMARY_ONLY:-}" ] || break
  python3 - "$DATA" "$f" "$WORK/data-$f.csv" <<'PY'
import gzip, sys
src, factor, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with gzip.open(src, "rt", newline="") as fh:
    header, *rows = fh.read().splitlines()
names = header.split(",")
enc, pat = names.index("encounter_id"), names.index("patient_nbr")
with open(out, "w", newline="") as o:
    o.write(header + "\n")
    for k in range(factor):
        # Copy k: ids shifted past every original id (they are below 10^9), so it is new patients.
        for line in rows:
            cells = line.split(",")
            cells[enc] = str(int(cells[enc]) + k * 1_000_000_000)
            cells[pat] = str(int(cells[pat]) + k * 1_000_000_000)
            o.write(",".join(cells) + "\n")
PY
  echo "factor $f: readmit train ($(($(wc -l < "$WORK/data-$f.csv") - 1)) encounters)" >&2
  /usr/bin/time -v -o "$WORK/time-$f" "$BIN" train --data "$WORK/data-$f.csv" --out "$WORK/out-$f" --threads "$THREADS" \
    --no-report --no-ablation >"$WORK/log-$f" 2>&1 || { cat "$WORK/log-$f" >&2; exit 1; }
  rm -f "$WORK/data-$f.csv"
done
python3 - "$WORK" $FACTORS <<'PY'
import json, re, sys
work, factors = sys.argv[1], [int(f) for f in sys.argv[2:]]
mem_gib = int(re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read()).group(1)) / 2**20
rows = []
for f in factors:
    t = open(f"{work}/time-{f}").read()
    wall = t.split("Elapsed (wall clock) time (h:mm:ss or m:ss): ")[1].split("\n")[0].split(":")
    seconds = sum(float(p) * 60 ** i for i, p in enumerate(reversed(wall)))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 2**20
    m = json.load(open(f"{work}/out-{f}/metrics.json"))
    n = m["cohort"]["rows"]
    trees = int(m["model"]["training_summary"]["trees"])
    refit_rows = m["cohort"]["fit_rows"]
    refit_s = dict(m["stage_seconds"])["booster refit and calibration"] if isinstance(m["stage_seconds"], dict) else \
        [x["seconds"] for x in m["stage_seconds"] if x["stage"] == "booster refit and calibration"][0]
    rows.append((f, n, seconds, rss, trees, refit_s * 1000 / trees / refit_rows * 1e5, m["risk_model"]["roc_auc"]))
print("| factor | encounters | wall s | peak GiB | GiB per 100k | trees | refit ms per round per 100k rows | test ROC AUC (see caveat) |")
print("|---|---|---|---|---|---|---|---|")
for f, n, s, g, trees, ms, auc in rows:
    print(f"| {f}x | {n:,} | {s:.0f} | {g:.2f} | {g / n * 1e5:.2f} | {trees:,} | {ms:.1f} | {auc:.4f} |")
if len(rows) >= 2:
    # Least-squares line of peak memory on encounters; the largest cohort below the machine's memory.
    xs, ys = [r[1] for r in rows], [r[3] for r in rows]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    base = my - slope * mx
    print(f"\npeak memory ~ {base:.2f} GiB + {slope * 1e5:.2f} GiB per 100,000 encounters; "
          f"{mem_gib:.0f} GiB holds about {(mem_gib - base) / slope:,.0f} encounters (linear extrapolation)")
PY
