"""readmitd --http: Prometheus /metrics, /healthz and /readyz over real loopback sockets.

Starts real readmitd processes (env READMITD_BIN, model READMIT_TEST_MODEL), sends ZeroMQ
requests with the raw protocol client of test_raw_protocol.py, scrapes /metrics with
http.client and parses it with prometheus_client's parser (the one Prometheus' Python client
ships), and checks that the counters moved by exactly what was sent.
"""
import http.client
import json
import os
import signal
import socket
import struct
import subprocess
import time

import pytest
import zmq
from prometheus_client.parser import text_string_to_metric_families

from test_hardening import binary, model as fixture_model
from test_raw_protocol import OPS, STATUS, Client, free_port, header, matrix_rows, one_encounter, records_request, score_request


def get(port, path, method="GET"):
    """One HTTP request on a fresh connection: (status, headers, body text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode("utf-8")
    finally:
        conn.close()


def wait_http(proc, port, path, want, seconds=30):
    """Polls `path` until it answers `want`; fails naming the last answer (bounded). Returns
    the answers seen before, (status, body) each."""
    deadline = time.time() + seconds
    last, seen = None, []
    while time.time() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()
        try:
            last = get(port, path)
            if last[0] == want:
                return seen
            seen.append((last[0], last[2]))
        except (ConnectionRefusedError, ConnectionResetError, http.client.HTTPException, OSError) as e:
            last = repr(e)
        time.sleep(0.01)
    pytest.fail(f"{path} did not answer {want} within {seconds} s; last: {last}")


class Daemon:
    def __init__(self, *args):
        self.endpoint = f"tcp://127.0.0.1:{free_port()}"
        self.http_port = free_port()
        self.proc = subprocess.Popen([binary(), "--endpoint", self.endpoint, "--workers", "2",
                                      "--http", f"127.0.0.1:{self.http_port}", *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.ctx = zmq.Context()
        self.client = Client(self.ctx, self.endpoint)
        self.sent = 0  # ZeroMQ requests sent, each answered, so each counted in the end

    def call(self, frames):
        self.sent += 1
        return self.client.call(frames)

    def stop(self):
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=20)
        self.ctx.term()
        return code


@pytest.fixture(scope="module")
def served():
    d = Daemon("--model", fixture_model(), "--max-rows", "1000")
    # The listener binds before the model loads: whatever /readyz said before 200 was 503
    # (starting, or loaded and the workers not yet all up).
    before = wait_http(d.proc, d.http_port, "/readyz", 200)
    assert all(answer == (503, "not ready: starting\n") for answer in before), before
    yield d
    assert d.stop() == 0


def scrape(port):
    """Scrapes /metrics: the parsed families by name, and the samples by (name, labels)."""
    status, headers, body = get(port, "/metrics")
    assert status == 200
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert body.endswith("\n")
    families = {f.name: f for f in text_string_to_metric_families(body)}
    samples = {}
    for f in families.values():
        for s in f.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            assert key not in samples, f"duplicate sample {key}"
            samples[key] = s.value
    return families, samples, body


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def requests_total(samples):
    return sum(v for (n, _), v in samples.items() if n == "readmitd_requests_total")


def scrape_counted(port, total):
    """Scrapes once; `readmitd_requests_total` must already sum to `total`: the daemon counts a
    request before sending its reply, so a client that has every reply finds them all counted."""
    scraped = scrape(port)
    assert requests_total(scraped[1]) == total, scraped[2]
    return scraped


def test_exposition_is_strict_prometheus_text(served):
    families, samples, body = scrape(served.http_port)
    # Every sample line belongs to a family declared with # HELP and # TYPE before it.
    declared = set()
    for line in body.splitlines():
        assert line, "empty line in the exposition"
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            declared.add(line.split(" ")[2])
            continue
        assert not line.startswith("#"), line
        name = line.split("{")[0].split(" ")[0]
        family = next((n for n in (name, name.rsplit("_", 1)[0]) if n in declared), None)
        assert family is not None, f"sample without HELP/TYPE: {line}"
    expected = {"readmitd_requests": "counter", "readmitd_rows_scored": "counter", "readmitd_reloads": "counter",
                "readmitd_request_latency_seconds": "histogram", "readmitd_request_duration_seconds": "summary",
                "readmitd_model_info": "gauge", "readmitd_model_loaded_timestamp_seconds": "gauge",
                "readmitd_ready": "gauge", "readmitd_uptime_seconds": "gauge"}
    for name, kind in expected.items():
        assert families[name].type == kind, name
    assert value(samples, "readmitd_ready") == 1
    assert value(samples, "readmitd_reloads_total", result="ok") == 1
    assert value(samples, "readmitd_reloads_total", result="failed") == 0
    loaded = value(samples, "readmitd_model_loaded_timestamp_seconds")
    assert time.time() - 120 < loaded <= time.time()


def test_counters_move_by_what_was_sent(served):
    schema_reply = served.call([header(OPS["INFO"], 1)])
    schema = json.loads(schema_reply["frames"][0])
    cols = schema["n_features"]
    _, before, _ = scrape_counted(served.http_port, served.sent)
    assert requests_total(before) == served.sent

    for i in range(3):
        assert served.call([header(OPS["HEALTH"], 10 + i)])["status"] == 0
    for i in range(2):
        assert served.call(score_request(20 + i, 4, cols, matrix_rows(schema, 4)))["status"] == 0
    bad = served.call(score_request(30, 1, cols + 1, [0.0] * (cols + 1)))
    assert bad["status"] == STATUS["BAD_COLUMNS"]

    families, after, body = scrape_counted(served.http_port, served.sent)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("readmitd_requests_total", op="HEALTH", status="OK") == 3
    assert delta("readmitd_requests_total", op="SCORE", status="OK") == 2
    assert delta("readmitd_requests_total", op="SCORE", status="BAD_COLUMNS") == 1
    assert delta("readmitd_requests_total", op="INFO", status="OK") == 0  # INFO was before the first scrape
    assert delta("readmitd_rows_scored_total") == 8  # the refused request scored nothing
    assert delta("readmitd_request_latency_seconds_count", op="SCORE") == 3
    assert delta("readmitd_request_duration_seconds_count", op="SCORE") == 3
    assert delta("readmitd_request_latency_seconds_count", op="HEALTH") == 3
    # Histogram: cumulative buckets, non-decreasing, +Inf equal to the count.
    buckets = sorted(((float(s.labels["le"]), s.value) for s in families["readmitd_request_latency_seconds"].samples
                      if s.name.endswith("_bucket") and s.labels["op"] == "SCORE"))
    assert len(buckets) == 14 and buckets[-1][0] == float("inf")
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))
    assert buckets[-1][1] == value(after, "readmitd_request_latency_seconds_count", op="SCORE")
    # The model serving is the one INFO describes.
    assert value(after, "readmitd_model_info", model_id=schema["model_id"]) == 1
    # Scrapes are not ZeroMQ requests: the totals count only what the client sent.
    assert requests_total(after) - requests_total(before) == 6


def test_metrics_carry_no_feature_values(served):
    """Only counts, times and the model id: no value sent, and no label beyond the known few."""
    schema = json.loads(served.call([header(OPS["INFO"], 2)])["frames"][0])
    cols = schema["n_features"]
    numeric = next(i for i, f in enumerate(schema["features"]) if f["kind"] == "numeric")
    values = matrix_rows(schema, 1)
    values[numeric] = 31337.4242
    assert served.call(score_request(3, 1, cols, values))["status"] == 0
    values[numeric] = float("inf")  # a refused value is named in the ZeroMQ error reply only
    assert served.call(score_request(4, 1, cols, values))["status"] == STATUS["BAD_VALUE"]
    families, samples, body = scrape(served.http_port)
    assert "31337" not in body
    allowed = {"op": set(OPS) | {"HISTORY", "UNKNOWN"}, "status": set(STATUS), "result": {"ok", "failed"},
               "model_id": {schema["model_id"]}, "quantile": {"0.5", "0.9", "0.99"},
               # What was served, in aggregate: tier names, and RECORDS messages by raw field
               # (the model's, or a column name a client sent) and code; never a value.
               "tier": {t["name"] for t in schema["tiers"]}, "severity": {"error", "warning"},
               "field": {f["name"] for f in schema["raw_fields"]} | {UNUSED_COLUMN},
               "code": {"bad_number", "unknown_level", "unused_field", "history_unknown", "not_finite"}}
    for name, labels in samples:
        for label, v in labels:
            if label == "le":
                float(v)
            else:
                assert v in allowed[label], (name, label, v)


UNUSED_COLUMN = "favourite_colour"


def test_served_rows_are_counted_as_the_replies_said(served):
    """readmitd_served_*: the tiers, tenths of risk and atypicality, error rows and RECORDS
    messages of what was scored, equal to what the replies themselves said; refused requests
    add nothing. The same counts in STATS `served`."""
    schema = json.loads(served.call([header(OPS["INFO"], 5)])["frames"][0])
    cols, tiers = schema["n_features"], [t["name"] for t in schema["tiers"]]
    _, before, _ = scrape_counted(served.http_port, served.sent)
    stats_before = json.loads(served.call([header(OPS["STATS"], 6)])["frames"][0])["served"]
    risks, atyps, tier_of = [], [], []

    def add(reply, rows):
        assert reply["status"] == 0
        risk = struct.unpack(f"<{rows}d", reply["frames"][1])
        atyp = struct.unpack(f"<{rows}d", reply["frames"][2])
        for r in range(rows):
            if reply["frames"][3][r] != 255:
                risks.append(risk[r]); atyps.append(atyp[r]); tier_of.append(reply["frames"][3][r])

    add(served.call(score_request(40, 37, cols, matrix_rows(schema, 37))), 37)
    add(served.call(score_request(41, 1, cols, matrix_rows(schema, 1))), 1)
    assert served.call(score_request(42, 1, cols, [float("inf")] * cols))["status"] == STATUS["BAD_VALUE"]
    # RECORDS: row 1 a bad number (an error row), row 2 an unknown level, and an unused column.
    one = one_encounter(schema)
    number_field = next(f["name"] for f in schema["raw_fields"] if f["type"] == "number" and not f["history"])
    text_field = next(f["name"] for f in schema["raw_fields"] if f["type"] == "text")
    columns = [(n, ["1", "three", "1"] if n == number_field else (["Martian" if i == 2 else v for i in range(3)] if n == text_field else [v] * 3))
               for n, v in one.items()] + [(UNUSED_COLUMN, ["blue", "red", None])]
    reply = served.call(records_request(43, 3, columns))
    add(reply, 3)
    messages = json.loads(reply["frames"][4])["messages"]
    families, after, body = scrape_counted(served.http_port, served.sent)

    def delta(name, **labels):
        labels["model_id"] = schema["model_id"]  # the counts are per model
        return value(after, name, **labels) - value(before, name, **labels)

    assert len(risks) == 37 + 1 + 2
    for i, name in enumerate(tiers):
        assert delta("readmitd_served_rows_total", tier=name) == tier_of.count(i), name
    assert delta("readmitd_served_risk_count") == len(risks) == delta("readmitd_served_atypicality_count")
    assert abs(delta("readmitd_served_risk_sum") - sum(risks)) < 1e-9
    for k in range(1, 10):
        le = f"0.{k}"
        assert delta("readmitd_served_risk_bucket", le=le) == sum(1 for r in risks if r < k / 10), le
        assert delta("readmitd_served_atypicality_bucket", le=le) == sum(1 for a in atyps if a < k / 10), le
    assert delta("readmitd_served_error_rows_total") == 1
    kinds = {}
    for m in messages:
        key = (m["severity"], m["field"], m["code"])
        kinds[key] = kinds.get(key, 0) + 1
    assert ("error", number_field, "bad_number") in kinds and ("warning", text_field, "unknown_level") in kinds
    assert ("warning", UNUSED_COLUMN, "unused_field") in kinds
    for (severity, field, code), n in kinds.items():
        assert delta("readmitd_record_messages_total", severity=severity, field=field, code=code) == n, (field, code)
    assert families["readmitd_served_risk"].type == "histogram" and families["readmitd_record_messages"].type == "counter"
    # STATS `served` counts the same.
    stats = json.loads(served.call([header(OPS["STATS"], 7)])["frames"][0])["served"]
    assert stats["model_id"] == schema["model_id"]
    assert stats["rows"] - stats_before["rows"] == len(risks)
    assert stats["error_rows"] - stats_before["error_rows"] == 1
    assert [a - b for a, b in zip(stats["risk_tenths"], stats_before["risk_tenths"])] == \
        [sum(1 for r in risks if min(int(r * 10), 9) == k) for k in range(10)]
    assert {n: stats["tiers"][n] - stats_before["tiers"].get(n, 0) for n in tiers} == {n: tier_of.count(i) for i, n in enumerate(tiers)}


def test_probes_and_errors(served):
    status, _, body = get(served.http_port, "/healthz")
    assert (status, body) == (200, "ok: serving\n")
    status, _, body = get(served.http_port, "/readyz")
    assert (status, body) == (200, "ready\n")
    status, _, body = get(served.http_port, "/metrics?name=x")
    assert status == 200 and "readmitd_requests_total" in body
    for path in ("/", "/metric", "/healthz/x", "/stats"):
        assert get(served.http_port, path)[0] == 404, path
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        for path in ("/metrics", "/healthz", "/readyz"):
            status, headers, _ = get(served.http_port, path, method)
            assert status == 405 and headers.get("allow") == "GET, HEAD", (method, path)
    # HEAD answers as GET does, without the body (a monitor's `curl -I` got 405 from a healthy daemon).
    for path in ("/healthz", "/readyz"):
        status, headers, body = get(served.http_port, path, "HEAD")
        assert (status, body) == (200, ""), path
        assert int(headers["content-length"]) == len(get(served.http_port, path)[2]), path
    # The daemon still serves ZeroMQ after all of that.
    assert served.call([header(OPS["HEALTH"], 99)])["status"] == 0


def test_not_ready_without_a_model_then_ready_after_reload():
    """A daemon started without --model serves (live) but is not ready until a RELOAD loads one."""
    d = Daemon("--allow-reload-path")
    try:
        wait_http(d.proc, d.http_port, "/healthz", 200)
        status, _, body = get(d.http_port, "/readyz")
        assert (status, body) == (503, "not ready: no model loaded\n")
        _, samples, _ = scrape(d.http_port)
        assert value(samples, "readmitd_ready") == 0
        assert not any(n == "readmitd_model_info" for n, _ in samples)
        assert not any(n == "readmitd_model_loaded_timestamp_seconds" for n, _ in samples)

        reply = d.call([header(OPS["RELOAD"], 1), fixture_model().encode()])
        assert reply["status"] == 0
        status, _, body = get(d.http_port, "/readyz")
        assert (status, body) == (200, "ready\n")
        _, samples, _ = scrape_counted(d.http_port, d.sent)
        assert value(samples, "readmitd_ready") == 1
        assert value(samples, "readmitd_reloads_total", result="ok") == 1
        assert value(samples, "readmitd_requests_total", op="RELOAD", status="OK") == 1
    finally:
        assert d.stop() == 0


def test_served_counts_start_apart_after_a_reload(tmp_path):
    """A reload to another model starts that model's served counts apart (its tiers and its
    atypicality percentile are its own): the old model's series stay as they were."""
    other = tmp_path / "other.readmit"
    subprocess.run(["python3", os.path.join(os.path.dirname(__file__), "..", "..", "tests", "tools", "model_with_id.py"),
                    fixture_model(), str(other), "00000000000000bb"], check=True)
    d = Daemon("--model", fixture_model(), "--allow-reload-path")
    try:
        wait_http(d.proc, d.http_port, "/readyz", 200)
        schema = json.loads(d.call([header(OPS["INFO"], 1)])["frames"][0])
        cols, first = schema["n_features"], schema["model_id"]
        assert d.call(score_request(2, 5, cols, matrix_rows(schema, 5)))["status"] == 0
        assert d.call([header(OPS["RELOAD"], 3), str(other).encode()])["status"] == 0
        assert d.call(score_request(4, 3, cols, matrix_rows(schema, 3)))["status"] == 0
        _, samples, _ = scrape_counted(d.http_port, d.sent)
        assert value(samples, "readmitd_served_risk_count", model_id=first) == 5
        assert value(samples, "readmitd_served_risk_count", model_id="00000000000000bb") == 3
        stats = json.loads(d.call([header(OPS["STATS"], 5)])["frames"][0])
        assert (stats["served"]["model_id"], stats["served"]["rows"]) == ("00000000000000bb", 3)
        assert [(m["model_id"], m["rows"]) for m in stats["served_by_model"]] == [(first, 5), ("00000000000000bb", 3)]
    finally:
        assert d.stop() == 0


