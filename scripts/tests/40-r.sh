#!/usr/bin/env bash
# R binding (bindings/r): checks that the shim sources copied into the package equal shim/
# (bindings/r/tools/sync-shim.sh --check), installs the package into a private library, runs its
# testthat suite against a real readmitd (READMITD_BIN, READMIT_TEST_MODEL, READMIT_BIN set here;
# READMIT_REQUIRE_DAEMON=1 turns the daemon tests' skips into failures), then R CMD build and
# R CMD check --no-manual, which must report no ERROR and no WARNING.
set -euo pipefail
cd "${READMIT_ROOT:-$(dirname "$0")/../..}"
ROOT="$PWD"
export READMIT_ROOT="$ROOT"
export READMITD_BIN="$ROOT/.build/release/readmitd"
export READMIT_BIN="$ROOT/.build/release/readmit"
export READMIT_TEST_MODEL="$ROOT/.build/fixtures/model.readmit"
export READMIT_REQUIRE_DAEMON=1
for f in "$READMITD_BIN" "$READMIT_BIN" "$READMIT_TEST_MODEL"; do
  [ -e "$f" ] || { echo "40-r: $f is missing (stage 00-build.sh makes it)" >&2; exit 1; }
done

sh bindings/r/tools/sync-shim.sh --check

WORK="$ROOT/.build/r-binding"
rm -rf "$WORK"
mkdir -p "$WORK/lib"

echo "40-r: R CMD INSTALL bindings/r"
R CMD INSTALL --preclean --clean --library="$WORK/lib" bindings/r > "$WORK/install.log" 2>&1 || {
  cat "$WORK/install.log" >&2; exit 1; }

echo "40-r: testthat against a real readmitd"
R_LIBS="$WORK/lib${R_LIBS:+:$R_LIBS}" Rscript -e '
  library(testthat)
  library(readmit)
  res <- test_dir("bindings/r/tests/testthat", package = "readmit", load_package = "installed",
                  reporter = SummaryReporter$new(show_praise = FALSE), stop_on_failure = TRUE,
                  stop_on_warning = TRUE)
  df <- as.data.frame(res)
  if (sum(df$skipped) > 0) stop("tests were skipped: ", sum(df$skipped))
'

echo "40-r: R CMD build + R CMD check --no-manual"
(
  cd "$WORK"
  R CMD build --no-manual "$ROOT/bindings/r" > build.log 2>&1 || { cat build.log >&2; exit 1; }
  tarball=$(ls readmit_*.tar.gz)
  R_LIBS="$WORK/lib${R_LIBS:+:$R_LIBS}" R CMD check --no-manual "$tarball" > check.log 2>&1 || true
  status=$(grep -E '^Status:' readmit.Rcheck/00check.log || echo "Status: no status line")
  echo "40-r: R CMD check: $status"
  if ! grep -qE '^Status: (OK|[0-9]+ NOTEs?)$' readmit.Rcheck/00check.log; then
    cat check.log >&2
    [ -f readmit.Rcheck/tests/testthat.Rout.fail ] && cat readmit.Rcheck/tests/testthat.Rout.fail >&2
    exit 1
  fi
)
echo "40-r: ok"
