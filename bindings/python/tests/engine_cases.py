"""What the Spark and Dask tests share: the encounters they score (typed and dirty columns
included), the direct scores of the same rows through the Python binding, and the comparison
of an engine's results with them bit for bit. The fixtures are imported by the test modules."""
from __future__ import annotations

import struct
from typing import Dict, Iterator

import numpy as np
import pandas as pd
import pytest

import readmit

from conftest import Daemon

#: Rows whose values the daemon must refuse, by position: (column, text).
DIRTY = {7: ("time_in_hospital", "three"), 301: ("num_medications", "2020-01-01"),
         1207: ("num_lab_procedures", "1e999")}


def bits(values) -> list:
    """The exact bit patterns of float64 values."""
    arr = np.ascontiguousarray(np.asarray(values, dtype=np.float64))
    return list(struct.unpack(f"<{len(arr)}q", arr.tobytes()))


def encounters(sample_csv) -> pd.DataFrame:
    """The sample's encounters as texts (as written), with a row number ``row``, a few rows the
    daemon must refuse, and two columns typed as an engine would hold them: ``number_inpatient``
    as int64 and ``num_procedures`` as float64 with missing values."""
    frame = readmit.read_csv(sample_csv)
    for position, (column, text) in DIRTY.items():
        frame.loc[frame.index[position], column] = text
    frame["number_inpatient"] = frame["number_inpatient"].astype(np.int64)
    procedures = frame["num_procedures"].astype(np.float64)
    procedures[::97] = np.nan
    frame["num_procedures"] = procedures
    frame.insert(0, "row", np.arange(len(frame), dtype=np.int64))
    return frame


def direct(endpoint: str, frame: pd.DataFrame, interval: bool = False) -> pd.DataFrame:
    """The same rows scored through the binding in one request (the reference)."""
    with readmit.Client(endpoint, timeout_ms=60000, retries=0) as c:
        return c.score_records(frame, warn=False, interval=interval)


def text_or_none(values) -> list:
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else str(v) for v in values]


def assert_same(engine: pd.DataFrame, reference: pd.DataFrame, interval: bool = False) -> None:
    """``engine`` (an engine's result, in the reference's row order) gives every row the
    reference's risk (bit for bit), atypicality, tier and error."""
    assert len(engine) == len(reference)
    errors = reference["error"].notna().to_numpy()
    assert (pd.Series(text_or_none(engine["error"])).notna().to_numpy() == errors).all()
    assert text_or_none(engine["error"]) == text_or_none(reference["error"])
    names = ["risk", "atypicality"] + (["risk_low", "risk_high"] if interval else [])
    for name in names:
        ours = engine[name].to_numpy(dtype=np.float64)
        theirs = reference[name].to_numpy(dtype=np.float64)
        assert np.isnan(ours[errors]).all(), name
        assert bits(ours[~errors]) == bits(theirs[~errors]), name
    assert text_or_none(engine["tier"]) == text_or_none(reference["tier"].astype(object))


def dirty_errors(reference: pd.DataFrame) -> Dict[int, str]:
    return {int(i): e for i, e in enumerate(reference["error"]) if e is not None}


@pytest.fixture(scope="module")
def second() -> Iterator[Daemon]:
    """A second daemon beside conftest's ``daemon``."""
    d = Daemon()
    yield d
    d.stop()


@pytest.fixture(scope="module")
def frame(sample_csv) -> pd.DataFrame:
    return encounters(sample_csv)


@pytest.fixture(scope="module")
def reference(daemon, frame) -> pd.DataFrame:
    return direct(daemon.endpoint, frame)


def replicated(frame: pd.DataFrame, copies: int) -> pd.DataFrame:
    """``copies`` copies of ``frame`` one after another, renumbered in ``row``: a job long
    enough to kill a daemon in its middle. Each row's score is its original's (row
    independence), so the reference is the original reference repeated."""
    out = pd.concat([frame] * copies, ignore_index=True)
    out["row"] = np.arange(len(out), dtype=np.int64)
    return out


def rows_scored(endpoint: str) -> int:
    with readmit.Client(endpoint, timeout_ms=2000, retries=0) as c:
        return int(c.stats()["rows_scored"])


def kill_mid_job(job, victim: Daemon, survivor: Daemon, min_rows: int = 2000, budget_s: float = 120.0):
    """Runs ``job()`` (an engine job over both daemons) in a thread, SIGKILLs ``victim`` once it
    has scored ``min_rows`` rows while the job still runs, and returns the job's result.

    Fails if the job ended before the kill (the test then proves nothing), or if the survivor
    scored nothing after the kill. Every wait is bounded by ``budget_s``."""
    import threading
    import time

    result: Dict[str, object] = {}

    def run() -> None:
        try:
            result["out"] = job()
        except BaseException as e:  # reported in the test's thread
            result["error"] = e

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline and worker.is_alive() and rows_scored(victim.endpoint) < min_rows:
        time.sleep(0.01)
    assert worker.is_alive(), "the job ended before the daemon could be killed: make it longer"
    assert time.monotonic() < deadline, f"the victim never scored {min_rows} rows"
    survivor_before = rows_scored(survivor.endpoint)
    victim.proc.kill()
    victim.proc.wait(10)
    worker.join(max(1.0, deadline - time.monotonic()))
    assert not worker.is_alive(), f"the job did not finish within {budget_s} s after the kill"
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    assert rows_scored(survivor.endpoint) > survivor_before, "nothing was scored after the kill"
    return result["out"]
