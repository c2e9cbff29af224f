"""A client written with pyzmq alone from docs/PROTOCOL.md: the wire contract, independently of
libreadmit (and the binding's scores equal the raw ones)."""
from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import zmq

import readmit

MAGIC = b"RDMT"
VERSION = 2  # the protocol version (docs/PROTOCOL.md)


@pytest.fixture()
def sock(daemon):
    ctx = zmq.Context()
    s = ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, 10000)
    s.connect(daemon.endpoint)
    yield s
    s.close()
    ctx.term()


def request(sock, op, frames=(), request_id=42, flags=0):
    sock.send_multipart([MAGIC + struct.pack("<BBHQ", VERSION, op, flags, request_id), *frames])
    reply = sock.recv_multipart()
    magic, version, rop, status, rid, model_version = struct.unpack("<4sBBHQQ", reply[0])
    assert magic == MAGIC and version == VERSION and len(reply[0]) == 24
    return rop, status, rid, model_version, reply[1:]


def test_info_and_score(sock, client):
    op, status, rid, mv, frames = request(sock, 3, request_id=7)
    assert (op, status, rid) == (3, 0, 7) and len(frames) == 1
    info = json.loads(frames[0])
    assert f"{mv:016x}" == info["model_version"]
    n = info["n_features"]
    x = np.full((2, n), np.nan)
    x[1] = 0.0  # numeric 0, level index 0
    op, status, rid, _, frames = request(sock, 1, [struct.pack("<II", 2, n), x.astype("<f8").tobytes()], 8)
    assert (op, status, rid) == (1, 0, 8) and len(frames) == 4
    assert struct.unpack("<II", frames[0]) == (2, 0)
    risk = np.frombuffer(frames[1], "<f8")
    assert len(frames[2]) == 16 and len(frames[3]) == 2
    assert np.array_equal(risk, client.score(x))


def test_error_replies(sock, client):
    n = client.n_features
    # Wrong column count: BAD_COLUMNS with the message.
    op, status, rid, _, frames = request(sock, 1, [struct.pack("<II", 1, n - 1), np.zeros(n - 1).tobytes()], 9)
    assert (op, status, rid) == (1, 6, 9) and len(frames) == 2
    assert struct.unpack("<ii", frames[0]) == (-1, -1) and frames[1]
    # Payload size mismatch: BAD_PAYLOAD_SIZE.
    _, status, _, _, _ = request(sock, 1, [struct.pack("<II", 2, n), np.zeros(n).tobytes()])
    assert status == 5
    # Unknown op: BAD_OP.
    _, status, _, _, _ = request(sock, 99)
    assert status == 3


def test_bad_magic(sock):
    sock.send_multipart([b"XXXX" + struct.pack("<BBHQ", VERSION, 3, 0, 5)])
    reply = sock.recv_multipart()
    _, _, _, status, _, _ = struct.unpack("<4sBBHQQ", reply[0])
    assert status == 1
