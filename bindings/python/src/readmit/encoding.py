"""Turns raw rows of the training CSV (a pandas DataFrame) into the daemon's feature matrix.

The rules are those of ``docs/FEATURES.md`` and of ``readmit score``, driven by the feature
schema the daemon returns in INFO (each feature's ``source`` column, ``transform`` and
``levels``), so the matrix is exactly the one the CLI would build from the same rows. Everything
is vectorised with pandas/numpy.
"""
from __future__ import annotations

import re
import warnings
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from .errors import EncodingError, InvalidArgumentError, ReadmitEncodingWarning

#: Text that means "missing" in the CSV.
MISSING_TEXT = ("", "?")

#: ICD-9 chapter levels in order (docs/FEATURES.md); "other" is the fallback.
ICD9_CHAPTERS = ["circulatory", "respiratory", "digestive", "diabetes", "injury", "musculoskeletal",
                 "genitourinary", "neoplasms", "other"]

#: History features and the raw columns they are derived from.
HISTORY_COLUMNS = ("patient_nbr", "encounter_id")


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _one_text(v: Any) -> Optional[str]:
    """One CSV value as text: integer codes as "6" (also when pandas read them as 6.0);
    None for NaN/None."""
    if v is None or (isinstance(v, (float, np.floating)) and np.isnan(v)):
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _factorize(series: pd.Series):
    """(codes, texts): each row's index into `texts` (the distinct values as text), -1 where
    NaN/None. Work is then done once per distinct value, which keeps 100,000 rows fast."""
    if isinstance(series.dtype, pd.CategoricalDtype):  # already factorized (e.g. read with dtype="category")
        return series.cat.codes.to_numpy(dtype=np.int64), [_one_text(u) for u in series.cat.categories]
    codes, uniques = pd.factorize(series.to_numpy(dtype=object) if series.dtype == object else series.to_numpy(),
                                  use_na_sentinel=True)
    return codes.astype(np.int64), [_one_text(u) for u in uniques]


