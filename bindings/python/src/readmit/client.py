"""The readmit client: a connection to readmitd through the C shim (libreadmit)."""
from __future__ import annotations

import ctypes
import datetime
import json
import os
import re
import threading
import warnings
import weakref
from ctypes import byref, c_char_p, c_double, c_int, c_size_t, c_uint64, c_void_p
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from . import _native
from ._native import LIB, _check_call, take_string
from .errors import (DataWarningError, EncodingError, IntervalUnavailableError, InvalidArgumentError,
                     InvalidFeatureError, ProtocolError, ReadmitDataWarning, ReadmitError)

RecordsLike = Union[pd.DataFrame, pd.Series, Mapping[str, Any]]
#: What score, score_frame and explain take: raw records (sent through RECORDS) or a feature matrix.
DataLike = Union[RecordsLike, np.ndarray, Sequence[Sequence[float]]]

#: How many warnings the ReadmitDataWarning of one score_records call quotes.
WARNINGS_QUOTED = 3
_QUOTED_NAME = re.compile(r"'([^']+)'")


def _b(text: Optional[str]) -> Optional[bytes]:
    return None if text is None else text.encode("utf-8")


def _key(key: Union[str, bytes], name: str) -> bytes:
    """A Z85 CURVE key as given: a str, or bytes as pyzmq's ``zmq.curve_keypair()`` returns
    them (which raised AttributeError)."""
    if isinstance(key, (bytes, bytearray)):
        return bytes(key)
    if isinstance(key, str):
        return key.encode("utf-8")
    raise InvalidArgumentError(f"{name} must be a 40-character Z85 key (str or bytes), not {type(key).__name__}")


class ScoredIntervals(NamedTuple):
    """What :meth:`Client.score` returns with ``interval=True``: three float64 arrays with one
    value per row, unpackable as ``risk, low, high = client.score(x, interval=True)``.
    ``risk_low <= risk_high``, both in [0, 1] (docs/PROTOCOL.md, "Risk intervals")."""

    risk: np.ndarray
    risk_low: np.ndarray
    risk_high: np.ndarray


def _check_interval_flag(interval: Any) -> bool:
    if not isinstance(interval, (bool, np.bool_)):
        raise InvalidArgumentError(f"interval must be True or False, not {interval!r}")
    return bool(interval)


