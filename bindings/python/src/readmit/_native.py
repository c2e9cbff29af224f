"""ctypes bindings to libreadmit (the C shim built into this package) and `_check_call`.

Every C call goes through :func:`_check_call`, which turns a non-zero result code into the
matching :mod:`readmit.errors` exception with the client's message, row and feature (the
pattern of XGBoost's Python package). ctypes releases the GIL during each call.

Ctrl-C: every client is opened with :data:`INTERRUPT_CHECK` as libreadmit's interrupt check.
While a call waits for the daemon, libreadmit calls it at least every 50 ms (and at once when a
signal cuts the wait short). The check is CPython's own ``PyOS_InterruptOccurred`` (called with
the GIL, through ctypes.pythonapi): it says whether SIGINT arrived, and takes it, without
running any Python code. A Python function would not do: the pending KeyboardInterrupt is
raised on entering it, before any ``try`` inside could catch it, and ctypes then drops the
exception and returns an undefined value. On READMIT_EINTERRUPTED :func:`_check_call` runs the
SIGINT handler in the calling frame: the default one raises KeyboardInterrupt; a custom one
runs as it would have (and if it returns, KeyboardInterrupt is raised, the call having been
abandoned).
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
from ctypes import POINTER, c_char_p, c_double, c_int, c_int32, c_size_t, c_uint, c_uint8, c_uint64, c_void_p

from . import errors

# Result codes, as in include/readmit.h.
OK = 0
EBADMAGIC, EBADVERSION, EBADOP, EBADFRAMES, EBADPAYLOAD = 1, 2, 3, 4, 5
EBADCOLUMNS, EBADVALUE, EBADCATEGORY, ETOOMANYROWS = 6, 7, 8, 9
ENOTREADY, EOVERLOADED, ERELOADFAILED, EFORBIDDEN, EBADARGUMENT, EINTERNAL = 10, 11, 12, 13, 14, 15
EINVAL, ENOMEM, ETIMEDOUT, EZMQ, EPROTO, ETOOBIG, ERANGE, ESTATUS, ENOTFOUND = range(100, 109)
EUNAVAILABLE, EINTERRUPTED, EAUTH = 109, 110, 111

# Raw field types (READMIT_FIELD_*), RECORDS option bits and message severities.
FIELD_NUMBER, FIELD_TEXT, FIELD_TIMESTAMP, FIELD_DIAGNOSIS_CODE, FIELD_OTHER = 0, 1, 2, 3, 4
FIELD_TYPE_NAMES = {FIELD_NUMBER: "number", FIELD_TEXT: "text", FIELD_TIMESTAMP: "timestamp",
                    FIELD_DIAGNOSIS_CODE: "diagnosis_code", FIELD_OTHER: "other"}
RECORDS_MISSING_FIELDS_OK = 0x1
RECORDS_BAD_VALUES_MISSING = 0x2
RECORDS_INTERVAL = 0x4
SEVERITY_WARNING, SEVERITY_ERROR = 1, 2
TIER_ERROR = 255

_ERROR_CLASSES = {
    ETIMEDOUT: errors.ReadmitTimeout,
    EUNAVAILABLE: errors.UnavailableError,
    EAUTH: errors.AuthenticationError,
    EZMQ: errors.ReadmitConnectionError,
    EPROTO: errors.ProtocolError,
    ETOOBIG: errors.MessageTooLargeError,
    ESTATUS: errors.ProtocolError,
    EINVAL: errors.InvalidArgumentError,
    ENOMEM: errors.ReadmitError,
    ERANGE: errors.ReadmitError,
    ENOTFOUND: errors.InvalidArgumentError,
    EBADCOLUMNS: errors.InvalidFeatureError,
    EBADVALUE: errors.InvalidFeatureError,
    EBADCATEGORY: errors.InvalidFeatureError,
    ETOOMANYROWS: errors.InvalidFeatureError,
    EBADARGUMENT: errors.InvalidFeatureError,
    ENOTREADY: errors.NotReadyError,
    EOVERLOADED: errors.OverloadedError,
    ERELOADFAILED: errors.ReloadFailedError,
    EFORBIDDEN: errors.ForbiddenError,
}


class _Client(ctypes.Structure):
    """Opaque readmit_client."""


class _Options(ctypes.Structure):
    """Opaque readmit_options."""


class _Records(ctypes.Structure):
    """Opaque readmit_records (a batch of raw encounters)."""


class _Result(ctypes.Structure):
    """Opaque readmit_result (what readmit_score_records returned)."""


ClientP = POINTER(_Client)
OptionsP = POINTER(_Options)
RecordsP = POINTER(_Records)
ResultP = POINTER(_Result)


#: The C type of libreadmit's interrupt check: int (*)(void *user).
INTERRUPT_FN = ctypes.CFUNCTYPE(c_int, c_void_p)

# int PyOS_InterruptOccurred(void): 1 when SIGINT arrived since the last check (main thread
# only; 0 elsewhere), clearing it. Given the check's `user` argument too, which it ignores (an
# extra argument is harmless in the C calling conventions CPython runs on).
_interrupt_occurred = ctypes.pythonapi.PyOS_InterruptOccurred
_interrupt_occurred.restype = c_int
_interrupt_occurred.argtypes = [c_void_p]

#: The check installed on every client (kept referenced for as long as the module lives).
INTERRUPT_CHECK = INTERRUPT_FN(_interrupt_occurred)


def _raise_interrupt() -> None:
    """SIGINT abandoned a call (and the check took it): run its handler here, as Python would
    have (the default one raises KeyboardInterrupt)."""
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler) and handler is not signal.default_int_handler:
        handler(signal.SIGINT, sys._getframe(1))
    raise KeyboardInterrupt


def _library_path() -> str:
    override = os.environ.get("READMIT_LIBRARY")
    if override:
        return override
    suffix = {"win32": ".dll", "darwin": ".dylib"}.get(sys.platform, ".so")
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "_libreadmit" + suffix)


#: The oldest libreadmit this package works with (major, minor, patch): 0.12.0 added
#: readmit_records_move (a large frame is filled on two threads), and 0.12.1 bounds the memory
#: the two kept batches hold between calls (before, it grew with every call). The major
#: version must be this one's too (a new major may change what a call means).
MIN_LIBRARY_VERSION = (0, 12, 1)


def _version_number(major: int, minor: int, patch: int) -> int:
    return major * 10000 + minor * 100 + patch  # READMIT_MAKE_VERSION


def _open_library(path: str) -> ctypes.CDLL:
    """Loads libreadmit from ``path``, or raises :class:`errors.LibraryError` saying why."""
    chosen = "READMIT_LIBRARY" if os.environ.get("READMIT_LIBRARY") else "the package's own build"
    try:
        return ctypes.CDLL(path)
    except OSError as e:
        raise errors.LibraryError(f"cannot load libreadmit from {path} ({chosen}): {e}") from None


def _check_library(lib: ctypes.CDLL, path: str, needed) -> None:
    """Raises :class:`errors.LibraryError` when ``lib`` is older than MIN_LIBRARY_VERSION, of
    another major version, or lacks any of the functions ``needed``: a clear message at import
    instead of an AttributeError naming one undefined symbol, or calls whose behaviour differs."""
    hint = ("unset READMIT_LIBRARY to use the package's own build, or point it at a newer one"
            if os.environ.get("READMIT_LIBRARY") else "reinstall the package (pip install ./bindings/python)")
    found = "an unknown version"
    number = None
    if hasattr(lib, "readmit_version") and hasattr(lib, "readmit_version_number"):
        lib.readmit_version.restype, lib.readmit_version.argtypes = c_char_p, []
        lib.readmit_version_number.restype, lib.readmit_version_number.argtypes = c_int, []
        found = (lib.readmit_version() or b"?").decode("utf-8", "replace")
        number = lib.readmit_version_number()
    wanted = ".".join(map(str, MIN_LIBRARY_VERSION))
    missing = [name for name in needed if not hasattr(lib, name)]
    if number is None or number < _version_number(*MIN_LIBRARY_VERSION) or number // 10000 != MIN_LIBRARY_VERSION[0] or missing:
        why = ""
        if missing:
            named = ", ".join(missing[:4]) + (", ..." if len(missing) > 4 else "")
            why = f"; it lacks {len(missing)} function(s) this package calls: {named}"
        raise errors.LibraryError(f"libreadmit at {path} is {found}; this package needs {wanted} or newer "
                                  f"within major version {MIN_LIBRARY_VERSION[0]}{why}: {hint}")


def _load() -> ctypes.CDLL:
    path = _library_path()
    lib = _open_library(path)
    sig = {
        "readmit_version": (c_char_p, []),
        "readmit_version_number": (c_int, []),
        "readmit_strerror": (c_char_p, [c_int]),
        "readmit_options_new": (c_int, [POINTER(OptionsP)]),
        "readmit_options_free": (None, [OptionsP]),
        "readmit_options_set_timeout_ms": (c_int, [OptionsP, c_int]),
        "readmit_options_set_retries": (c_int, [OptionsP, c_int]),
        "readmit_options_add_endpoint": (c_int, [OptionsP, c_char_p]),
        "readmit_options_set_curve": (c_int, [OptionsP, c_char_p, c_char_p, c_char_p]),
        "readmit_options_set_max_reply_bytes": (c_int, [OptionsP, c_size_t]),
        "readmit_options_set_interrupt": (c_int, [OptionsP, INTERRUPT_FN, c_void_p]),
        # Load balancing (0.5.0): split batches over several daemons; per-endpoint state.
        "readmit_options_set_split_rows": (c_int, [OptionsP, c_size_t]),
        "readmit_n_endpoints": (c_int, [ClientP, POINTER(c_size_t)]),
        "readmit_endpoint_status": (c_int, [ClientP, c_size_t, POINTER(c_int), POINTER(c_uint64), POINTER(c_uint64)]),
        "readmit_open_errmsg": (c_char_p, []),
        "readmit_open": (c_int, [c_char_p, POINTER(ClientP)]),
        "readmit_open_ex": (c_int, [c_char_p, OptionsP, POINTER(ClientP)]),
        "readmit_close": (None, [ClientP]),
        "readmit_errmsg": (c_char_p, [ClientP]),
        "readmit_errcode": (c_int, [ClientP]),
        "readmit_error_row": (c_int, [ClientP]),
        "readmit_error_feature": (c_int, [ClientP]),
        "readmit_last_model_version": (c_uint64, [ClientP]),
        "readmit_n_features": (c_int, [ClientP, POINTER(c_size_t)]),
        "readmit_score": (c_int, [ClientP, c_void_p, c_size_t, c_size_t, c_void_p]),
        "readmit_score_full": (c_int, [ClientP, c_void_p, c_size_t, c_size_t, c_void_p, c_void_p, c_void_p]),
        # Risk intervals (0.4.0): low and high are float64 buffers of n_rows.
        "readmit_score_interval": (c_int, [ClientP, c_void_p, c_size_t, c_size_t, c_void_p, c_void_p, c_void_p,
                                           c_void_p, c_void_p]),
        "readmit_has_interval": (c_int, [ClientP, POINTER(c_int)]),
        "readmit_result_has_interval": (c_int, [ResultP]),
        "readmit_result_interval": (c_int, [ResultP, c_size_t, POINTER(c_double), POINTER(c_double)]),
        "readmit_result_intervals": (c_int, [ResultP, c_void_p, c_void_p]),
        "readmit_explain": (c_int, [ClientP, c_void_p, c_size_t, c_size_t, c_size_t, c_void_p, c_void_p,
                                    POINTER(c_size_t)]),
        "readmit_info_json_alloc": (c_int, [ClientP, POINTER(c_void_p)]),
        "readmit_health": (c_int, [ClientP, POINTER(c_int), POINTER(c_uint64)]),
        "readmit_stats_alloc": (c_int, [ClientP, c_int, POINTER(c_void_p)]),
        "readmit_reload": (c_int, [ClientP, c_char_p, POINTER(c_void_p)]),
        "readmit_free": (None, [c_void_p]),
        # Raw fields (INFO "raw_fields"). Name/level buffers are passed as c_void_p (a
        # create_string_buffer or None with size 0 to ask for the size).
        "readmit_n_raw_fields": (c_int, [ClientP, POINTER(c_size_t)]),
        "readmit_raw_field_name": (c_int, [ClientP, c_size_t, c_void_p, c_size_t, POINTER(c_size_t)]),
        "readmit_raw_field_index": (c_int, [ClientP, c_char_p, POINTER(c_size_t)]),
        "readmit_raw_field_type": (c_int, [ClientP, c_size_t, POINTER(c_int)]),
        "readmit_raw_field_required": (c_int, [ClientP, c_size_t, POINTER(c_int)]),
        "readmit_raw_field_history": (c_int, [ClientP, c_size_t, POINTER(c_int)]),
        "readmit_raw_field_n_levels": (c_int, [ClientP, c_size_t, POINTER(c_size_t)]),
        "readmit_raw_field_level": (c_int, [ClientP, c_size_t, c_size_t, c_void_p, c_size_t, POINTER(c_size_t)]),
        # Raw records (RECORDS). set_numbers takes a float64 buffer, set_texts an array of
        # n_rows `const char *` (NULL = missing), both as raw addresses.
        "readmit_records_new": (c_int, [c_size_t, POINTER(RecordsP)]),
        "readmit_records_free": (None, [RecordsP]),
        "readmit_records_clear": (c_int, [RecordsP]),
        # move (0.12.0): every field of the second batch into the first (a frame filled in parts).
        "readmit_records_move": (c_int, [RecordsP, RecordsP]),
        "readmit_records_errmsg": (c_char_p, [RecordsP]),
        "readmit_records_set_number": (c_int, [RecordsP, c_char_p, c_size_t, c_double]),
        "readmit_records_set_text": (c_int, [RecordsP, c_char_p, c_size_t, c_char_p]),
        "readmit_records_set_numbers": (c_int, [RecordsP, c_char_p, c_void_p]),
        "readmit_records_set_texts": (c_int, [RecordsP, c_char_p, c_void_p]),
        # set_codes: n_levels, an array of n_levels `const char *`, n_rows int32 codes (-1 = missing).
        "readmit_records_set_codes": (c_int, [RecordsP, c_char_p, c_size_t, c_void_p, c_void_p]),
        # set_text_buffer (0.6.0): Arrow's large_string layout: data, its length, n_rows + 1
        # int64 offsets, NULL or n_rows validity bytes (0 = missing).
        "readmit_records_set_text_buffer": (c_int, [RecordsP, c_char_p, c_void_p, c_size_t, c_void_p, c_void_p]),
        # set_text_chunks (0.9.0): the same per chunk of an Arrow ChunkedArray: n_chunks, then
        # arrays of n_chunks rows, data pointers, their lengths, offsets pointers, validity or NULL.
        "readmit_records_set_text_chunks": (c_int, [RecordsP, c_char_p, c_size_t, c_void_p, c_void_p, c_void_p,
                                                    c_void_p, c_void_p]),
        "readmit_score_records": (c_int, [ClientP, RecordsP, c_size_t, c_uint, POINTER(ResultP)]),
        # History (HISTORY): sets the history columns in the records; get_numbers reads them back.
        "readmit_derive_history": (c_int, [ClientP, RecordsP, c_uint, POINTER(ResultP)]),
        "readmit_records_get_numbers": (c_int, [RecordsP, c_char_p, c_void_p]),
        "readmit_result_n_history_fields": (c_size_t, [ResultP]),
        "readmit_result_history_field": (c_char_p, [ResultP, c_size_t]),
        "readmit_result_free": (None, [ResultP]),
        "readmit_result_n_rows": (c_size_t, [ResultP]),
        "readmit_result_k": (c_size_t, [ResultP]),
        "readmit_result_model_version": (c_uint64, [ResultP]),
        "readmit_result_row": (c_int, [ResultP, c_size_t, POINTER(c_double), POINTER(c_double), POINTER(c_uint8),
                                       POINTER(c_int)]),
        "readmit_result_scores": (c_int, [ResultP, c_void_p, c_void_p, c_void_p]),
        "readmit_result_n_messages": (c_size_t, [ResultP]),
        "readmit_result_message": (c_int, [ResultP, c_size_t, POINTER(c_int), POINTER(c_char_p), POINTER(c_int),
                                           POINTER(c_char_p), POINTER(c_char_p)]),
        # Every message at once (0.8.0): n ints, n ints, and three arrays of n `const char *`.
        "readmit_result_messages": (c_int, [ResultP, c_void_p, c_void_p, c_void_p, c_void_p, c_void_p]),
        "readmit_result_n_explanations": (c_int, [ResultP, c_size_t, POINTER(c_size_t)]),
        "readmit_result_explanation": (c_int, [ResultP, c_size_t, c_size_t, POINTER(c_char_p), POINTER(c_double),
                                               POINTER(c_char_p)]),
    }
    _check_library(lib, path, sig)
    for name, (restype, argtypes) in sig.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


LIB = _load()


def strerror(code: int) -> str:
    """The library's name and description of a result code."""
    return LIB.readmit_strerror(code).decode("utf-8", "replace")


