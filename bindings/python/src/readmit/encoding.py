"""Turns raw rows of the training CSV (a pandas DataFrame) into the daemon's feature matrix.

The rules are those of ``docs/FEATURES.md`` and of ``readmit score``, driven by the feature
schema the daemon returns in INFO (each feature's ``source`` column, ``transform`` and
``levels``), so the matrix is exactly the one the CLI would build from the same rows. Everything
is vectorised with pandas/numpy.
"""
from __future__ import annotations

import functools
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


def _object_ids(values: np.ndarray) -> Optional[np.ndarray]:
    """The object pointers of a 1-D object array, viewed as integers (no copy), or None when
    numpy does not expose them. Only meaningful while ``values`` is alive."""
    try:
        return np.frombuffer(values, dtype=np.intp)
    except (TypeError, ValueError, BufferError):
        return None


class _Distinct:
    """A column reduced to its distinct values, so that per-value work (text conversion, level
    lookup, number parsing, ICD-9 chapters) is done once per value and then spread to the rows
    with one numpy take.

    Rows map to *groups* (``codes``; -1 for NaN/None), groups to distinct values (``groups``;
    -1 for NaN/None; None when every group is its own value) and values have ``texts`` (their
    CSV text, see :func:`_one_text`).
    """

    __slots__ = ("codes", "groups", "texts")

    def __init__(self, codes: np.ndarray, groups: Optional[np.ndarray], texts: List[Optional[str]]):
        self.codes = codes
        self.groups = groups
        self.texts = texts

    @classmethod
    def of(cls, series: pd.Series, positions: Optional[np.ndarray] = None) -> "_Distinct":
        """``positions``: ``np.arange(len(series))``, when the caller has it already."""
        if isinstance(series.dtype, pd.CategoricalDtype):  # already factorized (e.g. read with dtype="category")
            return cls(series.cat.codes.to_numpy(dtype=np.intp), None,
                       [_one_text(u) for u in series.cat.categories])
        values = series.to_numpy(dtype=object) if series.dtype == object else series.to_numpy()
        ids = _object_ids(values) if values.dtype == object and values.ndim == 1 else None
        if ids is None:
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            return cls(codes, None, [_one_text(u) for u in uniques])
        # Strings of a text column (object or the python-backed "str" dtype) are Python objects,
        # and pandas' CSV reader hands out one object per distinct field value: factorizing the
        # object pointers (an integer hash table) is ~7x faster than hashing 100,000 strings.
        # Equal values may still be different objects, so the few distinct objects are then
        # factorized by value exactly as before (NaN/None -> -1; first appearance decides).
        rows, distinct_ids = pd.factorize(ids)
        first = np.empty(len(distinct_ids), dtype=np.intp)
        first[rows] = np.arange(len(rows)) if positions is None else positions  # any row of a group: same object
        groups, uniques = pd.factorize(values[first], use_na_sentinel=True)
        return cls(rows, groups, [_one_text(u) for u in uniques])

    def spread(self, per_text: Sequence[float], fill: float = np.nan) -> np.ndarray:
        """Each row's value of ``per_text`` (one entry per text), ``fill`` for NaN/None."""
        table = np.append(np.asarray(per_text, dtype=float), fill)  # code -1 picks the appended fill
        if self.groups is not None:
            table = np.append(table[self.groups], fill)
        return table[self.codes]

    def count(self, per_text_flag: np.ndarray, count_na: bool) -> int:
        """The number of rows whose text is flagged (and of NaN/None rows when ``count_na``);
        touches the rows only when some value is flagged."""
        flag = np.append(np.asarray(per_text_flag, dtype=bool), count_na)
        if self.groups is not None:
            flag = np.append(flag[self.groups], count_na)
        return int(np.count_nonzero(flag[self.codes])) if flag.any() else 0

    def first_row(self, text_index: int) -> int:
        """The first row holding text number ``text_index``."""
        flag = np.zeros(len(self.texts), dtype=bool)
        flag[text_index] = True
        return int(np.flatnonzero(self.spread(flag, fill=0.0))[0])


def _missing_per_text(texts: List[Optional[str]]) -> np.ndarray:
    return np.array([t is None or t in MISSING_TEXT for t in texts], dtype=bool)


def _parse_numbers(distinct: _Distinct, column: str) -> np.ndarray:
    """The `number` transform of a text column: '?' or empty is NaN; anything else must be a
    number (parsed once per distinct text)."""
    parsed = np.full(len(distinct.texts), np.nan)
    for i, t in enumerate(distinct.texts):
        if t is None or t in MISSING_TEXT:
            continue
        if not _NUMBER.match(t):
            flag = np.zeros(len(distinct.texts), dtype=bool)
            flag[i] = True
            raise EncodingError(f"column '{column}', row {distinct.first_row(i)}: '{t}' is not a number"
                                f" ({distinct.count(flag, count_na=False)} row(s) with this value)")
        parsed[i] = float(t)
    return distinct.spread(parsed)


