"""The readmit client: a connection to readmitd through the C shim (libreadmit)."""
from __future__ import annotations

import ctypes
import json
import threading
from ctypes import byref, c_int, c_size_t, c_uint64, c_void_p
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _native
from ._native import LIB, _check_call, take_string
from .encoding import Encoder
from .errors import InvalidArgumentError, ReadmitError

ArrayLike = Union[pd.DataFrame, np.ndarray, Sequence[Sequence[float]]]


def _b(text: Optional[str]) -> Optional[bytes]:
    return None if text is None else text.encode("utf-8")


class Client:
    """A connection to a running ``readmitd``.

    Args:
        endpoint: ``"tcp://host:port"`` or ``"ipc://path"``, or a list of endpoints (the client
            talks to one at a time and fails over to the next after a timeout).
        timeout_ms: per-attempt timeout; a call waits at most ``(retries + 1) * timeout_ms``
            and then raises :class:`readmit.ReadmitTimeout`.
        retries: how often a timed-out request is resent on a fresh socket.
        server_public_key, client_public_key, client_secret_key: Z85 CURVE keys (40 characters)
            when the daemon requires CURVE; all three or none.
        max_reply_bytes: the largest reply accepted.

    A client may be shared between Python threads (calls are serialised by a lock; the GIL is
    released while waiting on the daemon). Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, endpoint: Union[str, Sequence[str]] = "tcp://127.0.0.1:5555", *, timeout_ms: int = 5000,
                 retries: int = 2, server_public_key: Optional[str] = None,
                 client_secret_key: Optional[str] = None, client_public_key: Optional[str] = None,
                 max_reply_bytes: Optional[int] = None):
        self._handle = None
        self._lock = threading.Lock()
        self._encoder: Optional[Encoder] = None
        self._info: Optional[Dict[str, Any]] = None
        endpoints = [endpoint] if isinstance(endpoint, str) else list(endpoint)
        if not endpoints or not all(isinstance(e, str) and e for e in endpoints):
            raise InvalidArgumentError("endpoint must be a non-empty string or list of strings")
        keys = (server_public_key, client_public_key, client_secret_key)
        if any(k is not None for k in keys) and not all(k is not None for k in keys):
            raise InvalidArgumentError("CURVE needs server_public_key, client_public_key and client_secret_key")
        opts = _native.OptionsP()
        _check_call(LIB.readmit_options_new(byref(opts)))
        try:
            if not isinstance(timeout_ms, int) or timeout_ms <= 0:
                raise InvalidArgumentError(f"timeout_ms must be a positive integer, not {timeout_ms!r}")
            if not isinstance(retries, int) or retries < 0:
                raise InvalidArgumentError(f"retries must be a non-negative integer, not {retries!r}")
            _check_call(LIB.readmit_options_set_timeout_ms(opts, timeout_ms))
            _check_call(LIB.readmit_options_set_retries(opts, retries))
            for e in endpoints:
                _check_call(LIB.readmit_options_add_endpoint(opts, _b(e)))
            if server_public_key is not None:
                rc = LIB.readmit_options_set_curve(opts, _b(server_public_key), _b(client_public_key),
                                                   _b(client_secret_key))
                if rc != _native.OK:
                    raise InvalidArgumentError("CURVE keys must be 40-character Z85 strings", code=rc)
            if max_reply_bytes is not None:
                _check_call(LIB.readmit_options_set_max_reply_bytes(opts, int(max_reply_bytes)))
            handle = _native.ClientP()
            rc = LIB.readmit_open_ex(None, opts, byref(handle))
            if rc != _native.OK:
                _check_call(rc)  # no client on failure: the code says why
            self._handle = handle
        finally:
            LIB.readmit_options_free(opts)
        self.endpoints = endpoints
        self.timeout_ms = timeout_ms
        self.retries = retries

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the connection; further calls raise ReadmitError. Idempotent."""
        with self._lock:
            if self._handle:
                LIB.readmit_close(self._handle)
                self._handle = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if getattr(self, "_handle", None):
                LIB.readmit_close(self._handle)
                self._handle = None
        except Exception:  # interpreter shutdown
            pass

    def __repr__(self) -> str:
        state = "open" if self._handle else "closed"
        return f"readmit.Client({self.endpoints!r}, timeout_ms={self.timeout_ms}, retries={self.retries}) [{state}]"

    def _h(self):
        if not self._handle:
            raise ReadmitError("the client is closed")
        return self._handle

    # -- model information -------------------------------------------------------------------

    def info(self) -> Dict[str, Any]:
        """Model metadata and the feature schema (the daemon's INFO JSON as a dict)."""
        with self._lock:
            out = c_void_p()
            h = self._h()
            _check_call(LIB.readmit_info_json_alloc(h, byref(out)), h)
            info = json.loads(take_string(out))
        self._info = info
        self._encoder = Encoder(info["features"])
        return info

    def _schema(self) -> Encoder:
        """The encoder of the serving model's schema (INFO fetched once, again after a reload)."""
        if self._encoder is None:
            self.info()
        assert self._encoder is not None
        return self._encoder

    def _track_model(self) -> None:
        """Drops the cached schema when a reply came from another model than INFO described."""
        if self._info is not None and self._handle:
            version = f"{LIB.readmit_last_model_version(self._handle):016x}"
            if version != str(self._info.get("model_version", version)).lower().rjust(16, "0"):
                self._info, self._encoder = None, None

    @property
    def feature_names(self) -> List[str]:
        """Feature names in schema order (the columns of an encoded matrix)."""
        return list(self._schema().names)

    @property
    def n_features(self) -> int:
        """The number of features of the model's schema."""
        return self._schema().n_features

    def health(self) -> Dict[str, Any]:
        """``{"live": True, "ready": bool, "model_version": "hex"}``; raises ReadmitTimeout when
        the daemon does not answer."""
        with self._lock:
            ready, version = c_int(), c_uint64()
            h = self._h()
            _check_call(LIB.readmit_health(h, byref(ready), byref(version)), h)
        return {"live": True, "ready": bool(ready.value), "model_version": f"{version.value:016x}"}

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
        self._info, self._encoder = None, None
        return json.loads(text)

    # -- encoding and scoring ----------------------------------------------------------------

    def encode(self, frame: ArrayLike) -> np.ndarray:
        """The float64 feature matrix the daemon receives.

        A DataFrame with the raw columns of the training CSV is encoded by the schema's rules
        (columns by name, extra columns ignored; categorical text or integer codes to level
        indices; missing values and levels never seen in training to NaN, with a
        :class:`readmit.ReadmitEncodingWarning` counting them). A missing required column raises
        :class:`readmit.EncodingError` naming it. A numpy array (or nested list) passes through
        after a shape check: ``(n_rows, n_features)``.
        """
        return self._schema().encode(frame) if isinstance(frame, pd.DataFrame) else self._schema().check_matrix(frame)

    def _matrix(self, data: ArrayLike) -> np.ndarray:
        return self.encode(data)

    def score(self, data: ArrayLike) -> np.ndarray:
        """Calibrated 30-day readmission risk per row (float64 array of probabilities)."""
        x = self._matrix(data)
        n = x.shape[0]
        risk = np.empty(n, dtype=np.float64)
        with self._lock:
            h = self._h()
            _check_call(LIB.readmit_score(h, x.ctypes.data, n, x.shape[1], risk.ctypes.data), h)
        self._track_model()
        return risk

    def score_frame(self, data: ArrayLike) -> pd.DataFrame:
        """Risk, atypicality and tier per row, as a DataFrame (index of ``data`` when it is one).

        ``atypicality`` says how unlike the training patients a row is; ``tier`` is a
        categorical of the tier names in INFO (low, medium, high).
        """
        x = self._matrix(data)
        n = x.shape[0]
        risk = np.empty(n, dtype=np.float64)
        atypicality = np.empty(n, dtype=np.float64)
        tier = np.empty(n, dtype=np.uint8)
        with self._lock:
            h = self._h()
            _check_call(LIB.readmit_score_full(h, x.ctypes.data, n, x.shape[1], risk.ctypes.data,
                                               atypicality.ctypes.data, tier.ctypes.data), h)
        self._track_model()
        names = [t["name"] for t in (self._info or self.info()).get("tiers", [])] or ["low", "medium", "high"]
        index = data.index if isinstance(data, pd.DataFrame) else None
        return pd.DataFrame({
            "risk": risk,
            "atypicality": atypicality,
            "tier": pd.Categorical.from_codes(tier.astype(np.int64), categories=names, ordered=True),
        }, index=index)

    def explain(self, data: ArrayLike, k: int = 5) -> pd.DataFrame:
        """The top-``k`` features per row by absolute contribution to the log-odds.

        Returns a long DataFrame with one line per (row, rank): ``row`` (position in
        ``data``), ``rank`` (0 = largest), ``feature`` (name), ``feature_index`` and
        ``contribution`` (log-odds); rows with fewer than ``k`` non-zero contributions have
        fewer lines.
        """
        if not isinstance(k, (int, np.integer)) or k <= 0:
            raise InvalidArgumentError(f"k must be a positive integer, not {k!r}")
        x = self._matrix(data)
        n = x.shape[0]
        k = int(k)
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


def version() -> str:
    """The version of the bundled libreadmit."""
    return LIB.readmit_version().decode()


# ctypes is imported for callers that pass raw pointers in tests.
__all__ = ["Client", "version", "ctypes"]