def test_a_failed_reload_keeps_ready_and_is_counted():
    """A RELOAD of a file that cannot be read: the old model serves on, ready; the failure counts."""
    d = Daemon("--allow-reload-path", "--model", fixture_model())
    try:
        wait_http(d.proc, d.http_port, "/readyz", 200)
        reply = d.call([header(OPS["RELOAD"], 1), b"/nonexistent/model.readmit"])
        assert reply["status"] == STATUS["RELOAD_FAILED"]
        assert get(d.http_port, "/readyz")[0] == 200
        _, samples, _ = scrape(d.http_port)
        assert value(samples, "readmitd_reloads_total", result="failed") == 1
        assert value(samples, "readmitd_last_reload_success") == 0
    finally:
        assert d.stop() == 0


def test_draining_is_live_and_not_ready():
    """After SIGTERM with a long request in flight: /readyz 503 (draining), /healthz still 200,
    and the request still gets its answer."""
    import threading
    d = Daemon("--model", fixture_model(), "--workers", "1")
    wait_http(d.proc, d.http_port, "/readyz", 200)
    schema = json.loads(d.call([header(OPS["INFO"], 1)])["frames"][0])
    cols, rows = schema["n_features"], 6000  # EXPLAIN of 6,000 rows: seconds of work
    values = matrix_rows(schema, rows)
    request = [header(OPS["EXPLAIN"], 2), struct.pack("<IIII", rows, cols, 3, 0), struct.pack(f"<{len(values)}d", *values)]
    replies = []
    worker = threading.Thread(target=lambda: replies.append(d.call(request)))
    worker.start()
    deadline = time.time() + 10
    while True:  # until the request is at the worker (the queue is empty and one is busy)
        _, samples, _ = scrape(d.http_port)
        if value(samples, "readmitd_queued_bytes") > 0:
            break
        assert time.time() < deadline, "the EXPLAIN never reached the daemon"
        time.sleep(0.005)
    d.proc.send_signal(signal.SIGTERM)
    deadline = time.time() + 10
    while True:  # the signal thread asks the broker to stop; it notices within 100 ms
        readyz = get(d.http_port, "/readyz")
        if readyz[0] != 200 or time.time() > deadline:
            break
        time.sleep(0.005)
    healthz = get(d.http_port, "/healthz")
    worker.join(timeout=60)
    assert replies and replies[0]["status"] == 0, "the request in flight was not answered"
    assert d.stop() == 0
    assert (readyz[0], readyz[2]) == (503, "not ready: draining\n")
    assert (healthz[0], healthz[2]) == (200, "ok: draining\n")


