"""Client.derive_history (the protocol's HISTORY) against a real readmitd: derive_history then
score_records on patients' encounters equals `readmit history` + `readmit score --records`, bit
for bit; the derivation depends on the rows' patients, not their order; bad rows are reported
with row and field."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import readmit

from conftest import MODEL
from test_records import assert_same_as_cli, bits, cli_score_records, needs_records_cli, run_cli


@pytest.fixture(scope="module")
def history_fields(daemon):
    with readmit.Client(daemon.endpoint, timeout_ms=20000, retries=0) as c:
        return [f["name"] for f in c.raw_fields() if f["history"]]


@needs_records_cli
def test_derive_then_score_equals_the_cli(client, sample_csv, history_fields, tmp_path):
    frame = readmit.read_csv(sample_csv)
    assert not set(history_fields) & set(frame.columns)
    derived = client.derive_history(frame, warn=False)
    # Clean rows: no row message (the sample's unread columns: request-level warnings only).
    assert [m for m in derived.attrs["history_messages"] if m["row"] is not None or m["severity"] == "error"] == []
    assert list(derived.columns) == list(frame.columns) + history_fields
    assert derived.index.equals(frame.index)
    flat = tmp_path / "flat.csv"
    run_cli("history", "--model", str(MODEL), "--data", str(sample_csv), "--out", str(flat))
    cli_flat = pd.read_csv(flat, dtype=str, keep_default_na=False)
    for name in history_fields:
        cli_values = [float(v) if v != "" else np.nan for v in cli_flat[name]]
        assert bits(derived[name]) == bits(cli_values), name
        assert derived[name].dtype == np.float64
    # Not vacuous: patients with earlier stays are in the sample.
    assert (derived[history_fields[0]] > 0).sum() > 100
    scored = client.score_records(derived, warn=False)
    cli = cli_score_records(MODEL, flat, tmp_path / "out.csv")
    assert_same_as_cli(scored, cli)
    assert scored["risk"].notna().all()


def test_row_order_does_not_matter_and_columns_are_replaced(client, sample_csv, history_fields):
    frame = readmit.read_csv(sample_csv).iloc[:1500]
    full = client.derive_history(frame, warn=False)
    perm = np.random.default_rng(11).permutation(len(frame))
    shuffled = frame.iloc[perm].copy()
    shuffled[history_fields[0]] = "99"  # the caller's own column is replaced, never read
    out = client.derive_history(shuffled, warn=False)
    assert out.index.equals(shuffled.index)
    assert shuffled[history_fields[0]].eq("99").all()  # the input is not modified
    for name in history_fields:
        assert bits(out[name]) == bits(full[name].iloc[perm]), name
    # A patient's rows alone give the same history as in the whole batch.
    patient = frame["patient_nbr"].value_counts().index[0]
    rows = np.flatnonzero(frame["patient_nbr"].to_numpy() == patient)
    assert len(rows) >= 2
    alone = client.derive_history(frame.iloc[rows], warn=False)
    for name in history_fields:
        assert bits(alone[name]) == bits(full[name].iloc[rows]), name


def test_bad_rows_have_row_and_field(client, sample_csv, history_fields):
    frame = readmit.read_csv(sample_csv).iloc[:400].copy()
    counts = frame["patient_nbr"].value_counts()
    single = int(np.flatnonzero(frame["patient_nbr"].to_numpy() == counts.index[-1])[0])
    frame.iloc[single, frame.columns.get_loc("encounter_id")] = "soon"
    with pytest.warns(readmit.ReadmitDataWarning, match=rf"row {single}, field 'encounter_id'"):
        out = client.derive_history(frame)
    errors = [m for m in out.attrs["history_messages"] if m["severity"] == "error"]
    assert [(m["row"], m["field"], m["code"]) for m in errors] == [(single, "encounter_id", "bad_number")]
    for name in history_fields:
        assert np.isnan(out[name].iloc[single])
    with pytest.raises(readmit.DataWarningError) as e:
        client.derive_history(frame, warn="error")
    assert (e.value.row, e.value.field, e.value.kind) == (single, "encounter_id", "bad_number")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client.derive_history(frame, warn=False)
    # The patient id absent: a typed error naming it; the caller's frame is untouched.
    with pytest.raises(readmit.InvalidFeatureError) as e:
        client.derive_history(frame.drop(columns=["patient_nbr"]))
    assert e.value.field == "patient_nbr"
    assert not set(history_fields) & set(frame.columns)
