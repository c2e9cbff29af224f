"""Failing fast and Ctrl-C, against real readmitd processes.

- Nothing listening, or a daemon killed with SIGKILL: :class:`readmit.UnavailableError` within
  well under the timeout, naming the endpoint.
- A call waiting on a stopped daemon (SIGSTOP, 60 s timeout) in a child Python process that
  gets SIGINT raises KeyboardInterrupt there within 200 ms (CLOCK_MONOTONIC is shared by the
  processes), and the client works afterwards.
- Malformed endpoints: InvalidArgumentError naming the input.
- A refused CURVE handshake (key not authorized, wrong server key, CURVE on one side only):
  :class:`readmit.AuthenticationError` at once, saying which.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

import readmit

import conftest
from conftest import Daemon, free_port


def test_unavailable_with_default_timeout_and_retries():
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    with readmit.Client(endpoint) as c:  # 5 s timeout, 2 retries: 15 s before 0.3.0
        t0 = time.monotonic()
        with pytest.raises(readmit.UnavailableError) as e:
            c.health()
        assert time.monotonic() - t0 < 1.5
    assert str(e.value) == f"no daemon at {endpoint} (connection refused)"
    assert isinstance(e.value, readmit.ReadmitError) and e.value.code == 109


def test_unavailable_ipc_path(tmp_path):
    endpoint = f"ipc://{tmp_path}/none.sock"
    with readmit.Client(endpoint) as c:
        t0 = time.monotonic()
        with pytest.raises(readmit.UnavailableError, match="no such socket file"):
            c.health()
        assert time.monotonic() - t0 < 1.5


def test_killed_daemon_is_unavailable_fast():
    d = Daemon()
    try:
        with readmit.Client(d.endpoint) as c:
            assert c.health()["ready"]
            d.proc.kill()
            d.proc.wait()
            t0 = time.monotonic()
            with pytest.raises(readmit.UnavailableError, match=d.endpoint):
                c.health()
            assert time.monotonic() - t0 < 1.5
    finally:
        d.stop()


def _have_ipv6_loopback() -> bool:
    import socket
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _have_ipv6_loopback(), reason="no IPv6 loopback on this host")
def test_an_ipv6_loopback_endpoint_is_reached():
    """A daemon also on tcp://[::1]:PORT answers there with the same risks as over 127.0.0.1
    (the library did not set ZMQ_IPV6, so the address never resolved)."""
    v6 = f"tcp://[::1]:{free_port()}"
    d = Daemon(0, "--endpoint", v6)
    try:
        with readmit.Client(d.endpoint) as over4, readmit.Client(v6, timeout_ms=5000, retries=0) as over6:
            assert over6.health()["ready"]
            n = over4.n_features
            x = np.zeros((3, n))
            assert np.array_equal(over4.score(x), over6.score(x))
    finally:
        d.stop()


@pytest.mark.parametrize("endpoint", ["localhost:5555", "tcp://127.0.0.1:0", "ipc://"])
def test_invalid_endpoint_is_named(endpoint):
    with pytest.raises(readmit.InvalidArgumentError, match=f"invalid endpoint '{endpoint}'"):
        readmit.Client(endpoint)


@pytest.mark.parametrize("option, value, says", [
    ("timeout_ms", 2**40, "timeout_ms must be a whole number from 1 to 2147483647"),  # was "not 0"
    ("timeout_ms", 0, "timeout_ms must be a whole number from 1 to 2147483647"),
    ("timeout_ms", True, "timeout_ms must be a whole number"),
    ("timeout_ms", 1.5, "timeout_ms must be a whole number"),
    ("retries", 2**32 + 1, "retries must be a whole number from 0 to 1000"),  # was accepted as 1
    ("retries", -1, "retries must be a whole number from 0 to 1000"),
    ("split_rows", -3, "split_rows must be a non-negative whole number"),
    ("max_reply_bytes", -1, "max_reply_bytes must be a whole number of bytes, at least 1024"),  # was 2**64 - 1
    ("max_reply_bytes", 4096.7, "max_reply_bytes must be a whole number of bytes"),
])
def test_options_out_of_the_c_types_range_are_refused(option, value, says):
    # Checked before ctypes, which keeps an int's low bits without a word.
    with pytest.raises(readmit.InvalidArgumentError, match=says):
        readmit.Client("tcp://127.0.0.1:5555", **{option: value})
    assert readmit.Client("tcp://127.0.0.1:5555", timeout_ms=np.int64(1000), retries=np.int32(0),
                          max_reply_bytes=1024).timeout_ms == 1000


CHILD = textwrap.dedent("""
    import signal, sys, time
    import numpy as np
    import readmit
    # Python installs its Ctrl-C handler only where SIGINT was not ignored at startup, and a
    # shell ignores it for background jobs (a CI run started with '&'): install it here.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    endpoint, n_features = sys.argv[1], int(sys.argv[2])
    c = readmit.Client(endpoint, timeout_ms=60000, retries=0)
    x = np.zeros((1, n_features))
    print("waiting", flush=True)
    try:
        c.score(x)
        print("returned", flush=True)
    except KeyboardInterrupt:
        print("caught %.6f" % time.monotonic(), flush=True)
    sys.stdin.readline()  # the parent resumes the daemon, then says go
    print("ready" if c.health()["ready"] else "not ready", flush=True)
