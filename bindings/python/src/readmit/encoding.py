"""Turns raw rows of the training CSV (a pandas DataFrame) into the daemon's feature matrix.

The rules are those of ``docs/FEATURES.md`` and of ``readmit score``, driven by the feature
schema the daemon returns in INFO (each feature's ``source`` column, ``transform`` and
``levels``), so the matrix is exactly the one the CLI would build from the same rows.

How it stays fast (100,000 rows in tens of milliseconds): each raw column is reduced once to its
distinct values (factorized), the per-value work (text, level lookup, number parsing, ICD-9
chapter) is done once per distinct value in Python, and rows get their values through numpy
takes. Large frames use a small thread pool: pandas' integer hash tables and numpy's takes and
copies release the GIL, so columns are factorized, and the matrix filled, on all cores.
"""
from __future__ import annotations

import functools
import os
import re
import threading
import warnings
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, TypeVar

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


#: Frames with fewer rows are encoded in the calling thread: handing work to threads costs more
#: than it saves.
PARALLEL_MIN_ROWS = 20_000

#: Frames with this many rows or more keep their columns' codes in the smallest integer type
#: (see _compact).
COMPACT_CODES_MIN_ROWS = 1_000_000

#: Rows per block when the matrix is filled: 4,096 rows x ~50 features x 8 bytes stay in a core's
#: L2 cache, where writing column after column into the row-major matrix is cheap.
_BLOCK_ROWS = 4096

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
    numpy does not expose them (e.g. a non-contiguous view). Only meaningful while ``values`` is
    alive."""
    try:
        return np.frombuffer(values, dtype=np.intp)
    except (TypeError, ValueError, BufferError):
        return None


def _arrow_backed(dtype: Any) -> bool:
    """Whether a column's values live in Arrow memory (``string[pyarrow]``, ``str`` with
    pyarrow installed, ``pd.ArrowDtype``)."""
    arrow_dtype = getattr(pd, "ArrowDtype", None)
    return getattr(dtype, "storage", None) in ("pyarrow", "pyarrow_numpy") or (
        arrow_dtype is not None and isinstance(dtype, arrow_dtype))


def _compact(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """``codes`` (-1 .. n_codes-1) as they are, or in the smallest integer type for frames of
    COMPACT_CODES_MIN_ROWS rows or more: an encode call keeps the codes of every categorical
    column until the matrix is filled, and at 8 bytes a row each they would cost more memory
    than the matrix itself; takes with intp codes are ~20% faster, which is worth it below."""
    if len(codes) < COMPACT_CODES_MIN_ROWS:
        return codes
    for dtype in (np.int8, np.int16, np.int32):
        if n_codes <= np.iinfo(dtype).max:
            return codes.astype(dtype)
    return codes


class _Column:
    """One column of the matrix in compact form: ``values[codes]`` per row when ``codes`` is
    given (``values`` is then a small table, one entry per distinct raw value; code -1 picks its
    last entry), else ``values`` itself."""

    __slots__ = ("values", "codes")

    def __init__(self, values: np.ndarray, codes: Optional[np.ndarray] = None):
        self.values = values
        self.codes = codes

    def rows(self, start: int = 0, stop: Optional[int] = None) -> np.ndarray:
        """The values of rows ``start:stop`` (all rows by default)."""
        if self.codes is None:
            return self.values[start:stop]
        return self.values[self.codes[start:stop]]

    def count(self, flag: np.ndarray) -> int:
        """The number of rows whose entry of ``flag`` (aligned with ``values``) is set; touches
        the rows only when some entry is set."""
        if self.codes is None:
            return int(np.count_nonzero(flag))
        return int(np.count_nonzero(flag[self.codes])) if flag.any() else 0

    def first_row(self, flag: np.ndarray) -> int:
        """The first row whose entry of ``flag`` is set (one is)."""
        return int(np.flatnonzero(flag if self.codes is None else flag[self.codes])[0])


class _Distinct:
    """A column reduced to its distinct values.

    Rows map to *groups* (``codes``; -1 for NaN/None), groups to distinct values (``groups``;
    -1 for NaN/None; None when every group is its own value) and values have ``texts`` (their
    CSV text, see :func:`_one_text`).
    """

    __slots__ = ("codes", "groups", "texts")

    def __init__(self, codes: np.ndarray, groups: Optional[np.ndarray], texts: List[Optional[str]]):
        self.codes = _compact(codes, len(texts) if groups is None else len(groups))
        self.groups = groups
        self.texts = texts

    @classmethod
    def of(cls, series: pd.Series, positions: np.ndarray) -> "_Distinct":
        """``positions``: ``np.arange(len(series))``."""
        if isinstance(series.dtype, pd.CategoricalDtype):  # already factorized (e.g. read with dtype="category")
            return cls(series.cat.codes.to_numpy(dtype=np.intp), None,
                       [_one_text(u) for u in series.cat.categories])
        if _arrow_backed(series.dtype):
            # Arrow strings (pandas' default "str" when pyarrow is installed) factorize in
            # Arrow (dictionary_encode); to_numpy() would first make a Python str per row.
            codes, uniques = series.array.factorize(use_na_sentinel=True)
            return cls(np.asarray(codes, dtype=np.intp), None, [_one_text(u) for u in uniques])
        values = series.to_numpy(dtype=object) if series.dtype == object else series.to_numpy()
        ids = _object_ids(values) if values.dtype == object and values.ndim == 1 else None
        if ids is None:
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            return cls(codes, None, [_one_text(u) for u in uniques])
        # Strings of a text column (object or the python-backed "str" dtype) are Python objects,
        # and pandas' CSV reader hands out one object per distinct field value: factorizing the
        # object pointers (an integer hash table, which also runs without the GIL) is ~7x faster
        # than hashing 100,000 strings. Equal values may still be different objects, so the few
        # distinct objects are then factorized by value exactly as before (NaN/None -> -1; the
        # first appearance decides).
        rows, distinct_ids = pd.factorize(ids)
        first = np.empty(len(distinct_ids), dtype=np.intp)
        first[rows] = positions  # any row of a group holds the same object
        groups, uniques = pd.factorize(values[first], use_na_sentinel=True)
        return cls(rows, groups, [_one_text(u) for u in uniques])

    def column(self, per_text: Sequence[float], fill: float = np.nan) -> _Column:
        """The column whose rows take ``per_text`` of their text, ``fill`` where NaN/None."""
        table = np.append(np.asarray(per_text, dtype=float), fill)  # code -1 picks the appended fill
        if self.groups is not None:
            table = np.append(table[self.groups], fill)
        return _Column(table, self.codes)

    def flagged(self, per_text: np.ndarray, na: bool) -> Tuple[_Column, np.ndarray]:
        """A column of 0/1 flags (``per_text`` of each row's text; ``na`` where NaN/None) and
        which of its table entries are set, for :meth:`_Column.count` and
        :meth:`_Column.first_row`."""
        flags = self.column(per_text, fill=float(na))
        return flags, flags.values > 0

    def count(self, per_text: np.ndarray, na: bool) -> int:
        """The number of rows whose text is flagged in ``per_text`` (and of NaN/None rows when
        ``na``)."""
        flags, is_set = self.flagged(per_text, na)
        return flags.count(is_set)


def _missing_per_text(texts: List[Optional[str]]) -> np.ndarray:
    return np.array([t is None or t in MISSING_TEXT for t in texts], dtype=float)


def _parse_numbers(distinct: _Distinct, column: str) -> _Column:
    """The `number` transform of a text column: '?' or empty is NaN; anything else must be a
    number (parsed once per distinct text)."""
    parsed = np.full(len(distinct.texts), np.nan)
    for i, t in enumerate(distinct.texts):
        if t is None or t in MISSING_TEXT:
            continue
        if not _NUMBER.match(t):
            this = np.zeros(len(distinct.texts))
            this[i] = 1.0
            rows, is_set = distinct.flagged(this, na=False)
            raise EncodingError(f"column '{column}', row {rows.first_row(is_set)}: '{t}' is not a number"
                                f" ({rows.count(is_set)} row(s) with this value)")
        parsed[i] = float(t)
    return distinct.column(parsed)


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
    :meth:`Encoder.encode` call (history features reuse the columns of the plain features).
    Safe to use from several threads: a column is computed by one of them, the others wait."""

    def __init__(self, frame: pd.DataFrame, names: Sequence[str]):
        self.n_rows = len(frame)
        # The Series (of those of ``names`` the frame has) are taken here, in the calling
        # thread: pandas does not promise that DataFrame.__getitem__ is thread-safe (older
        # versions cache the Series it makes).
        self._series: Dict[str, pd.Series] = {c: frame[c] for c in dict.fromkeys(names) if c in frame.columns}
        self.positions = np.arange(len(frame))
        self._done: Dict[Tuple[str, str], Any] = {}
        self._locks: Dict[Tuple[str, str], threading.Lock] = {}
        self._lock = threading.Lock()

    def _once(self, key: Tuple[str, str], compute: Callable[[], Any]) -> Any:
        if key in self._done:
            return self._done[key]
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._done:
                self._done[key] = compute()
        return self._done[key]

    def __contains__(self, column: str) -> bool:
        return column in self._series

    def series(self, column: str) -> pd.Series:
        return self._series[column]

    def distinct(self, column: str) -> _Distinct:
        return self._once(("distinct", column), lambda: _Distinct.of(self._series[column], self.positions))

    def numbers(self, column: str) -> _Column:
        """The `number` transform: '?' or empty is NaN; anything else must be a finite number."""
        return self._once(("numbers", column), lambda: self._numbers(column))

    def _numbers(self, column: str) -> _Column:
        series = self._series[column]
        if _is_number_column(series):
            col = _Column(series.to_numpy(dtype=float, na_value=np.nan))
        else:
            col = _parse_numbers(self.distinct(column), column)
        bad = np.isinf(col.values)
        if bad.any():
            i = col.first_row(bad)
            raise EncodingError(f"column '{column}', row {i}: value {col.rows(i, i + 1)[0]} is not finite")
        return col

    def equals(self, column: str, text: str) -> np.ndarray:
        """1.0 where the column's text is ``text``, else 0.0 (NaN/None included)."""
        d = self.distinct(column)
        return d.column([1.0 if t == text else 0.0 for t in d.texts], fill=0.0).rows()


#: The history features (docs/FEATURES.md), in the order :func:`_history` computes them.
HISTORY_FEATURES = ("prior_encounters", "prior_days_in_hospital", "prev_number_inpatient", "prev_time_in_hospital",
                    "prev_discharged_home", "prior_readmitted_within_30")


def _history(columns: _Columns) -> Dict[str, np.ndarray]:
    """The `history` features, from earlier rows (lower encounter_id) of the same patient."""
    n = columns.n_rows
    if not all(c in columns for c in HISTORY_COLUMNS):
        return {name: np.full(n, np.nan) for name in HISTORY_FEATURES}
    ids = {c: _integers(columns.series(c), c) for c in HISTORY_COLUMNS}
    order = np.lexsort((ids["encounter_id"], ids["patient_nbr"]))  # stable: by patient, then encounter
    patient = ids["patient_nbr"][order]
    los = columns.numbers("time_in_hospital").rows()
    inpatient = columns.numbers("number_inpatient").rows()
    home = columns.equals("discharge_disposition_id", "1")
    within30 = columns.equals("readmitted", "<30") if "readmitted" in columns else None
    first = np.ones(n, dtype=bool)
    first[1:] = patient[1:] != patient[:-1]
    group_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    position = np.arange(n) - group_start

    def shifted(values: np.ndarray) -> np.ndarray:
        v = values[order]
        prev = np.empty(n)
        prev[:1] = np.nan  # (no row at all in an empty frame)
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


_T = TypeVar("_T")

_pool: Optional[ThreadPoolExecutor] = None
_pool_pid = 0
_pool_lock = threading.Lock()


def _executor() -> Optional[ThreadPoolExecutor]:
    """The encoding thread pool (one per process; re-made after a fork, whose child has no
    threads), or None when the process may use only one core."""
    global _pool, _pool_pid
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = min(4, cores)  # the work splits into ~50 columns; more threads mostly wait on each other
    if workers < 2:
        return None
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool, _pool_pid = ThreadPoolExecutor(workers, thread_name_prefix="readmit-encode"), os.getpid()
        return _pool


def _run_all(tasks: Sequence[Callable[[], _T]], pool: Optional[ThreadPoolExecutor]) -> List["Future[_T]"]:
    """Runs the tasks (on ``pool`` when given) and returns their finished futures, in order:
    the caller raises the first failure in that order, as a loop in one thread would."""
    futures: List["Future[_T]"] = []
    for task in tasks:
        if pool is not None:
            futures.append(pool.submit(task))
            continue
        f: "Future[_T]" = Future()
        try:
            f.set_result(task())
        except Exception as e:  # noqa: BLE001 - re-raised by the caller, in order
            f.set_exception(e)
        futures.append(f)
    wait(futures)
    return futures


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
        pool = _executor() if n >= PARALLEL_MIN_ROWS else None
        columns = _Columns(frame, [*self.required_columns(), *HISTORY_COLUMNS, "readmitted"])
        transforms = [self._transform(f) for f in self.features]

        # 1. Every feature in compact form (factorized raw columns and per-value tables), in
        #    parallel. The history features go first: parsing the IDs and sorting the rows by
        #    patient is the longest single task.
        history_task = [lambda: _history(columns)] if "history" in transforms else []
        column_tasks = [functools.partial(self._column, f, t, columns)
                        for f, t in zip(self.features, transforms) if t != "history"]
        done = _run_all(history_task + column_tasks, pool)
        history, column_results = (done[0], done[1:]) if history_task else (None, done)

        # 2. In schema order: the first failure, and the warning's counts.
        cols: List[_Column] = []
        missing_counts: Dict[str, int] = {}
        unseen_counts: Dict[str, int] = {}
        next_result = iter(column_results)
        for f, t in zip(self.features, transforms):
            source = f["source"]
            if t == "history":
                assert history is not None
                values = history.result().get(source)
                cols.append(_Column(np.full(n, np.nan) if values is None else values))
                continue
            col, n_missing, n_unseen = next(next_result).result()
            if n_missing:
                missing_counts[source] = n_missing
            if n_unseen:
                unseen_counts[source] = n_unseen
            cols.append(col)

        # 3. The row-major matrix, filled block of rows by block of rows (in parallel).
        out = np.empty((n, self.n_features), dtype=np.float64, order="C")

        def fill(start: int) -> None:
            stop = min(start + _BLOCK_ROWS, n)
            block = out[start:stop]
            for j, col in enumerate(cols):
                block[:, j] = col.rows(start, stop)

        for result in _run_all([functools.partial(fill, s) for s in range(0, n, _BLOCK_ROWS)], pool):
            result.result()
        if warn and (missing_counts or unseen_counts):
            warnings.warn(_summary(missing_counts, unseen_counts), ReadmitEncodingWarning, stacklevel=3)
        return out

    @staticmethod
    def _column(feature: Mapping[str, Any], transform: str, columns: _Columns) -> Tuple[_Column, int, int]:
        """One (non-history) feature: its column and how many of its rows are missing, and
        of levels never seen in training."""
        source = feature["source"]
        if transform == "number":
            col = columns.numbers(source)
            return col, col.count(np.isnan(col.values)), 0
        if transform in ("level", "level_or_other"):
            d = columns.distinct(source)
            levels = list(feature.get("levels") or [])
            lookup = {level: float(i) for i, level in enumerate(levels)}
            missing = _missing_per_text(d.texts)
            per_text = np.array([np.nan if m else lookup.get(text, np.nan) for text, m in zip(d.texts, missing)])
            unseen = ((missing == 0) & np.isnan(per_text)).astype(float)
            n_unseen = 0
            if transform == "level_or_other":
                per_text[unseen > 0] = len(levels) - 1
            else:
                n_unseen = d.count(unseen, na=False)
            return d.column(per_text), d.count(missing, na=True), n_unseen
        if transform == "icd9_chapter":
            d = columns.distinct(source)
            missing = _missing_per_text(d.texts)
            per_text = np.array([np.nan if m else _icd9_chapter(text) for text, m in zip(d.texts, missing)])
            return d.column(per_text), d.count(missing, na=True), 0
        raise EncodingError(f"feature '{feature['name']}' uses transform '{transform}', which this client does "
                            "not know; upgrade the readmit package")


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
