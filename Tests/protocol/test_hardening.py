"""readmitd under hostile or unusual use, through raw pyzmq sockets against real daemons on
loopback: memory stays bounded when a client sends large requests and never reads the replies,
a revoked CURVE key is refused from its next request, a malformed key file is skipped and
named, and the loopback endpoint forms `localhost` and `[::1]` bind and serve.

Every loop is bounded by a count or a deadline; every endpoint is 127.0.0.1 or ::1.
"""
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import zmq

from test_raw_protocol import OPS, STATUS, free_port, header, matrix_rows, parse_reply, root, score_request

MIB = 1 << 20
NAN = b"\x00\x00\x00\x00\x00\x00\xf8\x7f"  # float64 NaN: a missing value, valid for every feature


def binary():
    return os.environ.get("READMITD_BIN", os.path.join(root(), ".build", "release", "readmitd"))


def model():
    path = os.environ.get("READMIT_TEST_MODEL", os.path.join(root(), ".build", "fixtures", "model.readmit"))
    if not os.path.exists(path):
        pytest.fail(f"no fixture model at {path} (scripts/tests/00-build.sh trains it)")
    return path


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port6():
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::1", 0))
        return s.getsockname()[1]


class Daemon:
    """A readmitd process; stderr goes to a file so the log can be asserted on."""

    def __init__(self, args, endpoint, probe=None, curve=None):
        self.endpoint = endpoint
        self.log_file = tempfile.NamedTemporaryFile(prefix="readmitd-hardening-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([binary(), "--model", model(), "--endpoint", endpoint] + args,
                                     stdout=subprocess.DEVNULL, stderr=self.log_file)
        self.ctx = zmq.Context()
        self.curve = curve
        deadline = time.time() + 30
        while True:
            assert self.proc.poll() is None, f"readmitd exited: {self.log()}"
            reply = self.call([header(OPS["HEALTH"], 1)], endpoint=probe or endpoint, timeout_ms=300)
            if reply is not None:
                break
            assert time.time() < deadline, f"readmitd did not answer HEALTH: {self.log()}"

    def socket(self, kind=zmq.REQ, endpoint=None, keys=None, timeout_ms=10000):
        s = self.ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, timeout_ms)
        s.setsockopt(zmq.SNDTIMEO, timeout_ms)
        endpoint = endpoint or self.endpoint
        if "[" in endpoint:
            s.setsockopt(zmq.IPV6, 1)
        keys = keys or self.curve
        if keys:
            server_public, client_public, client_secret = keys
            s.curve_serverkey, s.curve_publickey, s.curve_secretkey = server_public, client_public, client_secret
        s.connect(endpoint)
        return s

    def call(self, frames, endpoint=None, keys=None, timeout_ms=10000, sock=None):
        """One request; the parsed reply, or None on timeout."""
        own = sock is None
        s = sock or self.socket(endpoint=endpoint, keys=keys, timeout_ms=timeout_ms)
        try:
            s.send_multipart(frames)
            return parse_reply(s.recv_multipart())
        except zmq.Again:
            return None
        finally:
            if own:
                s.close()

    def stats(self):
        reply = self.call([header(OPS["STATS"], 2)])
        assert reply is not None and reply["status"] == 0
        return json.loads(reply["frames"][0])

    def log(self):
        with open(self.log_file.name, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.ctx.destroy(linger=0)
        os.unlink(self.log_file.name)


@pytest.fixture
def daemons():
    started = []

    def start(args, endpoint=None, **kwargs):
        d = Daemon(args, endpoint or f"tcp://127.0.0.1:{free_port()}", **kwargs)
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


def schema_of(d):
    reply = d.call([header(OPS["INFO"], 3)])
    assert reply["status"] == 0
    return json.loads(reply["frames"][0])


# --- 1. memory ----------------------------------------------------------------------------

BUDGET = 256 * MIB  # readmitd's default --max-queued-bytes: the test runs with the defaults
REQUEST_BYTES = 83_000_000  # the probe's request size
BIG_REQUESTS = 30


def test_memory_stays_bounded_for_a_client_that_never_reads(daemons):
    d = daemons(["--workers", "2"])
    cols = schema_of(d)["n_features"]
    pid = d.proc.pid
    small = score_request(10, 3, cols, matrix_rows(schema_of(d), 3))
    assert d.call(small)["status"] == 0
    baseline = rss_bytes(pid)  # the model loaded and warmed up

    rows = REQUEST_BYTES // (8 * cols)
    big = [header(OPS["SCORE"], 1), rows.to_bytes(4, "little") + cols.to_bytes(4, "little"), NAN * (rows * cols)]
    request_bytes = sum(len(f) for f in big)

    peak = [baseline]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                peak[0] = max(peak[0], rss_bytes(pid))
            except (OSError, AssertionError):
                return
            time.sleep(0.02)

    served, failures = [0], []

    def other_client():
        s = d.socket(timeout_ms=15000)
        try:
            for i in range(100_000):  # bounded; ends with the flood
                if stop.is_set():
                    return
                reply = d.call(small, sock=s)
                if reply is None or reply["status"] != 0:
                    failures.append(reply and reply["status"])
                    return
                served[0] += 1
                time.sleep(0.01)
        finally:
            s.close()

    sampler = threading.Thread(target=sample)
    other = threading.Thread(target=other_client)
    sampler.start()
    other.start()
    hog = d.ctx.socket(zmq.DEALER)
    hog.setsockopt(zmq.LINGER, 0)
    hog.setsockopt(zmq.SNDTIMEO, 60000)
    hog.setsockopt(zmq.RCVHWM, 1)  # reads nothing: its libzmq takes at most one reply off the wire
    hog.setsockopt(zmq.RCVBUF, 4096)
    hog.connect(d.endpoint)
    started = time.time()
    try:
        for i in range(BIG_REQUESTS):
            hog.send_multipart([b""] + big, copy=False)  # and never read a reply
        # Wait (bounded) until the daemon has answered every large request, one way or the other.
        deadline = time.time() + 120
        while time.time() < deadline:
            scores = sum(d.stats()["requests"].get("SCORE", {}).values())
            if scores - served[0] >= BIG_REQUESTS:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"readmitd did not get through {BIG_REQUESTS} large requests in 120 s")
        flood_seconds = time.time() - started
        during = d.stats()
    finally:
        hog.close()  # the client leaves
        stop.set()
        other.join(timeout=30)
        sampler.join(timeout=5)

    # After the client has left, the memory comes back (bounded wait).
    after = rss_bytes(pid)
    deadline = time.time() + 10
    while time.time() < deadline and after > baseline + 64 * MIB:
        time.sleep(0.25)
        after = rss_bytes(pid)
    slack = 2 * request_bytes + 64 * MIB  # one request being received and one being looked at, plus allocator slack
    print(f"\nmemory: baseline {baseline / MIB:.0f} MiB, peak {peak[0] / MIB:.0f} MiB, after leave {after / MIB:.0f} MiB; "
          f"{BIG_REQUESTS} x {request_bytes / 1e6:.0f} MB in {flood_seconds:.1f} s; bound {(baseline + BUDGET + slack) / MIB:.0f} MiB; "
          f"other client served {served[0]}; errors {during['errors']}; replies dropped {during.get('replies_dropped')}")
    assert peak[0] <= baseline + BUDGET + slack, f"peak RSS {peak[0] / MIB:.0f} MiB over the bound"
    assert failures == [], f"the other client's SCORE failed: {failures}"
    assert served[0] >= 5, "the other client kept being served while the large requests came in"
    # Whether any large request found the queue full depends on how fast this machine scores
    # against how fast it receives (a fast one keeps up with the flood), so the refusal itself
    # is asserted deterministically in test_overloaded_reply_names_the_byte_budget; here, only
    # that a refusal is the one error a flood may cause, and that the requests were really held.
    assert set(during["errors"]) <= {"OVERLOADED"}, f"errors other than OVERLOADED: {during['errors']}"
    assert peak[0] >= baseline + request_bytes // 2, "the large requests were in memory (else this test shows nothing)"
    assert during["max_queued_bytes"] == BUDGET
    assert after <= baseline + 64 * MIB, f"RSS {after / MIB:.0f} MiB after the client left (baseline {baseline / MIB:.0f} MiB)"


