"""Client.score_records (the protocol's RECORDS) against real readmitd processes: equal to
`readmit score --records` bit for bit (Diabetes 130 and the MIMIC-IV demo), rows independent of
each other, dirty data handled by the daemon's one policy, and the warning/error surface."""
from __future__ import annotations

import inspect
import struct
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import readmit

from conftest import MODEL, READMIT, ROOT, Daemon


def bits(values) -> list:
    """The exact bit patterns of float64 values (NaN patterns included)."""
    arr = np.ascontiguousarray(np.asarray(values, dtype=np.float64))
    return list(struct.unpack(f"<{len(arr)}q", arr.tobytes()))


def cli_has_records() -> bool:
    """Whether READMIT_BIN has `readmit history` and `readmit score --records`."""
    try:
        score = subprocess.run([str(READMIT), "score", "--help"], capture_output=True, text=True, timeout=60)
        history = subprocess.run([str(READMIT), "history", "--help"], capture_output=True, timeout=60)
    except OSError:
        return False
    return "--records" in score.stdout + score.stderr and history.returncode == 0


needs_records_cli = pytest.mark.skipif(
    not cli_has_records(),
    reason=f"{READMIT} has no `history` / `score --records` (a build older than RECORDS): rebuild it, "
           "or point READMIT_BIN at one that has them")


