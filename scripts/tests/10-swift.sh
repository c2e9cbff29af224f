#!/usr/bin/env bash
# Swift unit and integration tests (the server tests start real readmitd processes).
set -euo pipefail
cd "${READMIT_ROOT:-$(dirname "$0")/../..}"
export PATH="/opt/swift/usr/bin:$PATH"
export READMIT_TEST_MODEL="$PWD/.build/fixtures/model.readmit"
export READMITD_BIN="$PWD/.build/release/readmitd"
export READMIT_BIN="$PWD/.build/release/readmit"
swift test --parallel --num-workers 2