KEPT_REQUEST_BYTES = 48_000_000  # under the 64 MiB up to which readmitd keeps request buffers in its heap


def test_request_buffers_kept_for_the_next_request_are_handed_back_when_idle(daemons):
    """readmitd keeps a large request's buffer for the next one (ArenaPolicy.swift: no page
    faults per request); once the client stops, the broker's malloc_trim must hand it back."""
    d = daemons(["--workers", "2"])
    cols = schema_of(d)["n_features"]
    pid = d.proc.pid
    small = score_request(10, 3, cols, matrix_rows(schema_of(d), 3))
    assert d.call(small)["status"] == 0
    baseline = rss_bytes(pid)
    rows = KEPT_REQUEST_BYTES // (8 * cols)
    big = [header(OPS["SCORE"], 1), rows.to_bytes(4, "little") + cols.to_bytes(4, "little"), NAN * (rows * cols)]
    s = d.socket(timeout_ms=60000)
    peak = baseline
    try:
        for i in range(6):
            s.send_multipart(big, copy=False)
            reply = parse_reply(s.recv_multipart())
            assert reply["status"] == 0, reply
            peak = max(peak, rss_bytes(pid))
    finally:
        s.close()
    after = rss_bytes(pid)
    deadline = time.time() + 10
    while time.time() < deadline and after > baseline + 16 * MIB:
        time.sleep(0.25)
        after = rss_bytes(pid)
    print(f"\nmemory: baseline {baseline / MIB:.0f} MiB, peak {peak / MIB:.0f} MiB, 10 s after the last request "
          f"{after / MIB:.0f} MiB (6 requests of {KEPT_REQUEST_BYTES / 1e6:.0f} MB)")
    assert peak >= baseline + KEPT_REQUEST_BYTES // 2, "the requests were in memory (else this test shows nothing)"
    assert after <= baseline + 16 * MIB, f"RSS {after / MIB:.0f} MiB 10 s after the last request (baseline {baseline / MIB:.0f} MiB)"
    assert d.call(small)["status"] == 0


