#!/usr/bin/env bash
# Swift unit and integration tests (the server tests start real readmitd processes).
set -euo pipefail
cd "${READMIT_ROOT:-$(dirname "$0")/../..}"
export PATH="/opt/swift/usr/bin:$PATH"
export READMIT_TEST_MODEL="$PWD/.build/fixtures/model.readmit"
export READMITD_BIN="$PWD/.build/release/readmitd"
export READMIT_BIN="$PWD/.build/release/readmit"
swift test --parallel --num-workers 2

# The tree walks (issue 15): TreeWalkTests above ran every walk this CPU supports against the
# Swift reference in a debug build. The release build compiles the vector kernels with
# optimisation, so check its walks too: `benchmark-scoring` scores the fixture rows by every
# supported walk and fails unless they agree to the bit; READMIT_TREE_WALK=scalar must be obeyed.
if [ -x "$READMIT_BIN" ] && [ -s "$READMIT_TEST_MODEL" ]; then
  export_dir=$(mktemp -d "${TMPDIR:-/tmp}/readmit-booster-export.XXXXXX")
  trap 'rm -rf "$export_dir"' EXIT
  walks_json=$(READMIT_TREE_WALK=scalar "$READMIT_BIN" benchmark-scoring --model "$READMIT_TEST_MODEL" --rows 4099 --repeats 1 --chunk-rows 256 --evict-kb 64 \
    --export-booster "$export_dir")
  python3 - "$walks_json" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
assert d["tree_walk"] == "scalar", f"READMIT_TREE_WALK=scalar was not obeyed: {d['tree_walk']}"
assert d["tree_walks_bit_identical"] is True, "the tree walks disagree"
assert d["evict_kb"] == 64 and all(v >= 0 for v in d["timer_overhead_seconds"].values()), "benchmark-scoring's --evict-kb or timer overhead"
flags = next((l for l in open("/proc/cpuinfo") if l.startswith("flags")), "").split()
walks = sorted(d["tree_walks"])
if "avx2" in flags:
    assert "avx2" in walks, f"this CPU has AVX2 but only {walks} were run"
if "avx2" in flags and "avx512f" in flags:
    assert "avx512" in walks, f"this CPU has AVX-512 but only {walks} were run"
print(f"tree walks bit-identical in the release build: {', '.join(walks)}")
PY
  # --export-booster (the booster's references in benchmarks/train/booster_references.py read
  # it): XGBoost, loading the exported booster, gives readmit's exported margins on the exported
  # rows, so the references are timed on the same trees and rows.
  python3 - "$export_dir" <<'PY'
import json, os, sys
import numpy as np, xgboost as xgb
folder = sys.argv[1]
shapes = json.load(open(os.path.join(folder, "booster_export.json")))
assert shapes["rows"] == 4099 and shapes["tree_walk"] == "scalar", shapes
x = np.fromfile(os.path.join(folder, "booster_input.f64"), dtype="<f8").reshape(shapes["rows"], shapes["columns"])
ours = np.fromfile(os.path.join(folder, "booster_margins.f64"), dtype="<f8")
booster = xgb.Booster(model_file=bytearray(open(os.path.join(folder, "booster.ubj"), "rb").read()))
assert booster.num_boosted_rounds() == shapes["booster_trees"], (booster.num_boosted_rounds(), shapes)
theirs = booster.inplace_predict(x.astype(np.float32), predict_type="margin").astype(np.float64)
worst = float(np.max(np.abs(theirs - ours)))
assert worst <= 1e-5, f"the exported booster's margins differ from readmit's by {worst}"
print(f"--export-booster: XGBoost on the exported booster and rows agrees with readmit's margins (max |difference| {worst:.2g}, {shapes['rows']} rows)")
PY
  # A bad --evict-kb is refused before anything is read, naming the option.
  if out=$("$READMIT_BIN" benchmark-scoring --model "$READMIT_TEST_MODEL" --evict-kb=-1 2>&1); then
    echo "benchmark-scoring accepted --evict-kb=-1" >&2; exit 1
  fi
  grep -q -- "--evict-kb must be" <<<"$out" || { echo "benchmark-scoring's error does not name --evict-kb: $out" >&2; exit 1; }
  # --export-booster names a folder: a file there is refused, naming the option, and left as it was.
  printf 'keep\n' > "$export_dir/not-a-folder"
  if out=$("$READMIT_BIN" benchmark-scoring --model "$READMIT_TEST_MODEL" --export-booster "$export_dir/not-a-folder" 2>&1); then
    echo "benchmark-scoring accepted a file as --export-booster" >&2; exit 1
  fi
  grep -q -- "--export-booster .* is not a folder" <<<"$out" || { echo "benchmark-scoring's error does not name --export-booster: $out" >&2; exit 1; }
  [ "$(cat "$export_dir/not-a-folder")" = keep ] || { echo "--export-booster changed the file it refused" >&2; exit 1; }
fi
