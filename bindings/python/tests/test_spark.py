"""readmit.spark.score: a Spark DataFrame scored with mapInPandas in local mode (local[2])
against real readmitd daemons on loopback, every risk bit for bit the binding's own, rows in
their order, row errors in the error column, and dead endpoints handled.

Skipped without pyspark (scripts/tests/30-python.sh checks that CI has it)."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator

import pandas as pd
import pytest

pytest.importorskip("pyspark")
pytestmark = [pytest.mark.filterwarnings("ignore:.*copy keyword is deprecated"),  # pyspark 4.1 on pandas 3
              pytest.mark.filterwarnings("ignore:toPandas attempted Arrow optimization")]  # the failing jobs

import readmit
import readmit.spark

from conftest import Daemon, free_port
from engine_cases import DIRTY, assert_same, direct, dirty_errors, kill_mid_job, replicated, text_or_none
from engine_cases import frame, reference, second  # noqa: F401  (fixtures)

LOG4J = Path(__file__).with_name("log4j2-quiet.properties")


@pytest.fixture(scope="module")
def spark() -> Iterator["pyspark.sql.SparkSession"]:  # noqa: F821
    """A small, quiet local[2] session bound to loopback."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers run this interpreter
    quiet = f"-Dlog4j2.configurationFile=file:{LOG4J}"
    session = (SparkSession.builder.master("local[2]").appName("readmit-test")
               .config("spark.driver.memory", "512m")
               .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.driver.extraJavaOptions", quiet)
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", "500")  # several batches per partition
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def collect(scored) -> pd.DataFrame:
    return scored.toPandas()


def test_two_daemons_give_the_binding_s_scores_in_order(spark, daemon, second, frame, reference):
    df = spark.createDataFrame(frame)
    assert df.rdd.getNumPartitions() >= 2
    scored = readmit.spark.score(df, endpoints=[daemon.endpoint, second.endpoint], batch_rows=300)
    added = [f.name for f in scored.schema.fields[len(df.columns):]]
    assert added == ["risk", "atypicality", "tier", "error"]
    out = collect(scored)
    # mapInPandas is narrow: the rows come back in the input's order, with every input column.
    assert out["row"].tolist() == list(range(len(frame)))
    assert out["encounter_id"].tolist() == frame["encounter_id"].tolist()
    assert_same(out, reference)
    # The dirty rows are row errors, returned in the error column.
    errors = dirty_errors(reference)
    assert set(errors) == set(DIRTY)
    for position, (column, _) in DIRTY.items():
        assert column in out["error"].iloc[position]
    assert out["risk"].notna().sum() == len(frame) - len(DIRTY)
    # One client per Python worker, reused across its batches (10 and more here), not one per batch.
    endpoints = [daemon.endpoint, second.endpoint]

    def probe(batches):
        from readmit import _engines
        for _ in batches:
            pass
        yield pd.DataFrame({"pid": [os.getpid()], "clients": [_engines.clients_opened(endpoints)]})

    opened = df.mapInPandas(probe, "pid long, clients long").toPandas()
    assert opened["clients"].max() == 1, opened


def plan(scored) -> str:
    return scored._jdf.queryExecution().toString()


def test_a_date_column_takes_the_pandas_path_with_the_same_scores(spark, daemon, frame, reference):
    from pyspark.sql import functions as F

    df = spark.createDataFrame(frame)
    assert "MapInArrow" in plan(readmit.spark.score(df, endpoints=daemon.endpoint))
    dated = df.withColumn("admitted", F.to_date(F.lit("2026-12-03"))).withColumn("flag", F.lit(True))
    scored = readmit.spark.score(dated, endpoints=daemon.endpoint, keep=["row", "admitted"])
    assert "MapInPandas" in plan(scored)
    out = collect(scored)
    assert list(out.columns) == ["row", "admitted", "risk", "atypicality", "tier", "error"]
    assert out["row"].tolist() == list(range(len(frame)))
    assert_same(out, reference)  # the unused columns change nothing


def test_intervals_and_a_repartitioned_frame(spark, daemon, frame):
    reference = direct(daemon.endpoint, frame, interval=True)
    df = spark.createDataFrame(frame).repartition(3)  # a shuffle: rows keyed by their id now
    out = collect(readmit.spark.score(df, endpoints=daemon.endpoint, interval=True))
    assert list(out.columns[-6:]) == ["risk", "risk_low", "risk_high", "atypicality", "tier", "error"]
    out = out.sort_values("row").reset_index(drop=True)
    assert out["row"].tolist() == list(range(len(frame)))
    assert_same(out, reference, interval=True)


def test_only_the_named_columns_are_sent(spark, daemon, frame, reference):
    df = spark.createDataFrame(frame)
    # The row number is not sent; the result is the same (the daemon ignores unused columns).
    sent = [c for c in frame.columns if c != "row"]
    out = collect(readmit.spark.score(df, endpoints=daemon.endpoint, columns=sent))
    assert_same(out, reference)
    # Only an id kept, and a column neither sent nor kept, which Spark then does not read.
    noted = df.withColumn("unused_note", df["row"])
    slim = readmit.spark.score(noted, endpoints=daemon.endpoint, keep=["row"], columns=sent)
    assert "unused_note" not in plan(slim).split("== Optimized Logical Plan ==")[1]
    assert "unused_note" in plan(readmit.spark.score(noted, endpoints=daemon.endpoint, columns=sent))
    out = collect(slim)
    assert list(out.columns) == ["row", "risk", "atypicality", "tier", "error"]
    assert out["row"].tolist() == list(range(len(frame)))
    assert_same(out, reference)
    # Without a required field, the request fails as a whole: the job fails and names the field.
    with pytest.raises(Exception, match="time_in_hospital"):
        collect(readmit.spark.score(df, endpoints=daemon.endpoint,
                                    columns=[c for c in sent if c != "time_in_hospital"]))


def test_a_dead_endpoint_beside_a_live_one(spark, daemon, frame, reference):
    stopped = Daemon()
    stopped.stop()  # a daemon that was there and is gone, and a port nobody listened on
    endpoints = [stopped.endpoint, f"tcp://127.0.0.1:{free_port()}", daemon.endpoint]
    out = collect(readmit.spark.score(spark.createDataFrame(frame), endpoints=endpoints, timeout_ms=5000))
    assert_same(out, reference)


def test_a_daemon_killed_mid_job_costs_no_row(spark, frame, reference):
    # Two daemons of this test's own; one is SIGKILLed while the job runs. Its in-flight
    # requests are retried on the other, so every row comes back with the binding's score.
    victim, survivor = Daemon(), Daemon()
    try:
        copies = 20
        df = spark.createDataFrame(replicated(frame, copies))
        endpoints = [victim.endpoint, survivor.endpoint]
        out = kill_mid_job(lambda: collect(readmit.spark.score(df, endpoints=endpoints, batch_rows=250,
                                                                timeout_ms=5000)), victim, survivor)
        assert out["row"].tolist() == list(range(copies * len(frame)))
        assert_same(out, pd.concat([reference] * copies, ignore_index=True))
    finally:
        victim.stop()
        survivor.stop()


def test_no_daemon_fails_the_job_or_fills_the_error_column(spark, frame):
    dead = f"tcp://127.0.0.1:{free_port()}"
    df = spark.createDataFrame(frame.head(50))
    with pytest.raises(Exception) as caught:
        collect(readmit.spark.score(df, endpoints=dead, timeout_ms=5000))
    assert "UnavailableError" in str(caught.value) and dead in str(caught.value)
    out = collect(readmit.spark.score(df, endpoints=dead, timeout_ms=5000, request_errors="column"))
    assert out["risk"].isna().all() and pd.Series(text_or_none(out["tier"])).isna().all()
    assert all(e.startswith("request failed: UnavailableError: ") and dead in e for e in out["error"])


def test_options_are_checked_on_the_driver(spark, daemon, frame):
    df = spark.createDataFrame(frame.head(5))
    with pytest.raises(readmit.InvalidArgumentError, match="'risk'"):
        readmit.spark.score(df.withColumn("risk", df["row"]), endpoints=daemon.endpoint)
    with pytest.raises(readmit.InvalidArgumentError, match="'nope'"):
        readmit.spark.score(df, endpoints=daemon.endpoint, columns=["row", "nope"])
    with pytest.raises(readmit.InvalidArgumentError, match="endpoints"):
        readmit.spark.score(df, endpoints=[])
    with pytest.raises(readmit.InvalidArgumentError, match="request_errors"):
        readmit.spark.score(df, endpoints=daemon.endpoint, request_errors="ignore")
    with pytest.raises(readmit.InvalidArgumentError):
        readmit.spark.score(df, endpoints="not-an-endpoint")
    empty = collect(readmit.spark.score(df.limit(0), endpoints=daemon.endpoint))
    assert len(empty) == 0 and list(empty.columns[-4:]) == ["risk", "atypicality", "tier", "error"]