def _take(codes: np.ndarray, per_unique: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """per_unique[codes], with `fill` where the code is -1."""
    table = np.append(np.asarray(per_unique, dtype=float), fill)
    return table[codes]  # code -1 picks the appended fill


def _text(series: pd.Series) -> pd.Series:
    """The column as text (see _one_text), NaN/None kept as None."""
    codes, texts = _factorize(series)
    table = np.array(texts + [None], dtype=object)
    return pd.Series(table[codes], index=series.index)


def _missing_per_unique(texts: List[Optional[str]]) -> np.ndarray:
    return np.array([t is None or t in MISSING_TEXT for t in texts], dtype=bool)


def _count(codes: np.ndarray, per_unique_flag: np.ndarray, count_na: bool) -> int:
    n = int(np.bincount(codes[codes >= 0], minlength=len(per_unique_flag))[per_unique_flag].sum()) if len(
        per_unique_flag) else 0
    return n + (int((codes < 0).sum()) if count_na else 0)


def _numbers(series: pd.Series, column: str) -> np.ndarray:
    """The `number` transform: '?' or empty is NaN; anything else must be a finite number."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
    else:
        codes, texts = _factorize(series)
        parsed = np.full(len(texts), np.nan)
        for i, t in enumerate(texts):
            if t is None or t in MISSING_TEXT:
                continue
            if not _NUMBER.match(t):
                row = int(np.flatnonzero(codes == i)[0])
                count = int((codes == i).sum())
                raise EncodingError(f"column '{column}', row {row}: '{t}' is not a number"
                                    f" ({count} row(s) with this value)")
            parsed[i] = float(t)
        values = _take(codes, parsed)
    bad = np.isinf(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise EncodingError(f"column '{column}', row {i}: value {values[i]} is not finite")
    return values


def _integers(series: pd.Series, column: str) -> np.ndarray:
    """An ID column (encounter_id, patient_nbr) as int64; anything else is an EncodingError."""
    if pd.api.types.is_integer_dtype(series):
        return series.to_numpy(dtype=np.int64)
    if pd.api.types.is_float_dtype(series):
        v = series.to_numpy(dtype=float)
        bad = ~np.isfinite(v) | (np.floor(v) != v)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise EncodingError(f"column '{column}', row {i}: '{v[i]}' is not an integer")
        return v.astype(np.int64)
    try:
        return series.to_numpy(dtype=object).astype(np.int64)  # int() per value: exact, fast
    except (TypeError, ValueError, OverflowError):
        pass
    for i, v in enumerate(series.to_numpy(dtype=object)):
        t = _one_text(v)
        if t is None or not re.fullmatch(r"[+-]?\d+", t.strip() if isinstance(v, str) else t):
            raise EncodingError(f"column '{column}', row {i}: '{v}' is not an integer")
    return series.to_numpy(dtype=object).astype(np.int64)


def _icd9_chapter(code: str) -> int:
    """docs/FEATURES.md: the chapter index of an ICD-9 code (not missing)."""
    if code[0] in "VE":
        return 8
    if not _NUMBER.match(code):
        return 8
    c = int(np.floor(float(code)))
    if c == 250:
        return 3
    for lo, hi, extra, chapter in ((390, 459, 785, 0), (460, 519, 786, 1), (520, 579, 787, 2), (800, 999, None, 4),
                                   (710, 739, None, 5), (580, 629, 788, 6), (140, 239, None, 7)):
        if lo <= c <= hi or c == extra:
            return chapter
    return 8


def _history(frame: pd.DataFrame) -> Dict[str, np.ndarray]:
    """The `history` features, from earlier rows (lower encounter_id) of the same patient."""
    n = len(frame)
    names = ["prior_encounters", "prior_days_in_hospital", "prev_number_inpatient", "prev_time_in_hospital",
             "prev_discharged_home", "prior_readmitted_within_30"]
    if not all(c in frame.columns for c in HISTORY_COLUMNS):
        return {name: np.full(n, np.nan) for name in names}
    ids = {}
    for c in HISTORY_COLUMNS:
        ids[c] = _integers(frame[c], c)
    los = _numbers(frame["time_in_hospital"], "time_in_hospital")
    inpatient = _numbers(frame["number_inpatient"], "number_inpatient")
    home = (_text(frame["discharge_disposition_id"]) == "1").to_numpy(dtype=float)
    if "readmitted" in frame.columns:
        within30 = (_text(frame["readmitted"]) == "<30").to_numpy(dtype=float)
    else:
        within30 = None

    order = np.lexsort((ids["encounter_id"], ids["patient_nbr"]))  # stable: by patient, then encounter
    patient = ids["patient_nbr"][order]
    first = np.ones(n, dtype=bool)
    first[1:] = patient[1:] != patient[:-1]
    group_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    position = np.arange(n) - group_start

    def shifted(values: np.ndarray) -> np.ndarray:
        v = values[order]
        prev = np.empty(n)
        prev[0] = np.nan
        prev[1:] = v[:-1]
        prev[first] = np.nan
        return prev

    def before(values: np.ndarray) -> np.ndarray:
        """Sum over earlier rows of the same patient (exclusive cumulative sum)."""
        v = values[order]
        total = np.cumsum(v)
        exclusive = total - v
        return exclusive - exclusive[group_start]

    sorted_out = {
        "prior_encounters": position.astype(float),
        "prior_days_in_hospital": before(np.nan_to_num(los, nan=0.0)),
        "prev_number_inpatient": shifted(inpatient),
        "prev_time_in_hospital": shifted(los),
        "prev_discharged_home": shifted(home),
        "prior_readmitted_within_30": before(within30) if within30 is not None else np.full(n, np.nan),
    }
    out = {}
    for name, values in sorted_out.items():
        unsorted = np.empty(n)
        unsorted[order] = values
        out[name] = unsorted
    return out


class Encoder:
    """Encodes DataFrames for one feature schema (the ``features`` list of the INFO JSON)."""

    def __init__(self, features: List[Mapping[str, Any]]):
        self.features = list(features)
        #: Feature names in schema order (the matrix columns).
        self.names = [f["name"] for f in self.features]

    @property
    def n_features(self) -> int:
        return len(self.features)

    @staticmethod
    def _transform(feature: Mapping[str, Any]) -> str:
        t = feature.get("transform")
        if t:
            return t
        return "level" if feature.get("kind") == "categorical" else "number"

    def required_columns(self) -> List[str]:
        """The raw columns a DataFrame must have (history features need none: they are NaN
        without ``patient_nbr``/``encounter_id``)."""
        cols: List[str] = []
        for f in self.features:
            if self._transform(f) == "history":
                for c in ("time_in_hospital", "number_inpatient", "discharge_disposition_id"):
                    if c not in cols:
                        cols.append(c)
            elif f["source"] not in cols:
                cols.append(f["source"])
        return cols

    def check_matrix(self, data: Any) -> np.ndarray:
        """A 2-D float64 C-contiguous array with one column per feature, or InvalidArgumentError."""
        a = np.asarray(data)
        if a.ndim == 1 and a.shape[0] == self.n_features:
            a = a.reshape(1, -1)
        if a.ndim != 2 or a.shape[1] != self.n_features:
            raise InvalidArgumentError(
                f"feature matrix has shape {a.shape}; the model expects (n_rows, {self.n_features}) in schema order")
        if a.dtype != np.float64 or not a.flags.c_contiguous:
            try:
                a = np.ascontiguousarray(a, dtype=np.float64)
            except (TypeError, ValueError) as e:
                raise InvalidArgumentError(f"feature matrix cannot be converted to float64: {e}") from None
        return a

    def encode(self, frame: pd.DataFrame, warn: bool = True) -> np.ndarray:
        """The (len(frame), n_features) float64 matrix for the rows of ``frame``."""
        if not isinstance(frame, pd.DataFrame):
            return self.check_matrix(frame)
        missing_cols = [c for c in self.required_columns() if c not in frame.columns]
        if missing_cols:
            needed_by = {c: [f["name"] for f in self.features if f["source"] == c] for c in missing_cols}
            detail = ", ".join(f"'{c}' (for {', '.join(needed_by[c]) or 'history features'})" for c in missing_cols)
            raise EncodingError(f"the data frame lacks required column(s): {detail}")
        n = len(frame)
        out = np.empty((n, self.n_features), dtype=np.float64, order="C")
        history: Optional[Dict[str, np.ndarray]] = None
        missing_counts: Dict[str, int] = {}
        unseen_counts: Dict[str, int] = {}
        for j, f in enumerate(self.features):
            t, source = self._transform(f), f["source"]
            if t == "number":
                values = _numbers(frame[source], source)
                if np.isnan(values).any():
                    missing_counts[source] = int(np.isnan(values).sum())
                out[:, j] = values
            elif t in ("level", "level_or_other"):
                codes, texts = _factorize(frame[source])
                levels = list(f.get("levels") or [])
                lookup = {level: float(i) for i, level in enumerate(levels)}
                missing = _missing_per_unique(texts)
                per_unique = np.array([np.nan if m else lookup.get(text, np.nan) for text, m in zip(texts, missing)])
                unseen = ~missing & np.isnan(per_unique)
                if t == "level_or_other":
                    per_unique[unseen] = len(levels) - 1
                else:
                    n_unseen = _count(codes, unseen, count_na=False)
                    if n_unseen:
                        unseen_counts[source] = n_unseen
                n_missing = _count(codes, missing, count_na=True)
                if n_missing:
                    missing_counts[source] = n_missing
                out[:, j] = _take(codes, per_unique)
            elif t == "icd9_chapter":
                codes, texts = _factorize(frame[source])
                missing = _missing_per_unique(texts)
                per_unique = np.array([np.nan if m else _icd9_chapter(text) for text, m in zip(texts, missing)])
                n_missing = _count(codes, missing, count_na=True)
                if n_missing:
                    missing_counts[source] = n_missing
                out[:, j] = _take(codes, per_unique)
            elif t == "history":
                if history is None:
                    history = _history(frame)
                out[:, j] = history.get(source, np.full(n, np.nan))
            else:
                raise EncodingError(f"feature '{f['name']}' uses transform '{t}', which this client does not know; "
                                    "upgrade the readmit package")
        if warn and (missing_counts or unseen_counts):
            warnings.warn(_summary(missing_counts, unseen_counts), ReadmitEncodingWarning, stacklevel=3)
        return out


def _summary(missing: Dict[str, int], unseen: Dict[str, int]) -> str:
    parts = []
    if missing:
        top = sorted(missing.items(), key=lambda kv: -kv[1])[:5]
        parts.append(f"{sum(missing.values())} missing value(s) sent as NaN ("
                     + ", ".join(f"{c}: {k}" for c, k in top) + (", ..." if len(missing) > 5 else "") + ")")
    if unseen:
        top = sorted(unseen.items(), key=lambda kv: -kv[1])[:5]
        parts.append(f"{sum(unseen.values())} value(s) of levels never seen in training sent as NaN ("
                     + ", ".join(f"{c}: {k}" for c, k in top) + (", ..." if len(unseen) > 5 else "") + ")")
    return "readmit.encode: " + "; ".join(parts)