#: Every client not yet collected, for _after_fork_in_child.
_OPEN_CLIENTS: "weakref.WeakSet[Client]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """Gives each client a fresh lock in a forked child: a thread of the parent that was in a
    call at the fork held the lock, and that thread does not exist in the child, so the
    child's first call waited for it for ever. The shim itself opens the child's sockets
    (``readmit.h``, readmit_client)."""
    for client in list(_OPEN_CLIENTS):
        client._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Client:
    """A connection to a running ``readmitd``.

    Args:
        endpoint: ``"tcp://host:port"`` or ``"ipc://path"``, or a list of endpoints of daemons
            serving the same model: requests are then spread over the daemons that are up
            (round robin), a daemon that dies is taken out of rotation within about a second
            and put back when it answers again, and a request that fails on one daemon is
            resent to another (scoring is idempotent, so this is safe). See
            :meth:`endpoint_status`.
        timeout_ms: per-attempt timeout; a call waits at most ``(retries + 1) * timeout_ms``
            and then raises :class:`readmit.ReadmitTimeout`. When nothing listens at the
            endpoint (no daemon, or it died) a call raises :class:`readmit.UnavailableError`
            within about a second instead. Ctrl-C interrupts a waiting call within 50 ms
            (KeyboardInterrupt); the client stays usable.
        retries: how often a timed-out request is resent on a fresh socket.
        server_public_key, client_public_key, client_secret_key: Z85 CURVE keys (40 characters,
            str or bytes as ``zmq.curve_keypair()`` gives them) when the daemon requires CURVE;
            all three or none.
        max_reply_bytes: the largest reply accepted.
        split_rows: with several endpoints, a :meth:`score` or :meth:`score_records` call of
            more than ``split_rows`` rows is cut into chunks of ``split_rows`` rows scored by
            several daemons at once and reassembled in order; the result is bit-identical to
            one daemon's. 0 (the default) never splits. A few thousand rows per chunk is a
            good start (e.g. 2000).

    A client may be shared between Python threads (calls are serialised by a lock; the GIL is
    released while waiting on the daemon), and used in a process forked from the one that
    opened it (a ``multiprocessing`` pool with the fork start method): there its first call
    opens the child's own connection (a ZeroMQ socket does not survive a fork), and the
    parent's client is unaffected. Use it as a context manager, or call :meth:`close`.
    It keeps the memory of its last :meth:`score_records` batch (about 36 MB for 100,000 rows of
    58 fields) for its next call of as many rows, as the R package does; :meth:`close` frees it.
    """

    def __init__(self, endpoint: Union[str, Sequence[str]] = "tcp://127.0.0.1:5555", *, timeout_ms: int = 5000,
                 retries: int = 2, server_public_key: Optional[Union[str, bytes]] = None,
                 client_secret_key: Optional[Union[str, bytes]] = None,
                 client_public_key: Optional[Union[str, bytes]] = None,
                 max_reply_bytes: Optional[int] = None, split_rows: int = 0):
        self._handle = None
        self._lock = threading.Lock()
        _OPEN_CLIENTS.add(self)
        self._info: Optional[Dict[str, Any]] = None
        # Raw-records batches kept, emptied, for the next call of the same row count
        # (readmit_records_clear): (n_rows, batch) each, at most two (a large frame is filled
        # in two parts). See _take_records.
        self._kept_records: List[Tuple[int, Any]] = []
        endpoints = [endpoint] if isinstance(endpoint, str) else list(endpoint)
        if not endpoints or not all(isinstance(e, str) and e for e in endpoints):
            raise InvalidArgumentError("endpoint must be a non-empty string or list of strings")
        keys = (server_public_key, client_public_key, client_secret_key)
        if any(k is not None for k in keys) and not all(k is not None for k in keys):
            raise InvalidArgumentError("CURVE needs server_public_key, client_public_key and client_secret_key")
        opts = _native.OptionsP()
        _check_call(LIB.readmit_options_new(byref(opts)))
        try:
            # Checked here against the C types' ranges: ctypes keeps an int's low 32 bits, so
            # retries=2**32 + 1 became 1 and timeout_ms=2**40 became 0 ("must be > 0, not 0").
            if not _whole(timeout_ms) or not 0 < timeout_ms <= _INT_MAX:
                raise InvalidArgumentError(f"timeout_ms must be a whole number from 1 to {_INT_MAX}, not {timeout_ms!r}")
            if not _whole(retries) or not 0 <= retries <= 1000:
                raise InvalidArgumentError(f"retries must be a whole number from 0 to 1000, not {retries!r}")
            timeout_ms, retries = int(timeout_ms), int(retries)
            _check_call(LIB.readmit_options_set_timeout_ms(opts, timeout_ms), opening=True)
            _check_call(LIB.readmit_options_set_retries(opts, retries), opening=True)
            if not _whole(split_rows) or not 0 <= split_rows <= _SIZE_MAX:
                raise InvalidArgumentError(f"split_rows must be a non-negative whole number, not {split_rows!r}")
            _check_call(LIB.readmit_options_set_split_rows(opts, int(split_rows)), opening=True)
            for e in endpoints:
                _check_call(LIB.readmit_options_add_endpoint(opts, _b(e)), opening=True)
            if server_public_key is not None:
                rc = LIB.readmit_options_set_curve(opts, _key(server_public_key, "server_public_key"),
                                                   _key(client_public_key, "client_public_key"),
                                                   _key(client_secret_key, "client_secret_key"))
                if rc != _native.OK:
                    raise InvalidArgumentError("CURVE keys must be 40-character Z85 strings", code=rc)
            if max_reply_bytes is not None:
                if not _whole(max_reply_bytes) or not 1024 <= max_reply_bytes <= _SIZE_MAX:
                    raise InvalidArgumentError(f"max_reply_bytes must be a whole number of bytes, at least 1024, not {max_reply_bytes!r}")
                _check_call(LIB.readmit_options_set_max_reply_bytes(opts, int(max_reply_bytes)), opening=True)
            # Ctrl-C interrupts a call that waits for the daemon (see readmit._native).
            _check_call(LIB.readmit_options_set_interrupt(opts, _native.INTERRUPT_CHECK, None), opening=True)
            handle = _native.ClientP()
            rc = LIB.readmit_open_ex(None, opts, byref(handle))
            if rc != _native.OK:
                _check_call(rc, opening=True)  # no client on failure: readmit_open_errmsg says why
            self._handle = handle
        finally:
            LIB.readmit_options_free(opts)
        self.endpoints = endpoints
        self.timeout_ms = timeout_ms
        self.retries = retries
        self.split_rows = split_rows

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the connection; further calls raise ReadmitError. Idempotent."""
        with self._lock:
            if self._handle:
                LIB.readmit_close(self._handle)
                self._handle = None
            kept, self._kept_records = self._kept_records, []
        for _, records in kept:
            LIB.readmit_records_free(records)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if getattr(self, "_handle", None):
                LIB.readmit_close(self._handle)
                self._handle = None
            kept = getattr(self, "_kept_records", None) or []
            self._kept_records = []
            for _, records in kept:
                LIB.readmit_records_free(records)
        except Exception:  # interpreter shutdown
            pass

    def __reduce__(self) -> Any:
        # Pickling reached the ctypes handle and said only "ctypes objects containing pointers
        # cannot be pickled". A connection cannot travel to another process, and the CURVE
        # secret key should not travel inside a pickle: refuse, saying what to do instead.
        raise TypeError("a readmit.Client cannot be pickled or copied: its connection to the daemon does not "
                        "travel to another process; open a Client in each process (readmit.dask and readmit.spark "
                        "open one per worker), or fork after making it (see readmit.Client)")

    def __repr__(self) -> str:
        state = "open" if self._handle else "closed"
        return f"readmit.Client({self.endpoints!r}, timeout_ms={self.timeout_ms}, retries={self.retries}) [{state}]"

    def _h(self):
        if not self._handle:
            raise ReadmitError("the client is closed")
        return self._handle

    def _take_records(self, n_rows: int) -> Any:
        """A raw-records batch of n_rows rows: the one kept from the last call when it has as
        many rows, else a new one. A new batch per call took fresh memory for every column, and
        once the allocator had returned the last call's to the system (glibc trims the heap's
        top), faulted each page in again: about 9,000 minor faults and a third more client CPU
        for a 100,000-row frame of read_csv's dtypes (benchmarks/bindings/client_cpu_steps.py).
        Another thread's call takes a new batch meanwhile."""
        with self._lock:
            kept = self._kept_records.pop() if self._kept_records else None
        if kept is not None:
            if kept[0] == n_rows:
                return kept[1]
            LIB.readmit_records_free(kept[1])
        records = _native.RecordsP()
        _check_call(LIB.readmit_records_new(n_rows, byref(records)))
        return records

    def _keep_records(self, n_rows: int, records: Any) -> None:
        """Empties `records` (keeping its memory) for the next call, or frees it when the client
        is closed or already keeps two."""
        if LIB.readmit_records_clear(records) == _native.OK:
            with self._lock:
                if self._handle and len(self._kept_records) < 2:
                    self._kept_records.append((n_rows, records))
                    records = None
        if records is not None:
            LIB.readmit_records_free(records)

    # -- model information -------------------------------------------------------------------

    def info(self) -> Dict[str, Any]:
        """Model metadata and the feature schema (the daemon's INFO JSON as a dict)."""
        with self._lock:
            out = c_void_p()
            h = self._h()
            _check_call(LIB.readmit_info_json_alloc(h, byref(out)), h)
            info = json.loads(take_string(out))
        self._info = info
        return info

    def _schema(self) -> List[Dict[str, Any]]:
        """The serving model's features (INFO fetched once, again after a reload)."""
        if self._info is None:
            self.info()
        assert self._info is not None
        return self._info["features"]

    def _track_model(self) -> None:
        """Drops the cached INFO when a reply came from another model than INFO described."""
        if self._info is not None and self._handle:
            version = f"{LIB.readmit_last_model_version(self._handle):016x}"
            if version != str(self._info.get("model_version", version)).lower().rjust(16, "0"):
                self._info = None

    def _read_fields(self) -> Tuple[int, Optional[frozenset]]:
        """The serving model's version and the names of the columns RECORDS reads (INFO's
        raw_fields and its cohort's exclusion columns, docs/PROTOCOL.md), from INFO fetched once
        and again after a reply from another model; None when INFO does not list them."""
        info = self._info if self._info is not None else self.info()
        fields, exclusions = info.get("raw_fields"), (info.get("dataset") or {}).get("exclusions", [])
        try:
            version = int(str(info.get("model_version", "")), 16)
            names = {f["name"] for f in fields} | {rule["column"] for rule in exclusions}
        except (TypeError, KeyError, ValueError):  # an INFO without them: every column goes in full
            return 0, None
        return version, frozenset(names)

    @property
    def feature_names(self) -> List[str]:
        """Feature names in schema order (the columns of a feature matrix)."""
        return [f["name"] for f in self._schema()]

    @property
    def n_features(self) -> int:
        """The number of features of the model's schema."""
        return len(self._schema())

    def raw_fields(self) -> List[Dict[str, Any]]:
        """The raw fields of one encounter that :meth:`score_records` sends (INFO "raw_fields",
        read through libreadmit): a list of dicts with ``name``, ``type`` (``"number"``,
        ``"text"``, ``"timestamp"``, ``"diagnosis_code"`` or ``"other"``), ``required``,
        ``history`` and ``levels`` (the texts learned in training; empty when the field has
        none). Asks the daemon (INFO) each time, so it follows a reloaded model."""
        with self._lock:
            h = self._h()
            n = c_size_t()
            _check_call(LIB.readmit_n_raw_fields(h, byref(n)), h)
            fields = []
            for i in range(n.value):
                kind, required, history, n_levels = c_int(), c_int(), c_int(), c_size_t()
                _check_call(LIB.readmit_raw_field_type(h, i, byref(kind)), h)
                _check_call(LIB.readmit_raw_field_required(h, i, byref(required)), h)
                _check_call(LIB.readmit_raw_field_history(h, i, byref(history)), h)
                _check_call(LIB.readmit_raw_field_n_levels(h, i, byref(n_levels)), h)
                fields.append({
                    "name": _string_out(h, LIB.readmit_raw_field_name, i),
                    "type": _native.FIELD_TYPE_NAMES.get(kind.value, "other"),
                    "required": bool(required.value),
                    "history": bool(history.value),
                    "levels": [_string_out(h, LIB.readmit_raw_field_level, i, j) for j in range(n_levels.value)],
                })
        return fields

    def health(self) -> Dict[str, Any]:
        """``{"live": True, "ready": bool, "model_version": "hex"}``; raises ReadmitTimeout when
        the daemon does not answer."""
        with self._lock:
            ready, version = c_int(), c_uint64()
            h = self._h()
            _check_call(LIB.readmit_health(h, byref(ready), byref(version)), h)
        return {"live": True, "ready": bool(ready.value), "model_version": f"{version.value:016x}"}

    def endpoint_status(self) -> List[Dict[str, Any]]:
        """What this client knows of each endpoint, in order: ``{"endpoint": str,
        "in_rotation": bool, "requests": int, "failures": int}`` (requests or split chunks
        answered there; attempts that failed there). Updated by the client's calls; asks no
        daemon."""
        with self._lock:
            h = self._h()
            out = []
            for i, e in enumerate(self.endpoints):
                up, req, fail = c_int(), c_uint64(), c_uint64()
                _check_call(LIB.readmit_endpoint_status(h, i, byref(up), byref(req), byref(fail)), h)
                out.append({"endpoint": e, "in_rotation": bool(up.value), "requests": req.value,
                            "failures": fail.value})
        return out

    def stats(self, prometheus: bool = False) -> Union[Dict[str, Any], str]:
        """The daemon's counters (a dict), or its Prometheus text."""
        with self._lock:
            out = c_void_p()
            h = self._h()
            _check_call(LIB.readmit_stats_alloc(h, 1 if prometheus else 0, byref(out)), h)
            text = take_string(out)
        return text if prometheus else json.loads(text)

    def reload(self, model_path: Optional[str] = None) -> Dict[str, Any]:
        """Asks the daemon to reload its model (from ``model_path`` if given and allowed)."""
        with self._lock:
            out = c_void_p()
            h = self._h()
            _check_call(LIB.readmit_reload(h, _b(model_path), byref(out)), h)
            text = take_string(out)
        self._info = None
        return json.loads(text)

    # -- scoring -----------------------------------------------------------------------------

    def encode(self, data: Any) -> np.ndarray:
        """Removed: the daemon encodes raw fields now, with the model's own dataset spec.

        Always raises :class:`readmit.ReadmitError`. Pass the raw records to :meth:`score`,
        :meth:`score_frame`, :meth:`explain` or :meth:`score_records` instead.
        """
        raise ReadmitError(
            "Client.encode was removed: the daemon encodes raw fields with the model's dataset spec (the RECORDS "
            "request). Pass the DataFrame to score, score_frame, explain or score_records; a numpy feature "
            "matrix in schema order still goes to score, score_frame and explain as it is.")

    def _check_matrix(self, data: Any) -> np.ndarray:
        """A 2-D float64 C-contiguous array with one column per feature, or InvalidArgumentError."""
        n_features = self.n_features
        a = np.asarray(data)
        if a.ndim == 1 and a.shape[0] == n_features:
            a = a.reshape(1, -1)
        if a.ndim != 2 or a.shape[1] != n_features:
            raise InvalidArgumentError(
                f"feature matrix has shape {a.shape}; the model expects (n_rows, {n_features}) in schema order")
        if a.dtype != np.float64 or not a.flags.c_contiguous:
            try:
                a = np.ascontiguousarray(a, dtype=np.float64)
            except (TypeError, ValueError) as e:
                raise InvalidArgumentError(f"feature matrix cannot be converted to float64: {e}") from None
        return a

    def _every_row(self, data: RecordsLike, k: int, bad_values: str, missing_fields: str,
                   warn: Union[bool, str], interval: bool = False) -> pd.DataFrame:
        """score_records for score, score_frame and explain, which return no per-row errors:
        a row with an error raises EncodingError."""
        return self._records(data, k, bad_values, missing_fields, warn, stacklevel=4, raise_row_errors=True,
                             interval=interval)

    def _check_interval_call(self, rc: int, h) -> None:
        """_check_call for a call that asked for intervals: a BAD_ARGUMENT from a model that
        has none (INFO "interval" null) becomes IntervalUnavailableError. Called under the lock."""
        try:
            _check_call(rc, h)
        except InvalidFeatureError as e:
            if e.code != _native.EBADARGUMENT:
                raise
            has = c_int(1)
            if LIB.readmit_has_interval(h, byref(has)) == _native.OK and not has.value:
                raise IntervalUnavailableError(
                    f"the serving model has no risk interval (INFO \"interval\" is null; retrain it to get one): "
                    f"{e}", code=e.code, row=e.row, feature=e.feature) from None
            raise

    def score(self, data: DataLike, *, bad_values: str = "error", missing_fields: str = "error",
              warn: Union[bool, str] = True, interval: bool = False) -> Union[np.ndarray, ScoredIntervals]:
        """Calibrated 30-day readmission risk per row (float64 array of probabilities).

        ``data``: raw records (a DataFrame, a dict of field -> values, or one encounter as a
        dict or Series), sent through :meth:`score_records` (the daemon encodes them;
        ``bad_values``, ``missing_fields`` and ``warn`` are its options); or a numpy 2-D float
        feature matrix in schema order (``(n_rows, n_features)``, as :attr:`feature_names`),
        sent as it is (the protocol's ``SCORE``). Raises :class:`readmit.EncodingError` (with
        ``row`` and ``field``) when a record has an error; :meth:`score_records` returns such
        errors per row instead.

        With ``interval=True`` returns a :class:`readmit.ScoredIntervals` of three arrays,
        ``(risk, risk_low, risk_high)``: each risk's interval, the inductive Venn-Abers interval
        of the model's calibration patients (docs/PROTOCOL.md, "Risk intervals"; wide where they
        say little about such a patient). The risks are the same as without it. A model without
        an interval raises :class:`readmit.IntervalUnavailableError`.
        """
        interval = _check_interval_flag(interval)
        if _is_records(data):
            frame = self._every_row(data, 0, bad_values, missing_fields, warn, interval)
            if interval:
                return ScoredIntervals(frame["risk"].to_numpy(), frame["risk_low"].to_numpy(),
                                       frame["risk_high"].to_numpy())
            return frame["risk"].to_numpy()
        x = self._check_matrix(data)
        n = x.shape[0]
        risk = np.empty(n, dtype=np.float64)
        if interval:
            low = np.empty(n, dtype=np.float64)
            high = np.empty(n, dtype=np.float64)
            with self._lock:
                h = self._h()
                rc = LIB.readmit_score_interval(h, x.ctypes.data, n, x.shape[1], risk.ctypes.data, None, None,
                                                low.ctypes.data, high.ctypes.data)
                self._check_interval_call(rc, h)
            self._track_model()
            return ScoredIntervals(risk, low, high)
        with self._lock:
            h = self._h()
            _check_call(LIB.readmit_score(h, x.ctypes.data, n, x.shape[1], risk.ctypes.data), h)
        self._track_model()
        return risk

    def score_frame(self, data: DataLike, *, bad_values: str = "error", missing_fields: str = "error",
                    warn: Union[bool, str] = True, interval: bool = False) -> pd.DataFrame:
        """Risk, atypicality and tier per row, as a DataFrame (index of ``data`` when it is one).

        ``data`` and the options as for :meth:`score`. ``atypicality`` says how unlike the
        training patients a row is; ``tier`` is a categorical of the tier names in INFO (low,
        medium, high). With ``interval=True`` also ``risk_low`` and ``risk_high`` (after
        ``risk``): each risk's interval, as for :meth:`score`.
        """
        interval = _check_interval_flag(interval)
        columns = ["risk", "risk_low", "risk_high", "atypicality", "tier"] if interval else \
            ["risk", "atypicality", "tier"]
        if _is_records(data):
            return self._every_row(data, 0, bad_values, missing_fields, warn, interval)[columns]
        x = self._check_matrix(data)
        n = x.shape[0]
        risk = np.empty(n, dtype=np.float64)
        atypicality = np.empty(n, dtype=np.float64)
        tier = np.empty(n, dtype=np.uint8)
        low = np.empty(n, dtype=np.float64)
        high = np.empty(n, dtype=np.float64)
        with self._lock:
            h = self._h()
            if interval:
                rc = LIB.readmit_score_interval(h, x.ctypes.data, n, x.shape[1], risk.ctypes.data,
                                                atypicality.ctypes.data, tier.ctypes.data, low.ctypes.data,
                                                high.ctypes.data)
                self._check_interval_call(rc, h)
            else:
                _check_call(LIB.readmit_score_full(h, x.ctypes.data, n, x.shape[1], risk.ctypes.data,
                                                   atypicality.ctypes.data, tier.ctypes.data), h)
        self._track_model()
        names = [t["name"] for t in (self._info or self.info()).get("tiers", [])] or ["low", "medium", "high"]
        return pd.DataFrame({
            "risk": risk,
            "risk_low": low,
            "risk_high": high,
            "atypicality": atypicality,
            "tier": pd.Categorical.from_codes(tier.astype(np.int64), categories=names, ordered=True),
        })[columns]

    def explain(self, data: DataLike, k: int = 5, *, bad_values: str = "error", missing_fields: str = "error",
                warn: Union[bool, str] = True) -> pd.DataFrame:
        """The top-``k`` features per row by absolute contribution to the log-odds.

        ``data`` and the options as for :meth:`score`. Returns a long DataFrame with one line
        per (row, rank): ``row`` (position in ``data``), ``rank`` (0 = largest), ``feature``
        (name), ``feature_index`` and ``contribution`` (log-odds); for raw records also
        ``value`` (the raw value the feature was read from, as text, or None when missing).
        Rows with fewer than ``k`` non-zero contributions have fewer lines.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0:
            raise InvalidArgumentError(f"k must be a positive integer, not {k!r}")
        k = int(k)
        if _is_records(data):
            frame = self._every_row(data, k, bad_values, missing_fields, warn)
            position = {name: i for i, name in enumerate(self.feature_names)}
            lines = [(row, rank, feature, contribution, value)
                     for row, entries in enumerate(frame["explanation"])
                     for rank, (feature, contribution, value) in enumerate(entries)]
            rows, ranks, features, contributions, values = (list(c) for c in zip(*lines)) if lines else ([],) * 5
            # Object columns stay object (pandas 3 would infer a string dtype and turn None into NaN).
            return pd.DataFrame({
                "row": np.asarray(rows, dtype=np.int64),
                "rank": np.asarray(ranks, dtype=np.int64),
                "feature": pd.Series(_object_array(features), dtype=object),
                "feature_index": np.asarray([position.get(f, -1) for f in features], dtype=np.int64),
                "contribution": np.asarray(contributions, dtype=np.float64),
                "value": pd.Series(_object_array(values), dtype=object),
            })
        x = self._check_matrix(data)
        n = x.shape[0]
        index = np.empty(n * k, dtype=np.int32)
        contribution = np.empty(n * k, dtype=np.float64)
        k_used = c_size_t()
        with self._lock:
            h = self._h()
            _check_call(LIB.readmit_explain(h, x.ctypes.data, n, x.shape[1], k, index.ctypes.data,
                                            contribution.ctypes.data, byref(k_used)), h)
        self._track_model()
        rows = np.repeat(np.arange(n), k)
        ranks = np.tile(np.arange(k), n)
        keep = index >= 0
        names = np.asarray(self.feature_names, dtype=object)
        return pd.DataFrame({
            "row": rows[keep],
            "rank": ranks[keep],
            "feature": names[index[keep]],
            "feature_index": index[keep],
            "contribution": contribution[keep],
        }).reset_index(drop=True)

    # -- raw records -------------------------------------------------------------------------

    def score_records(self, data: RecordsLike, k: int = 0, *, bad_values: str = "error",
                      missing_fields: str = "error", warn: Union[bool, str] = True,
                      interval: bool = False) -> pd.DataFrame:
        """Scores encounters given as their raw fields; the daemon encodes them with the model's
        own dataset spec (the protocol's ``RECORDS``; :meth:`raw_fields` lists the fields).

        ``data`` is a DataFrame (one row per encounter), a dict of column -> list/array (several
        encounters), or one encounter as a dict of field -> scalar or a Series. Columns are sent
        as they are, with no encoding here: an integer or float column as numbers (NaN and
        ``pd.NA`` missing), every other column (object, string, category, bool, datetime, ...)
        as the texts ``str(value)`` (a categorical of more than 65,535 integer categories, or
        one past 1e15, as the numbers it holds, which the daemon reads the same;
        None, NaN, ``pd.NA``, NaT missing; a date-time as
        ``%Y-%m-%d %H:%M:%S`` in its own time zone, with ``.%f`` when it has a fraction of a
        second, as the R binding writes a ``POSIXct``). The daemon then applies
        its one policy: a text that is not a number in a number field (``"three"``, ``True``, a
        date) is a ``bad_number`` error of its row, an infinite number ``not_finite``, an unknown
        level is missing with an ``unknown_level`` warning, and so on (docs/PROTOCOL.md, "Raw
        records"). Each row is scored alone: its result never depends on the other rows.

        Args:
            k: explanations per row (0 = none); with ``k > 0`` the result has an
                ``explanation`` column.
            bad_values: ``"error"`` (a value that cannot be read is an error of its row) or
                ``"missing"`` (it is missing, with a warning).
            missing_fields: ``"error"`` (an absent required field fails the call with
                :class:`readmit.InvalidFeatureError`, a ``ValueError`` whose ``field`` names
                it) or ``"missing"`` (the field is missing for every row, with a warning).
            warn: True: one :class:`readmit.ReadmitDataWarning` per call that counts the
                daemon's warnings and quotes the first few; False: none; ``"error"``: raise
                :class:`readmit.DataWarningError` (``row``, ``field``, ``kind`` of the first
                warning) when there is any.
            interval: also return each risk's interval as ``risk_low`` and ``risk_high`` (the
                protocol's ``interval`` option; NaN for a row with an error); a model without
                one raises :class:`readmit.IntervalUnavailableError`.

        Returns a DataFrame indexed like ``data`` (one row for a single encounter) with
        ``risk``, ``atypicality``, ``tier`` (categorical of the tier names in INFO), ``error``
        (the row's error as ``"field: message"``, or None; such a row has NaN risk and
        atypicality and no tier), ``warnings`` (tuple of the row's warnings, ``"field:
        message"``, as ``readmit score --records`` writes them; empty for most rows) and, with ``k > 0``,
        ``explanation`` (list of ``(feature, contribution, value)``, the largest absolute
        log-odds contribution first; ``value`` is the raw value read, as text, or None).
        Warnings about the whole request (absent fields, unused columns) are in the
        ReadmitDataWarning and in ``result.attrs["request_messages"]``. Row errors never raise.
        With ``interval=True``, ``risk_low`` and ``risk_high`` follow ``risk``.
        """
        return self._records(data, k, bad_values, missing_fields, warn, stacklevel=3, interval=interval)

    def _records(self, data: RecordsLike, k: int, bad_values: str, missing_fields: str, warn: Union[bool, str],
                 stacklevel: int, raise_row_errors: bool = False, interval: bool = False) -> pd.DataFrame:
        """score_records; with ``raise_row_errors`` the first row error raises EncodingError.
        ``stacklevel`` attributes the ReadmitDataWarning to the caller's line."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise InvalidArgumentError(f"k must be a non-negative integer, not {k!r}")
        k = int(k)
        options = self._options(bad_values, missing_fields, warn)
        if _check_interval_flag(interval):
            options |= _native.RECORDS_INTERVAL

        columns, n_rows, index = _records_columns(data)
        version, read = self._read_fields()
        # Columns the model does not read (an id column, the label) go without their values:
        # the daemon only warns about them (unused_field), and an id column's 100,000 distinct
        # texts cost more to hash, send and decode than the rest of a frame. Valid only for the
        # model INFO described: a reply from another one (a reload in between) sends again, in full.
        unread = frozenset(name for name, _ in columns if read is not None and name not in read)
        while True:
            records = self._take_records(n_rows)
            result = _native.ResultP()
            try:
                self._set_columns(records, columns, unread, n_rows)
                with self._lock:
                    h = self._h()
                    rc = LIB.readmit_score_records(h, records, k, options, byref(result))
                    answered = rc < _native.EINVAL  # a daemon reply (OK or its status), not a client-side failure
                    if unread and answered and LIB.readmit_last_model_version(h) != version:
                        self._info = None
                        unread = frozenset()
                        continue  # the finally below frees this attempt's records and result
                    self._track_model()
                    error: Optional[ReadmitError] = None
                    try:
                        if interval:
                            self._check_interval_call(rc, h)
                        else:
                            _check_call(rc, h)
                    except IntervalUnavailableError:
                        raise
                    except ReadmitError as e:
                        error = e
                if error is not None:
                    names = [name for name, _ in columns]
                    error.field = self._field_named(str(error), names)
                    if error.field is not None and "absent from the request" in error.message \
                            and set(self.feature_names) <= set(names):
                        # A frame of feature vectors (`readmit encode`'s output) read as raw
                        # records: the daemon names a raw field, which hides the cause.
                        error.message += ("; the columns of data are the model's feature names: a feature matrix goes to "
                                          "score, score_frame or explain as numbers, data[client.feature_names].to_numpy()")
                        error.args = (error.message,)
                    raise error
                frame, messages = self._records_result(result, n_rows, index, k)
                break
            finally:
                LIB.readmit_result_free(result)
                self._keep_records(n_rows, records)

        if raise_row_errors:
            failed = [m for m in messages if m["severity"] == "error" and m["row"] is not None]
            if failed:
                raise EncodingError(_row_error_summary(failed), row=failed[0]["row"], field=failed[0]["field"])
        warned = [m for m in messages if m["severity"] == "warning"]
        if warned and warn == "error":
            first = warned[0]
            raise DataWarningError(_warning_summary(warned), row=first["row"], field=first["field"],
                                   kind=first["code"], messages=warned)
        if warned and warn is True:
            warnings.warn(_warning_summary(warned), ReadmitDataWarning, stacklevel=stacklevel)
        return frame

    def _set_columns(self, records: Any, columns: List[Tuple[str, pd.Series]], unread: frozenset, n_rows: int) -> None:
        """Sets every column of the frame in `records` (an unread one without its values), in
        order. A large frame is filled in two parts at once, the first on this thread and the
        rest on another, each in its own batch, then joined (readmit_records_move): the
        library's setters release the GIL, and hashing a 100,000-row column of texts takes
        about half a millisecond, so a frame of 58 such columns took about 20 ms on one core
        (benchmarks/bindings/README_python.md). The batch and its request are the same either
        way; an error is the one the columns in order meet first."""
        def fill(target: Any, part: List[Tuple[str, pd.Series]]) -> None:
            for name, column in part:
                if name in unread:
                    _set_unread_column(target, name, n_rows)
                else:
                    _set_column(target, name, column, n_rows)

        read = [i for i, (name, _) in enumerate(columns) if name not in unread]
        if n_rows < _PARALLEL_FILL_ROWS or _CORES < 2 or len(read) < 4:
            fill(records, columns)
            return
        split = read[len(read) // 2]  # half of the columns sent with values on each thread
        second = self._take_records(n_rows)
        failure: List[BaseException] = []

        def fill_second() -> None:
            try:
                fill(second, columns[split:])
            except BaseException as error:  # re-raised on the caller's thread below
                failure.append(error)

        helper = threading.Thread(target=fill_second, name="readmit-fill", daemon=True)
        helper.start()
        try:
            try:
                fill(records, columns[:split])  # its error, if any, comes first, as in one pass
            finally:
                helper.join()
            if failure:
                raise failure[0]
            _check_set(records, LIB.readmit_records_move(records, second), columns[split][0])
        finally:
            self._keep_records(n_rows, second)

    def derive_history(self, data: RecordsLike, *, bad_values: str = "error", missing_fields: str = "error",
                       warn: Union[bool, str] = True) -> pd.DataFrame:
        """Derives the history fields of encounters that hold patients' earlier stays, explicitly
        (the protocol's ``HISTORY``; history is never derived behind the caller's back).

        ``data`` is laid out as for :meth:`score_records`, and must carry the patient id and
        the dates or order column of the model's dataset spec (and, for a ``count_positive``
        history feature, its label column). The daemon derives each row's history from the
        other rows of the same patient that ended before it began, with the code training and
        ``readmit history`` use: unlike scoring, a row's history depends on the other rows.

        Returns a new DataFrame: ``data`` plus one float column per history field (NaN =
        unknown), replacing columns of the same name; pass it to :meth:`score_records`. A row
        that cannot be placed (a bad date, no patient id, ...) gets NaN history and raises
        nothing: its errors, and the warnings, are in ``result.attrs["history_messages"]``
        (dicts with ``row`` (the 0-based position, None for the whole request), ``field``,
        ``severity``, ``code``, ``message``) and, as for :meth:`score_records`, in one
        :class:`readmit.ReadmitDataWarning` per call (``warn=False`` silences it; ``"error"``
        raises :class:`readmit.DataWarningError` with the ``row``, ``field`` and ``kind`` of the
        first row error, else of the first warning). Row errors are reported in that warning too.
        ``bad_values`` and ``missing_fields`` as for :meth:`score_records`; an absent field
        needed to place the rows raises :class:`readmit.InvalidFeatureError` naming it.
        """
        options = self._options(bad_values, missing_fields, warn)
        columns, n_rows, index = _records_columns(data)
        records = _native.RecordsP()
        _check_call(LIB.readmit_records_new(n_rows, byref(records)))
        result = _native.ResultP()
        try:
            for name, column in columns:
                _set_column(records, name, column, n_rows)
            with self._lock:
                h = self._h()
                rc = LIB.readmit_derive_history(h, records, options, byref(result))
                error: Optional[ReadmitError] = None
                try:
                    _check_call(rc, h)
                except ReadmitError as e:
                    error = e
            if error is not None:
                error.field = self._field_named(str(error), [name for name, _ in columns])
                raise error
            derived: Dict[str, np.ndarray] = {}
            for i in range(LIB.readmit_result_n_history_fields(result)):
                name = _text(LIB.readmit_result_history_field(result, i)) or ""
                values = np.empty(n_rows, dtype=np.float64)
                _check_call(LIB.readmit_records_get_numbers(records, name.encode("utf-8"),
                                                            values.ctypes.data if n_rows else None))
                derived[name] = values
            messages = _messages(result)
        finally:
            LIB.readmit_result_free(result)
            LIB.readmit_records_free(records)

        frame = data.copy() if isinstance(data, pd.DataFrame) else pd.DataFrame(
            {name: column.to_numpy() for name, column in columns}, index=index)
        for name, values in derived.items():
            frame[name] = pd.Series(values, index=frame.index, dtype=np.float64)
        frame.attrs["history_messages"] = messages
        if messages:
            summary = _warning_summary(messages, ("message", "messages"), "the history",
                                       "result.attrs['history_messages'] has each one; a row with an error has NaN history")
            if warn == "error":
                first = next((m for m in messages if m["severity"] == "error"), messages[0])
                raise DataWarningError(summary, row=first["row"], field=first["field"], kind=first["code"],
                                       messages=messages)
            if warn is True:
                warnings.warn(summary, ReadmitDataWarning, stacklevel=2)
        return frame

    def _options(self, bad_values: str, missing_fields: str, warn: Union[bool, str]) -> int:
        """The READMIT_RECORDS_* bits of score_records' and derive_history's arguments."""
        options = 0
        if bad_values == "missing":
            options |= _native.RECORDS_BAD_VALUES_MISSING
        elif bad_values != "error":
            raise InvalidArgumentError(f"bad_values must be 'error' or 'missing', not {bad_values!r}")
        if missing_fields == "missing":
            options |= _native.RECORDS_MISSING_FIELDS_OK
        elif missing_fields != "error":
            raise InvalidArgumentError(f"missing_fields must be 'error' or 'missing', not {missing_fields!r}")
        if warn not in (True, False, "error"):
            raise InvalidArgumentError(f"warn must be True, False or 'error', not {warn!r}")
        return options

    def _field_named(self, message: str, columns: List[str]) -> Optional[str]:
        """The raw field (or request column) a daemon or library message names in quotes."""
        quoted = _QUOTED_NAME.findall(message)
        if not quoted:
            return None
        known = set(columns)
        try:
            info = self._info or self.info()
            known.update(f.get("name") for f in info.get("raw_fields", []) if isinstance(f, dict))
            inputs = info.get("history_inputs")
            if isinstance(inputs, dict):  # what HISTORY needs besides the raw fields
                known.update(n for n in inputs.get("required", []) if isinstance(n, str))
        except ReadmitError:
            pass
        return next((q for q in quoted if q in known), None)

    def _records_result(self, result, n: int, index: Any, k: int) -> Tuple[pd.DataFrame, List[Dict[str, Any]]]:
        """The DataFrame of a readmit_result, and its messages as dicts."""
        if LIB.readmit_result_n_rows(result) != n:
            raise ProtocolError(f"the reply has {LIB.readmit_result_n_rows(result)} rows, not {n}")
        risk = np.empty(n, dtype=np.float64)
        atypicality = np.empty(n, dtype=np.float64)
        tier = np.empty(n, dtype=np.uint8)
        if n:
            _check_call(LIB.readmit_result_scores(result, risk.ctypes.data, atypicality.ctypes.data,
                                                  tier.ctypes.data))
        messages = _messages(result)
        row_error: Dict[int, str] = {}  # only the rows with messages: most rows have none
        row_warnings: Dict[int, List[str]] = {}
        for m in messages:
            r = m["row"]
            if r is not None and 0 <= r < n:
                line = f"{m['field']}: {m['message']}" if m["field"] else m["message"]  # as readmit score
                if m["severity"] == "error":
                    row_error.setdefault(r, line)
                else:
                    row_warnings[r] = row_warnings.get(r, ()) + (line,)

        version = f"{LIB.readmit_result_model_version(result):016x}"
        info = self._info
        if info is None or str(info.get("model_version", "")).lower().rjust(16, "0") != version:
            info = self.info()
        names = [t["name"] for t in info.get("tiers", [])] or ["low", "medium", "high"]
        codes = tier.astype(np.int64)
        codes[tier == _native.TIER_ERROR] = -1
        columns: Dict[str, Any] = {"risk": risk}
        if LIB.readmit_result_has_interval(result):
            low = np.empty(n, dtype=np.float64)
            high = np.empty(n, dtype=np.float64)
            if n:
                _check_call(LIB.readmit_result_intervals(result, low.ctypes.data, high.ctypes.data))
            columns["risk_low"] = low  # NaN for a row with an error, as its risk
            columns["risk_high"] = high
        columns.update({
            "atypicality": atypicality,
            "tier": pd.Categorical.from_codes(codes, categories=names, ordered=True),  # NaN for an error row
            "error": _sparse_object_array(n, row_error, None),
            "warnings": _sparse_object_array(n, row_warnings, ()),
        })
        if k > 0:
            columns["explanation"] = _object_array(_explanations(result, n))
        # Object columns stay object (pandas 3 would infer a string dtype and turn None into NaN).
        # Every array here is new and referenced nowhere else: the frame takes them without a
        # copy (pandas 3 copies a NumPy array given to Series by default, and the DataFrame
        # copied again into consolidated blocks: about 9 ms for 100,000 rows).
        frame = pd.DataFrame({name: pd.Series(values, index=index, dtype=object, copy=False) if values.dtype == object
                              else pd.Series(values, index=index, copy=False) for name, values in columns.items()},
                             index=index, copy=False)
        frame.attrs["request_messages"] = [m for m in messages if m["row"] is None]
        frame.attrs["messages"] = messages  # every error and warning, with its row (0-based) and code
        return frame, messages

def _messages(result) -> List[Dict[str, Any]]:
    """The messages of a readmit_result as dicts (row None: the whole request)."""
    n = LIB.readmit_result_n_messages(result)
    if n == 0:
        return []
    rows = np.empty(n, dtype=np.intc)
    severities = np.empty(n, dtype=np.intc)
    strings = np.empty((3, n), dtype=np.uintp)  # each message's field, code and text
    _check_call(LIB.readmit_result_messages(result, rows.ctypes.data, severities.ctypes.data, strings[0].ctypes.data,
                                            strings[1].ctypes.data, strings[2].ctypes.data))
    # Equal strings of a result are one pointer (a 100,000-row batch can carry thousands of
    # messages in a few wordings): each distinct one is decoded once. NULL (0) is None.
    text: Dict[int, Optional[str]] = {0: None}
    for address in set(strings.ravel().tolist()):
        if address:
            text[address] = ctypes.string_at(address).decode("utf-8", "replace")
    error = _native.SEVERITY_ERROR
    return [{"row": r if r >= 0 else None, "field": text[f], "severity": "error" if v == error else "warning",
             "code": text[c], "message": text[t] or ""}
            for r, v, f, c, t in zip(rows.tolist(), severities.tolist(), *strings.tolist())]


def _text(value: Optional[bytes]) -> Optional[str]:
    return None if value is None else value.decode("utf-8", "replace")


def _object_array(items: List[Any]) -> np.ndarray:
    """A 1-d object array holding `items` as they are (lists stay lists)."""
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def _sparse_object_array(n: int, items: Dict[int, Any], default: Any) -> np.ndarray:
    """A 1-d object array of n entries: items[i] where given, else ``default`` (None, or the
    empty tuple: immutable, so every row without a message shares it). No Python object is
    made per row: most rows have no message, and 100,000 new lists cost more than the rest of
    the result frame."""
    out = np.empty(n, dtype=object)
    out.fill(default)
    for i, item in items.items():
        out[i] = item
    return out


def _explanations(result, n: int) -> List[List[Tuple[str, float, Optional[str]]]]:
    rows = []
    count = c_size_t()
    feature, contribution, value = c_char_p(), c_double(), c_char_p()
    for r in range(n):
        _check_call(LIB.readmit_result_n_explanations(result, r, byref(count)))
        entries = []
        for j in range(count.value):
            _check_call(LIB.readmit_result_explanation(result, r, j, byref(feature), byref(contribution),
                                                       byref(value)))
            entries.append((_text(feature.value) or "", contribution.value, _text(value.value)))
        rows.append(entries)
    return rows


def _warning_summary(warned: List[Dict[str, Any]], nouns: Tuple[str, str] = ("warning", "warnings"),
                     about: str = "the records",
                     hint: str = "the 'warnings' column has each row's") -> str:
    def where(m: Dict[str, Any]) -> str:
        place = "request" if m["row"] is None else f"row {m['row']}"
        return place + (f", field '{m['field']}'" if m["field"] else "")

    quoted = "; ".join(f"{where(m)}: {m['message']}" for m in warned[:WARNINGS_QUOTED])
    more = f"; and {len(warned) - WARNINGS_QUOTED} more" if len(warned) > WARNINGS_QUOTED else ""
    noun = nouns[0] if len(warned) == 1 else nouns[1]
    return f"{len(warned)} {noun} about {about}: {quoted}{more} ({hint}; warn=False silences this)"


def _row_error_summary(failed: List[Dict[str, Any]]) -> str:
    rows = sorted({m["row"] for m in failed})
    quoted = "; ".join(f"row {m['row']}" + (f", field '{m['field']}'" if m["field"] else "") + f": {m['message']}"
                       for m in failed[:WARNINGS_QUOTED])
    more = f"; and {len(failed) - WARNINGS_QUOTED} more" if len(failed) > WARNINGS_QUOTED else ""
    noun = "row" if len(rows) == 1 else "rows"
    return (f"{len(rows)} {noun} could not be scored: {quoted}{more} (score_records returns each row's error "
            f"without raising; bad_values='missing' reads unreadable values as missing)")


def _is_records(data: Any) -> bool:
    """Raw records (sent through RECORDS) rather than a feature matrix."""
    return isinstance(data, (pd.DataFrame, pd.Series, Mapping))


def _string_out(handle, fn, *args: int) -> str:
    """A string from a (buffer, size, *needed) libreadmit call: asks the size, then copies."""
    needed = c_size_t()
    rc = fn(handle, *args, None, 0, byref(needed))
    if rc not in (_native.OK, _native.ERANGE):
        _check_call(rc, handle)
    buf = ctypes.create_string_buffer(max(needed.value, 1))
    _check_call(fn(handle, *args, buf, len(buf), byref(needed)), handle)
    return buf.value.decode("utf-8", "replace")


def _is_column(value: Any) -> bool:
    return pd.api.types.is_list_like(value) and not isinstance(value, (dict, set, frozenset))


def _records_columns(data: RecordsLike) -> Tuple[List[Tuple[str, pd.Series]], int, Any]:
    """(name, values) per column, the number of rows and the result's index."""
    if isinstance(data, pd.DataFrame):
        columns = [(_label_name(label), values) for label, values in data.items()]  # by position: 2x iloc's speed
        names = [name for name, _ in columns]
        n, index = len(data), data.index
    elif isinstance(data, pd.Series):  # one encounter: field -> value
        names = [_label_name(c) for c in data.index]
        columns = [(name, pd.Series([value])) for name, value in zip(names, data.tolist())]
        n, index = 1, pd.Index([data.name]) if data.name is not None else pd.RangeIndex(1)
    elif isinstance(data, Mapping):
        names = [_label_name(c) for c in data.keys()]
        values = list(data.values())
        if values and all(_is_column(v) for v in values):
            columns = [(name, v if isinstance(v, pd.Series) else pd.Series(v)) for name, v in zip(names, values)]
            lengths = {len(c) for _, c in columns}
            if len(lengths) > 1:
                raise InvalidArgumentError(f"the columns of data have different lengths: {sorted(lengths)}")
            n = lengths.pop()
            index = pd.RangeIndex(n)
        elif all(not _is_column(v) for v in values):  # one encounter: field -> scalar
            columns = [(name, pd.Series([v])) for name, v in zip(names, values)]
            n, index = 1, pd.RangeIndex(1)
        else:
            bad = next(name for name, v in zip(names, values) if not _is_column(v))
            raise InvalidArgumentError(
                "data mixes columns (lists, arrays) and single values; give one encounter as field -> value or "
                f"several as field -> list (field '{bad}' holds a single value)", field=bad)
    else:
        raise InvalidArgumentError(
            f"data must be a DataFrame, a Series or a dict of field -> values, not {type(data).__name__}")
    seen = set()
    for name in names:
        if name in seen:
            raise InvalidArgumentError(f"column '{name}' appears twice", field=name)
        seen.add(name)
    return columns, n, index


def _label_name(label: Any) -> str:
    """A column label as the field name sent: ``str(label)``, except that a tuple (a label of a
    MultiIndex, as ``pivot``, ``groupby().agg`` or a two-row header give) is refused: its text
    ``"('demo', 'age')"`` would name no field, and the daemon would answer that every required
    field is absent, which hides the cause."""
    if isinstance(label, tuple):
        raise InvalidArgumentError(
            f"column label {label!r} is a tuple (a MultiIndex); the labels must be the model's field names: "
            "flatten them first, e.g. data.columns = data.columns.get_level_values(-1)", field=str(label))
    return str(label)


def _is_number_dtype(dtype: Any) -> bool:
    return (pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype)) \
        and not pd.api.types.is_bool_dtype(dtype)


def _field_name(name: str) -> bytes:
    """A column name as the library takes it (UTF-8), or InvalidArgumentError naming it."""
    try:
        return name.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidArgumentError(f"column name {name!r} is not valid UTF-8: {e}", field=name) from None


def _check_set(records, rc: int, name: str) -> None:
    """Raises for a failed readmit_records_set_* of column `name`, with the batch's message."""
    if rc != _native.OK:
        message = (LIB.readmit_records_errmsg(records) or b"").decode("utf-8", "replace") or _native.strerror(rc)
        cls = InvalidArgumentError if rc in (_native.EINVAL, _native.ENOTFOUND) else ReadmitError
        # The library names a bad text's row in its message ("field 'x', row 7: ..."); the
        # exception carries it too, as the texts checked here in Python do.
        row = re.match(r"field '.*', row (\d+): ", message)
        raise cls(message, code=rc, field=name, row=int(row.group(1)) if row else None)


def _set_column(records, name: str, column: pd.Series, n: int) -> None:
    """Sets one column of a readmit_records: numbers for int/float dtypes, texts otherwise."""
    name_b = _field_name(name)
    categorical = isinstance(column.dtype, pd.CategoricalDtype)
    integers = _integer_categories(column) if categorical else None
    if integers is not None and len(integers) <= _FEW_CATEGORIES and (len(integers) == 0 or np.abs(integers).max() < 1e15):
        # A few integer categories (a coded field such as admission_type_id, a count read with
        # dtype="category") go as the texts of their integers with the categorical's codes, as
        # any other categorical: a byte a row on the wire instead of eight, and no gather. The
        # daemon reads an integer below 1e15 sent as a number as exactly that text (its shortest
        # text), and parses the text in a number field to the same number: the same features.
        integers = None
    if integers is not None or (not categorical and _is_number_dtype(column.dtype)):
        if integers is not None:
            # A categorical of integers goes as the numbers it holds, as an integer column
            # does: the daemon reads a number in a text field as its shortest text, str() of
            # the integer (exact below 2**53). An id column has as many categories as rows, and
            # 100,000 texts cost more to make, pack, copy and decode than the rest of a frame.
            # One gather: code -1 (missing) is the last entry, the NaN appended after the
            # categories (take() reads a negative index from the end, as Python does; pandas'
            # codes are -1 to n - 1). Boolean masks and a filled array cost about 6x as much for
            # 100,000 rows; take() costs less than indexing with the codes, and its default mode
            # a quarter of mode="wrap" (a modulo per row: 670 against 184 us for 100,000 rows).
            values = np.take(np.append(integers, np.nan), np.asarray(column.array.codes))
        elif isinstance(column.dtype, np.dtype) and column.dtype.kind in "iu":
            # NumPy integers hold no missing value: a plain cast, about half the time of to_numpy's
            # na_value path (42 against 74 us for 100,000 rows; 15 such columns in Diabetes 130 read_csv'd).
            values = np.ascontiguousarray(column.to_numpy(), dtype=np.float64)
        else:
            values = np.ascontiguousarray(column.to_numpy(dtype=np.float64, na_value=np.nan))
        rc = LIB.readmit_records_set_numbers(records, name_b, values.ctypes.data if n else None)
    elif (chunks := _arrow_strings(column)) is not None:
        # Texts pandas holds in Arrow memory (pandas 3's default string dtype with pyarrow, and
        # the Arrow batches of Spark and Dask): the library reads the buffers and their offsets
        # as they are and hashes each row in C, about 10x faster than pandas' factorize. A
        # column in several chunks (read_csv gives six for 100,000 rows) goes chunk by chunk:
        # joining them copied every text and offset of the column first.
        if len(chunks) == 1:
            data, offsets, valid = chunks[0]
            rc = LIB.readmit_records_set_text_buffer(records, name_b, _address(data), data.size if data is not None else 0,
                                                     offsets.ctypes.data, valid.ctypes.data if valid is not None else None)
        else:
            k = len(chunks)
            rows = (ctypes.c_size_t * k)(*(len(offsets) - 1 for _, offsets, _ in chunks))
            datas = (ctypes.c_void_p * k)(*(_address(data) for data, _, _ in chunks))
            sizes = (ctypes.c_size_t * k)(*(data.size if data is not None else 0 for data, _, _ in chunks))
            starts = (ctypes.c_void_p * k)(*(offsets.ctypes.data for _, offsets, _ in chunks))
            valids = (ctypes.c_void_p * k)(*(valid.ctypes.data if valid is not None else None for _, _, valid in chunks))
            rc = LIB.readmit_records_set_text_chunks(records, name_b, k, rows, datas, sizes, starts, valids)
    else:
        # Dictionary-encoded, as pandas holds it after factorize (or as a categorical's codes): each
        # distinct text crosses into C once, the rows as int32 codes (-1 = missing).
        levels, codes = _texts(column, name)
        packed, starts = _pack_levels(levels, name, codes)
        pointers = np.frombuffer(packed, dtype=np.uint8).ctypes.data + starts  # one address per level
        pointers = np.ascontiguousarray(pointers, dtype=np.uintp)
        rc = LIB.readmit_records_set_codes(records, name_b, len(levels), pointers.ctypes.data if len(levels) else None,
                                           codes.ctypes.data if n else None)
        del packed  # the library copied the texts
    _check_set(records, rc, name)


# A frame of at least this many rows is filled on two threads (Client._set_columns), on a
# machine of two cores or more.
_PARALLEL_FILL_ROWS = 16_384
_CORES = os.cpu_count() or 1

# Integer categoricals with at most this many categories are sent as texts and codes (above:
# an id column, whose texts would cost more than its numbers).
_FEW_CATEGORIES = 65535


def _set_unread_column(records, name: str, n: int) -> None:
    """Sets a column the model does not read: its name, every row missing (no texts), so that
    the daemon still answers its unused_field warning."""
    codes = np.full(n, -1, dtype=np.int32)
    _check_set(records, LIB.readmit_records_set_codes(records, _field_name(name), 0, None, codes.ctypes.data if n else None), name)


def _arrow_strings(column: pd.Series) -> Optional[List[Tuple[Any, np.ndarray, Optional[np.ndarray]]]]:
    """A string column held in Arrow memory as its chunks, each (data buffer, int64 offsets of
    its rows, uint8 validity or None), the layout of readmit_records_set_text_buffer and
    readmit_records_set_text_chunks; None for any other column."""
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype):
        if dtype.storage != "pyarrow":
            return None
    elif not (isinstance(dtype, pd.ArrowDtype) and str(dtype.pyarrow_dtype) in _ARROW_STRING_TYPES):
        return None
    import pyarrow as pa

    chunked = column.array.__arrow_array__()
    arrays = chunked.chunks if isinstance(chunked, pa.ChunkedArray) else [chunked]
    if not arrays:  # a ChunkedArray of no chunk (no rows)
        arrays = [pa.array([], type=pa.large_string())]
    return [_arrow_chunk(array) for array in arrays]


def _arrow_chunk(array: Any) -> Tuple[Any, np.ndarray, Optional[np.ndarray]]:
    """One Arrow string array as (data buffer, int64 offsets of its rows, uint8 validity or None)."""
    import pyarrow as pa

    if not (pa.types.is_large_string(array.type) or pa.types.is_string(array.type)):
        array = array.cast(pa.large_string())  # string_view and friends: one copy
    n = len(array)
    _, offsets_buffer, data = array.buffers()
    if n == 0 or offsets_buffer is None:
        return data, np.zeros(n + 1, dtype=np.int64), None
    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=width)[array.offset:array.offset + n + 1]
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)  # int32 offsets (Arrow `string`) widened
    valid = None
    if array.null_count:
        valid = np.ascontiguousarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=np.uint8)
    return data, offsets, valid


