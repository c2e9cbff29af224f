"""Exceptions raised by the readmit client.

Every failure of the C shim becomes a :class:`ReadmitError` subclass carrying the shim's
result ``code``, its ``message`` (for daemon errors, the daemon's text naming the row and
feature) and, where the daemon named them, the offending ``row`` and ``feature`` index.
"""
from __future__ import annotations

from typing import Optional


class ReadmitError(Exception):
    """Base class of every error raised by this package."""

    def __init__(self, message: str, code: int = 0, row: Optional[int] = None, feature: Optional[int] = None,
                 field: Optional[str] = None):
        super().__init__(message)
        #: The libreadmit result code (``READMIT_E*``), 0 for errors raised in Python.
        self.code = code
        #: The shim's or daemon's message.
        self.message = message
        #: The row (0-based within the request) the daemon named, or None.
        self.row = row
        #: The feature index (schema order) the daemon named, or None.
        self.feature = feature
        #: The raw field (column of :meth:`readmit.Client.score_records`) the message names, or None.
        self.field = field


class LibraryError(ReadmitError, ImportError):
    """libreadmit could not be used: the file (the package's own build, or ``READMIT_LIBRARY``)
    does not load, or it is a version whose functions or behaviour this package does not have.
    Raised when ``readmit`` is imported; the message names the file and both versions."""


class ReadmitTimeout(ReadmitError, TimeoutError):
    """No reply within the timeout after all retries (daemon down, frozen or too slow)."""


class ReadmitConnectionError(ReadmitError, ConnectionError):
    """The connection could not be set up (CURVE unavailable, ...) or nothing answers at the
    endpoint (:class:`UnavailableError`). A malformed endpoint is an
    :class:`InvalidArgumentError`."""


class UnavailableError(ReadmitConnectionError):
    """No daemon at the endpoint(s): the connection was refused, the ipc socket file does not
    exist, or the daemon died. Raised within about a second, without waiting for the timeout;
    the message names the endpoint ("no daemon at tcp://127.0.0.1:5599 (connection refused)").
    A daemon that is connected but slow or stopped gives :class:`ReadmitTimeout` instead."""


class AuthenticationError(ReadmitConnectionError, PermissionError):
    """The daemon refused this client's security handshake: its CURVE public key is not among
    the daemon's authorized keys, ``server_public_key`` is not the daemon's, or only one side
    uses CURVE. Raised within about a second, without waiting for the timeout; the message names
    the endpoint and which ("refused by tcp://... (the daemon refused this client's CURVE public
    key (ZAP status 400): it is not in the daemon's --authorized-keys)")."""


class ProtocolError(ReadmitError):
    """The daemon's reply was malformed, oversized, or carried an unknown status."""


class MessageTooLargeError(ProtocolError):
    """A reply over the client's ``max_reply_bytes``, or a message ZeroMQ dropped the connection
    for on every attempt (a reply frame over ``max_reply_bytes``, a request frame over the
    daemon's ``--max-message-bytes``); the message names both limits (``READMIT_ETOOBIG``)."""


class InvalidArgumentError(ReadmitError, ValueError):
    """An argument was rejected before anything was sent (shape, dtype, k, ...)."""


class EncodingError(ReadmitError, ValueError):
    """A record could not be scored: :meth:`readmit.Client.score`, ``score_frame`` or ``explain``
    got raw records of which a row has an error from the daemon's encoder (a number field that
    holds no number, ...). ``row`` and ``field`` name the first; :meth:`readmit.Client.score_records`
    returns such errors per row instead of raising."""


class ServerError(ReadmitError):
    """The daemon answered with an error status.

    ``status`` is the wire protocol status code (``code`` has the same value).
    """

    @property
    def status(self) -> int:
        return self.code


class InvalidFeatureError(ServerError, ValueError):
    """The daemon rejected the feature matrix: a non-finite value, a bad category level index,
    a wrong column count, too many rows, or another bad argument (``row``/``feature`` say where)."""


class IntervalUnavailableError(InvalidFeatureError):
    """A risk interval was asked for (``interval=True``) and the serving model has none (its
    INFO ``"interval"`` is null: a model trained before intervals existed). The daemon answered
    ``BAD_ARGUMENT``; scoring without ``interval`` works. Retrain the model to get intervals."""


class NotReadyError(ServerError):
    """The daemon has no model loaded."""


class OverloadedError(ServerError):
    """The daemon's queue is full; retry later."""


class ReloadFailedError(ServerError):
    """The model could not be reloaded; the old model keeps serving."""


class ForbiddenError(ServerError, PermissionError):
    """The daemon's configuration does not allow the operation."""


class DataWarningError(ReadmitError, ValueError):
    """A warning about the data of :meth:`readmit.Client.score_records` under ``warn="error"``.

    ``row`` (0-based position in the data, None for a warning about the whole request),
    ``field`` (the raw field) and ``kind`` (the daemon's code, e.g. ``"unknown_level"``) are
    those of the first warning; ``messages`` lists every warning of the request as dicts.
    """

    def __init__(self, message: str, row: Optional[int] = None, field: Optional[str] = None,
                 kind: Optional[str] = None, messages: Optional[list] = None):
        super().__init__(message, code=0, row=row, field=field)
        #: The daemon's machine-readable code of the first warning ("unknown_level", ...).
        self.kind = kind
        #: Every warning of the request: dicts with row, field, severity, code, message.
        self.messages = list(messages or [])


class DataFileError(ReadmitError, ValueError):
    """A CSV file that :func:`readmit.read_records` refuses, by the rules of ``readmit``'s own
    reader (docs/DATASET_SPEC.md, "CSV files"): not valid UTF-8 (``kind`` ``"bad_encoding"``),
    a field over 1 MiB (``"field_too_long"``), a row whose field count differs from the header's
    or a broken quote (``"malformed"``). ``path``, ``line`` (1-based, the header is line 1; the
    first bad line of the file) and ``field`` (the column's name, None in the header) say where.
    Also a CURVE key file that :func:`readmit.read_curve_key` refuses (``"bad_key"``,
    ``"unreadable"``).
    """

    def __init__(self, message: str, path: str, line: Optional[int] = None, field: Optional[str] = None,
                 kind: Optional[str] = None):
        super().__init__(message, code=0, field=field)
        #: The file.
        self.path = path
        #: 1-based line of the file (the header is line 1).
        self.line = line
        #: ``"bad_encoding"``, ``"field_too_long"`` or ``"malformed"`` (the CLI's error codes);
        #: ``"bad_key"`` or ``"unreadable"`` for a key file.
        self.kind = kind


class ReadmitKeyWarning(UserWarning):
    """A secret key file (as ``readmit keys`` writes it) that other users can read: any of them
    could pose as its owner. :func:`readmit.read_curve_key` still returns the key."""


class ReadmitDataWarning(UserWarning):
    """Warnings the daemon reported about the data of :meth:`readmit.Client.score_records`
    (unknown levels, absent history or required fields, unused columns, values read as
    missing): one per call, counting them and quoting the first few with row and field."""


class ReadmitEncodingWarning(UserWarning):
    """No longer emitted (it came from the removed local encoder; the daemon's warnings are
    :class:`ReadmitDataWarning`). Kept so that warning filters naming it keep working."""
