#!/usr/bin/env bash
# ThreadSanitizer on the daemon: builds readmitd with -sanitize=thread in its own scratch folder
# (.build/tsan; the normal build is untouched) and runs, against that binary, the Swift server
# tests (stage 10's test build, not rebuilt), the raw protocol suite and the live frame fuzz.
# Every readmitd those tests start is the instrumented one; TSAN_OPTIONS makes a report fatal
# for it (exit 66, so the test talking to it fails) and writes each report under a scratch
# folder. The stage fails when a test fails or any report was written, and prints the reports.
# (test_hardening.py is left out: it asserts RSS bounds, and TSan's shadow memory is most of a
# sanitized process's RSS.)
set -euo pipefail
cd "${READMIT_ROOT:-$(dirname "$0")/../..}"
export PATH="/opt/swift/usr/bin:$PATH"
start=$(date +%s)
log=$(mktemp)
# The Swift runtime stays shared here (Package.swift): TSan's interceptors of libdispatch do not
# see the calls of a static libdispatch.
if ! READMIT_SHARED_SWIFT_RUNTIME=1 swift build -c release --sanitize=thread --scratch-path .build/tsan --product readmitd > "$log" 2>&1; then
  grep -v 'prohibited flag' "$log" | tail -n 40; exit 1
fi
echo "55-tsan: built readmitd with -sanitize=thread in $(( $(date +%s) - start )) s"

reports=$(mktemp -d)
trap 'rm -rf "$reports" "$log"' EXIT
export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1:log_path=$reports/report"
export READMITD_BIN="$PWD/.build/tsan/release/readmitd"
export READMIT_TEST_MODEL="$PWD/.build/fixtures/model.readmit"
export READMIT_ROOT="$PWD"
# A ThreadSanitizer daemon is several times slower: the tests' default wait for a reply (10 s)
# was reached by a 20,000-row RECORDS with explanations while the machine was busy.
export READMIT_TEST_REPLY_TIMEOUT_MS=60000
status=0
swift test --skip-build --filter ReadmitServerTests || status=$?
if [ "$status" -eq 0 ]; then
  python3 -m pytest -q Tests/protocol/test_raw_protocol.py Tests/protocol/test_frame_fuzz.py || status=$?
fi
found=0
for r in "$reports"/report*; do
  [ -f "$r" ] || continue
  found=$((found + 1))
  echo "=== ThreadSanitizer report $(basename "$r")"; head -n 80 "$r"
done
echo "55-tsan: stage took $(( $(date +%s) - start )) s; $found report(s)"
[ "$status" -eq 0 ] && [ "$found" -eq 0 ] || { echo "55-tsan: FAILED" >&2; exit 1; }
echo "55-tsan: ok"
