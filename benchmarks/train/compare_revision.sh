#!/usr/bin/env bash
# Benchmark: `readmit train` on Diabetes 130 against the same job built from an earlier git
# revision, in the same run, alternating, N times each. Prints each run, then the medians of
# wall time, user CPU and peak RSS, and the ratio this build / the reference; and checks that
# both trained the same model (test ROC AUC and Brier from metrics.json).
#
#   benchmarks/train/compare_revision.sh REV [N]    (N defaults to 5; READMIT_BIN overrides this
#                                                    build's binary; KEEP=DIR keeps the outputs)
#
# The reference is built with `swift build -c release` in a git worktree under $TMPDIR (kept
# between runs, so only the first run builds it). Revisions before dataset specs read the CSV
# from $READMIT_DATA, later ones from their spec; both are set.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
REV=${1:?usage: compare_revision.sh REV [N]}
N=${2:-5}
BIN=${READMIT_BIN:-$ROOT/.build/release/readmit}
export PATH="/opt/swift/usr/bin:$PATH"
[ -x /usr/bin/time ] || { echo "compare_revision.sh: /usr/bin/time missing (scripts/setup.sh installs it)" >&2; exit 1; }
[ -x "$BIN" ] || swift build -c release --product readmit >&2

SHA=$(git rev-parse --short "$REV")
REFDIR=${TMPDIR:-/tmp}/readmit-rev-$SHA
if [ ! -d "$REFDIR" ]; then git worktree add -q --detach "$REFDIR" "$SHA"; fi
if [ ! -x "$REFDIR/.build/release/readmit" ]; then
  echo "building $SHA in $REFDIR" >&2
  (cd "$REFDIR" && swift build -c release --product readmit >&2)
fi
REF=$REFDIR/.build/release/readmit

DATA=""
for d in data/diabetes130 ../shared/data/diabetes130; do
  [ -f "$d/diabetic_data.csv.gz" ] && { DATA=$(cd "$d" && pwd)/diabetic_data.csv.gz; break; }
done
[ -n "$DATA" ] || { echo "compare_revision.sh: diabetic_data.csv.gz not found (see data/diabetes130/README.md)" >&2; exit 1; }
export READMIT_DATA=$DATA READMIT_DATASET=$ROOT/data/diabetes130/dataset.yaml

if [ -n "${KEEP:-}" ]; then WORK=$KEEP; mkdir -p "$WORK"; else
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/readmit-rev-bench.XXXXXX"); trap 'rm -rf "$WORK"' EXIT; fi
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "this build: $BIN ($(git rev-parse --short HEAD)); reference: $SHA; runs: $N each, alternating"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$N"); do
  for side in $( [ $((i % 2)) -eq 1 ] && echo "new ref" || echo "ref new"); do
    exe=$BIN; [ "$side" = ref ] && exe=$REF
    /usr/bin/time -v -o "$WORK/$side-$i.time" "$exe" train --out "$WORK/$side-$i" --no-report --log-level error >"$WORK/$side-$i.log" 2>&1
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (k = 1; k <= n; k++) s = s * 60 + p[k]; print s}' "$WORK/$side-$i.time")
    echo "run $i $side: $wall s, peak RSS $(awk -F': ' '/Maximum resident/ {printf "%.0f MiB", $2/1024}' "$WORK/$side-$i.time")"
  done
done
python3 - "$WORK" "$N" <<'PY'
import json, re, statistics, sys
work, n = sys.argv[1], int(sys.argv[2])
def stats(side):
    wall, user, rss = [], [], []
    for i in range(1, n + 1):
        t = open(f"{work}/{side}-{i}.time").read()
        w = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1).split(":")
        wall.append(sum(float(x) * 60 ** k for k, x in enumerate(reversed(w))))
        user.append(float(re.search(r"User time \(seconds\): (\S+)", t).group(1)))
        rss.append(int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024)
    m = json.load(open(f"{work}/{side}-1/metrics.json"))["risk_model"]
    return statistics.median(wall), statistics.median(user), statistics.median(rss), m["roc_auc"], m["brier"]
new, ref = stats("new"), stats("ref")
print(f"{'':10} {'wall s':>8} {'user s':>8} {'peak MiB':>9} {'ROC AUC':>8} {'Brier':>8}")
for name, s in (("this", new), ("reference", ref)):
    print(f"{name:10} {s[0]:8.2f} {s[1]:8.2f} {s[2]:9.0f} {s[3]:8.4f} {s[4]:8.4f}")
print(f"ratio this/reference: wall {new[0] / ref[0]:.3f}, user CPU {new[1] / ref[1]:.3f}, peak RSS {new[2] / ref[2]:.3f}")
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