def _check_call(rc: int, handle=None, opening: bool = False) -> None:
    """Raises the exception for a non-zero libreadmit result code (with the client's details;
    ``opening``: a readmit_options_* or readmit_open* call, whose message readmit_open_errmsg
    keeps)."""
    if rc == OK:
        return
    if rc == EINTERRUPTED:
        _raise_interrupt()
    message, row, feature = strerror(rc), None, None
    if opening:
        text = LIB.readmit_open_errmsg()  # calls without a client (open, options) keep it per thread
        if text:
            message = text.decode("utf-8", "replace")
    if handle:
        text = LIB.readmit_errmsg(handle)
        if text:
            message = text.decode("utf-8", "replace")
        r, f = LIB.readmit_error_row(handle), LIB.readmit_error_feature(handle)
        row = r if r >= 0 else None
        feature = f if f >= 0 else None
    cls = _ERROR_CLASSES.get(rc)
    if cls is None:
        cls = errors.ServerError if 1 <= rc < 100 else errors.ReadmitError
    raise cls(message, code=rc, row=row, feature=feature)


def take_string(ptr: c_void_p) -> str:
    """Copies a library-allocated NUL-terminated string and frees it."""
    try:
        return ctypes.string_at(ptr.value).decode("utf-8") if ptr.value else ""
    finally:
        LIB.readmit_free(ptr)


# Keep the unused ctypes names importable for type annotations elsewhere.
__all__ = ["LIB", "ClientP", "OptionsP", "RecordsP", "ResultP", "_check_call", "take_string", "strerror", "c_double", "c_int32", "c_uint8"]
