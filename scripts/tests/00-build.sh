#!/usr/bin/env bash
# Builds the release binaries and trains the small fixture model that the daemon, C, Python
# and R tests serve (a real model file from the shipped data, trained with --quick).
set -euo pipefail
cd "${READMIT_ROOT:-$(dirname "$0")/../..}"
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release
# The release daemon carries the Swift runtime and Foundation (Package.swift, target readmitd):
# a host that serves models needs no Swift toolchain.
if ldd .build/release/readmitd | grep -qi swift; then
  echo "00-build: .build/release/readmitd needs Swift's shared libraries:" >&2; ldd .build/release/readmitd >&2; exit 1
fi
mkdir -p .build/fixtures
if [ ! -s .build/fixtures/model.readmit ] || [ .build/release/readmit -nt .build/fixtures/model.readmit ]; then
  .build/release/readmit train --quick --no-ablation --out .build/fixtures/train --no-report
  cp .build/fixtures/train/model.readmit .build/fixtures/model.readmit
fi
