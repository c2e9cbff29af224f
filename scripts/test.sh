#!/usr/bin/env bash
# Runs every test of the project: sets up, builds (release), trains the small fixture model
# the daemon tests serve, then runs each stage in scripts/tests/ in order. Stops at the first
# failing stage and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="/opt/swift/usr/bin:$PATH"
export READMIT_ROOT="$PWD"
for stage in scripts/tests/[0-9][0-9]-*.sh; do
  echo "=== test stage: $stage"
  bash "$stage"
done
echo "=== all test stages passed"