def test_http_listener_stops_with_the_daemon():
    d = Daemon("--model", fixture_model())
    wait_http(d.proc, d.http_port, "/readyz", 200)
    assert d.stop() == 0
    with pytest.raises(ConnectionRefusedError):
        get(d.http_port, "/healthz")


@pytest.mark.parametrize("value,needle", [
    ("0.0.0.0:{port}", "--http-allow-remote"),
    ("[::]:{port}", "--http-allow-remote"),
    ("localhost", "is not a number"),
    ("127.0.0.1:99999", "is not a number"),
    ("example.com:{port}", "not a numeric IPv4 address"),
])
def test_refused_http_addresses(value, needle):
    """Non-loopback needs --http-allow-remote (as tcp:// needs CURVE or --insecure); malformed
    values are named. Nothing is bound and the daemon exits 1 before loading a model."""
    port = free_port()
    proc = subprocess.run([binary(), "--model", fixture_model(), "--endpoint", f"tcp://127.0.0.1:{free_port()}",
                           "--http", value.format(port=port)], capture_output=True, timeout=30)
    assert proc.returncode == 1
    assert needle in proc.stderr.decode(), proc.stderr.decode()


def test_http_port_in_use_fails_the_start():
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run([binary(), "--model", fixture_model(), "--endpoint", f"tcp://127.0.0.1:{free_port()}",
                               "--http", f"127.0.0.1:{port}"], capture_output=True, timeout=30)
    assert proc.returncode == 1
    assert "cannot listen" in proc.stderr.decode(), proc.stderr.decode()


