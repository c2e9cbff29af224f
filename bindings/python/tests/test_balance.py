"""One Client, several real readmitd (load balancing, libreadmit 0.5.0): requests spread over
the daemons, a daemon killed mid-run fails no call and leaves the rotation within about a
second, a restarted one is used again, and split batches (``split_rows``) are bit-identical to
one daemon's answer, for feature matrices and raw records alike."""
from __future__ import annotations

import struct
import threading
import time

import numpy as np
import pandas as pd
import pytest

import readmit

from conftest import Daemon, schema_matrix


def bits(values) -> list:
    arr = np.ascontiguousarray(np.asarray(values, dtype=np.float64))
    return list(struct.unpack(f"<{len(arr)}q", arr.tobytes()))


@pytest.fixture(scope="module")
def daemons():
    ds = [Daemon() for _ in range(3)]
    yield ds
    for d in ds:
        d.stop()


def rows_scored(d: Daemon) -> int:
    with readmit.Client(d.endpoint, timeout_ms=5000) as c:
        return int(c.stats()["rows_scored"])


def test_requests_are_spread_round_robin(daemons):
    before = [rows_scored(d) for d in daemons]
    with readmit.Client([d.endpoint for d in daemons], timeout_ms=5000) as c:
        x, _ = schema_matrix(c.info(), 1)
        first = [s["requests"] for s in c.endpoint_status()]  # INFO went to one of them
        for _ in range(90):
            c.score(x)
        status = c.endpoint_status()
    assert [s["endpoint"] for s in status] == [d.endpoint for d in daemons]
    assert [s["requests"] - f for s, f in zip(status, first)] == [30, 30, 30]
    assert all(s["in_rotation"] and s["failures"] == 0 for s in status)
    assert [rows_scored(d) - b for d, b in zip(daemons, before)] == [30, 30, 30]


def test_split_rows_is_checked(daemons):
    for bad in (-1, 1.5, True, "10"):
        with pytest.raises(readmit.InvalidArgumentError, match="split_rows"):
            readmit.Client(daemons[0].endpoint, split_rows=bad)


def test_split_matrix_is_bit_identical(daemons):
    with readmit.Client(daemons[0].endpoint, timeout_ms=20000) as one, \
            readmit.Client([d.endpoint for d in daemons], timeout_ms=20000, split_rows=2500) as split:
        x, _ = schema_matrix(one.info(), 20000, seed=4)
        whole = one.score_frame(x)
        split.info()  # score_frame reads the tier names from INFO (cached)
        before = [s["requests"] for s in split.endpoint_status()]
        parts = split.score_frame(x)
        after = [s["requests"] for s in split.endpoint_status()]
    assert sum(a - b for a, b in zip(after, before)) == 8  # 20000 rows in chunks of 2500
    assert sum(a > b for a, b in zip(after, before)) >= 2
    assert bits(whole["risk"]) == bits(parts["risk"])
    assert bits(whole["atypicality"]) == bits(parts["atypicality"])
    assert whole["tier"].equals(parts["tier"])


def test_split_records_are_bit_identical(daemons, sample_csv):
    frame = pd.read_csv(sample_csv, dtype=str, keep_default_na=False)
    frame.loc[5, "time_in_hospital"] = "three"   # row errors in several chunks
    frame.loc[2400, "num_medications"] = "2020-01-01"
    frame["not_a_field"] = "x"                    # a warning about the whole request
    with readmit.Client(daemons[0].endpoint, timeout_ms=20000) as one, \
            readmit.Client([d.endpoint for d in daemons], timeout_ms=20000, split_rows=400) as split:
        whole = one.score_records(frame, k=3, warn=False)
        parts = split.score_records(frame, k=3, warn=False)
        chunks = sum(s["requests"] for s in split.endpoint_status())
    assert chunks >= len(frame) // 400
    assert list(whole.columns) == list(parts.columns)
    for col in whole.columns:
        if whole[col].dtype == np.float64:
            assert bits(whole[col]) == bits(parts[col]), col
        else:
            assert whole[col].astype(str).tolist() == parts[col].astype(str).tolist(), col
    assert set(np.flatnonzero(parts["error"].notna())) == {5, 2400}


def test_killed_daemon_fails_no_call_and_comes_back(daemons):
    with readmit.Client([d.endpoint for d in daemons], timeout_ms=5000) as c:
        x, _ = schema_matrix(c.info(), 4, seed=2)
        ref = bits(c.score(x))
        victim = daemons[1]
        killed_at = []

        def kill_later():
            time.sleep(0.3)
            victim.proc.kill()
            killed_at.append(time.monotonic())
            victim.proc.wait()

        t = threading.Thread(target=kill_later)
        t.start()
        start, calls, out_at = time.monotonic(), 0, None
        while time.monotonic() - start < 1.5 and calls < 100000:
            assert bits(c.score(x)) == ref  # raises on any failed call
            calls += 1
            if killed_at and out_at is None and not c.endpoint_status()[1]["in_rotation"]:
                out_at = time.monotonic()
        t.join()
        assert out_at is not None and out_at - killed_at[0] < 1.0, "not taken out of rotation within 1 s"
        # Restarted on its port: used again.
        if victim.proc.stderr:
            victim.proc.stderr.close()
        daemons[1] = Daemon(victim.port)
        before = c.endpoint_status()[1]["requests"]
        deadline = time.monotonic() + 5
        while c.endpoint_status()[1]["requests"] < before + 3 and time.monotonic() < deadline:
            assert bits(c.score(x)) == ref
        assert c.endpoint_status()[1]["requests"] >= before + 3
