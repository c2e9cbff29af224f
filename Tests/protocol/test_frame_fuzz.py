"""Bounded protocol fuzz against a real readmitd on 127.0.0.1: 5,000 random and mutated
request frames (valid requests of every op with bytes flipped, frames dropped, duplicated,
cut or grown, and plain random frames), each answered or not within a deadline, then a valid
SCORE whose reply must be bit-identical to the one before the fuzz, and the daemon still up.

The random generator is seeded (FUZZ_SEED, default 12), so a failure is reproducible; the
failing frames are printed. Every loop is bounded by a count or a deadline.
"""
import os
import random
import struct
import time

import pytest
import zmq

from test_raw_protocol import OPS, Client, free_port, header, matrix_rows, records_request, root, score_request

HISTORY = 8
COUNT = int(os.environ.get("FUZZ_FRAMES", "5000"))


@pytest.fixture(scope="module")
def served():
    """A readmitd of its own (the process is checked after every request) and its schema."""
    import json
    import subprocess
    binary = os.environ.get("READMITD_BIN", os.path.join(root(), ".build", "release", "readmitd"))
    model = os.environ.get("READMIT_TEST_MODEL", os.path.join(root(), ".build", "fixtures", "model.readmit"))
    if not os.path.exists(model):
        pytest.fail(f"no fixture model at {model} (scripts/tests/00-build.sh trains it)")
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    proc = subprocess.Popen([binary, "--model", model, "--endpoint", endpoint, "--workers", "2", "--max-rows", "1000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctx = zmq.Context()
    deadline = time.time() + 30
    while True:
        assert proc.poll() is None, "readmitd exited at start"
        client = Client(ctx, endpoint)
        client.sock.setsockopt(zmq.RCVTIMEO, 300)
        try:
            info = client.call([header(OPS["INFO"], 1)])
            break
        except zmq.Again:
            client.close()
            assert time.time() < deadline, "readmitd did not answer INFO"
    client.sock.setsockopt(zmq.RCVTIMEO, 10000)
    yield proc, client, endpoint, json.loads(info["frames"][0])
    client.close()
    proc.terminate()
    assert proc.wait(timeout=20) == 0
    ctx.term()


def valid_requests(schema):
    cols = len(schema["features"])
    values = matrix_rows(schema, 2)
    numbers = [f["name"] for f in schema["raw_fields"] if f["type"] == "number"][:3]
    columns = [(n, [1.0, float("nan")]) for n in numbers] + [("t", ["a", None])]
    history = records_request(9, 2, columns)
    history[0] = header(HISTORY, 9)
    return [
        score_request(1, 2, cols, values),
        [header(OPS["EXPLAIN"], 2), struct.pack("<IIII", 2, cols, 3, 0), struct.pack(f"<{len(values)}d", *values)],
        [header(OPS["INFO"], 3)],
        [header(OPS["HEALTH"], 4)],
        [header(OPS["STATS"], 5, flags=1)],
        [header(OPS["RELOAD"], 6), b"/nonexistent/model.readmit"],
        records_request(7, 2, columns, k=2, options=3),
        history,
    ]


def short(frames):
    return [f[:24] + (b"..." if len(f) > 24 else b"") for f in frames]


def unanswered(ctx, endpoint, window):
    """The requests of `window` that get no reply when sent one at a time."""
    silent = []
    for frames in window:
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(endpoint)
        s.send_multipart([b""] + frames)
        if not s.poll(3000, zmq.POLLIN):
            silent.append(frames)
        s.close()
    return silent


def mutate(rng, frames):
    frames = [bytearray(f) for f in frames]
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(8)
        i = rng.randrange(len(frames)) if frames else 0
        if choice == 0 and frames and frames[i]:  # flip bytes
            for _ in range(rng.randint(1, 3)):
                j = rng.randrange(len(frames[i]))
                frames[i][j] = rng.randrange(256)
        elif choice == 1 and frames and frames[i]:  # cut a frame
            del frames[i][rng.randrange(len(frames[i])):]
        elif choice == 2 and frames:  # grow a frame
            frames[i] += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        elif choice == 3 and frames:  # drop a frame
            del frames[i]
        elif choice == 4 and frames:  # duplicate a frame
            frames.insert(i, bytearray(frames[i]))
        elif choice == 5 and frames and len(frames[i]) >= 4:  # an extreme u32 (counts, sizes, lengths)
            j = rng.randrange(len(frames[i]) - 3)
            frames[i][j:j + 4] = struct.pack("<I", rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 1000, 1001]))
        elif choice == 6 and frames and len(frames[0]) == 16:  # another op or flags
            frames[0][5] = rng.randrange(12)
            frames[0][6] = rng.choice([0, 0, 1, 2, 0xFF])
        else:  # a random frame
            frames.insert(i, bytearray(rng.randrange(256) for _ in range(rng.randint(0, 40))))
    return [bytes(f) for f in frames]


def test_fuzzed_frames_leave_the_daemon_serving_bit_identical_scores(served):
    proc, daemon, endpoint, schema = served
    before = daemon.call(score_request(77, 3, len(schema["features"]), matrix_rows(schema, 3)))
    assert before["status"] == 0
    rng = random.Random(int(os.environ.get("FUZZ_SEED", "12")))
    seeds = valid_requests(schema)
    ctx = daemon.ctx
    # DEALER: many requests in flight, replies read as they come; a request the daemon drops
    # (an empty message) is simply not answered.
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    sent = answered = 0
    statuses = {}
    window = []  # the requests of the current batch, printed if one goes unanswered
    try:
        for n in range(COUNT):
            if rng.random() < 0.1:
                frames = [bytes(rng.randrange(256) for _ in range(rng.randint(0, 32))) for _ in range(rng.randint(1, 5))]
            else:
                frames = mutate(rng, rng.choice(seeds))
            if not frames:
                frames = [b""]
            sock.send_multipart([b""] + frames)
            sent += 1
            window.append(frames)
            if len(window) < 8 and n + 1 < COUNT:
                continue
            # 8 requests in flight (well under half of --max-replies-per-client: docs/PROTOCOL.md), then every
            # reply, each within 10 s of the last.
            while answered < sent and sock.poll(10000, zmq.POLLIN):
                reply = sock.recv_multipart()
                assert reply[0] == b"" and len(reply[1]) == 24 and reply[1][:4] == b"RDMT", f"bad reply {reply[:2]!r}"
                status = struct.unpack("<H", reply[1][6:8])[0]
                statuses[status] = statuses.get(status, 0) + 1
                answered += 1
            assert proc.poll() is None, f"readmitd exited ({proc.returncode}) during requests {[short(f) for f in window]}"
            if answered != sent:
                pytest.fail(f"{sent - answered} of {len(window)} requests got no reply; alone, these get none: "
                            f"{[short(f) for f in unanswered(ctx, endpoint, window)]}")
            window = []
    finally:
        sock.close()
    print(f"{sent} fuzzed requests, {answered} replies; statuses {sorted(statuses.items())}")
    assert answered == sent == COUNT
    after = daemon.call(score_request(78, 3, len(schema["features"]), matrix_rows(schema, 3)))
    assert after["status"] == 0
    assert after["frames"] == before["frames"], "SCORE after the fuzz differs from before"