def cpu_seconds(pid):
    """User plus system CPU time of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw_exchange(port, data, seconds=5):
    """Sends `data` on a fresh connection and reads until the daemon closes it or `seconds`
    pass: the bytes received, and whether the daemon closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed after answering the part it read; the answer is still to be read
        received, deadline = b"", time.time() + seconds
        while time.time() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                return received, True
            received += chunk
        return received, False


def test_a_huge_request_head_is_refused_at_once_and_costs_nothing_after(served):
    """A head past 8 KiB is answered 431 and its connection closed. The listener before this one
    (FlyingFox) compared a line's whole suffix after each byte: 3 MB of header kept a core busy
    for hours after the client had gone."""
    pid = served.proc.pid
    before = cpu_seconds(pid)
    answer, closed = raw_exchange(served.http_port, b"GET /metrics HTTP/1.1\r\nX: " + b"a" * (3 << 20))
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), answer[:200]
    assert closed
    time.sleep(0.5)
    assert cpu_seconds(pid) - before < 1.0, "the listener kept working on a refused request"
    assert get(served.http_port, "/healthz")[0] == 200


@pytest.mark.parametrize("request_bytes,status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"\x00\x01\x02\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
    (b"GET /healthz HTTP/2.0\r\n\r\n", 505),
    (b"POST /metrics HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000, 405),
])
def test_malformed_requests_are_answered_and_closed(served, request_bytes, status):
    answer, closed = raw_exchange(served.http_port, request_bytes)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:200]
    assert b"\r\nConnection: close\r\n" in answer
    assert closed