def _address(data: Any) -> Optional[int]:
    """The address of an Arrow buffer, None for no buffer or an empty one."""
    return data.address if data is not None and data.size else None


# Arrow types whose values go through _arrow_strings (a cast makes the views large_string).
_ARROW_STRING_TYPES = ("string", "large_string", "string_view")


def _integer_categories(column: pd.Series) -> Optional[np.ndarray]:
    """A categorical's integer categories as float64 when every one is exact as a double (at
    most 2**53 in magnitude), else None."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return None
    categories = column.cat.categories
    if not pd.api.types.is_integer_dtype(categories.dtype):
        return None
    ints = categories.to_numpy()
    if len(ints) and (ints.max() > 2**53 or ints.min() < -2**53):
        return None
    return ints.astype(np.float64)


def _texts(column: pd.Series, name: str) -> Tuple[List[str], np.ndarray]:
    """The distinct texts of a column and each row's code into them (-1 = missing), the codes
    as contiguous int32 (what readmit_records_set_codes reads): one cast from pandas' codes."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = np.asarray(column.array.codes)  # int8/16/32 as pandas holds them; -1 = missing
        categories = column.cat.categories
        if isinstance(categories.dtype, pd.StringDtype):
            # pandas' string dtype (pandas 3's default for texts, often Arrow memory): one
            # conversion to Python strings, about twice as fast as iterating the Index.
            uniques = categories.to_numpy(dtype=object).tolist()
        elif categories.inferred_type == "string":
            uniques = list(categories)
        elif pd.api.types.is_integer_dtype(categories.dtype):
            # str() of Python ints: about twice as fast as astype(str), which builds an Arrow
            # string array in pandas 3 (an id column has as many categories as rows).
            uniques = list(map(str, categories.tolist()))
        elif pd.api.types.is_numeric_dtype(categories.dtype):
            uniques = categories.astype(str).tolist()  # vectorised; the same texts as str()
        else:
            uniques = [_text_of(c, name, None) for c in categories]
    elif isinstance(column.dtype, pd.StringDtype):
        # pandas' own string columns (the default for texts in pandas 3) factorize in place,
        # missing values as -1, without a Python object per row.
        codes, found = pd.factorize(column)
        uniques = list(found)
    else:
        values = column.to_numpy(dtype=object)
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            codes, found = pd.factorize(values)
        else:
            missing = pd.isna(values)
            strings = np.empty(len(values), dtype=object)
            present = np.flatnonzero(~missing)
            strings[present] = [_text_of(v, name, int(r)) for v, r in zip(values[present], present)]
            codes, found = pd.factorize(strings)
        uniques = list(found)
    return uniques, np.ascontiguousarray(codes, dtype=np.int32)