def _check_finite(values: np.ndarray, column: str) -> np.ndarray:
    bad = np.isinf(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise EncodingError(f"column '{column}', row {i}: value {values[i]} is not finite")
    return values


def _is_number_column(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


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


@functools.lru_cache(maxsize=1 << 16)
def _icd9_chapter(code: str) -> int:
    """docs/FEATURES.md: the chapter index of an ICD-9 code (not missing). Cached: a data set
    has a few thousand distinct codes, and every call would otherwise redo the parsing."""
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


class _Columns:
    """The raw columns of one DataFrame, each factorized or parsed at most once per
    :meth:`Encoder.encode` call (history features reuse the columns of the plain features)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self._distinct: Dict[str, _Distinct] = {}
        self._numbers: Dict[str, np.ndarray] = {}
        self._positions = np.arange(len(frame))

    def distinct(self, column: str) -> _Distinct:
        d = self._distinct.get(column)
        if d is None:
            d = self._distinct[column] = _Distinct.of(self.frame[column], self._positions)
        return d

    def numbers(self, column: str) -> np.ndarray:
        """The `number` transform: '?' or empty is NaN; anything else must be a finite number."""
        v = self._numbers.get(column)
        if v is None:
            series = self.frame[column]
            if _is_number_column(series):
                v = series.to_numpy(dtype=float, na_value=np.nan)
            else:
                v = _parse_numbers(self.distinct(column), column)
            v = self._numbers[column] = _check_finite(v, column)
        return v

    def equals(self, column: str, text: str) -> np.ndarray:
        """1.0 where the column's text is ``text``, else 0.0 (NaN/None included)."""
        d = self.distinct(column)
        return d.spread([1.0 if t == text else 0.0 for t in d.texts], fill=0.0)


def _history(columns: _Columns) -> Dict[str, np.ndarray]:
    """The `history` features, from earlier rows (lower encounter_id) of the same patient."""
    frame = columns.frame
    n = len(frame)
    names = ["prior_encounters", "prior_days_in_hospital", "prev_number_inpatient", "prev_time_in_hospital",
             "prev_discharged_home", "prior_readmitted_within_30"]
    if not all(c in frame.columns for c in HISTORY_COLUMNS):
        return {name: np.full(n, np.nan) for name in names}
    ids = {}
    for c in HISTORY_COLUMNS:
        ids[c] = _integers(frame[c], c)
    los = columns.numbers("time_in_hospital")
    inpatient = columns.numbers("number_inpatient")
    home = columns.equals("discharge_disposition_id", "1")
    within30 = columns.equals("readmitted", "<30") if "readmitted" in frame.columns else None
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
        columns = _Columns(frame)
        history: Optional[Dict[str, np.ndarray]] = None
        missing_counts: Dict[str, int] = {}
        unseen_counts: Dict[str, int] = {}
        for j, f in enumerate(self.features):
            t, source = self._transform(f), f["source"]
            if t == "number":
                values = columns.numbers(source)
                n_missing = int(np.count_nonzero(np.isnan(values)))
                if n_missing:
                    missing_counts[source] = n_missing
                out[:, j] = values
            elif t in ("level", "level_or_other"):
                d = columns.distinct(source)
                levels = list(f.get("levels") or [])
                lookup = {level: float(i) for i, level in enumerate(levels)}
                missing = _missing_per_text(d.texts)
                per_text = np.array([np.nan if m else lookup.get(text, np.nan) for text, m in zip(d.texts, missing)])
                unseen = ~missing & np.isnan(per_text)
                if t == "level_or_other":
                    per_text[unseen] = len(levels) - 1
                else:
                    n_unseen = d.count(unseen, count_na=False)
                    if n_unseen:
                        unseen_counts[source] = n_unseen
                n_missing = d.count(missing, count_na=True)
                if n_missing:
                    missing_counts[source] = n_missing
                out[:, j] = d.spread(per_text)
            elif t == "icd9_chapter":
                d = columns.distinct(source)
                missing = _missing_per_text(d.texts)
                per_text = np.array([np.nan if m else _icd9_chapter(text) for text, m in zip(d.texts, missing)])
                n_missing = d.count(missing, count_na=True)
                if n_missing:
                    missing_counts[source] = n_missing
                out[:, j] = d.spread(per_text)
            elif t == "history":
                if history is None:
                    history = _history(columns)
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
