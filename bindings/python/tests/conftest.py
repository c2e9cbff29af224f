"""Fixtures: a real readmitd on a free 127.0.0.1 port serving the fixture model.

READMITD_BIN, READMIT_BIN and READMIT_TEST_MODEL override the defaults (the release build and
the fixture model of scripts/tests/00-build.sh, relative to the repository root).
"""
from __future__ import annotations

import csv
import gzip
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator, Optional

import pytest

import readmit

ROOT = Path(__file__).resolve().parents[3]


def _path(env: str, default: Path) -> Path:
    return Path(os.environ.get(env) or default)


READMITD = _path("READMITD_BIN", ROOT / ".build/release/readmitd")
READMIT = _path("READMIT_BIN", ROOT / ".build/release/readmit")
MODEL = _path("READMIT_TEST_MODEL", ROOT / ".build/fixtures/model.readmit")
# The data is not in the repository: a copy in data/diabetes130/, else the shared one beside it.
_DATA = [ROOT / "data/diabetes130/diabetic_data.csv.gz", ROOT.parent / "shared/data/diabetes130/diabetic_data.csv.gz"]
DATA = next((p for p in _DATA if p.exists()), _DATA[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """A readmitd child process."""

    def __init__(self, port: int = 0, *extra: str, model: Optional[Path] = None):
        model = model or MODEL  # looked up now: a test may point conftest.MODEL elsewhere
        for p in (READMITD, model):
            if not p.exists():
                pytest.fail(f"{p} does not exist: run scripts/tests/00-build.sh (or set READMITD_BIN/READMIT_TEST_MODEL)")
        self.port = port or free_port()
        self.endpoint = f"tcp://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([str(READMITD), "--model", str(model), "--endpoint", self.endpoint, *extra],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        with readmit.Client(self.endpoint, timeout_ms=250, retries=0) as probe:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                    pytest.fail(f"readmitd exited with {self.proc.returncode}: {err[-2000:]}")
                try:
                    if probe.health()["ready"]:
                        return
                except (readmit.ReadmitTimeout, readmit.UnavailableError):  # not listening yet
                    pass
                time.sleep(0.05)
        self.stop()
        pytest.fail("readmitd did not become ready within 60 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()


@pytest.fixture(scope="session")
def daemon() -> Iterator[Daemon]:
    d = Daemon()
    yield d
    d.stop()


@pytest.fixture()
def client(daemon: Daemon) -> Iterator[readmit.Client]:
    with readmit.Client(daemon.endpoint, timeout_ms=20000, retries=0) as c:
        yield c


# Discharge dispositions the Diabetes 130 spec's cohort excludes (data/diabetes130/dataset.yaml,
# `exclusions`: died, hospice). The daemon does not score such stays (an `excluded` row error);
# the samples below leave them out, so that a row error in a test is the one the test made.
EXCLUDED_DISPOSITIONS = frozenset({"11", "13", "14", "19", "20"})


@pytest.fixture(scope="session")
def sample_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 3,000 cohort stays of the shipped data set as a plain CSV (patients with several
    encounters included, so the history features are exercised; stays the cohort excludes are
    left out: ``EXCLUDED_DISPOSITIONS``)."""
    path = tmp_path_factory.mktemp("data") / "sample.csv"
    with gzip.open(DATA, "rt", newline="") as src, open(path, "w", newline="") as dst:
        reader, writer = csv.reader(src), csv.writer(dst, lineterminator="\n")
        header = next(reader)
        writer.writerow(header)
        disposition = header.index("discharge_disposition_id")
        kept = 0
        for row in reader:
            if kept == 3000:
                break
            if row[disposition] not in EXCLUDED_DISPOSITIONS:
                writer.writerow(row)
                kept += 1
    return path


def schema_matrix(info: dict, n: int, seed: int = 0):
    """A feature matrix of ``n`` rows built from INFO's schema alone (no dataset knowledge), and
    the same rows as raw records: numeric features get small integers, categorical features
    valid level indices (their records the level's text). Features that are not a field's
    number or level (a derived one, such as an ICD-9 chapter), and those whose field a derived
    feature also reads, are NaN, their fields missing."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = np.empty((n, len(info["features"])), dtype=np.float64)
    records = {}
    # Fields that a derived feature also reads (INFO's `columns`) stay missing, so that the
    # derived feature is missing too (count_of and sum_of of missing fields are NaN).
    derived_inputs = {c for f in info["features"] for c in f.get("columns", [])}
    for j, f in enumerate(info["features"]):
        if f["source"] in derived_inputs:
            x[:, j] = np.nan
            records[f["source"]] = [None] * n
        elif f["kind"] == "categorical" and f["transform"] in ("level", "level_or_other"):
            index = rng.integers(0, len(f["levels"]), n)
            x[:, j] = index
            records[f["source"]] = [f["levels"][i] for i in index]
        elif f["kind"] == "numeric" and f["transform"] in ("number", "history"):
            x[:, j] = rng.integers(0, 10, n)
            records[f["source"]] = x[:, j].copy()
        else:
            x[:, j] = np.nan
            records[f["source"]] = [None] * n
    return x, pd.DataFrame(records)