def _text_of(value: Any, name: str, row: Optional[int]) -> str:
    """A value's text: bytes (a NumPy ``S`` column, h5py, a database driver) decoded as UTF-8,
    as the C API reads every text, not ``str(b'x')``, which is ``"b'x'"``; anything else by
    ``str``. Bytes that are not UTF-8 raise InvalidArgumentError naming the field and row."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError as error:
            where = f", row {row}" if row is not None else ""
            raise InvalidArgumentError(f"field '{name}'{where}: bytes are not valid UTF-8 "
                                       f"({error.reason} at byte {error.start}): {bytes(value)!r}",
                                       row=row, field=name) from None
    if isinstance(value, np.datetime64):
        if np.datetime_data(value.dtype)[0] in ("Y", "M", "W", "D"):
            return str(value)  # a date: '2153-09-17', as R writes a Date
        value = pd.Timestamp(value)
    if isinstance(value, datetime.datetime):
        # Wall-clock time in the value's own zone, without an offset, as R formats a POSIXct;
        # str() added '+00:00' to a zone-aware one (a bad timestamp in every spec format) and
        # 'T' to a NumPy datetime64.
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        return f"{text}.{value.microsecond:06d}" if value.microsecond or getattr(value, "nanosecond", 0) else text
    return str(value)


def _pack_levels(levels: List[str], name: str, codes: np.ndarray) -> Tuple[bytes, np.ndarray]:
    """The levels as one UTF-8 buffer of NUL-terminated texts, and each one's start offset.

    One join and one encode for the whole column instead of one bytes object per level: an ID
    column has as many levels as rows. A text that cannot be sent (a lone surrogate, which has
    no UTF-8; a NUL) raises InvalidArgumentError naming the field and the first row that holds
    it (0-based, as the daemon's row errors), found from ``codes`` only on that path."""
    def refuse(level: int, why: str) -> InvalidArgumentError:
        rows = np.flatnonzero(codes == level)
        row = int(rows[0]) if len(rows) else None
        return InvalidArgumentError(f"field '{name}', row {row}: {why}: {levels[level]!r}", row=row, field=name)

    try:
        packed = ("\0".join(levels) + "\0").encode("utf-8") if levels else b"\0"
    except UnicodeEncodeError:
        bad = next(k for k, u in enumerate(levels) if not _encodable(u))
        raise refuse(bad, "text is not valid UTF-8 (a lone surrogate has no UTF-8 form)") from None
    ends = np.flatnonzero(np.frombuffer(packed, dtype=np.uint8) == 0)
    if len(levels) and len(ends) != len(levels):  # a NUL inside a text: name the first one
        raise refuse(next(k for k, u in enumerate(levels) if "\0" in u), "text holds a NUL byte")
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.uintp) if len(levels) else np.zeros(0, dtype=np.uintp)
    return packed, starts


_INT_MAX = 2**31 - 1
_SIZE_MAX = 2**(8 * ctypes.sizeof(ctypes.c_size_t)) - 1


def _whole(value: Any) -> bool:
    """An int or NumPy integer, not a bool (True is an int to Python, not a count)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def version() -> str:
    """The version of the bundled libreadmit."""
    return LIB.readmit_version().decode()


# ctypes is imported for callers that pass raw pointers in tests.
__all__ = ["Client", "ScoredIntervals", "version", "ctypes"]
