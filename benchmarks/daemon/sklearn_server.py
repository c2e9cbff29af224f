"""Reference server: pyzmq REP hosting scikit-learn's IsolationForest and, given one, an XGBoost
booster, speaking the SCORE subset of docs/PROTOCOL.md (same frames in and out), so the same C
load client drives it.

Usage: python3 sklearn_server.py ENDPOINT N_COLS [BOOSTER_UBJ]

With BOOSTER_UBJ (the model's own booster, as `readmit benchmark-scoring --export-booster`
writes it; bench.py passes it), each row's risk is that booster's margin of the row's features
and two anomaly scores (the forest's, and 0 for the detector), through a logistic: the same
trees readmitd walks, on the same number of columns, with XGBoost's own threads (all cores, as
readmitd's workers). The features go in as sent, not through readmit's layout (categorical
levels are not ranked), which changes the path a row takes, not the work per tree. Without
it, the risk is a logistic of the forest's score (the reference before the booster was added).
"""
import os
import struct
import sys

import numpy as np
import zmq
from sklearn.ensemble import IsolationForest


def main():
    endpoint, cols = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(0)
    forest = IsolationForest(n_estimators=100, max_samples=256, random_state=0).fit(rng.normal(size=(10_000, cols)))
    booster = None
    if len(sys.argv) > 3:
        import xgboost as xgb
        with open(sys.argv[3], "rb") as f:
            booster = xgb.Booster(model_file=bytearray(f.read()))
        booster.set_param({"nthread": os.cpu_count() or 1})
        if booster.num_features() != cols + 2:
            sys.exit(f"sklearn_server: the booster reads {booster.num_features()} columns, not the {cols} features and two anomaly scores")
    ctx = zmq.Context()
    rep = ctx.socket(zmq.REP)
    rep.bind(endpoint)
    while True:
        frames = rep.recv_multipart(copy=True)
        head = frames[0]
        request_id = head[8:16]
        rows, ncols = struct.unpack("<II", frames[1])
        raw = np.frombuffer(frames[2], dtype="<f8").reshape(rows, ncols)
        atypicality = -forest.score_samples(np.nan_to_num(raw, nan=0.0))
        if booster is not None:  # NaN kept: XGBoost takes it as missing
            margin = booster.inplace_predict(np.column_stack([raw, atypicality, np.zeros(rows)]), predict_type="margin")
            risk = 1.0 / (1.0 + np.exp(-np.asarray(margin, dtype=np.float64)))
        else:
            risk = 1.0 / (1.0 + np.exp(-atypicality))
        tier = np.where(risk > 0.6, 2, np.where(risk > 0.55, 1, 0)).astype(np.uint8)
        header = b"RDMT" + bytes([2, 1]) + struct.pack("<H", 0) + request_id + struct.pack("<Q", 1)
        rep.send_multipart([header, struct.pack("<II", rows, 0), risk.astype("<f8").tobytes(),
                            atypicality.astype("<f8").tobytes(), tier.tobytes()])


if __name__ == "__main__":
    main()
