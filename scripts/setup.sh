#!/usr/bin/env bash
# Installs everything readmit needs to build, train and test on a fresh Debian (bookworm)
# machine: system libraries from Debian, Python packages from PyPI. Idempotent; run as root
# (or with sudo available). Swift itself is expected at /opt/swift or on PATH.
set -euo pipefail

APT_PACKAGES=(
  build-essential pkg-config zlib1g-dev
  libdeflate-dev       # whole-buffer gunzip of the training CSV
  libzmq3-dev          # ZeroMQ: daemon and C shim
  libxgboost-dev       # gradient-boosted risk model (C API)
  r-base-dev r-cran-testthat   # R binding and its tests
  r-cran-future r-cran-future.apply   # R: readmit_score_parallel (chunks on future workers) and its test
  valgrind             # C shim memory checks
  librsvg2-bin         # PNG copies of the report plots (rsvg-convert)
  time                 # GNU time (/usr/bin/time -v): peak memory in benchmarks/train
  chromium             # headless: the report test opens the report as a browser renders it
  openjdk-17-jre-headless      # Java for pyspark (readmit.spark's tests run Spark in local mode)
)
# pyspark, pyarrow and dask are the engines readmit.spark and readmit.dask run on (tests only:
# the readmit package does not depend on them); pinned to versions tested together.
# prometheus_client's parser checks readmitd's /metrics exposition (Tests/protocol/test_http_probes.py).
PIP_PACKAGES=(numpy pandas pyzmq pytest scikit-learn xgboost prometheus_client
              pyspark==4.1.1 pyarrow==26.0.1 'dask[dataframe,distributed]==2026.8.0')

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import numpy, pandas, zmq, pytest, sklearn, xgboost, prometheus_client, pyspark, pyarrow, dask.dataframe, distributed' \
    >/dev/null 2>&1; then
  echo "setup: installing Python packages: ${PIP_PACKAGES[*]}"
  "$PYTHON" -m pip install -q "${PIP_PACKAGES[@]}" || "$PYTHON" -m pip install -q --break-system-packages "${PIP_PACKAGES[@]}"
fi

if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then export PATH="/opt/swift/usr/bin:$PATH"; else
    echo "setup: swift not found (install Swift 6 from swift.org and put it on PATH)" >&2; exit 1; fi
fi
echo "setup: ok"
