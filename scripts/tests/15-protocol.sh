#!/usr/bin/env bash
# The raw pyzmq protocol client (docs/PROTOCOL.md only, no readmit code) against a real readmitd,
# and its HTTP listener (--http: /metrics scraped and parsed, /healthz, /readyz).
set -euo pipefail
cd "${READMIT_ROOT:-$(dirname "$0")/../..}"
export READMIT_ROOT="$PWD"
export READMITD_BIN="${READMITD_BIN:-$PWD/.build/release/readmitd}"
export READMIT_TEST_MODEL="${READMIT_TEST_MODEL:-$PWD/.build/fixtures/model.readmit}"
python3 -m pytest -q Tests/protocol/test_raw_protocol.py Tests/protocol/test_hardening.py Tests/protocol/test_frame_fuzz.py \
  Tests/protocol/test_http_probes.py
