#!/usr/bin/env bash
# The training report in a browser: trains both shipped datasets (quick) with the release
# binary and opens each report in headless Chromium (Debian's package, scripts/setup.sh), which
# must find every section and every chart with data drawn; the check is shown to fail on a
# report with a chart missing, emptied, or drawn from NaN (Tests/report/).
set -euo pipefail
cd "${READMIT_ROOT:-$(dirname "$0")/../..}"
export READMIT_ROOT="$PWD"
export READMIT_BIN="${READMIT_BIN:-$PWD/.build/release/readmit}"
command -v chromium >/dev/null || { echo "12-report: chromium is not installed (bash scripts/setup.sh)" >&2; exit 1; }
cd Tests/report && python3 -m pytest -q -p no:cacheprovider -s .