def test_overloaded_reply_names_the_byte_budget(daemons):
    d = daemons(["--workers", "1", "--max-queued-bytes", str(4 * MIB)])
    cols = schema_of(d)["n_features"]
    rows = (5 * MIB) // (8 * cols)
    reply = d.call([header(OPS["SCORE"], 4), rows.to_bytes(4, "little") + cols.to_bytes(4, "little"), NAN * (rows * cols)])
    assert reply["status"] == STATUS["OVERLOADED"]
    assert "--max-queued-bytes" in reply["frames"][1].decode()
    assert d.call(score_request(5, 2, cols, matrix_rows(schema_of(d), 2)))["status"] == 0


def test_replies_to_a_client_that_never_reads_are_dropped_and_counted(daemons):
    d = daemons(["--workers", "2", "--max-replies-per-client", "4"])
    schema = schema_of(d)
    cols = schema["n_features"]
    rows = 10_000  # a 170 KB reply to a (8 * cols * 10,000)-byte request
    request = [b""] + [header(OPS["SCORE"], 6), rows.to_bytes(4, "little") + cols.to_bytes(4, "little"), NAN * (rows * cols)]
    hog = d.ctx.socket(zmq.DEALER)
    hog.setsockopt(zmq.LINGER, 0)
    hog.setsockopt(zmq.SNDTIMEO, 30000)
    # Really not reading: libzmq would otherwise take up to 1,000 replies off the wire into
    # the client's own queue, and the kernel would hold more.
    hog.setsockopt(zmq.RCVHWM, 1)
    hog.setsockopt(zmq.RCVBUF, 4096)
    hog.connect(d.endpoint)
    try:
        for _ in range(100):  # 17 MB of replies: more than the socket buffers and 4 queued replies hold
            hog.send_multipart(request, copy=False)
        deadline = time.time() + 120
        while time.time() < deadline and d.stats()["replies_dropped"] == 0:
            time.sleep(0.2)
        stats = d.stats()
        assert stats["replies_dropped"] >= 1
        assert stats["queued_bytes"] <= stats["max_queued_bytes"] + 8 * rows * cols
        assert d.call(score_request(7, 2, cols, matrix_rows(schema, 2)))["status"] == 0
    finally:
        hog.close()
    assert "replies dropped" in d.log()


# --- 2 and 3. CURVE keys --------------------------------------------------------------------

needs_curve = pytest.mark.skipif(not zmq.has("curve"), reason="libzmq without CURVE")


def write_key(path, z85, private=False):
    with open(path, "w") as f:
        f.write("# readmit CURVE key\n" + z85.decode() + "\n")
    if private:
        os.chmod(path, 0o600)


@pytest.fixture
def keyring(tmp_path):
    server_public, server_secret = zmq.curve_keypair()
    write_key(tmp_path / "server.key", server_secret, private=True)
    (tmp_path / "authorized").mkdir()
    clients = {}
    for name in ("alice", "bob"):
        public, secret = zmq.curve_keypair()
        write_key(tmp_path / "authorized" / f"{name}.pub", public)
        clients[name] = (server_public, public, secret)
    return tmp_path, clients


def curve_daemon(daemons, folder, clients):
    return daemons(["--workers", "2", "--curve-secret-key", str(folder / "server.key"),
                    "--authorized-keys", str(folder / "authorized")], curve=clients["bob"])


