"""Risk intervals (docs/PROTOCOL.md, "Risk intervals") against real readmitd processes: score,
score_frame and score_records with ``interval=True`` (SCORE flag bit 1, RECORDS option bit 2),
the same intervals whichever way a row is sent, a row alone equal to the row in a batch, NaN
for a row with an error, results without ``interval`` unchanged, and IntervalUnavailableError
from a model without an interval."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import readmit

from conftest import MODEL, ROOT, Daemon, schema_matrix


def bits(values) -> list:
    """The exact bit patterns of float64 values (NaN patterns included)."""
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64)).view(np.int64).tolist()


def ordered(low, high) -> bool:
    low, high = np.asarray(low), np.asarray(high)
    return bool(((0 <= low) & (low <= high) & (high <= 1)).all())


@pytest.fixture()
def with_interval(client):
    """The client, when the serving model has an interval (else the test is skipped: the
    fixture model is trained by scripts/tests/00-build.sh with the project's readmit)."""
    if client.info().get("interval") is None:
        pytest.skip("the fixture model has no risk interval (INFO \"interval\" is null): retrain it "
                    "(scripts/tests/00-build.sh) with a readmit that fits one")
    return client


def test_info_describes_the_interval(client):
    interval = client.info().get("interval", "absent")
    assert interval is None or (isinstance(interval, dict) and interval), interval


@pytest.fixture(scope="module")
def without_interval(daemon, tmp_path_factory):
    """A client of a daemon whose model has no interval: the fixture model without its
    venn_abers sections (tests/tools/model_without_interval.py: a file as written before
    intervals existed), or the fixture daemon itself when its model has none."""
    with readmit.Client(daemon.endpoint, timeout_ms=20000, retries=0) as probe:
        has_interval = probe.info().get("interval") is not None
    if not has_interval:
        with readmit.Client(daemon.endpoint, timeout_ms=20000, retries=0) as c:
            yield c
        return
    copy = tmp_path_factory.mktemp("model") / "no-interval.readmit"
    subprocess.run([sys.executable, str(ROOT / "tests/tools/model_without_interval.py"), str(MODEL), str(copy)],
                   check=True)
    d = Daemon(model=copy)
    try:
        with readmit.Client(d.endpoint, timeout_ms=20000, retries=0) as c:
            yield c
    finally:
        d.stop()


def test_a_model_without_interval_raises_a_typed_error(without_interval, client):
    client, served = without_interval, client
    assert client.info()["interval"] is None
    assert client.info()["model_id"] == served.info()["model_id"]  # the same model, less its interval
    x, records = schema_matrix(client.info(), 3, seed=1)
    for call in (lambda: client.score(x, interval=True), lambda: client.score_frame(x, interval=True),
                 lambda: client.score_records(records, missing_fields="missing", warn=False, interval=True),
                 lambda: client.score(records, missing_fields="missing", warn=False, interval=True)):
        with pytest.raises(readmit.IntervalUnavailableError) as e:
            call()
        assert isinstance(e.value, readmit.InvalidFeatureError) and e.value.status == 14
        assert "no risk interval" in str(e.value)
    assert client.score(x).shape == (3,)  # scoring without the interval still works


def test_matrix_intervals(with_interval):
    client = with_interval
    x, _ = schema_matrix(client.info(), 300, seed=11)
    x[0, :] = np.nan  # every feature missing is a valid row
    out = client.score(x, interval=True)
    assert isinstance(out, readmit.ScoredIntervals)
    risk, low, high = out
    assert risk.dtype == low.dtype == high.dtype == np.float64 and len(low) == len(high) == 300
    assert ordered(low, high)
    assert len(set(zip(low.tolist(), high.tolist()))) > 1, "different patients get different intervals"
    assert bits(risk) == bits(client.score(x)), "asking for the interval does not change the risk"
    frame = client.score_frame(x, interval=True)
    assert list(frame.columns) == ["risk", "risk_low", "risk_high", "atypicality", "tier"]
    assert bits(frame["risk_low"]) == bits(low) and bits(frame["risk_high"]) == bits(high)
    plain = client.score_frame(x)
    assert list(plain.columns) == ["risk", "atypicality", "tier"]
    assert bits(plain["atypicality"]) == bits(frame["atypicality"]) and (plain["tier"] == frame["tier"]).all()
    for i in (0, 5, 299):  # a row alone, bit for bit
        one = client.score(x[i:i + 1], interval=True)
        assert bits(one.risk_low) == bits(low[i:i + 1]) and bits(one.risk_high) == bits(high[i:i + 1])
    empty = client.score(np.empty((0, x.shape[1])), interval=True)
    assert empty.risk_low.shape == (0,)


def test_score_equals_records(with_interval):
    """The same rows as a feature matrix (SCORE) and as raw records (RECORDS): equal risks and
    intervals, bit for bit."""
    client = with_interval
    x, records = schema_matrix(client.info(), 200, seed=12)
    by_matrix = client.score(x, interval=True)
    by_records = client.score_records(records, missing_fields="missing", warn=False, interval=True)
    assert by_records["error"].isna().all()
    assert bits(by_matrix.risk) == bits(by_records["risk"])
    assert bits(by_matrix.risk_low) == bits(by_records["risk_low"])
    assert bits(by_matrix.risk_high) == bits(by_records["risk_high"])
    via_score = client.score(records, missing_fields="missing", warn=False, interval=True)
    assert bits(via_score.risk_low) == bits(by_matrix.risk_low)


def test_records_intervals(with_interval, sample_csv):
    client = with_interval
    frame = readmit.read_csv(sample_csv).iloc[:300].copy()
    number = next(f["name"] for f in client.raw_fields() if f["type"] == "number" and not f["history"]
                  and f["name"] in frame.columns)
    frame[number] = frame[number].astype(object)
    frame.iloc[4, frame.columns.get_loc(number)] = "three"  # row 4: an error of its own
    out = client.score_records(frame, k=2, warn=False, interval=True)
    assert list(out.columns[:3]) == ["risk", "risk_low", "risk_high"]
    assert out.index.equals(frame.index)
    failed = out["error"].notna().to_numpy()
    assert failed[4] and failed.sum() >= 1
    assert np.isnan(out["risk_low"].to_numpy()[failed]).all() and np.isnan(out["risk_high"].to_numpy()[failed]).all()
    assert ordered(out["risk_low"][~failed], out["risk_high"][~failed])
    plain = client.score_records(frame, k=2, warn=False)
    assert "risk_low" not in plain.columns and "risk_high" not in plain.columns
    assert list(plain.columns) == [c for c in out.columns if c not in ("risk_low", "risk_high")]
    for column in ("risk", "atypicality"):
        assert bits(plain[column]) == bits(out[column])
    assert plain["explanation"].tolist() == out["explanation"].tolist()
    # A row alone equals the row in the batch, and the batch in another order gives the same.
    for i in (0, 4, 17):
        alone = client.score_records(frame.iloc[[i]], warn=False, interval=True)
        assert bits(alone["risk_low"]) == bits(out["risk_low"].iloc[[i]])
        assert bits(alone["risk_high"]) == bits(out["risk_high"].iloc[[i]])
    shuffled = frame.sample(frac=1.0, random_state=3)
    again = client.score_records(shuffled, warn=False, interval=True)
    assert bits(again["risk_low"].loc[frame.index]) == bits(out["risk_low"])
    # score and score_frame of records: every row must score, so without row 4.
    good = frame.drop(index=frame.index[4])
    full = client.score_frame(good, warn=False, interval=True)
    assert list(full.columns) == ["risk", "risk_low", "risk_high", "atypicality", "tier"]
    assert bits(full["risk_high"]) == bits(out["risk_high"].drop(index=frame.index[4]))
    risk, low, high = client.score(good, warn=False, interval=True)
    assert bits(low) == bits(full["risk_low"]) and bits(risk) == bits(full["risk"])


def test_interval_argument_is_checked(client):
    x, records = schema_matrix(client.info(), 2, seed=13)
    for bad in ("yes", 1, None):
        with pytest.raises(readmit.InvalidArgumentError):
            client.score(x, interval=bad)
        with pytest.raises(readmit.InvalidArgumentError):
            client.score_records(records, interval=bad)
