#!/usr/bin/env bash
# Dirty-data parity of the four interfaces: one dirty CSV of raw records (unknown and
# differently-cased levels, "three", a date, inf and 1e400 in number fields, a sum_of whose terms
# overflow (1e308 + 1e308), None levels, a
# required field absent, a quoted level with a comma), its CRLF and byte-order-mark copies and
# a one-row file, scored by `readmit score --records` (in process), the C program
# tests/dirty-parity/score_csv.c, Python (read_records + score_records) and R
# (readmit_read_records + readmit_score_records) against ONE readmitd serving the fixture
# model, with default options and with bad values read as missing. The normalized results
# (row, risk %.17g, tier, sorted severity|field|code|message) must be equal byte for byte
# (tests/dirty-parity/parity.py). Then row independence in the same four interfaces: random
# test-split rows (`readmit history --test-split`) scored as a batch, as a subset in another
# order and one by one give each row the same line. Installs the Python and R packages privately under
# .build/dirty-parity, so it needs no other stage but 00-build.sh.
set -euo pipefail
cd "${READMIT_ROOT:-$(dirname "$0")/../..}"
ROOT="$PWD"
PYTHON=${PYTHON:-python3}
WORK="$ROOT/.build/dirty-parity"
CLI="$ROOT/.build/release/readmit"
DAEMON="$ROOT/.build/release/readmitd"
MODEL="$ROOT/.build/fixtures/model.readmit"
FLAT="$ROOT/bindings/r/tests/testthat/fixtures/sample_flat.csv"  # `readmit history` of the R fixture
for f in "$CLI" "$DAEMON" "$MODEL"; do
  [ -e "$f" ] || { echo "45-dirty-parity: $f is missing (stage 00-build.sh makes it)" >&2; exit 1; }
done
rm -rf "$WORK"
mkdir -p "$WORK/py" "$WORK/rlib" "$WORK/out"

echo "45-dirty-parity: building the C program, installing the Python and R packages under $WORK"
make -s all >/dev/null
cc -std=c11 -O2 -Wall -Wextra -Werror -Iinclude -o "$WORK/score_csv" tests/dirty-parity/score_csv.c build/libreadmit.a \
  $(pkg-config --libs libzmq 2>/dev/null || echo -lzmq) -pthread -lm
"$PYTHON" -m pip install -q --no-deps --target "$WORK/py" ./bindings/python >/dev/null 2>&1 \
  || "$PYTHON" -m pip install -q --no-deps --no-build-isolation --target "$WORK/py" ./bindings/python >/dev/null
sh bindings/r/tools/sync-shim.sh --check
R CMD INSTALL --no-test-load --library="$WORK/rlib" bindings/r > "$WORK/r-install.log" 2>&1 || { cat "$WORK/r-install.log" >&2; exit 1; }

port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$DAEMON" --model "$MODEL" --endpoint "tcp://127.0.0.1:$port" > "$WORK/readmitd.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT

# Row independence over random subsets of the test split: the shipped data's test-split stays
# as flat records (history derived from the whole table). PARITY_SEED=S repeats a run's subsets.
DATA="$ROOT/data/diabetes130/diabetic_data.csv.gz"
[ -e "$DATA" ] || DATA="$ROOT/../shared/data/diabetes130/diabetic_data.csv.gz"
"$CLI" history --model "$MODEL" --data "$DATA" --test-split --out "$WORK/test-flat.csv" --log-level error

(cd /tmp && PYTHONPATH="$WORK/py" R_LIBS="$WORK/rlib${R_LIBS:+:$R_LIBS}" env -u LD_LIBRARY_PATH "$PYTHON" "$ROOT/tests/dirty-parity/parity.py" \
  --endpoint "tcp://127.0.0.1:$port" --model "$MODEL" --cli "$CLI" --c "$WORK/score_csv" --rscript Rscript \
  --flat "$FLAT" --test-flat "$WORK/test-flat.csv" --work "$WORK/out" ${PARITY_SEED:+--seed "$PARITY_SEED"})
kill -0 $pid || { echo "45-dirty-parity: readmitd died" >&2; cat "$WORK/readmitd.log" >&2; exit 1; }
echo "45-dirty-parity: ok"
