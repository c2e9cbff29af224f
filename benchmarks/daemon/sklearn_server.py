"""Reference server: pyzmq REP hosting scikit-learn's IsolationForest, speaking the SCORE
subset of docs/PROTOCOL.md (same frames in and out), so the same C load client drives it.

Usage: python3 sklearn_server.py ENDPOINT N_COLS
"""
import struct
import sys

import numpy as np
import zmq
from sklearn.ensemble import IsolationForest


def main():
    endpoint, cols = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(0)
    forest = IsolationForest(n_estimators=100, max_samples=256, random_state=0).fit(rng.normal(size=(10_000, cols)))
    ctx = zmq.Context()
    rep = ctx.socket(zmq.REP)
    rep.bind(endpoint)
    while True:
        frames = rep.recv_multipart(copy=True)
        head = frames[0]
        request_id = head[8:16]
        rows, ncols = struct.unpack("<II", frames[1])
        x = np.frombuffer(frames[2], dtype="<f8").reshape(rows, ncols)
        x = np.nan_to_num(x, nan=0.0)
        atypicality = -forest.score_samples(x)
        risk = 1.0 / (1.0 + np.exp(-atypicality))
        tier = np.where(risk > 0.6, 2, np.where(risk > 0.55, 1, 0)).astype(np.uint8)
        header = b"RDMT" + bytes([2, 1]) + struct.pack("<H", 0) + request_id + struct.pack("<Q", 1)
        rep.send_multipart([header, struct.pack("<II", rows, 0), risk.astype("<f8").tobytes(),
                            atypicality.astype("<f8").tobytes(), tier.tobytes()])


if __name__ == "__main__":
    main()