def run_cli(*args: str) -> None:
    proc = subprocess.run([str(READMIT), *args], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"readmit {' '.join(args)} failed:\n{proc.stderr[-3000:]}"


def cli_score_records(model: Path, flat: Path, out: Path) -> pd.DataFrame:
    run_cli("score", "--model", str(model), "--records", str(flat), "--out", str(out))
    return pd.read_csv(out, dtype=str, keep_default_na=False)


def assert_same_as_cli(ours: pd.DataFrame, cli: pd.DataFrame) -> None:
    """Risks equal bit for bit, the same rows have errors, the same tiers."""
    assert len(ours) == len(cli)
    cli_error = (cli["error"] != "").to_numpy()
    assert (ours["error"].notna().to_numpy() == cli_error).all()
    cli_risk = np.array([float(r) if r != "" else np.nan for r in cli["risk"]])
    assert np.isnan(cli_risk[cli_error]).all() and np.isnan(ours["risk"].to_numpy()[cli_error]).all()
    ok = ~cli_error
    assert [float.hex(x) for x in ours["risk"].to_numpy()[ok]] == [float.hex(x) for x in cli_risk[ok]]
    assert (ours["tier"].astype(str).to_numpy()[ok] == cli["tier"].to_numpy()[ok]).all()


@pytest.fixture(scope="module")
def raw_fields(daemon):
    with readmit.Client(daemon.endpoint, timeout_ms=20000, retries=0) as c:
        return c.raw_fields()


@pytest.fixture()
def clean(raw_fields, sample_csv) -> pd.DataFrame:
    """12 encounters with exactly the model's raw fields (history given as 0), so that scoring
    them gives no warning at all."""
    frame = readmit.read_csv(sample_csv).iloc[20:32]
    names = [f["name"] for f in raw_fields if not f["history"]]
    out = frame[names].copy()
    for f in raw_fields:
        if f["history"]:
            out[f["name"]] = 0.0
    return out


# -- raw fields ---------------------------------------------------------------------------------

def test_raw_fields_match_info(client, raw_fields):
    info = client.info()["raw_fields"]
    assert [f["name"] for f in raw_fields] == [f["name"] for f in info]
    for ours, theirs in zip(raw_fields, info):
        assert ours["type"] == theirs["type"] and ours["required"] == theirs["required"]
        assert ours["history"] == theirs.get("history", False)
        assert ours["levels"] == theirs.get("levels", [])
    assert any(f["history"] for f in raw_fields) and any(f["levels"] for f in raw_fields)


# -- (a) parity with `readmit score --records` ---------------------------------------------------

@needs_records_cli
def test_equals_readmit_score_records(client, sample_csv, tmp_path):
    flat = tmp_path / "flat.csv"
    run_cli("history", "--model", str(MODEL), "--data", str(sample_csv), "--out", str(flat))
    frame = pd.read_csv(flat, dtype=str, keep_default_na=False)
    # A few rows the daemon must refuse, in both paths.
    frame.loc[5, "time_in_hospital"] = "three"
    frame.loc[17, "num_medications"] = "2020-01-01"
    frame.loc[40, "time_in_hospital"] = "1e999"
    dirty = tmp_path / "dirty.csv"
    frame.to_csv(dirty, index=False)
    frame = pd.read_csv(dirty, dtype=str, keep_default_na=False)
    ours = client.score_records(frame, warn=False)
    cli = cli_score_records(MODEL, dirty, tmp_path / "out.csv")
    assert ours.index.equals(frame.index)
    assert (cli.iloc[:, 0].to_numpy() == frame["encounter_id"].to_numpy()).all()
    assert_same_as_cli(ours, cli)
    assert set(np.flatnonzero(ours["error"].notna())) == {5, 17, 40}
    assert ours["risk"].notna().sum() > 2900


# -- (b) rows are independent ------------------------------------------------------------------

def test_row_alone_equals_row_in_batch(client, sample_csv):
    frame = readmit.read_csv(sample_csv).iloc[:800].copy()
    frame.loc[frame.index[7], "time_in_hospital"] = "three"
    frame.loc[frame.index[11], "gender"] = "female"
    full = client.score_records(frame, warn=False)
    rng = np.random.default_rng(20261202)
    picks = sorted(set(rng.choice(len(frame), 30, replace=False)) | {7, 11})
    for i in picks:
        one = client.score_records(frame.iloc[[i]], warn=False)
        assert one.index[0] == frame.index[i]
        assert bits(one["risk"]) == bits(full["risk"].iloc[[i]])
        assert bits(one["atypicality"]) == bits(full["atypicality"].iloc[[i]])
        assert one["error"].iloc[0] == full["error"].iloc[i]
        assert one["warnings"].iloc[0] == full["warnings"].iloc[i]
    perm = rng.permutation(len(frame))
    shuffled = client.score_records(frame.iloc[perm], warn=False)
    assert shuffled.index.equals(frame.index[perm])
    assert bits(shuffled["risk"]) == bits(full["risk"].iloc[perm])
    assert bits(shuffled["atypicality"]) == bits(full["atypicality"].iloc[perm])
    assert shuffled["error"].tolist() == full["error"].iloc[perm].tolist()
    assert shuffled.loc[frame.index[7], "error"].startswith("time_in_hospital:")


def test_column_dtypes_send_the_same_texts(client, sample_csv):
    """pandas' string dtype, object columns and categoricals (text or integer categories) take
    different paths to the wire; the same texts give the same results, to the bit."""
    frame = pd.read_csv(sample_csv, dtype=str, keep_default_na=False).iloc[:400].copy()
    frame.loc[3, "gender"] = None  # missing in every dtype below
    frame.loc[9, "race"] = None
    frame.loc[5, "num_medications"] = None  # a missing value in an integer category column too
    as_str = frame.astype("str")
    as_object = frame.astype(object)
    as_category = frame.astype("category")
    ids = pd.to_numeric(frame["encounter_id"])
    numeric_ids = as_category.copy()
    numeric_ids["encounter_id"] = ids.astype("category")  # int64 categories: sent as numbers
    for name in frame.columns:  # every all-integer column (text fields among them) as int categories
        values = frame[name].dropna()
        if len(values) and values.str.fullmatch(r"-?[0-9]+").all():
            numeric_ids[name] = pd.to_numeric(frame[name]).astype("Int64").astype("category")
    assert isinstance(numeric_ids["admission_type_id"].dtype, pd.CategoricalDtype)
    assert pd.api.types.is_integer_dtype(numeric_ids["admission_type_id"].cat.categories.dtype)
    assert numeric_ids["num_medications"].cat.codes[5] == -1
    assert isinstance(as_str["gender"].dtype, pd.StringDtype) and as_str["gender"].isna().sum() == 1
    # Integer categories go as the texts of the integers with the codes when they are few, as
    # numbers past 65,535 categories or 1e15 in magnitude (an id column): both routes, and the
    # explanations' raw values, read the same.
    many = numeric_ids.copy()
    many["encounter_id"] = many["encounter_id"].cat.add_categories(range(10**9, 10**9 + 70_000))
    many["num_medications"] = many["num_medications"].cat.add_categories([10**15])
    want = client.score_records(as_object, k=3, warn=False)
    for variant in (as_str, as_category, numeric_ids, many):
        got = client.score_records(variant, k=3, warn=False)
        assert bits(got["risk"]) == bits(want["risk"])
        assert bits(got["atypicality"]) == bits(want["atypicality"])
        assert got["error"].tolist() == want["error"].tolist()
        assert got["warnings"].tolist() == want["warnings"].tolist()
        assert got["explanation"].tolist() == want["explanation"].tolist()


def test_arrow_string_columns_send_the_same_texts(client, sample_csv):
    """Texts held in Arrow memory go to the library as buffers and offsets
    (readmit_records_set_text_buffer): large and small offsets, a slice (an Arrow offset into
    the buffers), several chunks, nulls, non-ASCII texts; pandas' Python-held strings go
    through factorize. Every one gives the object columns' results, to the bit."""
    pa = pytest.importorskip("pyarrow")
    frame = pd.read_csv(sample_csv, dtype=str, keep_default_na=False).iloc[:300].astype(object)
    frame.loc[3, "gender"] = None
    frame.loc[9, "race"] = None
    frame.loc[11, "payer_code"] = "caf\u00e9 \U0001F600"  # an unknown level: a warning, the same in each
    want = client.score_records(frame, warn=False)
    large = frame.astype(pd.ArrowDtype(pa.large_string()))
    small = frame.astype(pd.ArrowDtype(pa.string()))  # int32 offsets, widened
    chunked = pd.concat([large.iloc[:120], large.iloc[120:]])
    assert chunked["race"].array.__arrow_array__().num_chunks == 2
    variants = {"large": (large, want), "small": (small, want), "chunked": (chunked, want),
                "python": (frame.astype("string[python]"), want),
                "slice": (large.iloc[7:], want.iloc[7:])}  # its buffers start 7 rows in
    for name, (variant, expected) in variants.items():
        got = client.score_records(variant, warn=False)
        assert bits(got["risk"]) == bits(expected["risk"]), name
        assert bits(got["atypicality"]) == bits(expected["atypicality"]), name
        assert got["error"].tolist() == expected["error"].tolist(), name
        assert got["warnings"].tolist() == expected["warnings"].tolist(), name
    assert any("caf" in str(w) for w in want["warnings"][11]), "the unknown level was sent"


def test_a_nul_in_a_text_is_an_error_naming_the_field(client, sample_csv):
    pa = pytest.importorskip("pyarrow")
    frame = pd.read_csv(sample_csv, dtype=str, keep_default_na=False).iloc[:20].astype(object)
    frame.loc[4, "race"] = "Cauca\0sian"
    arrow = frame.astype(pd.ArrowDtype(pa.large_string()))
    chunked = pd.concat([arrow.iloc[:3], arrow.iloc[3:]])  # the NUL in the second chunk
    assert chunked["race"].array.__arrow_array__().num_chunks == 2
    for variant in (frame, arrow, chunked, frame.astype({"race": "category"})):
        with pytest.raises(readmit.InvalidArgumentError, match="race") as info:
            client.score_records(variant, warn=False)
        # Each path names the same row and field, in the message and as attributes (the
        # dictionary path named neither row: the library's Arrow path did, in its message).
        assert info.value.field == "race"
        assert info.value.row == 4
        assert str(info.value).startswith("field 'race', row 4: text holds a NUL byte"), str(info.value)


def test_a_lone_surrogate_is_an_error_naming_the_row_and_field(client, sample_csv):
    # A str with a lone surrogate (from decoding with errors="surrogateescape") has no UTF-8.
    frame = pd.read_csv(sample_csv, dtype=str, keep_default_na=False).iloc[:20].astype(object)
    frame.loc[6, "race"] = b"Cauca\xffsian".decode("utf-8", "surrogateescape")
    with pytest.raises(readmit.InvalidArgumentError) as info:
        client.score_records(frame, warn=False)
    assert (info.value.row, info.value.field) == (6, "race")
    assert str(info.value).startswith("field 'race', row 6: text is not valid UTF-8"), str(info.value)


def test_bytes_are_read_as_utf8_texts(client, sample_csv):
    # A NumPy "S" column (h5py, some database drivers) holds bytes: str(b"x") is "b'x'", which
    # was sent as an unknown level (race) or a non-number (time_in_hospital).
    frame = pd.read_csv(sample_csv, dtype=str, keep_default_na=False).iloc[:20].astype(object)
    want = client.score_records(frame, warn=False)
    as_bytes = frame.copy()
    as_bytes["race"] = np.array([t.encode() for t in frame["race"]])  # dtype S
    as_bytes["time_in_hospital"] = [t.encode() for t in frame["time_in_hospital"]]
    as_bytes["gender"] = pd.Categorical([t.encode() for t in frame["gender"]])
    got = client.score_records(as_bytes, warn=False)
    assert got["risk"].tolist() == want["risk"].tolist()
    assert got["warnings"].tolist() == want["warnings"].tolist()
    as_bytes.loc[3, "race"] = b"Cauca\xffsian"
    with pytest.raises(readmit.InvalidArgumentError) as info:
        client.score_records(as_bytes, warn=False)
    assert (info.value.row, info.value.field) == (3, "race")
    assert str(info.value).startswith("field 'race', row 3: bytes are not valid UTF-8"), str(info.value)


# -- (c) dirty data ----------------------------------------------------------------------------

def test_clean_frame_has_no_warning(client, clean):
    out = client.score_records(clean, warn="error")
    assert list(out.columns) == ["risk", "atypicality", "tier", "error", "warnings"]
    assert out.index.equals(clean.index)
    assert out["error"].isna().all() and (out["warnings"].map(len) == 0).all()
    assert ((out["risk"] > 0) & (out["risk"] < 1)).all()
    assert out.attrs["request_messages"] == []
    names = [t["name"] for t in client.info()["tiers"]]
    assert list(out["tier"].cat.categories) == names


def test_columns_the_model_does_not_read(client, clean):
    # An id column and a column of any type that RECORDS does not read: the binding sends them
    # without their values (INFO's raw_fields are what it reads); the daemon still warns about
    # the one that is not an id, and every risk is the one of the frame without them.
    extra = clean.assign(encounter_id=[f"e{i:09d}" for i in range(len(clean))], weight=[[i] for i in range(len(clean))])
    with pytest.warns(readmit.ReadmitDataWarning, match="'weight' is not read by this model"):
        out = client.score_records(extra)
    unused = [m for m in out.attrs["request_messages"] if m["code"] == "unused_field"]
    assert [(m["field"], m["row"], m["severity"]) for m in unused] == [("weight", None, "warning")]
    assert (out["warnings"].map(len) == 0).all()
    assert bits(out["risk"]) == bits(client.score_records(clean, warn="error")["risk"])


def test_text_in_number_field_is_a_row_error(client, clean):
    base = client.score_records(clean)
    dirty = clean.copy()
    dirty.iloc[3, dirty.columns.get_loc("time_in_hospital")] = "three"
    out = client.score_records(dirty)  # an error, not a warning: nothing is emitted
    assert out["error"].iloc[3].startswith("time_in_hospital:") and "three" in out["error"].iloc[3]
    assert np.isnan(out["risk"].iloc[3]) and np.isnan(out["atypicality"].iloc[3]) and pd.isna(out["tier"].iloc[3])
    others = [i for i in range(len(clean)) if i != 3]
    assert bits(out["risk"].iloc[others]) == bits(base["risk"].iloc[others])
    assert out["error"].iloc[others].isna().all()
    # bad_values="missing": read as missing, with a warning that names the field and row.
    missing = dirty.copy()
    missing.iloc[3, missing.columns.get_loc("time_in_hospital")] = None
    with pytest.raises(readmit.DataWarningError) as e:
        client.score_records(dirty, bad_values="missing", warn="error")
    assert (e.value.row, e.value.field, e.value.kind) == (3, "time_in_hospital", "bad_number")
    relaxed = client.score_records(dirty, bad_values="missing", warn=False)
    assert relaxed["error"].isna().all()
    assert bits(relaxed["risk"]) == bits(client.score_records(missing)["risk"])


def test_stays_out_of_the_cohort_are_not_scored(client, clean):
    """A stay the spec's cohort excludes (died, hospice) gets an `excluded` error under every
    option, no warning, no score; the other rows are unchanged; score() raises for it."""
    base = client.score_records(clean)
    dirty = clean.copy()
    dirty.iloc[2, dirty.columns.get_loc("discharge_disposition_id")] = "11"  # expired
    dirty.iloc[5, dirty.columns.get_loc("discharge_disposition_id")] = "14"  # hospice
    for bad_values in ("error", "missing"):
        out = client.score_records(dirty, bad_values=bad_values, warn="error")  # errors are not warnings
        assert out["error"].notna().tolist() == [i in (2, 5) for i in range(len(dirty))]
        assert out["error"].iloc[2].startswith("discharge_disposition_id: '11' (died in hospital)")
        assert "hospice" in out["error"].iloc[5]
        assert [m["code"] for m in out.attrs["messages"]] == ["excluded", "excluded"]
        assert out["warnings"].iloc[2] == () and np.isnan(out["risk"].iloc[[2, 5]]).all()
        others = [i for i in range(len(dirty)) if i not in (2, 5)]
        assert bits(out["risk"].iloc[others]) == bits(base["risk"].iloc[others])
    with pytest.raises(readmit.EncodingError) as e:
        client.score(dirty)
    assert (e.value.row, e.value.field) == (2, "discharge_disposition_id")


def test_unknown_level_is_missing_with_a_warning(client, clean):
    dirty = clean.copy()
    dirty.iloc[2, dirty.columns.get_loc("gender")] = "female"
    missing = clean.copy()
    missing.iloc[2, missing.columns.get_loc("gender")] = None
    with pytest.warns(readmit.ReadmitDataWarning, match=r"row 2, field 'gender'"):
        out = client.score_records(dirty)
    assert out["error"].isna().all()
    assert len(out["warnings"].iloc[2]) == 1 and out["warnings"].iloc[2][0].startswith("gender:")
    assert "Female" in out["warnings"].iloc[2][0]
    assert bits(out["risk"]) == bits(client.score_records(missing)["risk"])
    # warn="error": a typed exception with the row and field of the first warning.
    with pytest.raises(readmit.DataWarningError) as e:
        client.score_records(dirty, warn="error")
    assert isinstance(e.value, ValueError)
    assert (e.value.row, e.value.field, e.value.kind) == (2, "gender", "unknown_level")
    assert len(e.value.messages) == 1
    # warn=False: silent.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client.score_records(dirty, warn=False)


def test_warning_points_at_the_caller(client, clean):
    dirty = clean.copy()
    dirty["gender"] = "female"
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1
        client.score_records(dirty)
    assert len(w) == 1, [str(x.message) for x in w]
    assert issubclass(w[0].category, readmit.ReadmitDataWarning) and issubclass(w[0].category, UserWarning)
    assert w[0].filename == __file__ and w[0].lineno == line
    text = str(w[0].message)
    assert text.startswith(f"{len(dirty)} warnings") and "row 0, field 'gender'" in text and "and " in text


def test_absent_required_field(client, clean):
    without = clean.drop(columns=["age"])
    with pytest.raises(ValueError) as e:
        client.score_records(without)
    assert isinstance(e.value, readmit.InvalidFeatureError) and e.value.field == "age"
    assert e.value.status == 14  # BAD_ARGUMENT
    with pytest.warns(readmit.ReadmitDataWarning, match="age"):
        out = client.score_records(without, missing_fields="missing")
    assert [m["code"] for m in out.attrs["request_messages"]] == ["missing_field"]
    assert out.attrs["request_messages"][0]["field"] == "age"
    with_none = clean.copy()
    with_none["age"] = None
    assert bits(out["risk"]) == bits(client.score_records(with_none)["risk"])
    with pytest.raises(readmit.DataWarningError) as e:
        client.score_records(without, missing_fields="missing", warn="error")
    assert e.value.row is None and e.value.field == "age" and e.value.kind == "missing_field"
    # A frame of feature vectors (as `readmit encode` writes them) is read as raw records; the
    # message says so, instead of naming only a raw field the frame was never meant to hold.
    features = pd.DataFrame(np.zeros((2, client.n_features)), columns=client.feature_names)
    with pytest.raises(readmit.InvalidFeatureError, match=r"the columns of data are the model's feature names") as e:
        client.score(features)
    assert e.value.field is not None and str(e.value) == e.value.message
    assert len(client.score(features[client.feature_names].to_numpy())) == 2
    with pytest.raises(readmit.InvalidFeatureError) as e:
        client.score_records(without)
    assert "feature names" not in str(e.value)


def test_python_bools_in_a_number_field(client, clean):
    dirty = clean.copy()
    flags = [i % 3 == 0 for i in range(len(dirty))]
    dirty["num_medications"] = flags  # a bool column: sent as the texts "True" / "False"
    out = client.score_records(dirty)
    assert out["error"].notna().all()
    assert all(e.startswith("num_medications:") for e in out["error"])
    assert np.isnan(out["risk"]).all()
    # Mixed in an object column, only the bool rows are refused.
    mixed = clean.copy()
    values = mixed["num_medications"].astype(object).to_numpy().copy()
    values[[1, 4]] = [True, False]
    mixed["num_medications"] = values
    out = client.score_records(mixed)
    assert list(np.flatnonzero(out["error"].notna())) == [1, 4]
    with pytest.raises(readmit.DataWarningError) as e:
        client.score_records(mixed, bad_values="missing", warn="error")
    assert (e.value.row, e.value.field, e.value.kind) == (1, "num_medications", "bad_number")


def test_numbers_are_sent_as_numbers(client, clean):
    base = client.score_records(clean)
    numeric = clean.copy()
    numeric_fields = [f["name"] for f in client.raw_fields() if f["type"] == "number" and not f["history"]]
    for name in numeric_fields:
        numeric[name] = pd.to_numeric(numeric[name], errors="coerce")
    numeric.iloc[0, numeric.columns.get_loc("num_lab_procedures")] = np.nan
    numeric["num_procedures"] = numeric["num_procedures"].astype("Int64")
    numeric.iloc[1, numeric.columns.get_loc("num_procedures")] = pd.NA
    texts = clean.copy()
    texts.iloc[0, texts.columns.get_loc("num_lab_procedures")] = "?"
    texts.iloc[1, texts.columns.get_loc("num_procedures")] = None
    assert bits(client.score_records(numeric)["risk"]) == bits(client.score_records(texts)["risk"])
    assert bits(client.score_records(numeric.iloc[2:])["risk"]) == bits(base["risk"].iloc[2:])


def test_infinite_number(client, clean):
    dirty = clean.copy()
    dirty["num_lab_procedures"] = pd.to_numeric(dirty["num_lab_procedures"]).astype(float)
    dirty.iloc[2, dirty.columns.get_loc("num_lab_procedures")] = np.inf
    out = client.score_records(dirty)
    assert list(np.flatnonzero(out["error"].notna())) == [2]
    assert out["error"].iloc[2].startswith("num_lab_procedures:")
    with pytest.raises(readmit.DataWarningError) as e:
        client.score_records(dirty, bad_values="missing", warn="error")
    assert (e.value.row, e.value.field, e.value.kind) == (2, "num_lab_procedures", "not_finite")


def test_one_encounter_as_dict_or_series(client, clean):
    base = client.score_records(clean)
    row = clean.iloc[4]
    from_dict = client.score_records(row.to_dict())
    assert len(from_dict) == 1 and list(from_dict.index) == [0]
    assert bits(from_dict["risk"]) == bits(base["risk"].iloc[[4]])
    from_series = client.score_records(row)
    assert list(from_series.index) == [clean.index[4]]
    assert bits(from_series["risk"]) == bits(base["risk"].iloc[[4]])
    columns = {name: clean[name].tolist() for name in clean.columns}
    from_columns = client.score_records(columns)
    assert from_columns.index.equals(pd.RangeIndex(len(clean)))
    assert bits(from_columns["risk"]) == bits(base["risk"])
    # A bool scalar in a number field: the same bad_number as in a column.
    bad = dict(row.to_dict(), time_in_hospital=True)
    assert client.score_records(bad)["error"].iloc[0].startswith("time_in_hospital:")
    with pytest.raises(readmit.InvalidArgumentError):
        client.score_records({"age": ["[50-60)"], "gender": "Male"})


def test_explanations(client, clean):
    out = client.score_records(clean.iloc[:3], k=4)
    assert list(out.columns) == ["risk", "atypicality", "tier", "error", "warnings", "explanation"]
    features = set(client.feature_names)
    for entries in out["explanation"]:
        assert 0 < len(entries) <= 4
        contributions = [c for _, c, _ in entries]
        assert all(f in features for f, _, _ in entries)
        assert contributions == sorted(contributions, key=abs, reverse=True)
        assert all(v is None or isinstance(v, str) for _, _, v in entries)
    dirty = clean.iloc[:3].copy()
    dirty.iloc[1, dirty.columns.get_loc("time_in_hospital")] = "three"
    assert client.score_records(dirty, k=4)["explanation"].iloc[1] == []


def test_bad_arguments(client, clean):
    for kwargs in ({"k": -1}, {"k": 1.5}, {"bad_values": "drop"}, {"missing_fields": "ignore"}, {"warn": "always"}):
        with pytest.raises(readmit.InvalidArgumentError):
            client.score_records(clean, **kwargs)
    with pytest.raises(readmit.InvalidArgumentError):
        client.score_records([[1, 2, 3]])
    two_level = clean.copy()
    two_level.columns = pd.MultiIndex.from_tuples([("encounter", c) for c in clean.columns])
    with pytest.raises(readmit.InvalidArgumentError, match="MultiIndex") as raised:
        client.score_records(two_level)
    assert raised.value.field == str(("encounter", clean.columns[0]))
    flat = two_level.copy()
    flat.columns = flat.columns.get_level_values(-1)
    assert client.score_records(flat)["risk"].tolist() == client.score_records(clean)["risk"].tolist()
    with pytest.raises(readmit.InvalidArgumentError, match="MultiIndex"):
        client.score_records({("encounter", c): clean[c].tolist() for c in clean.columns})
    empty = client.score_records(clean.iloc[:0])
    assert len(empty) == 0 and list(empty.columns) == ["risk", "atypicality", "tier", "error", "warnings"]


# -- (d) the MIMIC-IV demo ---------------------------------------------------------------------

def _mimic_data_dir() -> Path:
    for d in (ROOT / "data/mimic-iv-demo", ROOT.parent / "shared/data/mimic-iv-demo"):
        if (d / "hosp").is_dir():
            return d
    pytest.skip("the MIMIC-IV demo data is not in data/mimic-iv-demo/ nor ../shared/data/mimic-iv-demo/")


@needs_records_cli
def test_mimic_demo_equals_readmit_score_records(tmp_path):
    data_dir = _mimic_data_dir()
    run_cli("train", "--dataset", str(ROOT / "data/mimic-iv-demo/dataset.yaml"), "--data-dir", str(data_dir),
            "--quick", "--no-report", "--out", str(tmp_path / "model"))
    model = tmp_path / "model" / "model.readmit"
    flat = tmp_path / "flat.csv"
    run_cli("history", "--model", str(model), "--data-dir", str(data_dir), "--out", str(flat))
    cli = cli_score_records(model, flat, tmp_path / "out.csv")
    frame = pd.read_csv(flat, dtype=str, keep_default_na=False)
    # A daemon on the fixture (Diabetes 130) model, reloaded with the MIMIC-IV one by another
    # client after this client read INFO: the binding sends the columns INFO says the model
    # does not read without their values, so the reply from the reloaded model must make it
    # send the request again, in full (none of MIMIC's fields are Diabetes 130's).
    daemon = Daemon(0, "--allow-reload-path")
    try:
        with readmit.Client(daemon.endpoint, timeout_ms=20000, retries=0) as c:
            stale = {f["name"] for f in c.info()["raw_fields"]}
            with readmit.Client(daemon.endpoint, timeout_ms=20000, retries=0) as admin:
                admin.reload(str(model))
            assert set(frame.columns) - stale, "the test needs columns the first model does not read"
            ours = c.score_records(frame, warn=False)
            assert any(f["type"] == "timestamp" for f in c.raw_fields())
            assert c.score_records(frame, warn=False).equals(ours)  # INFO of the new model cached
            # Date-times as pandas holds them, naive or zone-aware (str() added '+00:00' to the
            # latter: a bad timestamp on every row), score as their texts do, as in R.
            for zone in (None, "UTC", "America/New_York"):
                timed = frame.copy()
                for column in ("admittime", "dischtime"):
                    times = pd.to_datetime(frame[column])
                    timed[column] = times if zone is None else times.dt.tz_localize(zone, ambiguous="NaT",
                                                                                   nonexistent="NaT")
                kept = timed["admittime"].notna() & timed["dischtime"].notna()
                got = c.score_records(timed[kept], warn=False)
                assert got.equals(ours[kept.to_numpy()]), zone
    finally:
        daemon.stop()
    assert len(frame) > 100
    assert_same_as_cli(ours, cli)


def test_a_kept_batch_scores_as_a_new_one(client, daemon, sample_csv):
    """A client reuses its last raw-records batch (emptied) for a call of as many rows: fields
    of the last call are gone, another row count takes a new batch, a failed call leaves it
    reusable. Every result equals a fresh client's, to the bit."""
    frame = pd.read_csv(sample_csv, dtype=str, keep_default_na=False).iloc[:60].copy()
    fewer = frame.drop(columns=["race", "num_medications"])  # fields of the last call left out
    other_rows = frame.iloc[:25]
    bad = frame.copy()
    bad.loc[2, "race"] = "Cauca\0sian"  # fails setting its columns, before anything is sent

    def fresh(data, **kw):
        with readmit.Client(daemon.endpoint) as c:
            return c.score_records(data, warn=False, **kw)

    for data, kw in [(frame, {}), (fewer, {"missing_fields": "missing"}), (other_rows, {}), (frame, {}),
                     (bad, {}), (frame, {}), (fewer, {"missing_fields": "missing"})]:
        if data is bad:
            with pytest.raises(readmit.InvalidArgumentError):
                client.score_records(data, warn=False)
            continue
        got, want = client.score_records(data, warn=False, **kw), fresh(data, **kw)
        assert bits(got["risk"]) == bits(want["risk"])
        assert got["error"].tolist() == want["error"].tolist()
        assert got["warnings"].tolist() == want["warnings"].tolist()
        assert got.attrs["request_messages"] == want.attrs["request_messages"]
    with pytest.raises(readmit.InvalidFeatureError) as e:  # the kept batch holds no field of earlier calls
        client.score_records(fewer, warn=False)
    assert e.value.field in ("race", "num_medications")


def test_a_large_frame_filled_in_two_parts_equals_one_pass(client, sample_csv, monkeypatch):
    """From 16,384 rows a frame's columns are set on two threads, each part in its own batch,
    joined by readmit_records_move: the results, every message and the messages' order are
    those of one pass, and a bad value raises the error the columns in order meet first."""
    import readmit.client as rc

    base = pd.read_csv(sample_csv, dtype=str, keep_default_na=False)
    frame = pd.concat([base] * (17_000 // len(base) + 1), ignore_index=True).iloc[:17_000].astype(object)
    frame["ward"] = "B"  # a column the model does not read: a request-level warning
    frame.loc[5, "race"] = "Martian"  # an unknown level: a row warning
    frame.loc[7, "time_in_hospital"] = "three"  # a row error
    frame["gender"] = frame["gender"].astype("category")
    moves = []

    class Spy:
        def __getattr__(self, name):
            fn = getattr(rc._native.LIB, name)
            if name != "readmit_records_move":
                return fn
            return lambda into, part: moves.append(1) or fn(into, part)

    monkeypatch.setattr(rc, "LIB", Spy())
    two = client.score_records(frame, k=2, warn=False)
    assert moves, "the frame was filled in two parts"
    monkeypatch.setattr(rc, "_PARALLEL_FILL_ROWS", 10**9)
    one = client.score_records(frame, k=2, warn=False)
    assert len(moves) == 1, "and then in one"
    assert bits(two["risk"]) == bits(one["risk"])
    assert bits(two["atypicality"]) == bits(one["atypicality"])
    for column in ("tier", "error", "warnings", "explanation"):
        assert two[column].tolist() == one[column].tolist(), column
    assert two.attrs["messages"] == one.attrs["messages"]
    assert [m["field"] for m in two.attrs["request_messages"]] == [m["field"] for m in one.attrs["request_messages"]]
    assert any(m["field"] == "ward" for m in two.attrs["request_messages"])
    monkeypatch.setattr(rc, "_PARALLEL_FILL_ROWS", 16_384)
    # A text with no UTF-8 in the second part alone, then in both: the first in column order.
    bad = b"x\xffy".decode("utf-8", "surrogateescape")
    late, early = frame.columns[-3], "race"  # a field of the second part, and one of the first
    for cells, first in (([late], late), ([late, early], early)):
        broken = frame.copy()
        for name in cells:
            broken[name] = broken[name].astype(object)
            broken.loc[11, name] = bad
        with pytest.raises(readmit.InvalidArgumentError) as info:
            client.score_records(broken, warn=False)
        assert (info.value.row, info.value.field) == (11, first), str(info.value)
    assert len(moves) == 1, "a part that fails is never joined"
    # The client still scores in two parts after the errors, from its kept batches.
    again = client.score_records(frame, k=2, warn=False)
    assert len(moves) == 2
    assert bits(again["risk"]) == bits(one["risk"])


def _malloc_in_use():
    """Bytes glibc's malloc has handed out (heap and mapped chunks), or None elsewhere."""
    import ctypes

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = MallInfo2
    info = mallinfo2()
    return info.uordblks + info.hblkhd


def test_frames_scored_one_after_another_keep_the_same_memory(client, sample_csv):
    """A large frame is filled in two batches that the client keeps from call to call: the
    memory in use does not grow with the calls. Before libreadmit 0.12.1 every call of
    100,000 rows of read_csv's dtypes kept about 13 MB more (the joined batch kept every buffer,
    the other took new ones)."""
    import gc

    if _malloc_in_use() is None:
        pytest.skip("mallinfo2 (glibc 2.33) is not available")
    base = pd.read_csv(sample_csv, keep_default_na=False)
    frame = pd.concat([base] * (20_000 // len(base) + 1), ignore_index=True).iloc[:20_000]
    for _ in range(3):  # the kept batches and the allocator's caches reach their size
        client.score_records(frame, warn=False)
    gc.collect()
    before = _malloc_in_use()
    for _ in range(20):
        client.score_records(frame, warn=False)
    gc.collect()
    grown = _malloc_in_use() - before
    # One call's batches hold about 20,000 x 58 x 8 bytes (9 MB); the leak was half a batch a call.
    assert grown < 4_000_000, f"the memory in use grew by {grown} bytes over 20 calls"
