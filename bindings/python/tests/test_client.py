"""The Python binding against a real readmitd: score, score_frame and explain of raw records go
through RECORDS (equal to score_records, which test_records.py compares with `readmit score
--records`), a numeric feature matrix through SCORE; typed errors, timeouts, threads."""
from __future__ import annotations

import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest

import readmit

from conftest import free_port, schema_matrix


def bits(values) -> list:
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64)).view(np.int64).tolist()


def test_records_go_through_score_records(client, sample_csv):
    """score, score_frame and explain of a DataFrame are score_records' results, bit for bit,
    with one ReadmitDataWarning attributed to the caller's line."""
    frame = readmit.read_csv(sample_csv).iloc[:600]
    want = client.score_records(frame, k=3, warn=False)
    assert want["error"].isna().all()
    with pytest.warns(readmit.ReadmitDataWarning) as w:
        risk = client.score(frame)
    assert len(w) == 1 and w[0].filename == __file__
    assert bits(risk) == bits(want["risk"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        full = client.score_frame(frame, warn=False)
        why = client.explain(frame, k=3, warn=False)
    assert list(full.columns) == ["risk", "atypicality", "tier"] and full.index.equals(frame.index)
    assert bits(full["risk"]) == bits(want["risk"]) and bits(full["atypicality"]) == bits(want["atypicality"])
    assert (full["tier"] == want["tier"]).all()
    assert list(why.columns) == ["row", "rank", "feature", "feature_index", "contribution", "value"]
    expected = [(r, rank, f, c, v) for r, entries in enumerate(want["explanation"])
                for rank, (f, c, v) in enumerate(entries)]
    assert list(why[["row", "rank", "feature", "contribution", "value"]].itertuples(index=False, name=None)) == expected
    names = client.feature_names
    assert [names[i] for i in why["feature_index"]] == why["feature"].tolist()
    one = frame.iloc[7]
    assert bits(client.score(one, warn=False)) == bits(want["risk"].iloc[[7]])
    assert bits(client.score(one.to_dict(), warn=False)) == bits(want["risk"].iloc[[7]])


def test_info_and_schema(client):
    info = client.info()
    assert info["n_features"] == len(info["features"]) == client.n_features
    assert client.feature_names == [f["name"] for f in info["features"]]
    assert [t["name"] for t in info["tiers"]] == ["low", "medium", "high"]
    health = client.health()
    assert health["ready"] is True and health["model_version"] == info["model_version"]


def test_score_frame_columns_and_tiers(client, sample_csv):
    frame = readmit.read_csv(sample_csv).iloc[100:400].set_index("encounter_id")
    with pytest.warns(readmit.ReadmitDataWarning):
        full = client.score_frame(frame)
    assert list(full.columns) == ["risk", "atypicality", "tier"]
    assert full.index.equals(frame.index)
    assert ((full["risk"] > 0) & (full["risk"] < 1)).all()
    assert np.isfinite(full["atypicality"]).all()
    thresholds = [t["min_risk"] for t in client.info()["tiers"]]
    expected = np.searchsorted(thresholds, full["risk"].to_numpy(), side="right") - 1
    assert (full["tier"].cat.codes.to_numpy() == expected).all()


def test_numpy_passes_through_after_shape_check(client):
    x, _ = schema_matrix(client.info(), 50, seed=1)
    want = client.score(x)
    assert want.shape == (50,) and ((want > 0) & (want < 1)).all()
    assert np.array_equal(client.score(x.tolist()), want)
    assert np.array_equal(client.score(np.asfortranarray(x)), want)
    assert np.array_equal(client.score(x.astype(np.float32).astype(np.float64)), want)
    assert np.array_equal(client.score_frame(x)["risk"].to_numpy(), want)
    assert client.score(x[0]).shape == (1,)
    assert client.score(np.empty((0, client.n_features))).shape == (0,)
    with pytest.raises(readmit.InvalidArgumentError, match=r"shape \(50, %d\)" % (client.n_features - 1)):
        client.score(x[:, 1:])


def test_matrix_of_the_schema_scores_as_its_records(client):
    """A matrix built from INFO's schema and the same rows as raw records score the same: the
    SCORE and RECORDS paths meet in the daemon's one model."""
    x, records = schema_matrix(client.info(), 200, seed=2)
    ours = client.score_records(records, missing_fields="missing", warn=False)
    assert ours["error"].isna().all()
    assert bits(client.score(x)) == bits(ours["risk"])
    assert bits(client.score_frame(x)["atypicality"]) == bits(ours["atypicality"])


def test_an_empty_frame(client, sample_csv):
    empty = readmit.read_csv(sample_csv).head(0)
    assert client.score(empty, warn=False).shape == (0,)
    assert len(client.score_frame(empty, warn=False)) == 0
    assert len(client.explain(empty, k=2, warn=False)) == 0


def test_a_row_error_raises_encoding_error(client, sample_csv):
    """score/score_frame/explain return no per-row errors: a row the daemon cannot read raises,
    naming the row and field; score_records reports it in the row instead."""
    frame = readmit.read_csv(sample_csv).head(10).copy()
    frame.loc[frame.index[4], "num_lab_procedures"] = "many"
    for call in (client.score, client.score_frame, lambda f, **kw: client.explain(f, 2, **kw)):
        with pytest.raises(readmit.EncodingError) as e:
            call(frame, warn=False)
        assert isinstance(e.value, ValueError)
        assert (e.value.row, e.value.field) == (4, "num_lab_procedures") and "'many'" in str(e.value)
    out = client.score_records(frame, warn=False)
    assert out["error"].notna().tolist() == [i == 4 for i in range(10)]
    risk = client.score(frame, bad_values="missing", warn=False)
    assert np.isfinite(risk).all()


def test_a_missing_required_field_names_it(client, sample_csv):
    frame = readmit.read_csv(sample_csv).head(10).drop(columns=["race"])
    with pytest.raises(readmit.InvalidFeatureError) as e:
        client.score(frame, warn=False)
    assert e.value.field == "race"
    assert np.isfinite(client.score(frame, missing_fields="missing", warn=False)).all()


def test_encode_was_removed(client, sample_csv):
    with pytest.raises(readmit.ReadmitError, match="the daemon encodes raw fields"):
        client.encode(readmit.read_csv(sample_csv).head(3))


def test_read_csv_keeps_every_text_as_written(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\nNone,?,1\n,NA,007\n")
    frame = readmit.read_csv(path)
    assert frame.to_dict("list") == {"a": ["None", ""], "b": ["?", "NA"], "c": ["1", "007"]}


def test_daemon_errors_are_typed_with_row_and_feature(client):
    x, _ = schema_matrix(client.info(), 5, seed=3)
    info = client.info()
    num = next(i for i, f in enumerate(info["features"]) if f["kind"] == "numeric")
    cat = next(i for i, f in enumerate(info["features"]) if f["kind"] == "categorical")
    bad = x.copy()
    bad[3, num] = np.inf
    with pytest.raises(readmit.InvalidFeatureError) as e:
        client.score(bad)
    err = e.value
    assert isinstance(err, readmit.ServerError) and err.status == 7
    assert (err.row, err.feature) == (3, num)
    assert info["features"][num]["name"] in str(err)
    bad = x.copy()
    bad[2, cat] = len(info["features"][cat]["levels"])
    with pytest.raises(readmit.InvalidFeatureError) as e:
        client.score(bad)
    assert e.value.status == 8 and (e.value.row, e.value.feature) == (2, cat)
    assert np.isfinite(client.score(x)).all()  # the daemon and the client carry on


def test_explain_of_a_matrix(client):
    x, _ = schema_matrix(client.info(), 8, seed=4)
    why = client.explain(x, k=4)
    assert list(why.columns) == ["row", "rank", "feature", "feature_index", "contribution"]
    assert set(why["row"]) <= set(range(8)) and why["rank"].max() <= 3
    assert why["feature"].isin(client.feature_names).all()
    for _, g in why.groupby("row"):
        mags = g.sort_values("rank")["contribution"].abs().to_numpy()
        assert (np.diff(mags) <= 1e-12).all()
    with pytest.raises(readmit.InvalidArgumentError):
        client.explain(x, k=0)
    with pytest.raises(readmit.InvalidArgumentError):
        client.explain(pd.DataFrame({"a": [1]}), k=0)


def test_unavailable_when_nothing_listens():
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    with readmit.Client(endpoint, timeout_ms=2000, retries=1) as c:
        t0 = time.monotonic()
        with pytest.raises(readmit.UnavailableError) as e:
            c.health()
        assert time.monotonic() - t0 < 1.0  # not 2 x 2000 ms (test_availability.py has more)
        assert isinstance(e.value, ConnectionError) and endpoint in str(e.value)


def test_bad_arguments_and_closed_client(daemon):
    with pytest.raises(readmit.InvalidArgumentError, match="invalid endpoint 'nonsense://x'"):
        readmit.Client("nonsense://x")
    with pytest.raises(readmit.InvalidArgumentError):
        readmit.Client(daemon.endpoint, timeout_ms=0)
    with pytest.raises(readmit.InvalidArgumentError):
        readmit.Client(daemon.endpoint, server_public_key="x" * 40)
    c = readmit.Client(daemon.endpoint)
    c.close()
    c.close()
    with pytest.raises(readmit.ReadmitError, match="closed"):
        c.health()


def test_one_client_shared_by_threads(client, sample_csv):
    x, _ = schema_matrix(client.info(), 300, seed=5)
    frame = readmit.read_csv(sample_csv).head(200)
    want = client.score(x)
    want_records = client.score(frame, warn=False)
    results, errors = [], []

    def work():
        try:
            for _ in range(10):
                results.append(np.array_equal(client.score(x), want))
                results.append(np.array_equal(client.score(frame, warn=False), want_records))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 80 and all(results)
