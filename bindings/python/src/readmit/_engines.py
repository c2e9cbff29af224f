"""What :mod:`readmit.spark` and :mod:`readmit.dask` share: the checked options of one scoring
job, one client per worker thread (opened at its first batch, reused for every later batch and
partition of the job and of later jobs with the same endpoints), and the scoring of one pandas
batch into new columns through :meth:`readmit.Client.score_records` (raw columns sent as they
are; the daemon encodes them).

Nothing here imports pyspark or dask.
"""
from __future__ import annotations

import atexit
import os
import threading
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from .client import Client
from .errors import InvalidArgumentError, ReadmitError

#: The columns a scoring job adds, in order, without and with ``interval=True``.
RESULT_COLUMNS = ("risk", "atypicality", "tier", "error")
INTERVAL_COLUMNS = ("risk", "risk_low", "risk_high", "atypicality", "tier", "error")
#: Their kinds: float64 or text (None where there is none).
TEXT_COLUMNS = frozenset({"tier", "error"})

_REQUEST_ERRORS = ("raise", "column")


@dataclass(frozen=True)
class JobOptions:
    """The checked options of one scoring job (pickled to every worker)."""

    endpoints: Tuple[str, ...]
    columns: Optional[Tuple[str, ...]]  # the columns sent; None: every column
    keep: Optional[Tuple[str, ...]]  # the input columns the result carries; None: every column
    interval: bool
    bad_values: str
    missing_fields: str
    request_errors: str
    batch_rows: int
    client_options: Tuple[Tuple[str, Any], ...]

    @property
    def result_columns(self) -> Tuple[str, ...]:
        return INTERVAL_COLUMNS if self.interval else RESULT_COLUMNS


def _column_names(value: Optional[Sequence[str]], argument: str, names: List[str],
                  allow_empty: bool) -> Optional[Tuple[str, ...]]:
    """``value`` as a tuple of column names of the frame (None stays None), or InvalidArgumentError."""
    if value is None:
        return None
    if isinstance(value, str):
        raise InvalidArgumentError(f"{argument} must be a list of column names, not the string {value!r}")
    chosen = tuple(str(c) for c in value)
    if not chosen and not allow_empty:
        raise InvalidArgumentError(f"{argument} is empty: name the columns to send, or None to send every column")
    unknown = [c for c in chosen if c not in names]
    if unknown:
        raise InvalidArgumentError(f"{argument} names '{unknown[0]}', which the frame does not have", field=unknown[0])
    twice = [c for i, c in enumerate(chosen) if c in chosen[:i]]
    if twice:
        raise InvalidArgumentError(f"{argument} names '{twice[0]}' twice", field=twice[0])
    return chosen


def job_options(input_columns: Sequence[str], endpoints: Union[str, Sequence[str]], *, columns: Optional[Sequence[str]],
                keep: Optional[Sequence[str]], interval: bool, bad_values: str, missing_fields: str,
                request_errors: str, batch_rows: int,
                client_options: Dict[str, Any]) -> JobOptions:
    """Checks a job's options on the driver, before anything runs on a worker.

    Raises InvalidArgumentError naming what was wrong: endpoints, an option's value, a column
    to send or keep that the frame does not have, or a result column that a kept column already
    has. The client
    options are checked by opening a client with them (which sends nothing)."""
    names = [str(c) for c in input_columns]
    if isinstance(endpoints, str):
        endpoints = [endpoints]
    endpoints = list(endpoints) if endpoints is not None else []
    if not endpoints or not all(isinstance(e, str) and e for e in endpoints):
        raise InvalidArgumentError("endpoints must be a non-empty string or list of strings")
    if not isinstance(interval, (bool, np.bool_)):
        raise InvalidArgumentError(f"interval must be True or False, not {interval!r}")
    if bad_values not in ("error", "missing"):
        raise InvalidArgumentError(f"bad_values must be 'error' or 'missing', not {bad_values!r}")
    if missing_fields not in ("error", "missing"):
        raise InvalidArgumentError(f"missing_fields must be 'error' or 'missing', not {missing_fields!r}")
    if request_errors not in _REQUEST_ERRORS:
        raise InvalidArgumentError(f"request_errors must be 'raise' or 'column', not {request_errors!r}")
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, (int, np.integer)) or batch_rows <= 0:
        raise InvalidArgumentError(f"batch_rows must be a positive integer, not {batch_rows!r}")
    sent = _column_names(columns, "columns", names, allow_empty=False)
    kept = _column_names(keep, "keep", names, allow_empty=True)
    result = INTERVAL_COLUMNS if interval else RESULT_COLUMNS
    clash = [c for c in result if c in (names if kept is None else kept)]
    if clash:
        raise InvalidArgumentError(
            f"the frame already has a column '{clash[0]}', which scoring adds: rename or drop it first", field=clash[0])
    Client(endpoints, **client_options).close()  # checks endpoints and keys; connects to nothing yet
    return JobOptions(tuple(endpoints), sent, kept, bool(interval), bad_values, missing_fields, request_errors,
                      int(batch_rows), tuple(sorted(client_options.items())))