""")


def test_ctrl_c_interrupts_a_waiting_call():
    d = Daemon()
    child = None
    try:
        with readmit.Client(d.endpoint) as probe:
            n_features = probe.n_features
        d.proc.send_signal(signal.SIGSTOP)
        child = subprocess.Popen([sys.executable, "-c", CHILD, d.endpoint, str(n_features)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True, env=dict(os.environ))
        assert child.stdout.readline().strip() == "waiting"
        time.sleep(0.5)  # the call is now waiting on the stopped daemon
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        line = child.stdout.readline().split()
        assert line and line[0] == "caught", f"child said {line!r}"
        latency = float(line[1]) - sent
        print(f"KeyboardInterrupt {latency * 1000:.1f} ms after SIGINT")
        assert 0 <= latency < 0.2
        d.proc.send_signal(signal.SIGCONT)
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "ready"  # the client works after the interrupt
        assert child.wait(30) == 0
    finally:
        if child and child.poll() is None:
            child.kill()
            child.wait()
        d.proc.send_signal(signal.SIGCONT)
        d.stop()


def test_a_refused_curve_handshake_is_an_authentication_error(tmp_path, daemon):
    """A CURVE key the daemon does not authorize, a wrong server key, a plain client of a CURVE
    daemon and a CURVE client of a plain daemon each raise AuthenticationError at once, saying
    which (each was a ReadmitTimeout after every retry: 15 s with the defaults)."""
    import zmq
    server_pub, server_sec = (k.decode() for k in zmq.curve_keypair())
    client_pub_bytes, client_sec_bytes = zmq.curve_keypair()
    client_pub, client_sec = client_pub_bytes.decode(), client_sec_bytes.decode()
    other_pub, other_sec = (k.decode() for k in zmq.curve_keypair())
    (tmp_path / "clients").mkdir()
    (tmp_path / "clients" / "client.pub").write_text(client_pub + "\n")
    (tmp_path / "server.key").write_text(server_sec + "\n")
    (tmp_path / "server.key").chmod(0o600)  # readmitd refuses a secret key file other users can read
    port = free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen([str(conftest.READMITD), "--model", str(conftest.MODEL), "--endpoint", endpoint,
                             "--curve-secret-key", str(tmp_path / "server.key"),
                             "--authorized-keys", str(tmp_path / "clients")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        keys = dict(server_public_key=server_pub, client_public_key=client_pub, client_secret_key=client_sec)
        with readmit.Client(endpoint, timeout_ms=250, retries=0, **keys) as good:
            deadline = time.monotonic() + 60
            while True:
                try:
                    assert good.health()["ready"]
                    break
                except (readmit.UnavailableError, readmit.ReadmitTimeout):
                    assert time.monotonic() < deadline and proc.poll() is None
                    time.sleep(0.05)
        # Keys as pyzmq gives them (bytes) work as str ones do (they raised AttributeError).
        with readmit.Client(endpoint, timeout_ms=5000, server_public_key=server_pub.encode(),
                            client_public_key=client_pub_bytes, client_secret_key=client_sec_bytes) as as_bytes:
            assert as_bytes.health()["ready"]
        with pytest.raises(readmit.InvalidArgumentError, match="client_secret_key must be a 40-character Z85 key"):
            readmit.Client(endpoint, server_public_key=server_pub, client_public_key=client_pub, client_secret_key=42)
        cases = [
            ("key not authorized", endpoint, dict(keys, client_public_key=other_pub, client_secret_key=other_sec),
             "refused this client's CURVE public key (ZAP status 400)"),
            ("wrong server key", endpoint, dict(keys, server_public_key=other_pub), "the server public key is not the daemon's"),
            ("plain client", endpoint, {}, "the daemon requires CURVE"),
            ("CURVE client, plain daemon", daemon.endpoint, keys, "the daemon does not"),
        ]
        for what, where, options, says in cases:
            with readmit.Client(where, **options) as c:  # 5 s timeout, 2 retries
                t0 = time.monotonic()
                with pytest.raises(readmit.AuthenticationError) as e:
                    c.health()
                assert time.monotonic() - t0 < 3, what
            assert says in str(e.value) and f"refused by {where}" in str(e.value), (what, str(e.value))
            assert e.value.code == 111 and isinstance(e.value, (readmit.ReadmitConnectionError, PermissionError))
    finally:
        proc.terminate()
        proc.wait(10)


def test_an_endpoint_that_closes_every_handshake_is_refused_at_once():
    """A TCP service that is not readmitd (it answers the greeting with HTTP and closes) looks to
    a plain client like a CURVE daemon that closed the handshake: it says both at once, instead
    of timing out after every retry. A CURVE client finds it unavailable, as fast."""
    import socket
    import threading
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.recv(64)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with readmit.Client(f"tcp://127.0.0.1:{port}") as c:  # 5 s timeout, 2 retries
            t0 = time.monotonic()
            with pytest.raises(readmit.AuthenticationError) as e:
                c.health()
            assert time.monotonic() - t0 < 3
        assert "the peer closed every ZeroMQ handshake: the daemon requires CURVE" in str(e.value), str(e.value)
        assert "or this is not a readmitd endpoint" in str(e.value), str(e.value)
        # A CURVE client's greeting answered so: libzmq ends the session without a handshake
        # event and never reconnects, and the call waited out every timeout (15 s).
        import zmq
        public, secret = (k.decode() for k in zmq.curve_keypair())
        server_public = zmq.curve_keypair()[0].decode()
        with readmit.Client(f"tcp://127.0.0.1:{port}", server_public_key=server_public, client_public_key=public,
                            client_secret_key=secret) as c:
            t0 = time.monotonic()
            with pytest.raises(readmit.UnavailableError, match="ended the connection during ZeroMQ's handshake without "
                                                               "a ZeroMQ answer: is this a readmitd endpoint"):
                c.health()
            assert time.monotonic() - t0 < 3
    finally:
        stop.set()
        thread.join(5)
        server.close()


def test_read_curve_key_reads_the_files_readmit_keys_writes(tmp_path):
    """`readmit keys` writes a comment line and the key; read_curve_key gives the key as the
    daemon reads it, and names the file and line of one that holds none."""
    out = subprocess.run([str(conftest.READMIT), "keys", "--out", str(tmp_path), "--name", "client"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    public, secret = readmit.read_curve_key(tmp_path / "client.pub"), readmit.read_curve_key(str(tmp_path / "client.key"))
    assert len(public) == 40 and len(secret) == 40 and public != secret
    assert (tmp_path / "client.pub").read_text().splitlines()[-1].strip() == public
    import zmq
    assert zmq.curve_public(secret.encode()).decode() == public  # the pair belongs together
    # A secret key other users can read is read, with a warning pointing at the caller's line
    # (readmitd refuses such a file for its own key); a public key file of that mode is not.
    (tmp_path / "client.key").chmod(0o644)
    with pytest.warns(readmit.ReadmitKeyWarning, match=r"client\.key: this secret key file can be read by other users \(mode 0644\)") as w:
        assert readmit.read_curve_key(tmp_path / "client.key") == secret
    assert w[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        readmit.read_curve_key(tmp_path / "client.pub")
    (tmp_path / "broken.pub").write_text("# a comment\n\nnot a key\n")
    with pytest.raises(readmit.DataFileError, match=r"broken\.pub:3: not a 40-character Z85 CURVE key") as e:
        readmit.read_curve_key(tmp_path / "broken.pub")
    assert e.value.line == 3 and e.value.kind == "bad_key"
    (tmp_path / "empty.pub").write_text("# only a comment\n")
    with pytest.raises(readmit.DataFileError, match="holds no key"):
        readmit.read_curve_key(tmp_path / "empty.pub")
    with pytest.raises(readmit.DataFileError, match="cannot read the key file") as e:
        readmit.read_curve_key(tmp_path / "absent.pub")
    assert e.value.kind == "unreadable"


def test_a_reply_over_max_reply_bytes_is_too_big_at_once(daemon):
    """libzmq drops the connection of a reply frame over max_reply_bytes: that was a
    ReadmitTimeout after every retry (here 2 x 3 s); now the call raises as soon as the drop is
    seen, naming the limit, and the client works again with a larger one."""
    with readmit.Client(daemon.endpoint, timeout_ms=3000, retries=1, max_reply_bytes=4096) as small:
        started = time.monotonic()
        with pytest.raises(readmit.MessageTooLargeError, match=r"dropped while the request was out, on each of 2 attempts.*max_reply_bytes \(4096\)") as caught:
            small.info()  # INFO's JSON is larger than 4096 bytes
        assert caught.value.code == 105 and isinstance(caught.value, readmit.ProtocolError)
        assert time.monotonic() - started < 3.0
    with readmit.Client(daemon.endpoint, timeout_ms=3000) as large:
        assert large.health()["ready"]
