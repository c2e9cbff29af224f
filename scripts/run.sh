#!/usr/bin/env bash
# The main job: set up, build, and train on the shipped data; the report lands in output/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --product readmit
.build/release/readmit train "$@"
