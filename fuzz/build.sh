#!/usr/bin/env bash
# Builds the libFuzzer targets into ${FUZZ_OUT:-.build/fuzz}: each Swift target is one swiftc
# run over the sources it tests plus its entry in fuzz/swift/ (-sanitize=fuzzer,address; the
# normal `swift build` is untouched), each C target one clang run over shim/*.c plus its entry
# in fuzz/c/ (-fsanitize=fuzzer,address,undefined). Arguments: target names (default: all).
#   wire  Sources/ReadmitWire (+ ReadmitTextIndex)  RequestDecoder (all ops, RECORDS, HISTORY), ReplyDecoder
#   c_reply  shim/ reply validation, RECORDS and HISTORY replies, INFO schema
#   c_json   shim/ JSON parser, INFO schema reader, reply messages
#   c_texts  shim/ texts from one buffer with offsets against one C string per row
#   csv   Sources/ReadmitTables/CSVTable.swift (with DataError, CompressedFile, DecimalText)
#   spec  fuzz/targets/FuzzSpec: the dataset-spec reader (Yams, node walk, validator)
#   model fuzz/targets/FuzzModelFile: the model-file loader and the records encoder it drives
#   records  fuzz/targets/FuzzRecords: raw records a client chooses through a real model's spec
# spec, model and records need Yams, swift-crypto and the core modules, so they are SwiftPM products
# (Package.swift) built in their own scratch folder (.build/fuzz-swiftpm, so the normal build's
# folder is untouched) with -D READMIT_LIBFUZZER, which swaps their corpus-replay main for the
# libFuzzer entry point. (lld: gold stops with an internal error on the sanitized objects.)
set -euo pipefail
cd "${READMIT_ROOT:-$(dirname "$0")/..}"
export PATH="/opt/swift/usr/bin:$PATH"
out=${FUZZ_OUT:-.build/fuzz}
mkdir -p "$out"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(wire c_reply c_json c_texts csv spec model records)
# lld: gold warns about every ASan symbol it cannot export.
SWIFTC=(swiftc -O -g -sanitize=fuzzer,address -parse-as-library -use-ld=lld)
CLANG=(clang -std=c11 -g -O1 -fuse-ld=lld -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -Wall -Wextra -Iinclude -Ishim $(pkg-config --cflags libzmq 2>/dev/null))
for t in "${targets[@]}"; do
  echo "fuzz/build: $t"
  case "$t" in
    wire)
      # The decoder's module with the one it imports (ReadmitTextIndex) built as one module:
      # the copies drop that import.
      src=$(mktemp -d)
      for f in Sources/ReadmitWire/*.swift; do sed '/^import ReadmitTextIndex$/d' "$f" > "$src/$(basename "$f")"; done
      "${SWIFTC[@]}" -module-name FuzzWire "$src"/*.swift Sources/ReadmitTextIndex/*.swift fuzz/swift/FuzzFrames.swift \
        fuzz/swift/FuzzWire.swift -o "$out/fuzz_wire"
      rm -rf "$src" ;;
    csv)
      # CSVTable's module imports ReadmitSpec only for names it does not use here; the copies
      # drop that import so the four files build alone.
      src=$(mktemp -d)
      for f in CSVTable DataError CompressedFile DecimalText; do sed '/^import ReadmitSpec$/d' "Sources/ReadmitTables/$f.swift" > "$src/$f.swift"; done
      "${SWIFTC[@]}" -module-name FuzzCSV -I Sources/CDeflate "$src"/*.swift fuzz/swift/FuzzCSV.swift -ldeflate -o "$out/fuzz_csv"
      rm -rf "$src" ;;
    spec|model|records)
      product=$(case "$t" in spec) echo FuzzSpec ;; model) echo FuzzModelFile ;; *) echo FuzzRecords ;; esac)
      if ! swift build -c release --scratch-path .build/fuzz-swiftpm --product "$product" \
             -Xswiftc -sanitize=fuzzer,address -Xswiftc -DREADMIT_LIBFUZZER -Xswiftc -use-ld=lld > "$out/build-$t.log" 2>&1; then
        grep -v 'prohibited flag' "$out/build-$t.log" | tail -n 40; exit 1
      fi
      cp .build/fuzz-swiftpm/release/"$product" "$out/fuzz_$t" ;;
    c_reply|c_json|c_texts)
      "${CLANG[@]}" -o "$out/fuzz_$t" "fuzz/c/fuzz_${t#c_}.c" shim/*.c $(pkg-config --libs libzmq 2>/dev/null || echo -lzmq) -lm ;;
    *) echo "fuzz/build: unknown target $t" >&2; exit 2 ;;
  esac
done
