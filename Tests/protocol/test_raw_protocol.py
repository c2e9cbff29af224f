"""A raw client of docs/PROTOCOL.md written with pyzmq and struct only (no readmit code).

Starts a real readmitd (env READMITD_BIN, model READMIT_TEST_MODEL) on a free loopback port
and checks every operation and the typed errors byte by byte against the document.
"""
import json
import math
import os
import socket
import struct
import subprocess
import time

import pytest
import zmq

MAGIC = b"RDMT"
OPS = {"SCORE": 1, "EXPLAIN": 2, "INFO": 3, "HEALTH": 4, "STATS": 5, "RELOAD": 6, "RECORDS": 7}
STATUS = {"OK": 0, "BAD_MAGIC": 1, "BAD_VERSION": 2, "BAD_OP": 3, "BAD_FRAMES": 4, "BAD_PAYLOAD_SIZE": 5,
          "BAD_COLUMNS": 6, "BAD_VALUE": 7, "BAD_CATEGORY": 8, "TOO_MANY_ROWS": 9, "NOT_READY": 10,
          "OVERLOADED": 11, "RELOAD_FAILED": 12, "FORBIDDEN": 13, "BAD_ARGUMENT": 14, "INTERNAL": 15}


def root():
    return os.environ.get("READMIT_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def header(op, request_id, version=2, flags=0, magic=MAGIC):
    return magic + struct.pack("<BBHQ", version, op, flags, request_id)


def parse_reply(frames):
    h = frames[0]
    assert len(h) == 24 and h[:4] == MAGIC and h[4] == 2
    op, status, request_id, model_version = struct.unpack("<BHQQ", h[5:24])
    return {"op": op, "status": status, "id": request_id, "version": model_version, "frames": frames[1:]}


class Client:
    def __init__(self, ctx, endpoint):
        self.ctx, self.endpoint = ctx, endpoint
        self.sock = self._open()

    def _open(self):
        s = self.ctx.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, 10000)
        s.connect(self.endpoint)
        return s

    def call(self, frames):
        self.sock.send_multipart(frames)
        return parse_reply(self.sock.recv_multipart())

    def close(self):
        self.sock.close()


