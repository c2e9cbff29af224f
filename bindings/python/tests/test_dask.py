"""readmit.dask.score: a Dask DataFrame scored with map_partitions on a
dask.distributed.LocalCluster (2 worker processes) against real readmitd daemons on loopback,
every risk bit for bit the binding's own, rows in their order, row errors in the error column,
and dead endpoints handled.

Skipped without dask.distributed (scripts/tests/30-python.sh checks that CI has it)."""
from __future__ import annotations

from typing import Iterator

import pandas as pd
import pytest

pytest.importorskip("dask.dataframe")
pytest.importorskip("dask.distributed")

import dask.dataframe as dd
from dask.distributed import Client as DaskClient, LocalCluster

import readmit
import readmit.dask

from conftest import Daemon, free_port
from engine_cases import DIRTY, assert_same, direct, dirty_errors, kill_mid_job, replicated, text_or_none
from engine_cases import frame, reference, second  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskClient]:
    """Two single-threaded worker processes on loopback, no dashboard."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, memory_limit="1GiB") as lc, DaskClient(lc) as dc:
        yield dc


def test_two_daemons_give_the_binding_s_scores_in_order(cluster, daemon, second, frame, reference):
    ddf = dd.from_pandas(frame, npartitions=6)
    endpoints = [daemon.endpoint, second.endpoint]
    scored = readmit.dask.score(ddf, endpoints=endpoints, batch_rows=200)
    assert list(scored.columns[-4:]) == ["risk", "atypicality", "tier", "error"]
    out = scored.compute()
    assert out.index.equals(frame.index)  # map_partitions keeps partitions and index
    assert out["row"].tolist() == list(range(len(frame)))
    assert_same(out, reference)
    assert set(dirty_errors(reference)) == set(DIRTY)
    for position, (column, _) in DIRTY.items():
        assert column in out["error"].iloc[position]
    # Both worker processes scored, each with one client reused across its partitions and requests.
    opened = cluster.run(lambda: __import__("readmit._engines").__dict__["_engines"].clients_opened(endpoints))
    assert len(opened) == 2 and max(opened.values()) == 1, opened


def test_intervals(cluster, daemon, frame):
    reference = direct(daemon.endpoint, frame, interval=True)
    out = readmit.dask.score(dd.from_pandas(frame, npartitions=3), endpoints=daemon.endpoint, interval=True).compute()
    assert list(out.columns[-6:]) == ["risk", "risk_low", "risk_high", "atypicality", "tier", "error"]
    assert_same(out, reference, interval=True)


def test_only_the_named_columns_are_sent_and_kept(cluster, daemon, frame, reference):
    sent = [c for c in frame.columns if c != "row"]
    scored = readmit.dask.score(dd.from_pandas(frame, npartitions=2), endpoints=daemon.endpoint, columns=sent,
                                keep=["row"])
    assert list(scored.columns) == ["row", "risk", "atypicality", "tier", "error"]
    out = scored.compute()
    assert out["row"].tolist() == list(range(len(frame)))
    assert_same(out, reference)
    with pytest.raises(readmit.InvalidFeatureError, match="time_in_hospital"):
        readmit.dask.score(dd.from_pandas(frame, npartitions=2), endpoints=daemon.endpoint,
                           columns=[c for c in sent if c != "time_in_hospital"]).compute()


def test_a_dead_endpoint_beside_a_live_one(cluster, daemon, frame, reference):
    stopped = Daemon()
    stopped.stop()
    endpoints = [stopped.endpoint, f"tcp://127.0.0.1:{free_port()}", daemon.endpoint]
    out = readmit.dask.score(dd.from_pandas(frame, npartitions=4), endpoints=endpoints, timeout_ms=5000).compute()
    assert_same(out, reference)


@pytest.mark.filterwarnings("ignore:Sending large graph")  # the test's own frame, shipped to the workers
def test_a_daemon_killed_mid_job_costs_no_row(cluster, frame, reference):
    # As for Spark: one of the two daemons is SIGKILLed while the partitions are scored.
    victim, survivor = Daemon(), Daemon()
    try:
        copies = 20
        ddf = dd.from_pandas(replicated(frame, copies), npartitions=8)
        endpoints = [victim.endpoint, survivor.endpoint]
        out = kill_mid_job(lambda: readmit.dask.score(ddf, endpoints=endpoints, batch_rows=250,
                                                      timeout_ms=5000).compute(), victim, survivor)
        assert out["row"].tolist() == list(range(copies * len(frame)))
        assert_same(out.reset_index(drop=True), pd.concat([reference] * copies, ignore_index=True))
    finally:
        victim.stop()
        survivor.stop()


def test_no_daemon_raises_or_fills_the_error_column(cluster, frame):
    dead = f"tcp://127.0.0.1:{free_port()}"
    ddf = dd.from_pandas(frame.head(50), npartitions=2)
    with pytest.raises(readmit.UnavailableError, match=dead):
        readmit.dask.score(ddf, endpoints=dead, timeout_ms=5000).compute()
    out = readmit.dask.score(ddf, endpoints=dead, timeout_ms=5000, request_errors="column").compute()
    assert out["risk"].isna().all() and pd.Series(text_or_none(out["tier"])).isna().all()
    assert all(e.startswith("request failed: UnavailableError: ") and dead in e for e in out["error"])


def test_options_are_checked_at_once(daemon, frame):
    ddf = dd.from_pandas(frame.head(5), npartitions=1)
    with pytest.raises(readmit.InvalidArgumentError, match="'error'"):
        readmit.dask.score(ddf.assign(error=1), endpoints=daemon.endpoint)
    with pytest.raises(readmit.InvalidArgumentError, match="batch_rows"):
        readmit.dask.score(ddf, endpoints=daemon.endpoint, batch_rows=0)
    with pytest.raises(readmit.InvalidArgumentError, match="'nope'"):
        readmit.dask.score(ddf, endpoints=daemon.endpoint, columns=["nope"])
    with pytest.raises(readmit.InvalidArgumentError, match="'row' twice"):
        readmit.dask.score(ddf, endpoints=daemon.endpoint, keep=["row", "row"])