# -- one client per worker thread ----------------------------------------------------------------

_local = threading.local()
_opened: List[Client] = []  # every client of this process, closed at exit
_opened_lock = threading.Lock()


def client_for(options: JobOptions) -> Client:
    """This thread's client for the job's endpoints and client options: opened on first use and
    reused for every later batch. A process forked from one that held clients opens its own
    (a ZeroMQ socket must not cross a fork)."""
    if getattr(_local, "pid", None) != os.getpid():
        _local.pid = os.getpid()
        _local.clients = {}
    key = (options.endpoints, options.client_options)
    client = _local.clients.get(key)
    if client is None:
        client = Client(list(options.endpoints), **dict(options.client_options))
        _local.clients[key] = client
        with _opened_lock:
            _opened.append(client)
    return client


def clients_opened(endpoints: Optional[Sequence[str]] = None) -> int:
    """How many clients this process holds open (to ``endpoints`` when given): a test of the
    reuse asks it on the workers."""
    with _opened_lock:
        return sum(1 for c in _opened if c._handle and (endpoints is None or list(endpoints) == c.endpoints))


@atexit.register
def _close_all() -> None:
    with _opened_lock:
        clients = list(_opened)
        _opened.clear()
    for c in clients:
        try:
            c.close()
        except Exception:  # interpreter shutdown
            pass


# -- scoring one batch ---------------------------------------------------------------------------

def empty_results(frame: pd.DataFrame, options: JobOptions) -> pd.DataFrame:
    """``frame``'s kept columns with the result columns added, all missing (the shape of a result)."""
    n = len(frame)
    out = frame.copy(deep=False) if options.keep is None else frame[list(options.keep)].copy(deep=False)
    for name in options.result_columns:
        out[name] = pd.Series(np.full(n, None, dtype=object) if name in TEXT_COLUMNS else np.full(n, np.nan),
                              index=frame.index, dtype=object if name in TEXT_COLUMNS else np.float64)
    return out