@pytest.fixture(scope="module")
def daemon():
    binary = os.environ.get("READMITD_BIN", os.path.join(root(), ".build", "release", "readmitd"))
    model = os.environ.get("READMIT_TEST_MODEL", os.path.join(root(), ".build", "fixtures", "model.readmit"))
    if not os.path.exists(model):
        pytest.fail(f"no fixture model at {model} (scripts/tests/00-build.sh trains it)")
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    proc = subprocess.Popen([binary, "--model", model, "--endpoint", endpoint, "--workers", "2", "--max-rows", "1000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ctx = zmq.Context()
    client = Client(ctx, endpoint)
    deadline = time.time() + 30
    while True:
        assert proc.poll() is None, proc.stderr.read().decode()
        try:
            probe = ctx.socket(zmq.REQ)
            probe.setsockopt(zmq.LINGER, 0)
            probe.setsockopt(zmq.RCVTIMEO, 300)
            probe.connect(endpoint)
            probe.send_multipart([header(OPS["HEALTH"], 1)])
            probe.recv_multipart()
            probe.close()
            break
        except zmq.Again:
            probe.close()
            assert time.time() < deadline, "readmitd did not answer HEALTH"
    yield client
    client.close()
    proc.terminate()
    assert proc.wait(timeout=20) == 0
    ctx.term()


@pytest.fixture(scope="module")
def schema(daemon):
    reply = daemon.call([header(OPS["INFO"], 2)])
    assert reply["status"] == 0
    return json.loads(reply["frames"][0].decode("utf-8"))


def matrix_rows(schema, rows):
    values = []
    for r in range(rows):
        for i, f in enumerate(schema["features"]):
            if (r + i) % 4 == 0:
                values.append(float("nan"))
            elif f["kind"] == "categorical":
                values.append(float((r + i) % len(f["levels"])))
            else:
                values.append(float((r * 7 + i) % 10))
    return values


def score_request(request_id, rows, cols, values):
    return [header(OPS["SCORE"], request_id), struct.pack("<II", rows, cols), struct.pack(f"<{len(values)}d", *values)]


def test_health(daemon, schema):
    reply = daemon.call([header(OPS["HEALTH"], 77)])
    assert reply["status"] == 0 and reply["id"] == 77 and reply["op"] == OPS["HEALTH"]
    body = json.loads(reply["frames"][0])
    assert body["live"] is True and body["ready"] is True
    assert int(body["model_version"], 16) == reply["version"] == int(schema["model_id"], 16)


def test_info_schema(schema):
    assert schema["protocol_version"] == 2
    assert schema["n_features"] == len(schema["features"]) > 0
    for i, f in enumerate(schema["features"]):
        assert f["index"] == i and f["kind"] in ("numeric", "categorical") and f["source"]


def test_info_carries_the_model_card(schema):
    """The model card training wrote into the model file comes back as Markdown text, with every
    part docs/MODEL_FORMAT.md lists and the figures of this model."""
    card = schema["model_card"]
    assert card.startswith(f"# Model card: {schema['dataset']['name']} model {schema['model_id']}\n")
    for title in ("Intended use", "Cohort and exclusions", "Data source and dates", "Features",
                  "Training and evaluation design", "Performance on the test patients", "Known limits"):
        assert f"\n## {title}\n" in card, title
    assert "ROC AUC" in card and "Calibration intercept" in card and "Net benefit" in card


def test_score(daemon, schema):
    cols = schema["n_features"]
    reply = daemon.call(score_request(5, 3, cols, matrix_rows(schema, 3)))
    assert reply["status"] == 0 and reply["id"] == 5
    counts, risk, atyp, tier = reply["frames"]
    assert struct.unpack("<II", counts) == (3, 0)
    risks = struct.unpack("<3d", risk)
    assert all(0.0 <= p <= 1.0 for p in risks)
    assert all(math.isfinite(a) for a in struct.unpack("<3d", atyp))
    assert all(t in (0, 1, 2) for t in tier) and len(tier) == 3


def test_explain(daemon, schema):
    cols = schema["n_features"]
    values = matrix_rows(schema, 2)
    reply = daemon.call([header(OPS["EXPLAIN"], 6), struct.pack("<IIII", 2, cols, 4, 0), struct.pack(f"<{len(values)}d", *values)])
    assert reply["status"] == 0
    counts, index, contrib = reply["frames"]
    assert struct.unpack("<II", counts) == (2, 4)
    idx = struct.unpack("<8i", index)
    c = struct.unpack("<8d", contrib)
    assert all(-1 <= i < cols for i in idx)
    for row in range(2):
        mags = [abs(x) for x in c[row * 4:(row + 1) * 4]]
        assert mags == sorted(mags, reverse=True)


def test_stats_json_and_prometheus(daemon):
    reply = daemon.call([header(OPS["STATS"], 8)])
    stats = json.loads(reply["frames"][0])
    assert stats["requests_total"] >= 1 and "latency" in stats
    prom = daemon.call([header(OPS["STATS"], 9, flags=1)])["frames"][0].decode()
    assert "# TYPE readmitd_requests_total counter" in prom


def error_of(reply):
    assert reply["status"] != 0
    row, feature = struct.unpack("<ii", reply["frames"][0])
    return reply["status"], row, feature, reply["frames"][1].decode("utf-8")


@pytest.mark.parametrize("name,frames,expected", [
    ("magic", lambda c: [header(OPS["HEALTH"], 1, magic=b"XXXX")], "BAD_MAGIC"),
    ("version", lambda c: [header(OPS["HEALTH"], 1, version=1)], "BAD_VERSION"),
    ("op", lambda c: [header(99, 1)], "BAD_OP"),
    ("frames", lambda c: [header(OPS["SCORE"], 1), struct.pack("<II", 1, c)], "BAD_FRAMES"),
    ("payload", lambda c: [header(OPS["SCORE"], 1), struct.pack("<II", 1, c), b"\0" * (8 * c - 1)], "BAD_PAYLOAD_SIZE"),
    ("columns", lambda c: score_request(1, 1, c + 1, [0.0] * (c + 1)), "BAD_COLUMNS"),
    ("rows", lambda c: score_request(1, 1001, 1, [0.0] * 1001), "TOO_MANY_ROWS"),
    ("k", lambda c: [header(OPS["EXPLAIN"], 1), struct.pack("<IIII", 1, c, 0, 0), b"\0" * (8 * c)], "BAD_ARGUMENT"),
    ("reload path", lambda c: [header(OPS["RELOAD"], 1), b"/tmp/x.readmit"], "FORBIDDEN"),
])
def test_typed_errors_then_valid(daemon, schema, name, frames, expected):
    cols = schema["n_features"]
    status, _, _, message = error_of(daemon.call(frames(cols)))
    assert status == STATUS[expected], message
    assert message
    ok = daemon.call(score_request(2, 1, cols, matrix_rows(schema, 1)))
    assert ok["status"] == 0


def test_bad_value_names_row_and_feature(daemon, schema):
    cols = schema["n_features"]
    values = matrix_rows(schema, 2)
    numeric = next(i for i, f in enumerate(schema["features"]) if f["kind"] == "numeric")
    values[cols + numeric] = float("inf")
    status, row, feature, message = error_of(daemon.call(score_request(3, 2, cols, values)))
    assert (status, row, feature) == (STATUS["BAD_VALUE"], 1, numeric)
    assert schema["features"][numeric]["name"] in message


def test_bad_category_names_row_and_feature(daemon, schema):
    cols = schema["n_features"]
    values = matrix_rows(schema, 1)
    cat = next(i for i, f in enumerate(schema["features"]) if f["kind"] == "categorical")
    values[cat] = float(len(schema["features"][cat]["levels"]) + 3)
    status, row, feature, _ = error_of(daemon.call(score_request(3, 1, cols, values)))
    assert (status, row, feature) == (STATUS["BAD_CATEGORY"], 0, cat)


def test_dealer_with_several_requests_in_flight(daemon, schema):
    cols = schema["n_features"]
    dealer = daemon.ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.setsockopt(zmq.RCVTIMEO, 10000)
    dealer.connect(daemon.endpoint)
    for i in range(5):
        dealer.send_multipart([b""] + score_request(100 + i, 1, cols, matrix_rows(schema, 1)))
    ids = set()
    for _ in range(5):
        frames = dealer.recv_multipart()
        assert frames[0] == b""
        ids.add(parse_reply(frames[1:])["id"])
    dealer.close()
    assert ids == set(range(100, 105))


def test_stats_while_workers_record(daemon, schema):
    """STATS (JSON and Prometheus) read the counters while workers record replies: under
    ThreadSanitizer (stage 55) this found the snapshot sharing array storage with the live
    counters. 600 requests, 12 in flight, every third one STATS."""
    cols = schema["n_features"]
    dealer = daemon.ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.setsockopt(zmq.RCVTIMEO, 10000)
    dealer.connect(daemon.endpoint)
    row = matrix_rows(schema, 1)
    sent = answered = 0
    try:
        for n in range(600):
            if n % 3 == 2:
                dealer.send_multipart([b"", header(OPS["STATS"], 1000 + n, flags=n % 2)])
            else:
                dealer.send_multipart([b""] + score_request(1000 + n, 1, cols, row))
            sent += 1
            while sent - answered >= 12:
                frames = dealer.recv_multipart()
                assert parse_reply(frames[1:])["status"] == 0
                answered += 1
        while answered < sent:
            frames = dealer.recv_multipart()
            assert parse_reply(frames[1:])["status"] == 0
            answered += 1
    finally:
        dealer.close()
    assert json.loads(daemon.call([header(OPS["STATS"], 2000)])["frames"][0])["requests_total"] >= 600


def test_pipelined_requests_all_answered(daemon, schema):
    """A client that sends 400 requests before reading any reply (its own libzmq takes the
    replies off the wire meanwhile) gets all 400 with the default --max-replies-per-client:
    with a mark of 16 the daemon dropped about half of a 60-request burst, because libzmq
    acknowledges reads in batches of half the mark."""
    cols = schema["n_features"]
    dealer = daemon.ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.setsockopt(zmq.RCVTIMEO, 10000)
    dealer.connect(daemon.endpoint)
    row = matrix_rows(schema, 1)
    before = json.loads(daemon.call([header(OPS["STATS"], 3000)])["frames"][0])["replies_dropped"]
    try:
        for n in range(400):
            dealer.send_multipart([b""] + score_request(3001 + n, 1, cols, row))
        ids = set()
        for _ in range(400):
            frames = dealer.recv_multipart()
            reply = parse_reply(frames[1:])
            assert reply["status"] == 0
            ids.add(reply["id"])
    finally:
        dealer.close()
    assert ids == set(range(3001, 3401))
    assert json.loads(daemon.call([header(OPS["STATS"], 3500)])["frames"][0])["replies_dropped"] == before


def records_request(request_id, rows, columns, k=0, options=0):
    """RECORDS frames of docs/PROTOCOL.md: columns is a list of (name, values); values are floats
    (type 1, NaN missing) or str/None (type 2, dictionary-encoded, -1 missing)."""
    frames = [header(OPS["RECORDS"], request_id), struct.pack("<IIII", rows, len(columns), k, options)]
    for name, values in columns:
        frames.append(name.encode("utf-8"))
        if all(isinstance(v, float) for v in values):
            frames.append(b"\x01" + struct.pack(f"<{rows}d", *values))
        else:
            distinct = sorted({v for v in values if v is not None})
            index = {v: i for i, v in enumerate(distinct)}
            body = b"\x02" + struct.pack("<I", len(distinct))
            for v in distinct:
                raw = v.encode("utf-8")
                body += struct.pack("<I", len(raw)) + raw
            body += struct.pack(f"<{rows}i", *[index[v] if v is not None else -1 for v in values])
            frames.append(body)
    return frames


def one_encounter(schema):
    """One encounter's raw fields from INFO's raw_fields: a known level of each text field, a
    small number for numbers, and history fields as numbers."""
    fields = {}
    for f in schema["raw_fields"]:
        if f["type"] == "number":
            fields[f["name"]] = 1.0
        elif f["type"] == "text":
            fields[f["name"]] = f["levels"][0] if f.get("levels") else "x"
        elif f["type"] == "diagnosis_code":
            fields[f["name"]] = "428"
        elif f["type"] == "timestamp":
            fields[f["name"]] = "2100-01-01 00:00:00"
    return fields


def test_records(daemon, schema):
    assert any(f["history"] for f in schema["raw_fields"]) and all("required" in f for f in schema["raw_fields"])
    one = one_encounter(schema)
    rows = 3
    columns = [(name, [value] * rows) for name, value in one.items()]
    # Row 1: a number field holding a text that is not a number; row 2: an unknown level.
    number_field = next(f["name"] for f in schema["raw_fields"] if f["type"] == "number" and not f["history"])
    text_field = next(f["name"] for f in schema["raw_fields"] if f["type"] == "text")
    columns = [(n, ["1", "three", "1"] if n == number_field else (["Martian" if i == 2 else v[i] for i in range(rows)] if n == text_field else v))
               for n, v in columns]
    reply = daemon.call(records_request(31, rows, columns, k=2))
    assert reply["status"] == 0 and reply["op"] == OPS["RECORDS"] and reply["id"] == 31
    counts, risk, atyp, tier, body = reply["frames"]
    assert struct.unpack("<II", counts) == (rows, 2)
    risk = struct.unpack(f"<{rows}d", risk)
    assert math.isnan(risk[1]) and tier[1] == 255 and not math.isnan(risk[0]) and not math.isnan(risk[2])
    messages = json.loads(body)["messages"]
    error = next(m for m in messages if m["severity"] == "error")
    assert error["row"] == 1 and error["field"] == number_field and error["code"] == "bad_number"
    assert any(m["row"] == 2 and m["code"] == "unknown_level" and m["field"] == text_field for m in messages)
    # Row 0 alone gives the same bits as in the batch.
    alone = daemon.call(records_request(32, 1, [(n, v[:1]) for n, v in columns]))
    assert alone["frames"][1] == struct.pack("<d", risk[0])
    # A required field absent: BAD_ARGUMENT naming it.
    absent = daemon.call(records_request(33, 1, [(n, v[:1]) for n, v in columns if n != text_field]))
    assert absent["status"] == STATUS["BAD_ARGUMENT"] and text_field in absent["frames"][1].decode()


def integer_column(values):
    """A number column's values frame as the narrowest of types 5, 6 and 7 (docs/PROTOCOL.md:
    8-, 16- or 32-bit integers, the type's minimum missing), as libreadmit sends whole numbers."""
    present = [int(v) for v in values if not math.isnan(v)]
    low, high = min(present, default=0), max(present, default=0)
    for type_byte, code, bits in ((5, "b", 8), (6, "h", 16), (7, "i", 32)):
        if low > -(1 << (bits - 1)) and high < 1 << (bits - 1):
            missing = -(1 << (bits - 1))
            return bytes([type_byte]) + struct.pack(f"<{len(values)}{code}", *[missing if math.isnan(v) else int(v) for v in values])
    raise ValueError("not 32-bit integers")


@pytest.mark.parametrize("rows", [1, 37, 20_000])
def test_records_integer_columns_answer_as_float64_ones(schema, rows):
    """The same RECORDS sent twice, its whole-number columns once as float64 (type 1) and once
    as 8-, 16- and 32-bit integers (types 5-7): every reply frame is the same bytes (risks,
    atypicality, tiers, and the messages and explanations with their values), for one row, a
    few, and a request large enough that the daemon decodes its rows in parts on its cores.
    Number fields, history fields, text fields whose levels are numbers (sent as numbers, read
    as their shortest texts), an excluded stay and missing values are all in it."""
    import random

    rng = random.Random(rows)
    columns, widths = [], set()
    for i, f in enumerate(schema["raw_fields"]):
        levels = f.get("levels") or []
        if f["type"] == "number":
            scale = (100, 30_000, 3_000_000)[i % 3]  # 8, 16 and 32 bits
            values = [math.nan if rng.random() < 0.05 else float(rng.randrange(-scale // 10, scale)) for _ in range(rows)]
        elif levels and all(level.isdigit() for level in levels):  # a coded field such as admission_type_id
            values = [math.nan if rng.random() < 0.05 else float(rng.choice(levels)) for _ in range(rows)]
            if f["name"] == "discharge_disposition_id":
                values[rows // 2] = 11.0  # died: excluded from the cohort
        elif levels:
            values = [None if rng.random() < 0.05 else rng.choice(levels) for _ in range(rows)]
        elif f["type"] == "diagnosis_code":
            values = [rng.choice(["428", "250.01", "V45", None]) for _ in range(rows)]
        else:
            continue
        columns.append((f["name"], values))
    plain = records_request(41, rows, columns, k=2, options=1)
    narrow = list(plain)
    for c, (_, values) in enumerate(columns):
        if all(isinstance(v, float) for v in values):
            narrow[3 + 2 * c] = integer_column(values)
            widths.add(narrow[3 + 2 * c][0])
    assert widths == {5, 6, 7}, "every integer type is sent"
    binary = os.environ.get("READMITD_BIN", os.path.join(root(), ".build", "release", "readmitd"))
    model = os.environ.get("READMIT_TEST_MODEL", os.path.join(root(), ".build", "fixtures", "model.readmit"))
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    proc = subprocess.Popen([binary, "--model", model, "--endpoint", endpoint, "--workers", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ctx = zmq.Context()
    client = Client(ctx, endpoint)
    try:
        deadline = time.time() + 30
        while True:  # the first call waits for the daemon to listen (REQ sends when connected)
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.time() < deadline, "readmitd did not start"
            try:
                want = client.call(plain)
                break
            except zmq.Again:
                client.close()
                client = Client(ctx, endpoint)
        got = client.call(narrow)
    finally:
        client.close()
        proc.terminate()
        assert proc.wait(timeout=20) == 0
        ctx.term()
    assert want["status"] == 0, want["frames"]
    assert got["status"] == 0 and got["frames"] == want["frames"]
    messages = json.loads(want["frames"][4])["messages"]
    if rows > 1:
        assert any(m["code"] == "excluded" for m in messages)
