"""Exceptions raised by the readmit client.

Every failure of the C shim becomes a :class:`ReadmitError` subclass carrying the shim's
result ``code``, its ``message`` (for daemon errors, the daemon's text naming the row and
feature) and, where the daemon named them, the offending ``row`` and ``feature`` index.
"""
from __future__ import annotations

from typing import Optional


class ReadmitError(Exception):
    """Base class of every error raised by this package."""

    def __init__(self, message: str, code: int = 0, row: Optional[int] = None, feature: Optional[int] = None):
        super().__init__(message)
        #: The libreadmit result code (``READMIT_E*``), 0 for errors raised in Python.
        self.code = code
        #: The shim's or daemon's message.
        self.message = message
        #: The row (0-based within the request) the daemon named, or None.
        self.row = row
        #: The feature index (schema order) the daemon named, or None.
        self.feature = feature


class ReadmitTimeout(ReadmitError, TimeoutError):
    """No reply within the timeout after all retries (daemon down, frozen or too slow)."""


class ReadmitConnectionError(ReadmitError, ConnectionError):
    """The connection could not be set up (malformed endpoint, CURVE unavailable, ...)."""


class ProtocolError(ReadmitError):
    """The daemon's reply was malformed, oversized, or carried an unknown status."""


class InvalidArgumentError(ReadmitError, ValueError):
    """An argument was rejected before anything was sent (shape, dtype, k, ...)."""


class EncodingError(ReadmitError, ValueError):
    """A DataFrame could not be encoded (a required column is missing, a number is not a number)."""


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


class NotReadyError(ServerError):
    """The daemon has no model loaded."""


class OverloadedError(ServerError):
    """The daemon's queue is full; retry later."""


class ReloadFailedError(ServerError):
    """The model could not be reloaded; the old model keeps serving."""


class ForbiddenError(ServerError, PermissionError):
    """The daemon's configuration does not allow the operation."""


class ReadmitEncodingWarning(UserWarning):
    """Values that :meth:`readmit.Client.encode` turned into NaN (missing, or levels never seen in training)."""
