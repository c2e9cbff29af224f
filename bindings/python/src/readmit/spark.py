"""Scoring a Spark DataFrame against readmitd daemons, on Spark's own workers.

>>> import readmit.spark
>>> scored = readmit.spark.score(df, endpoints=["tcp://scoring-1:5555", "tcp://scoring-2:5555"])
>>> scored.select("encounter_id", "risk", "tier", "error").write.parquet("scores/")

Each Python worker opens one :class:`readmit.Client` to the endpoints at its first batch and
reuses it for every later batch (``mapInArrow`` when the columns sent are strings, numbers and
booleans, else ``mapInPandas``); the DataFrame's columns go to the daemon as they are, as raw
records (the protocol's ``RECORDS``: the daemon encodes them with the model's
dataset spec), and the results come back as new columns. pyspark is imported when
:func:`score` is called: ``import readmit.spark`` works without it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

from . import _engines

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame

__all__ = ["score"]


def score(df: "DataFrame", endpoints: Union[str, Sequence[str]], *, columns: Optional[Sequence[str]] = None,
          keep: Optional[Sequence[str]] = None, interval: bool = False, bad_values: str = "error",
          missing_fields: str = "error", request_errors: str = "raise", batch_rows: int = 20000,
          timeout_ms: int = 60000, retries: int = 1, **client_options: Any) -> "DataFrame":
    """Scores every row of a Spark DataFrame; returns a new (lazy) DataFrame: the columns of
    ``df`` as they are (all, or those named by ``keep``), followed by ``risk`` (double),
    ``atypicality`` (double), ``tier`` (string: the tier name in INFO) and ``error`` (string:
    the row's error as ``"field: message"``, else null), as :meth:`readmit.Client.score_records`
    gives them. With ``interval=True`` also
    ``risk_low`` and ``risk_high`` after ``risk``.

    Rows keep ``df``'s partitioning and their order within each partition; carry an id column
    (``encounter_id``) to join the results back. A row the daemon cannot score (a number field
    holding ``"three"``, ...) has a null risk and its error in ``error``: it never fails the job.

    Args:
        endpoints: the daemons (``"tcp://host:port"``, ...), as for :class:`readmit.Client`;
            with several, each worker's client uses them as that client does.
        columns: the columns to send (default: every column; a column the model does not read
            is ignored by the daemon).
        keep: the columns of ``df`` the result carries, in this order (default: every column).
            Spark cannot leave out of the Python workers' output a column that a later
            ``select`` drops, so name here only what is needed (an id): each column kept
            crosses from the Python workers back to the JVM.
        interval, bad_values, missing_fields: as for :meth:`readmit.Client.score_records`.
        request_errors: ``"raise"`` (default): a request that fails as a whole (no daemon
            answers, a timeout, a required field absent) fails the task with its
            :class:`readmit.ReadmitError`, and so the job once Spark's task retries are spent;
            ``"column"``: its rows get ``"request failed: ..."`` in ``error`` and null scores.
        batch_rows: the most rows in one request (Spark's Arrow batches, which
            ``spark.sql.execution.arrow.maxRecordsPerBatch`` sizes, are split further).
        timeout_ms, retries, **client_options: for each worker's :class:`readmit.Client`
            (CURVE keys, ``max_reply_bytes``).

    Raises :class:`readmit.InvalidArgumentError` at once (on the driver) for a bad option, a
    column to send or keep that ``df`` lacks, or a result column that a kept column already
    has; ImportError without pyspark.
    """
    try:
        from pyspark.sql.types import (BooleanType, ByteType, DoubleType, FloatType, IntegerType, LongType, ShortType,
                                       StringType, StructField, StructType)
    except ImportError as e:
        raise ImportError(f"readmit.spark.score needs pyspark (pip install pyspark): {e}") from e
    options = _engines.job_options(df.columns, endpoints, columns=columns, keep=keep, interval=interval,
                                   bad_values=bad_values, missing_fields=missing_fields,
                                   request_errors=request_errors, batch_rows=batch_rows,
                                   client_options=dict(client_options, timeout_ms=timeout_ms, retries=retries))
    added = [StructField(name, StringType() if name in _engines.TEXT_COLUMNS else DoubleType(), True)
             for name in options.result_columns]
    kept = [f for f in df.schema.fields if options.keep is None or f.name in options.keep]
    if options.keep is not None:
        kept.sort(key=lambda f: options.keep.index(f.name))
    schema = StructType(kept + added)

    needed = [c for c in df.columns if (options.columns is None or c in options.columns)
              or (options.keep is None or c in options.keep)]
    if len(needed) < len(df.columns):  # the others are neither sent nor kept: Spark need not read them
        from pyspark.sql.functions import col
        df = df.select(*[col("`" + c.replace("`", "``") + "`") for c in needed])
    sent = [f for f in df.schema.fields if options.columns is None or f.name in options.columns]
    direct_types = (StringType, BooleanType, ByteType, ShortType, IntegerType, LongType, FloatType, DoubleType)
    if hasattr(df, "mapInArrow") and all(isinstance(f.dataType, direct_types) for f in sent):
        # Strings, numbers and bools go from Arrow to the binding without a pandas object per
        # value (the cost of mapInPandas on wide text data), as pandas would send them.
        def score_arrow_batches(batches):
            for batch in batches:
                yield _engines.score_arrow_batch(batch, options)

        return df.mapInArrow(score_arrow_batches, schema)

    def score_batches(batches):
        for batch in batches:
            yield _engines.score_batch(batch, options)

    return df.mapInPandas(score_batches, schema)