def wait_forbidden(d, sock, deadline_s=10):
    """Sends HEALTH on `sock` until it is refused FORBIDDEN; the seconds that took."""
    started = time.time()
    for i in range(10_000):
        reply = d.call([header(OPS["HEALTH"], 100 + i)], sock=sock)
        assert reply is not None, "the revoked client got no reply"
        if reply["status"] == STATUS["FORBIDDEN"]:
            return time.time() - started, reply
        assert time.time() - started < deadline_s, "the revoked key is still served"
        time.sleep(0.005)
    pytest.fail("the revoked key is still served")


@needs_curve
def test_revoked_key_is_refused_from_its_next_request(daemons, keyring):
    folder, clients = keyring
    d = curve_daemon(daemons, folder, clients)
    alice = d.socket(keys=clients["alice"])
    try:
        assert d.call([header(OPS["HEALTH"], 10)], sock=alice)["status"] == 0  # connected and served
        os.unlink(folder / "authorized" / "alice.pub")
        d.proc.send_signal(signal.SIGHUP)
        seconds, reply = wait_forbidden(d, alice)
        print(f"\nrevoked key refused {seconds * 1000:.1f} ms after SIGHUP")
        assert "no longer" in reply["frames"][1].decode()
        # Every operation is refused, not only HEALTH.
        schema_reply = d.call([header(OPS["INFO"], 11)], sock=alice)
        assert schema_reply["status"] == STATUS["FORBIDDEN"]
    finally:
        alice.close()
    # A new connection with the revoked key is refused at the handshake (no reply at all).
    assert d.call([header(OPS["HEALTH"], 12)], keys=clients["alice"], timeout_ms=1500) is None
    # The other key keeps being served; the refusals are counted and logged.
    assert d.call([header(OPS["HEALTH"], 13)])["status"] == 0
    stats = d.stats()
    assert stats["revoked_key_requests"] >= 2 and stats["authorized_keys"] == 1
    assert stats["errors"].get("FORBIDDEN", 0) >= 2
    assert "client key no longer authorized" in d.log()


@needs_curve
def test_malformed_key_file_is_skipped_and_named(daemons, keyring):
    folder, clients = keyring
    (folder / "authorized" / "broken.pub").write_text("this is not a key\n")
    d = curve_daemon(daemons, folder, clients)  # starts despite the broken file
    assert "broken.pub" in d.log()
    alice = d.socket(keys=clients["alice"])
    try:
        assert d.call([header(OPS["HEALTH"], 20)], sock=alice)["status"] == 0
        (folder / "authorized" / "truncated.pub").write_text("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\n"[:20] + "\n")
        os.unlink(folder / "authorized" / "alice.pub")
        d.proc.send_signal(signal.SIGHUP)
        wait_forbidden(d, alice)  # the revocation took effect despite the malformed files
    finally:
        alice.close()
    assert d.call([header(OPS["HEALTH"], 21)])["status"] == 0  # bob
    stats = d.stats()
    assert stats["authorized_keys"] == 1 and stats["key_files_skipped"] == 2
    log = d.log()
    assert "authorized key file skipped" in log and "truncated.pub" in log and "broken.pub" in log


# --- 4. endpoints ---------------------------------------------------------------------------

def score_ok(d, endpoint):
    schema = schema_of(d)
    reply = d.call(score_request(30, 3, schema["n_features"], matrix_rows(schema, 3)), endpoint=endpoint)
    assert reply is not None, f"no reply over {endpoint}"
    assert reply["status"] == 0
    assert len(reply["frames"][1]) == 3 * 8


def test_localhost_endpoint_binds_loopback_and_serves(daemons):
    port = free_port()
    if has_ipv6_loopback():
        # localhost is bound on both loopback addresses: the port must be free on ::1 too.
        for _ in range(50):
            try:
                with socket.socket(socket.AF_INET6) as s:
                    s.bind(("::1", port))
                break
            except OSError:
                port = free_port()
    d = daemons([], endpoint=f"tcp://localhost:{port}", probe=f"tcp://127.0.0.1:{port}")
    score_ok(d, f"tcp://127.0.0.1:{port}")
    score_ok(d, f"tcp://localhost:{port}")
    if has_ipv6_loopback():
        score_ok(d, f"tcp://[::1]:{port}")


def test_ipv6_loopback_endpoint_binds_and_serves(daemons):
    if not has_ipv6_loopback():
        pytest.skip("this host has no IPv6 loopback (::1 cannot be bound)")
    endpoint = f"tcp://[::1]:{free_port6()}"
    d = daemons([], endpoint=endpoint)
    score_ok(d, endpoint)
