"""readmit: score 30-day hospital readmission risk against a running readmitd.

>>> import readmit
>>> with readmit.Client("tcp://127.0.0.1:5555") as cl:
...     frame = readmit.read_records("patients.csv")  # raw fields as the CLI reads them
...     out = cl.score_records(frame, k=3)     # risk, atypicality, tier, error, warnings per row
...     risk = cl.score(frame)                 # numpy array of probabilities
...     full = cl.score_frame(frame)           # risk, atypicality, tier
...     band = cl.score_frame(frame, interval=True)  # also risk_low, risk_high
...     why = cl.explain(frame.head(3), k=5)   # top features per row

A Spark or Dask DataFrame is scored on the engine's own workers by :func:`readmit.spark.score`
and :func:`readmit.dask.score` (one client per worker; pyspark or dask needed only there).

Raw records go to the daemon as they are (the protocol's RECORDS) and the daemon encodes them
with the model's own dataset spec; nothing is encoded in Python. A numpy feature matrix in
schema order goes to score, score_frame and explain as it is (the protocol's SCORE).

The package talks to the daemon through libreadmit (the project's C shim, built into the
package); errors are :class:`ReadmitError` subclasses carrying the daemon's message.
"""
from .client import Client, ScoredIntervals, version
from .errors import (AuthenticationError, DataFileError, DataWarningError, EncodingError, ForbiddenError, IntervalUnavailableError, InvalidArgumentError,
                     InvalidFeatureError, LibraryError, MessageTooLargeError, NotReadyError, OverloadedError, ProtocolError, ReadmitConnectionError, ReadmitDataWarning,
                     ReadmitEncodingWarning, ReadmitError, ReadmitKeyWarning, ReadmitTimeout, ReloadFailedError, ServerError,
                     UnavailableError)
from .io import read_csv, read_records
from .keys import read_curve_key

__version__ = "0.3.0"

#: Submodules imported on first use (``readmit.spark``, ``readmit.dask``): importing readmit
#: needs neither pyspark nor dask, and importing these needs them only when scoring.
_LAZY_SUBMODULES = ("spark", "dask")


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'readmit' has no attribute {name!r}")

__all__ = [
    "Client", "ScoredIntervals", "version", "read_records", "read_csv", "read_curve_key", "ReadmitError", "DataFileError", "ReadmitTimeout",
    "ReadmitConnectionError", "UnavailableError", "AuthenticationError", "ProtocolError", "MessageTooLargeError",
    "InvalidArgumentError", "EncodingError", "ServerError", "InvalidFeatureError", "NotReadyError",
    "OverloadedError", "ReloadFailedError", "ForbiddenError", "ReadmitEncodingWarning", "ReadmitDataWarning", "ReadmitKeyWarning",
    "DataWarningError", "IntervalUnavailableError", "LibraryError",
]
