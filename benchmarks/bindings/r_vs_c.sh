#!/usr/bin/env bash
# Benchmark (not a test): the R binding vs the C shim, 100,000 rows of the shipped data scored
# by one readmitd in the same run. Builds the R package into .build/r-bench/lib and the C
# reference (r_vs_c_shim.c over shim/*.c), then runs r_vs_c.R, which prints medians and ratios:
# the numeric SCORE of a feature matrix (R and C) and RECORDS of the same rows as flat records
# written by `readmit history` (R; the package has no local encoder).
#
#   bash benchmarks/bindings/r_vs_c.sh [--rows 100000] [--repeats 5] [--rounds 3]
#
# Needs .build/release/readmitd, .build/release/readmit (READMIT_BIN) and a model (.build/fixtures/model.readmit, made by
# scripts/tests/00-build.sh; override with READMITD_BIN / READMIT_MODEL).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
DAEMON="${READMITD_BIN:-$ROOT/.build/release/readmitd}"
MODEL="${READMIT_MODEL:-$ROOT/.build/fixtures/model.readmit}"
CLI="${READMIT_BIN:-$ROOT/.build/release/readmit}"
for f in "$DAEMON" "$MODEL" "$CLI"; do
  [ -e "$f" ] || { echo "r_vs_c: $f is missing (run scripts/tests/00-build.sh)" >&2; exit 1; }
done
WORK="$ROOT/.build/r-bench"
mkdir -p "$WORK/lib"
R CMD INSTALL --preclean --clean --library="$WORK/lib" bindings/r > "$WORK/install.log" 2>&1 || {
  cat "$WORK/install.log" >&2; exit 1; }
${CC:-cc} -std=c11 -O2 -Iinclude -Ishim $(pkg-config --cflags libzmq 2>/dev/null) \
  benchmarks/bindings/r_vs_c_shim.c shim/*.c -o "$WORK/r_vs_c_shim" \
  $(pkg-config --libs libzmq 2>/dev/null || echo -lzmq)
# The data is not in the repository: a copy in data/diabetes130/, else the shared one beside it.
DATA="$ROOT/data/diabetes130/diabetic_data.csv.gz"
[ -e "$DATA" ] || DATA="$ROOT/../shared/data/diabetes130/diabetic_data.csv.gz"
R_LIBS="$WORK/lib${R_LIBS:+:$R_LIBS}" Rscript benchmarks/bindings/r_vs_c.R \
  --daemon "$DAEMON" --model "$MODEL" --cli "$CLI" --cbench "$WORK/r_vs_c_shim" \
  --data "$DATA" "$@"
