#!/usr/bin/env bash
# libreadmit (the C shim): builds it with make (C compiler only), checks that the shared library
# does not depend on the Swift runtime, runs the C tests against a real readmitd (the tests
# start it on free ports), then runs them again under valgrind (no leak, no invalid access) and under ASan + UBSan,
# and checks `make install` + pkg-config into a scratch prefix.
set -euo pipefail
cd "${READMIT_ROOT:-$(dirname "$0")/../..}"
export READMITD_BIN="${READMITD_BIN:-$PWD/.build/release/readmitd}"
export READMIT_TEST_MODEL="${READMIT_TEST_MODEL:-$PWD/.build/fixtures/model.readmit}"
JOBS=${JOBS:-2}

make -j"$JOBS" all

echo "--- ldd build/libreadmit.so (must not need the Swift runtime)"
ldd build/libreadmit.so
if ldd build/libreadmit.so | grep -qi swift; then
  echo "20-c: libreadmit.so depends on the Swift runtime" >&2; exit 1
fi
needed=$(readelf -d build/libreadmit.so | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
echo "NEEDED: $needed"
for lib in $needed; do
  # ld-linux (glibc's dynamic loader) provides __tls_get_addr for readmit_open_errmsg's
  # thread-local message: part of libc, not a dependency of its own.
  case "$lib" in libzmq.so.*|libc.so.*|ld-linux*.so.*) ;; *) echo "20-c: unexpected direct dependency $lib" >&2; exit 1;; esac
done

echo "--- C tests against a real readmitd"
make -j"$JOBS" test

echo "--- C tests under valgrind"
make check-valgrind

echo "--- C tests under AddressSanitizer + UndefinedBehaviorSanitizer"
make check-asan

echo "--- make install + pkg-config"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
make install PREFIX="$prefix" >/dev/null
test -f "$prefix/include/readmit.h" && test -f "$prefix/lib/libreadmit.a" && test -L "$prefix/lib/libreadmit.so"
cat > "$prefix/hello.c" <<'C'
#include <readmit.h>
#include <stdio.h>
int main(void) { printf("%s\n", readmit_version()); return readmit_version_number() != READMIT_VERSION_NUMBER; }
C
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" cc -std=c11 "$prefix/hello.c" -o "$prefix/hello" \
  $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs readmit) -Wl,-rpath,"$prefix/lib"
"$prefix/hello"

echo "--- example program against a real readmitd"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$READMITD_BIN" --model "$READMIT_TEST_MODEL" --endpoint "tcp://127.0.0.1:$port" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$prefix"' EXIT
# The client fails fast (READMIT_EUNAVAILABLE) until the daemon listens: wait for it.
for i in $(seq 600); do build/readmit_score -e "tcp://127.0.0.1:$port" -s >/dev/null 2>&1 && break; sleep 0.1; done
schema=$(build/readmit_score -e "tcp://127.0.0.1:$port" -t 30000 -s)
nf=$(printf '%s\n' "$schema" | wc -l)
# Three rows in schema order: all zeros (numeric 0, level 0), all missing, and mixed.
{
  printf '%s\n' "$schema" | cut -d, -f2 | paste -sd, -
  seq 1 "$nf" | awk '{ print 0 }' | paste -sd, -
  seq 1 "$nf" | awk '{ print "" }' | paste -sd, -
  seq 1 "$nf" | awk '{ print ($1 % 3 == 0) ? "NaN" : 0 }' | paste -sd, -
} > "$prefix/rows.csv"
out=$(build/readmit_score -e "tcp://127.0.0.1:$port" "$prefix/rows.csv")
printf '%s\n' "$out"
[ "$(printf '%s\n' "$out" | tail -n +2 | awk -F, '$2 > 0 && $2 < 1' | wc -l)" -eq 3 ]
# A bad value is reported with its row, and the program fails.
printf '%s\n' "$(seq 1 "$nf" | awk '{ print ($1 == 1) ? "inf" : 0 }' | paste -sd, -)" > "$prefix/bad.csv"
if build/readmit_score -e "tcp://127.0.0.1:$port" "$prefix/bad.csv" 2>"$prefix/err"; then
  echo "20-c: readmit_score accepted an infinite value" >&2; exit 1
fi
cat "$prefix/err"

echo "--- raw-records example against a real readmitd"
export READMIT_ENDPOINT="tcp://127.0.0.1:$port"
fields=$(build/readmit_records)
printf '%s\n' "$fields" | head -3
# Every number field listed by INFO set to 1 (no field name is written here).
set -- $(printf '%s\n' "$fields" | awk '$2 == "number" { print $1 "=1" }')
[ $# -gt 0 ] || { echo "20-c: readmit_records lists no number field" >&2; exit 1; }
if out=$(build/readmit_records "$@" 2>"$prefix/err"); then
  printf '%s\n' "$out"
  printf '%s\n' "$out" | grep -Eq '^risk 0\.[0-9]+, tier (low|medium|high)' || {
    echo "20-c: readmit_records printed no risk" >&2; exit 1; }
  # A number field holding a text that is not a number is an error of the row: exit 1.
  if build/readmit_records "${1%%=*}=three" > "$prefix/out" 2>&1; then
    echo "20-c: readmit_records accepted 'three' in a number field" >&2; exit 1
  fi
  grep -q bad_number "$prefix/out" || { cat "$prefix/out" >&2; exit 1; }
elif grep -q READMIT_EBADOP "$prefix/err"; then
  echo "20-c: SKIP readmit_records: $READMITD_BIN does not answer RECORDS (op 7) yet"
else
  cat "$prefix/err" >&2; exit 1
fi
echo "20-c: ok"
