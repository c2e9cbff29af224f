"""The Python binding against a real readmitd: scores equal `readmit score`, encoding rules,
typed errors, timeouts, and the DataFrame outputs."""
from __future__ import annotations

import csv
import subprocess
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest

import readmit

from conftest import DATA, MODEL, READMIT, free_port


def cli_scores(csv_path, tmp_path) -> pd.DataFrame:
    """`readmit score --model M --data CSV --out OUT` on the same rows."""
    out = tmp_path / "cli_scores.csv"
    subprocess.run([str(READMIT), "score", "--model", str(MODEL), "--data", str(csv_path), "--out", str(out)],
                   check=True, capture_output=True, timeout=300)
    return pd.read_csv(out)


def test_scores_equal_readmit_score_cli(client, sample_csv, tmp_path):
    frame = readmit.read_csv(sample_csv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", readmit.ReadmitEncodingWarning)
        full = client.score_frame(frame)
    cli = cli_scores(sample_csv, tmp_path)
    assert "risk" in cli.columns, cli.columns
    # The CLI may leave out rows it cannot score; match on encounter_id when it reports it.
    if "encounter_id" in cli.columns:
        ours = full.assign(encounter_id=frame["encounter_id"].astype(np.int64).to_numpy())
        merged = cli.merge(ours, on="encounter_id", suffixes=("_cli", ""))
        assert len(merged) == len(cli) and len(cli) > 2500
        cli_risk, risk = merged["risk_cli"].to_numpy(), merged["risk"].to_numpy()
    else:
        assert len(cli) == len(frame)
        cli_risk, risk = cli["risk"].to_numpy(), full["risk"].to_numpy()
    np.testing.assert_array_equal(risk, cli_risk)  # the CLI writes round-trip exact doubles
    if "tier" in cli.columns and "encounter_id" in cli.columns:
        assert (merged["tier_cli"].astype(str).to_numpy() == merged["tier"].astype(str).to_numpy()).all()


def test_info_and_schema(client):
    info = client.info()
    assert info["n_features"] == len(info["features"]) == client.n_features
    assert client.feature_names == [f["name"] for f in info["features"]]
    assert [t["name"] for t in info["tiers"]] == ["low", "medium", "high"]
    health = client.health()
    assert health["ready"] is True and health["model_version"] == info["model_version"]


def test_score_frame_columns_and_tiers(client, sample_csv):
    frame = readmit.read_csv(sample_csv).iloc[100:400].set_index("encounter_id")
    with pytest.warns(readmit.ReadmitEncodingWarning):
        full = client.score_frame(frame)
    assert list(full.columns) == ["risk", "atypicality", "tier"]
    assert full.index.equals(frame.index)
    assert ((full["risk"] > 0) & (full["risk"] < 1)).all()
    assert np.isfinite(full["atypicality"]).all()
    thresholds = [t["min_risk"] for t in client.info()["tiers"]]
    expected = np.searchsorted(thresholds, full["risk"].to_numpy(), side="right") - 1
    assert (full["tier"].cat.codes.to_numpy() == expected).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", readmit.ReadmitEncodingWarning)
        assert np.array_equal(client.score(frame), full["risk"].to_numpy())


def test_numpy_passes_through_after_shape_check(client, sample_csv):
    frame = readmit.read_csv(sample_csv).head(50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", readmit.ReadmitEncodingWarning)
        x = client.encode(frame)
        from_frame = client.score(frame)
    assert x.shape == (50, client.n_features) and x.dtype == np.float64
    assert np.array_equal(client.score(x), from_frame)
    assert np.array_equal(client.score(x.tolist()), from_frame)
    assert np.array_equal(client.score(np.asfortranarray(x)), from_frame)
    assert client.score(x[0]).shape == (1,)
    assert client.score(np.empty((0, client.n_features))).shape == (0,)
    with pytest.raises(readmit.InvalidArgumentError, match=r"shape \(50, %d\)" % (client.n_features - 1)):
        client.score(x[:, 1:])


def test_encode_names_a_missing_column(client, sample_csv):
    frame = readmit.read_csv(sample_csv).head(10).drop(columns=["race", "num_medications"])
    with pytest.raises(readmit.EncodingError) as e:
        client.encode(frame)
    assert "'race'" in str(e.value) and "'num_medications'" in str(e.value)
    assert isinstance(e.value, ValueError)


def test_encode_unseen_levels_and_missing_to_nan_with_warning(client, sample_csv):
    frame = readmit.read_csv(sample_csv).head(20).copy()
    frame["race"] = "Caucasian"
    frame.loc[frame.index[:3], "race"] = "Martian"
    frame.loc[frame.index[3:5], "race"] = "?"
    j = client.feature_names.index("race")
    with pytest.warns(readmit.ReadmitEncodingWarning, match=r"3 value\(s\) of levels never seen.*race: 3") as w:
        x = client.encode(frame)
    assert "race: 2" in str(w[0].message)  # the two '?' are counted as missing
    assert np.isnan(x[:5, j]).all() and not np.isnan(x[5:, j]).any()


def test_encode_accepts_integer_codes_as_read_by_pandas(client, sample_csv):
    text = readmit.read_csv(sample_csv).head(500)
    typed = pd.read_csv(sample_csv, keep_default_na=False, na_values=["?"]).head(500)  # ints and floats
    assert pd.api.types.is_integer_dtype(typed["admission_type_id"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", readmit.ReadmitEncodingWarning)
        np.testing.assert_array_equal(client.encode(text), client.encode(typed))


def test_encode_accepts_categorical_columns(client, sample_csv):
    text = readmit.read_csv(sample_csv).head(500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", readmit.ReadmitEncodingWarning)
        np.testing.assert_array_equal(client.encode(text), client.encode(text.astype("category")))


def test_encode_an_empty_frame(client, sample_csv):
    empty = readmit.read_csv(sample_csv).head(0)
    assert client.encode(empty).shape == (0, client.n_features)
    assert client.score(empty).shape == (0,)


def test_encode_rejects_a_non_number(client, sample_csv):
    frame = readmit.read_csv(sample_csv).head(10).copy()
    frame.loc[frame.index[4], "num_lab_procedures"] = "many"
    with pytest.raises(readmit.EncodingError, match=r"column 'num_lab_procedures', row 4: 'many' is not a number"):
        client.encode(frame)


def test_history_features_from_earlier_encounters(client):
    base = readmit.read_csv(DATA, nrows=1)
    rows = pd.concat([base] * 3, ignore_index=True)
    rows["patient_nbr"] = ["7", "7", "8"]
    rows["encounter_id"] = ["30", "10", "20"]
    rows["time_in_hospital"] = ["4", "3", "5"]
    rows["number_inpatient"] = ["1", "2", "0"]
    rows["discharge_disposition_id"] = ["3", "1", "1"]
    rows["readmitted"] = ["NO", "<30", "NO"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", readmit.ReadmitEncodingWarning)
        x = client.encode(rows)
    col = {n: x[:, i] for i, n in enumerate(client.feature_names)}
    if "prior_encounters" not in col:
        pytest.skip("the model has no history features")
    assert col["prior_encounters"].tolist() == [1, 0, 0]
    assert col["prior_days_in_hospital"].tolist() == [3, 0, 0]
    assert col["prev_number_inpatient"][0] == 2 and np.isnan(col["prev_number_inpatient"][1:]).all()
    assert col["prev_discharged_home"][0] == 1
    assert col["prior_readmitted_within_30"].tolist() == [1, 0, 0]
    # Without patient_nbr the history is unknown.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", readmit.ReadmitEncodingWarning)
        y = client.encode(rows.drop(columns=["patient_nbr"]))
    assert np.isnan(y[:, client.feature_names.index("prior_encounters")]).all()


def test_daemon_errors_are_typed_with_row_and_feature(client, sample_csv):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", readmit.ReadmitEncodingWarning)
        x = client.encode(readmit.read_csv(sample_csv).head(5))
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


def test_explain(client, sample_csv):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", readmit.ReadmitEncodingWarning)
        frame = readmit.read_csv(sample_csv).head(8)
        why = client.explain(frame, k=4)
    assert list(why.columns) == ["row", "rank", "feature", "feature_index", "contribution"]
    assert set(why["row"]) <= set(range(8)) and why["rank"].max() <= 3
    assert why["feature"].isin(client.feature_names).all()
    for _, g in why.groupby("row"):
        mags = g.sort_values("rank")["contribution"].abs().to_numpy()
        assert (np.diff(mags) <= 1e-12).all()
    with pytest.raises(readmit.InvalidArgumentError):
        client.explain(frame, k=0)


def test_timeout_when_nothing_listens():
    with readmit.Client(f"tcp://127.0.0.1:{free_port()}", timeout_ms=200, retries=1) as c:
        t0 = time.monotonic()
        with pytest.raises(readmit.ReadmitTimeout) as e:
            c.health()
        assert 0.35 < time.monotonic() - t0 < 2.0
        assert isinstance(e.value, TimeoutError) and "200 ms" in str(e.value)


def test_bad_arguments_and_closed_client(daemon):
    with pytest.raises(readmit.ReadmitConnectionError):
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", readmit.ReadmitEncodingWarning)
        x = client.encode(readmit.read_csv(sample_csv).head(300))
    want = client.score(x)
    results, errors = [], []

    def work():
        try:
            for _ in range(10):
                results.append(np.array_equal(client.score(x), want))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 40 and all(results)


def test_large_frames_encode_in_parallel_as_in_one_thread(client, monkeypatch):
    """Frames of PARALLEL_MIN_ROWS rows or more are encoded by a thread pool: same matrix, same
    warning, and the first error in schema order, as the one-thread path."""
    frame = readmit.read_csv(DATA, nrows=30_000)
    assert len(frame) >= readmit.encoding.PARALLEL_MIN_ROWS
    bad = frame.copy()
    bad.loc[bad.index[20_000:20_002], "num_medications"] = "lots"  # a number feature...
    bad.loc[bad.index[25_000], "patient_nbr"] = "p1"  # ...comes before the history features

    def encode_both():
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            x = client.encode(frame)
        with pytest.raises(readmit.EncodingError) as e:
            client.encode(bad)
        return x, [str(m.message) for m in w], str(e.value)

    parallel = encode_both()
    monkeypatch.setattr(readmit.encoding, "PARALLEL_MIN_ROWS", len(frame) + 1)
    serial = encode_both()
    assert parallel[0].tobytes() == serial[0].tobytes()
    assert parallel[1:] == serial[1:] and len(parallel[1]) == 1
    assert "column 'num_medications', row 20000: 'lots' is not a number (2 row(s)" in parallel[2]


def test_big_frames_codes_in_small_integers_encode_the_same(client, sample_csv, monkeypatch):
    frame = readmit.read_csv(sample_csv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", readmit.ReadmitEncodingWarning)
        want = client.encode(frame)
        monkeypatch.setattr(readmit.encoding, "COMPACT_CODES_MIN_ROWS", 1)
        assert client.encode(frame).tobytes() == want.tobytes()
