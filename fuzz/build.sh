#!/usr/bin/env bash
# Builds the libFuzzer targets into ${FUZZ_OUT:-.build/fuzz}: each Swift target is one swiftc
# run over the sources it tests plus its entry in fuzz/swift/ (-sanitize=fuzzer,address; the
# normal `swift build` is untouched), each C target one clang run over shim/*.c plus its entry
# in fuzz/c/ (-fsanitize=fuzzer,address,undefined). Arguments: target names (default: all).
#   wire  Sources/ReadmitWire            RequestDecoder (all ops, RECORDS, HISTORY), ReplyDecoder
#   c_reply  shim/ reply validation, RECORDS and HISTORY replies, INFO schema
#   c_json   shim/ JSON parser, INFO schema reader, reply messages
#   csv   Sources/ReadmitTables/CSVTable.swift (with DataError, CompressedFile)
set -euo pipefail
cd "${READMIT_ROOT:-$(dirname "$0")/..}"
export PATH="/opt/swift/usr/bin:$PATH"
out=${FUZZ_OUT:-.build/fuzz}
mkdir -p "$out"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(wire c_reply c_json csv)
# lld: gold warns about every ASan symbol it cannot export.
SWIFTC=(swiftc -O -g -sanitize=fuzzer,address -parse-as-library -use-ld=lld)
CLANG=(clang -std=c11 -g -O1 -fuse-ld=lld -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -Wall -Wextra -Iinclude -Ishim $(pkg-config --cflags libzmq 2>/dev/null))
for t in "${targets[@]}"; do
  echo "fuzz/build: $t"
  case "$t" in
    wire)
      "${SWIFTC[@]}" -module-name FuzzWire Sources/ReadmitWire/*.swift fuzz/swift/FuzzFrames.swift \
        fuzz/swift/FuzzWire.swift -o "$out/fuzz_wire" ;;
    csv)
      # CSVTable's module imports ReadmitSpec only for names it does not use here; the copies
      # drop that import so the three files build alone.
      src=$(mktemp -d)
      for f in CSVTable DataError CompressedFile; do sed '/^import ReadmitSpec$/d' "Sources/ReadmitTables/$f.swift" > "$src/$f.swift"; done
      "${SWIFTC[@]}" -module-name FuzzCSV -I Sources/CDeflate "$src"/*.swift fuzz/swift/FuzzCSV.swift -ldeflate -o "$out/fuzz_csv"
      rm -rf "$src" ;;
    c_reply|c_json)
      "${CLANG[@]}" -o "$out/fuzz_$t" "fuzz/c/fuzz_${t#c_}.c" shim/*.c $(pkg-config --libs libzmq 2>/dev/null || echo -lzmq) -lm ;;
    *) echo "fuzz/build: unknown target $t" >&2; exit 2 ;;
  esac
done