def test_keep_alive_pipelining_and_http_1_0(served):
    """Two requests sent at once on one connection get two answers in order; HTTP/1.0 closes."""
    answer, closed = raw_exchange(served.http_port,
                                  b"GET /healthz HTTP/1.1\r\n\r\nGET /readyz HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert closed
    first, second = answer.split(b"HTTP/1.1 ", 2)[1:]
    assert first.startswith(b"200 OK\r\n") and first.endswith(b"\r\n\r\nok: serving\n"), answer
    assert second.startswith(b"200 OK\r\n") and second.endswith(b"\r\n\r\nready\n"), answer
    # Many at once: answered in order, at most 16 queued at a time (the rest as those are written).
    answer, closed = raw_exchange(served.http_port, b"GET /healthz HTTP/1.1\r\n\r\n" * 700
                                  + b"GET /readyz HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert closed and answer.count(b"HTTP/1.1 200 OK\r\n") == 701 and answer.count(b"ok: serving\n") == 700
    assert answer.endswith(b"ready\n")
    answer, closed = raw_exchange(served.http_port, b"GET /healthz HTTP/1.0\r\n\r\n")
    assert closed and answer.endswith(b"ok: serving\n"), answer
    # http.client on one kept-alive connection, as Prometheus scrapes.
    conn = http.client.HTTPConnection("127.0.0.1", served.http_port, timeout=5)
    try:
        for path in ("/metrics", "/healthz", "/readyz", "/metrics"):
            conn.request("GET", path)
            r = conn.getresponse()
            assert r.status == 200 and r.read()
        conn.request("HEAD", "/metrics")
        r = conn.getresponse()
        assert r.status == 200 and r.read() == b"" and int(r.getheader("Content-Length")) > 0
        conn.request("GET", "/healthz")  # the HEAD's answer had no body to misread as the next answer
        assert conn.getresponse().read() == b"ok: serving\n"
    finally:
        conn.close()


def test_silent_connections_neither_block_probes_nor_stay():
    """Clients that connect and send nothing (or half a head): a probe still gets in (the
    longest-waiting idle connection is closed to make room past 64), and each silent one is
    closed within the 10 s request timeout. FlyingFox kept them open forever."""
    d = Daemon("--model", fixture_model())
    silent = []
    try:
        wait_http(d.proc, d.http_port, "/readyz", 200)
        for i in range(80):
            s = socket.create_connection(("127.0.0.1", d.http_port), timeout=15)
            if i % 2:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x")  # a head never finished
            silent.append(s)
        started = time.time()
        status, _, body = get(d.http_port, "/readyz")
        assert (status, body) == (200, "ready\n")
        assert time.time() - started < 2
        for s in silent:
            try:
                assert s.recv(1) == b""  # closed by the daemon, nothing sent
            except ConnectionResetError:
                pass
        assert time.time() - started < 14, "silent connections were kept past the request timeout"
        assert get(d.http_port, "/healthz")[0] == 200
    finally:
        for s in silent:
            s.close()
        assert d.stop() == 0
