"""A client used in a forked process (a ``multiprocessing`` pool with the fork start method, a
plain ``os.fork``) scores at once with the parent's results to the bit, against a real readmitd;
before libreadmit 0.11.0 the child waited out every retry and raised ReadmitTimeout. A client
that would travel by pickle is refused with a TypeError that says what to do."""
from __future__ import annotations

import multiprocessing
import os
import signal
import time

import numpy as np
import pytest

import readmit

from conftest import schema_matrix

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")

_shared: "readmit.Client | None" = None  # the pool workers' client: the parent's, inherited


def _score_in_worker(rows: np.ndarray) -> bytes:
    return _shared.score(rows).tobytes()


def _in_child(work, timeout_s: float = 30.0) -> bytes:
    """Runs work() in a forked child and returns what it wrote; fails if the child fails or is
    still running after timeout_s (it is then killed)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's outcome is its exit status
        code = 1
        try:
            os.close(read_end)
            out = work()
            os.write(write_end, out)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    deadline = time.monotonic() + timeout_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"the forked child did not finish within {timeout_s} s")
        time.sleep(0.01)
    data = b""
    while chunk := os.read(read_end, 1 << 16):
        data += chunk
    os.close(read_end)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"child status {status}"
    return data


def test_a_forked_child_scores_with_the_parents_client(daemon):
    with readmit.Client(daemon.endpoint, timeout_ms=10000, retries=0) as client:
        x, _ = schema_matrix(client.info(), 50, seed=11)
        want = client.score(x)

        def work() -> bytes:
            started = time.monotonic()
            risk = client.score(x)
            took = time.monotonic() - started
            client.close()
            return risk.tobytes() + np.float64(took).tobytes()

        got = _in_child(work)
        risk, took = np.frombuffer(got[:-8]), np.frombuffer(got[-8:])[0]
        assert risk.tobytes() == want.tobytes()
        assert took < 2.0, f"the child's first call took {took:.2f} s"
        # The child's close left the parent's connection alone.
        assert client.score(x).tobytes() == want.tobytes()


def test_a_lock_held_at_the_fork_does_not_block_the_child(daemon):
    # A thread of the parent in a call holds the client's lock; that thread does not exist in
    # the child. Holding the lock across the fork stands for it.
    with readmit.Client(daemon.endpoint, timeout_ms=10000, retries=0) as client:
        x, _ = schema_matrix(client.info(), 5, seed=12)
        want = client.score(x)
        client._lock.acquire()
        try:
            got = _in_child(lambda: client.score(x).tobytes(), timeout_s=20.0)
        finally:
            client._lock.release()
        assert got == want.tobytes()


def test_a_fork_pool_shares_a_client_made_before_it(daemon):
    global _shared
    _shared = readmit.Client(daemon.endpoint, timeout_ms=10000, retries=0)
    try:
        x, _ = schema_matrix(_shared.info(), 120, seed=13)
        want = _shared.score(x)
        chunks = [x[i:i + 30] for i in range(0, len(x), 30)]
        with multiprocessing.get_context("fork").Pool(2) as pool:
            started = time.monotonic()
            parts = pool.map_async(_score_in_worker, chunks).get(timeout=60)
            took = time.monotonic() - started
        assert b"".join(parts) == want.tobytes()
        assert took < 10.0, f"the pool took {took:.1f} s"
        assert _shared.score(x).tobytes() == want.tobytes()
    finally:
        _shared.close()
        _shared = None


def test_a_client_refuses_to_be_pickled_saying_why(daemon):
    # It said only "ctypes objects containing pointers cannot be pickled" (a dask.distributed or
    # spawn-pool user who captured a client in a task).
    import copy
    import pickle

    with readmit.Client(daemon.endpoint) as client:
        for attempt in (lambda: pickle.dumps(client), lambda: copy.copy(client)):
            with pytest.raises(TypeError, match="cannot be pickled or copied: its connection to the daemon does not travel"):
                attempt()
        assert client.health()["ready"]
