#!/usr/bin/env bash
# Python binding: pip installs ./bindings/python (which compiles the C shim into the package)
# into the CI python, then runs its pytest suite against real readmitd processes, and the
# example script against one.
set -euo pipefail
cd "${READMIT_ROOT:-$(dirname "$0")/../..}"
PYTHON=${PYTHON:-python3}
export READMITD_BIN="${READMITD_BIN:-$PWD/.build/release/readmitd}"
export READMIT_BIN="${READMIT_BIN:-$PWD/.build/release/readmit}"
export READMIT_TEST_MODEL="${READMIT_TEST_MODEL:-$PWD/.build/fixtures/model.readmit}"

pip_install() { "$PYTHON" -m pip install -q "$@" || "$PYTHON" -m pip install -q --break-system-packages "$@"; }
# Build isolation fetches setuptools from PyPI; fall back to the installed one when offline.
pip_install --force-reinstall --no-deps ./bindings/python || pip_install --no-build-isolation --force-reinstall --no-deps ./bindings/python

# The engine tests (tests/test_spark.py, tests/test_dask.py) skip without their engine: here
# the engines must be there (scripts/setup.sh installs them, and Java for Spark).
"$PYTHON" -c 'import pyspark, pyarrow, dask.dataframe, dask.distributed' || {
  echo "30-python: pyspark, pyarrow or dask is missing (run scripts/setup.sh)" >&2; exit 1; }
java -version >/dev/null 2>&1 || { echo "30-python: no java for pyspark (run scripts/setup.sh)" >&2; exit 1; }

# Import from site-packages, not the source tree, so the test proves the installed package works.
(cd /tmp && env -u LD_LIBRARY_PATH "$PYTHON" -c 'import readmit, sys; print("readmit", readmit.__version__, "libreadmit", readmit.version(), "at", readmit.__file__)')
(cd bindings/python && env -u LD_LIBRARY_PATH "$PYTHON" -m pytest -q -p no:cacheprovider tests)

echo "--- example: score the held-out test patients"
port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$READMITD_BIN" --model "$READMIT_TEST_MODEL" --endpoint "tcp://127.0.0.1:$port" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
# The client fails fast (UnavailableError) until the daemon listens: wait for it.
"$PYTHON" - "$port" <<'PY'
import sys, time, readmit
deadline = time.monotonic() + 60
while True:
    try:
        with readmit.Client(f"tcp://127.0.0.1:{sys.argv[1]}", timeout_ms=1000, retries=0) as c:
            if c.health()["ready"]:
                break
    except (readmit.UnavailableError, readmit.ReadmitTimeout):
        if time.monotonic() > deadline:
            raise
    time.sleep(0.1)
PY
"$PYTHON" bindings/python/examples/score_test_patients.py --endpoint "tcp://127.0.0.1:$port" --top 5
echo "30-python: ok"
