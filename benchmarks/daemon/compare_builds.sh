#!/usr/bin/env bash
# Two readmitd builds compared request by request (load_client interleaved between a daemon of
# each, fresh daemons per instance, ports swapped every other instance): the A/B ratio of the
# one-row SCORE round trip and of a SCORE of no row, medians and quartiles over the runs. For a
# change to the request path, whose effect (a few percent) is smaller than a run.sh ratio's
# drift between runs. From the repository root, after scripts/tests/00-build.sh:
#   bash benchmarks/daemon/compare_builds.sh BUILD_A BUILD_B [MODEL]
# e.g. a base commit's build: git worktree add /tmp/base COMMIT && (cd /tmp/base && swift build -c release)
#   env: COMPARE_INSTANCES (4), COMPARE_RUNS (3), COMPARE_PAIRS (3000), COMPARE_CPU (unset: the
#        daemons run on any CPU; N: their threads kept on CPU N), BENCH_OUT, BENCH_ROWS,
#        READMIT_BIN and BENCH_DATA_DIR as run.sh reads them.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 2 ] || { echo "usage: compare_builds.sh BUILD_A BUILD_B [MODEL]" >&2; exit 2; }
for b in "$1" "$2"; do [ -x "$b" ] || { echo "no readmitd at $b" >&2; exit 1; }; done
export READMITD_BIN="$1"
export READMIT_BIN="${READMIT_BIN:-$PWD/.build/release/readmit}"
export BENCH_MODEL="${3:-${READMIT_TEST_MODEL:-$PWD/.build/fixtures/model.readmit}}"
export BENCH_OUT="${BENCH_OUT:-$PWD/output/bench-daemon}"
mkdir -p "$BENCH_OUT"
[ -f "$BENCH_MODEL" ] || { echo "no model at $BENCH_MODEL" >&2; exit 1; }
cc -O2 -Wall -o "$BENCH_OUT/load_client" benchmarks/daemon/load_client.c -lzmq -lpthread -lm
python3 benchmarks/daemon/compare_builds.py "$1" "$2"