def score_rows(sent: pd.DataFrame, options: JobOptions) -> Dict[str, np.ndarray]:
    """The result columns of the rows of ``sent`` (the columns to send): float64 arrays, and
    object arrays of texts or None.

    The rows go to the daemon in requests of at most ``options.batch_rows`` rows, through this
    thread's client. A row the daemon cannot score has NaN risk, no tier and its error in
    ``error``. A request that fails as a whole (no daemon, a timeout, a required field absent)
    raises its :class:`readmit.ReadmitError`, or with ``request_errors="column"`` puts
    ``"request failed: ..."`` in the error column of each of its rows."""
    n = len(sent)
    values: Dict[str, np.ndarray] = {
        name: np.full(n, None, dtype=object) if name in TEXT_COLUMNS else np.full(n, np.nan)
        for name in options.result_columns}
    if n == 0:
        return values
    client = client_for(options)
    for start in range(0, n, options.batch_rows):
        stop = min(n, start + options.batch_rows)
        chunk = sent.iloc[start:stop]
        try:
            scored = client.score_records(chunk, bad_values=options.bad_values, missing_fields=options.missing_fields,
                                          warn=False, interval=options.interval)
        except ReadmitError as e:
            if options.request_errors == "raise":
                raise
            values["error"][start:stop] = f"request failed: {type(e).__name__}: {e}"
            continue
        for name in options.result_columns:
            column = scored[name]
            if name == "tier":
                tiers = column.astype(object).to_numpy()
                values[name][start:stop] = np.where(pd.isna(tiers), None, tiers)
            elif name in TEXT_COLUMNS:
                values[name][start:stop] = column.to_numpy(dtype=object)
            else:
                values[name][start:stop] = column.to_numpy(dtype=np.float64)
    return values


def score_batch(batch: pd.DataFrame, options: JobOptions) -> pd.DataFrame:
    """``batch``'s kept columns (all by default; as they are, with its index) with the result
    columns added (:func:`score_rows`)."""
    out = empty_results(batch, options)
    sent = batch if options.columns is None else batch[list(options.columns)]
    for name, v in score_rows(sent, options).items():
        out[name] = pd.Series(v, index=batch.index, dtype=object if name in TEXT_COLUMNS else np.float64)
    return out


# -- Arrow batches (Spark's mapInArrow) ------------------------------------------------------------

def arrow_column_kind(type_) -> Optional[str]:
    """How a column of this Arrow type goes to the daemon without pandas' per-value objects:
    ``"text"`` (strings: their Arrow buffers, dictionary-encoded by the library), ``"number"``
    (integers, floats: as float64, null = NaN), ``"bool"`` (as the texts ``True``/``False``,
    as pandas sends a bool column); None for any other type."""
    import pyarrow as pa

    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return "text"
    if pa.types.is_integer(type_) or pa.types.is_floating(type_):
        return "number"
    if pa.types.is_boolean(type_):
        return "bool"
    return None


def _arrow_to_pandas(column) -> Any:
    """One Arrow column as the binding sends the same values from pandas (see arrow_column_kind)."""
    import pyarrow as pa

    kind = arrow_column_kind(column.type)
    if kind == "text":
        # Held as it is (no copy): the binding hands the Arrow buffers to the library, which
        # dictionary-encodes the rows in C (readmit_records_set_text_buffer).
        return pd.arrays.ArrowExtensionArray(column)
    if kind == "number":
        return column.cast(pa.float64()).to_numpy(zero_copy_only=False)  # nulls become NaN
    if kind == "bool":
        return column.to_pandas().to_numpy(dtype=object)  # True, False, None: sent as texts
    raise InvalidArgumentError(f"an Arrow column of type {column.type} has no direct path (arrow_column_kind)")


def score_arrow_batch(batch, options: JobOptions):
    """An Arrow RecordBatch's kept columns (as they are, not converted) with the result columns
    added, as a RecordBatch; the sent columns (strings, numbers, bools only: arrow_column_kind)
    go to the daemon as pandas would send them, so the risks are those of :func:`score_batch`."""
    import pyarrow as pa

    names = batch.schema.names
    sent_names = list(options.columns) if options.columns is not None else names
    sent = pd.DataFrame({name: _arrow_to_pandas(batch.column(names.index(name))) for name in sent_names})
    values = score_rows(sent, options)
    kept = list(options.keep) if options.keep is not None else names
    arrays = [batch.column(names.index(name)) for name in kept]
    for name in options.result_columns:
        arrays.append(pa.array(values[name], type=pa.string()) if name in TEXT_COLUMNS
                      else pa.array(values[name], type=pa.float64(), from_pandas=True))  # NaN: null, as from pandas
    return pa.RecordBatch.from_arrays(arrays, names=kept + list(options.result_columns))
