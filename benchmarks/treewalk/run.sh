#!/usr/bin/env bash
# Builds and runs kernel_bench.c against Sources/CTreeWalk (see its header).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(mktemp -d "${TMPDIR:-/tmp}/treewalk-bench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
CC=${CC:-clang}  # what SwiftPM compiles Sources/CTreeWalk with (at -O2)
"$CC" -O2 -std=gnu11 -Wall "${@:4}" -I"$ROOT/Sources/CTreeWalk/include" "$ROOT/benchmarks/treewalk/kernel_bench.c" \
  "$ROOT/Sources/CTreeWalk/CTreeWalk.c" -o "$OUT/bench" -lm
"$OUT/bench" "${1:-100000}" "${2:-512}" "${3:-5}"
