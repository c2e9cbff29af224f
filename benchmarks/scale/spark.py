#!/usr/bin/env python3
"""Benchmark: 1,000,000 raw encounters scored through Spark (local[2], readmit.spark.score) and
through Dask (LocalCluster of 2 processes, readmit.dask.score), against the Python binding
scoring the same rows directly from one process, in the same run, alternating.

    python3 benchmarks/scale/spark.py --endpoints tcp://127.0.0.1:P1 tcp://127.0.0.1:P2 \
        --data ../shared/data/diabetes130/diabetic_data.csv.gz [--rows 1000000] [--repeats 3] [--no-dask]

(benchmarks/scale/spark.sh starts the two daemons and runs this.)

The rows: the shipped encounters with their history fields derived once by the daemon
(Client.derive_history), replicated under new encounter and patient ids (copy c adds
c * 10^9 to both ids; a copy's patients have the same stays, so the same history) up to
--rows, written as Parquet files of 125,000 rows. Every contender reads those files, scores
every row as raw records (the protocol's RECORDS) and writes (encounter_id, risk) as Parquet:

* direct: pyarrow.parquet.read_table (text columns other than the ids as dictionaries, so
  pandas categoricals),
  Client.score_records in requests of 100,000 rows from one process (one client, the first
  endpoint), to_parquet;
* direct-split: the same with a client of both endpoints and split_rows=2,000 (each request
  cut into chunks scored by both daemons at once, one in flight per daemon);
* spark: spark.read.parquet, readmit.spark.score (mapInArrow, one client per Python worker,
  Arrow batches and requests of --spark-batch-rows, default 20,000), write.parquet;
* dask: dask.dataframe.read_parquet, readmit.dask.score, to_parquet;
* spark-floor: Spark's own cost, nothing scored: the same columns through mapInArrow to the
  Python workers, (encounter_id, 0.0) back, write.parquet.

Each run's output is read back and every risk compared with the direct path's of the first
round, to the bit, by encounter_id. Prints each run, then the medians, rows/s and the ratios of
each engine's throughput to the direct path's.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import readmit

FILE_ROWS = 125_000
DIRECT_ROWS = 100_000
DIRECT_SPLIT_ROWS = 2_000
ID_STRIDE = 10**9


def wait_ready(endpoints, seconds: int = 60) -> None:
    """Waits until every daemon answers ready (a client fails fast until its daemon listens)."""
    for endpoint in endpoints:
        with readmit.Client(endpoint, timeout_ms=1000, retries=0) as c:
            for _ in range(seconds * 10):
                try:
                    ready = c.health()["ready"]
                except (readmit.UnavailableError, readmit.ReadmitTimeout):
                    ready = False
                if ready:
                    break
                time.sleep(0.1)
            else:
                sys.exit(f"no ready daemon at {endpoint} after {seconds} s")


def prepare(data: Path, rows: int, endpoint: str, out: Path) -> int:
    """Writes the replicated encounters as Parquet files under ``out``; returns the base rows."""
    base = readmit.read_csv(data)
    with readmit.Client(endpoint, timeout_ms=600000, retries=0) as c:
        base = c.derive_history(base, warn=False)
    history = [name for name in base.columns if base[name].dtype == np.float64]
    copies = -(-rows // len(base))
    encounter = base["encounter_id"].astype(np.int64).to_numpy()
    patient = base["patient_nbr"].astype(np.int64).to_numpy()
    parts = []
    for c in range(copies):
        part = base.copy()
        part["encounter_id"] = (encounter + c * ID_STRIDE).astype(str)
        part["patient_nbr"] = (patient + c * ID_STRIDE).astype(str)
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True).iloc[:rows]
    out.mkdir(parents=True)
    for i, start in enumerate(range(0, rows, FILE_ROWS)):
        frame.iloc[start:start + FILE_ROWS].to_parquet(out / f"part-{i:03d}.parquet", index=False)
    assert frame["encounter_id"].is_unique
    print(f"rows: {rows:,} ({copies} copies of {len(base):,} encounters; history fields {history}); "
          f"{len(frame.columns)} columns; {len(list(out.iterdir()))} Parquet files")
    return len(base)


def run_direct(inputs: Path, output: Path, endpoints, split_rows: int = 0) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    # Text columns with few distinct values read as categoricals (their codes go to the daemon as
    # they are: the binding's fastest raw path), as readmit.spark does with Spark's Arrow batches.
    # Not the ids: a categorical keeps all its categories in every slice of 100,000 rows.
    first = pq.read_table(next(iter(sorted(inputs.iterdir()))))
    texts = [f.name for f in first.schema if str(f.type) in ("string", "large_string")
             and len(pc.unique(first.column(f.name))) <= 10_000]
    frame = pq.read_table(inputs, read_dictionary=texts).to_pandas()
    risks = []
    with readmit.Client(endpoints, timeout_ms=600000, retries=0, split_rows=split_rows) as c:
        for start in range(0, len(frame), DIRECT_ROWS):
            risks.append(c.score_records(frame.iloc[start:start + DIRECT_ROWS], warn=False)["risk"].to_numpy())
    pd.DataFrame({"encounter_id": frame["encounter_id"].to_numpy(), "risk": np.concatenate(risks)}) \
        .to_parquet(output, index=False)


def run_spark(spark, inputs: Path, output: Path, endpoints, batch_rows: int) -> None:
    import readmit.spark
    scored = readmit.spark.score(spark.read.parquet(str(inputs)), endpoints=endpoints, keep=["encounter_id"],
                                 batch_rows=batch_rows)
    scored.select("encounter_id", "risk").write.parquet(str(output))


def run_spark_floor(spark, inputs: Path, output: Path) -> None:
    """Spark's own cost, the floor of run_spark: the same columns to the Python workers through
    mapInArrow and (encounter_id, a zero risk) back, with nothing scored."""
    import pyarrow as pa

    def passthrough(batches):
        for batch in batches:
            ids = batch.column(batch.schema.names.index("encounter_id"))
            yield pa.RecordBatch.from_arrays([ids, pa.array(np.zeros(batch.num_rows))], names=["encounter_id", "risk"])

    floor = spark.read.parquet(str(inputs)).mapInArrow(passthrough, "encounter_id string, risk double")
    floor.write.parquet(str(output))


def run_dask(inputs: Path, output: Path, endpoints) -> None:
    import dask.dataframe as dd
    import readmit.dask
    scored = readmit.dask.score(dd.read_parquet(str(inputs)), endpoints=endpoints, keep=["encounter_id"])
    scored[["encounter_id", "risk"]].to_parquet(str(output), write_index=False)


def risks_of(output: Path) -> pd.Series:
    frame = pd.read_parquet(output)
    return pd.Series(frame["risk"].to_numpy(dtype=np.float64), index=frame["encounter_id"].astype(str).to_numpy())


def same_bits(a: pd.Series, b: pd.Series) -> bool:
    if len(a) != len(b) or not a.index.is_unique or not b.index.is_unique:
        return False
    b = b.reindex(a.index)
    x, y = a.to_numpy(dtype=np.float64), b.to_numpy(dtype=np.float64)
    # A row without a risk is NaN in one output and null in another: the same rows, then the bits.
    missing = np.isnan(x)
    return bool(np.array_equal(missing, np.isnan(y)) and np.array_equal(x[~missing].view(np.uint64), y[~missing].view(np.uint64)))


def spark_session(work: Path, batch_rows: int):
    from pyspark.sql import SparkSession
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    log4j = Path(__file__).resolve().parents[2] / "bindings/python/tests/log4j2-quiet.properties"
    spark = (SparkSession.builder.master("local[2]").appName("readmit-bench")
             .config("spark.driver.memory", "2g")
             .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log4j}")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.local.dir", str(work / "spark-local"))
             .config("spark.sql.files.maxPartitionBytes", str(4 << 20))  # several tasks per core
             .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(batch_rows))
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--endpoints", nargs="+", required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--spark-batch-rows", type=int, default=20000,
                    help="Spark's Arrow batch (spark.sql.execution.arrow.maxRecordsPerBatch) and request size")
    args = ap.parse_args()

    wait_ready(args.endpoints)
    work = Path(tempfile.mkdtemp(prefix="readmit-scale-"))
    try:
        inputs = work / "encounters"
        t0 = time.perf_counter()
        prepare(args.data, args.rows, args.endpoints[0], inputs)
        print(f"prepared in {time.perf_counter() - t0:.1f} s")
        spark = spark_session(work, args.spark_batch_rows)
        cluster = client = None
        contenders = ["direct", "direct-split", "spark", "spark-floor"]
        if not args.no_dask:
            from dask.distributed import Client as DaskClient, LocalCluster
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, memory_limit="4GiB")
            client = DaskClient(cluster)
            contenders.append("dask")
        # A warm-up of each engine on a small slice (JVM, Python workers, clients).
        warm = work / "warm"
        spark.read.parquet(str(inputs)).limit(1000).write.parquet(str(warm / "in"))
        run_spark(spark, warm / "in", warm / "spark", args.endpoints, args.spark_batch_rows)
        if client is not None:
            run_dask(warm / "in", warm / "dask", args.endpoints)

        reference = None
        times = {c: [] for c in contenders}
        for i in range(args.repeats):
            order = contenders if i % 2 == 0 else contenders[::-1]
            for name in order:
                output = work / f"out-{name}-{i}"
                start = time.perf_counter()
                if name == "direct":
                    run_direct(inputs, output, args.endpoints[:1])
                elif name == "direct-split":
                    run_direct(inputs, output, args.endpoints, split_rows=DIRECT_SPLIT_ROWS)
                elif name == "spark":
                    run_spark(spark, inputs, output, args.endpoints, args.spark_batch_rows)
                elif name == "spark-floor":
                    run_spark_floor(spark, inputs, output)
                else:
                    run_dask(inputs, output, args.endpoints)
                seconds = time.perf_counter() - start
                times[name].append(seconds)
                if name == "spark-floor":
                    print(f"run {i + 1} {name}: {seconds:.2f} s, {args.rows / seconds:,.0f} rows/s (nothing scored)",
                          flush=True)
                    shutil.rmtree(output)
                    continue
                risks = risks_of(output)
                if reference is None:
                    if name != "direct":
                        run_direct(inputs, work / "reference", args.endpoints[:1])
                        reference = risks_of(work / "reference")
                    else:
                        reference = risks
                    # Stays the cohort excludes (died, hospice: about 2.4% of the rows) have an
                    # `excluded` error and no risk; every other row must have one.
                    if len(reference) != args.rows or reference.isna().mean() > 0.05:
                        sys.exit(f"the direct path scored {len(reference)} rows, {int(reference.isna().sum())} "
                                 f"without a risk; expected {args.rows} rows, all but the excluded stays with a risk")
                    print(f"rows without a risk (stays the cohort excludes): {int(reference.isna().sum()):,}", flush=True)
                identical = same_bits(reference, risks)
                print(f"run {i + 1} {name}: {seconds:.2f} s, {args.rows / seconds:,.0f} rows/s; "
                      f"every risk identical to the direct path's: {identical}", flush=True)
                if not identical:
                    sys.exit(f"{name}: risks differ from the direct path's")
                shutil.rmtree(output) if output.is_dir() else output.unlink()
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"medians of {args.repeats} runs: " + ", ".join(f"{k} {v:.2f} s" for k, v in med.items()))
        print("rows/s: " + ", ".join(f"{k} {args.rows / v:,.0f}" for k, v in med.items()))
        for name in contenders[1:]:
            target = {"spark-floor": " (nothing scored: Spark's own cost)", "direct-split": ""}.get(name, " (target >= 0.6)")
            print(f"ratio {name} / direct throughput: {med['direct'] / med[name]:.2f}{target}")
        spark.stop()
        if client is not None:
            client.close()
            cluster.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
