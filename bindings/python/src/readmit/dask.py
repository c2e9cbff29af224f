"""Scoring a Dask DataFrame against readmitd daemons, on Dask's own workers.

>>> import readmit.dask
>>> scored = readmit.dask.score(ddf, endpoints=["tcp://scoring-1:5555", "tcp://scoring-2:5555"])
>>> scored[["encounter_id", "risk", "tier", "error"]].to_parquet("scores/")

Each worker thread opens one :class:`readmit.Client` to the endpoints at its first partition
and reuses it for every later one (``map_partitions``); the partition's columns go to the
daemon as they are, as raw records (the protocol's ``RECORDS``), and the results come back as
new columns. dask is imported when :func:`score` is called: ``import readmit.dask`` works
without it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

from . import _engines

if TYPE_CHECKING:  # pragma: no cover
    import dask.dataframe as dd

__all__ = ["score"]


def score(ddf: "dd.DataFrame", endpoints: Union[str, Sequence[str]], *, columns: Optional[Sequence[str]] = None,
          keep: Optional[Sequence[str]] = None, interval: bool = False, bad_values: str = "error",
          missing_fields: str = "error", request_errors: str = "raise", batch_rows: int = 20000,
          timeout_ms: int = 60000, retries: int = 1, **client_options: Any) -> "dd.DataFrame":
    """Scores every row of a Dask DataFrame; returns a new (lazy) Dask DataFrame with the same
    partitions and index: the columns of ``ddf`` as they are (all, or those named by ``keep``),
    followed by ``risk`` (float64), ``atypicality`` (float64), ``tier`` (the tier name in INFO,
    missing for an error row) and ``error`` (the row's error as ``"field: message"``, else
    missing). With ``interval=True`` also ``risk_low`` and ``risk_high`` after ``risk``.

    A row the daemon cannot score has a NaN risk and its error in ``error``: it never fails the
    computation. The arguments are those of :func:`readmit.spark.score`; ``batch_rows`` splits
    each partition into requests of at most that many rows.

    Raises :class:`readmit.InvalidArgumentError` at once for a bad option, a column to send or
    keep that ``ddf`` lacks, or a result column that a kept column already has; ImportError
    without dask.
    """
    try:
        import dask.dataframe  # noqa: F401  (checks that dask's DataFrame is there)
    except ImportError as e:
        raise ImportError(f"readmit.dask.score needs dask's DataFrame (pip install 'dask[distributed,dataframe]'): "
                          f"{e}") from e
    options = _engines.job_options(ddf.columns, endpoints, columns=columns, keep=keep, interval=interval,
                                   bad_values=bad_values, missing_fields=missing_fields,
                                   request_errors=request_errors, batch_rows=batch_rows,
                                   client_options=dict(client_options, timeout_ms=timeout_ms, retries=retries))
    meta = _engines.empty_results(ddf._meta, options)
    return ddf.map_partitions(_engines.score_batch, options, meta=meta)
