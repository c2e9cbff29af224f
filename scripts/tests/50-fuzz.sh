#!/usr/bin/env bash
# Coverage-guided fuzzing (fuzz/README.md): builds every libFuzzer target (fuzz/build.sh) and
# runs each from its committed seed corpus for FUZZ_SECONDS (default 60) seconds. New inputs go
# to a scratch corpus, never into fuzz/corpus/. A crash, sanitizer report, timeout (-timeout,
# 10 s for one input) or out-of-memory fails the stage; the input that did it is printed (hex
# and base64) so that it can be reproduced with `.build/fuzz/fuzz_<target> crash-file`.
set -euo pipefail
cd "${READMIT_ROOT:-$(dirname "$0")/../..}"
export PATH="/opt/swift/usr/bin:$PATH"
seconds=${FUZZ_SECONDS:-60}
targets=(wire c_reply c_json c_texts csv spec model records)
export FUZZ_OUT="$PWD/.build/fuzz"
# The Swift runtime's own backtracer would race ASan for the crash report.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

start=$(date +%s)
# The normal build's replayers run the committed spec and model corpora first: a seed that no
# longer reaches the deep code (a spec accepted, a model scored) would make the fuzzing shallow.
spec_replay=$(.build/release/FuzzSpec fuzz/corpus/spec) && echo "$spec_replay"
model_replay=$(.build/release/FuzzModelFile fuzz/corpus/model) && echo "$model_replay"
records_replay=$(.build/release/FuzzRecords fuzz/corpus/records) && echo "$records_replay"
grep -q ' accepted' <<<"$spec_replay" || { echo "50-fuzz: no spec seed is accepted" >&2; exit 1; }
grep -q ' scored' <<<"$model_replay" || { echo "50-fuzz: no model seed loads and scores" >&2; exit 1; }
grep -q ' scored' <<<"$records_replay" || { echo "50-fuzz: no records seed is scored" >&2; exit 1; }
# The records target runs from a scratch folder: it finds its model by an absolute path.
export FUZZ_RECORDS_MODEL="$PWD/fuzz/corpus/model/small.readmit"
bash fuzz/build.sh "${targets[@]}"
echo "50-fuzz: built ${#targets[@]} targets in $(( $(date +%s) - start )) s"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t/corpus" "$scratch/$t/artifacts"
  echo "--- fuzz $t for $seconds s"
  log="$scratch/$t/log"
  # Run from the scratch folder: libFuzzer writes nothing else, and nothing outside it.
  if (cd "$scratch/$t" && "$FUZZ_OUT/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$scratch/$t/artifacts/" corpus "$OLDPWD/fuzz/corpus/$t") > "$log" 2>&1; then
    grep -E '^(INFO: Seed|#[0-9]+ +(INITED|DONE))|stat::(number_of_executed_units|average_exec_per_sec)' "$log" || true
  else
    tail -n 60 "$log"
    for a in "$scratch/$t/artifacts"/*; do
      [ -f "$a" ] || continue
      echo "50-fuzz: $t: input $(basename "$a") ($(wc -c < "$a") bytes):"
      od -A x -t x1z -v "$a" | head -n 64
      echo "base64: $(base64 -w0 "$a")"
    done
    failed+=("$t")
  fi
done
echo "50-fuzz: stage took $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "50-fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "50-fuzz: ok"
