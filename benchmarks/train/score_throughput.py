#!/usr/bin/env python3
"""Python side of the scoring-throughput benchmark: one thread, 100,000 rows.

Fits (untimed) the same pieces as python_pipeline.py - scikit-learn IsolationForest(100, 256)
on the imputed one-hot features, the histogram detector, and an XGBoost booster of the given
depth / min_child_weight / eta / rounds (the ones `readmit train` chose, passed by
score_throughput.sh) with Platt calibration - then times, median of --repeats:
  isolation_forest   IsolationForest.score_samples on the already expanded matrix (the usual
                     scikit-learn figure), and with the one-hot expansion from schema rows;
  predict_proba      XGBoost predict (margin) + Platt on the already built booster input;
  risk_model         the whole served path from schema-order rows, as ReadmitModel.score:
                     expansion, forest, detector, booster columns, predict, Platt, atypicality, tier.
Rows are the test patients' encounters repeated to --rows (as `readmit benchmark-scoring`).
Set OMP_NUM_THREADS=1 before starting Python (score_throughput.sh does).
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xgboost as xgb  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402

import python_pipeline as pp  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description="Python scoring throughput (one thread)")
    ap.add_argument("--data", default=pp.default_data())
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--max-depth", type=int, default=6)
    ap.add_argument("--min-child-weight", type=int, default=10)
    ap.add_argument("--eta", type=float, default=0.03)
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    df = pd.read_csv(args.data, keep_default_na=False, na_values=["?"],
                     dtype={c: str for c in pp.VOCABULARY + ["age", "medical_specialty", "diag_1", "diag_2", "diag_3", "readmitted"]})
    cohort = np.nonzero(~df["discharge_disposition_id"].isin(pp.EXCLUDED).to_numpy())[0]
    patients = df["patient_nbr"].to_numpy(dtype=np.int64)[cohort]
    y = (df["readmitted"].to_numpy()[cohort] == "<30").astype(float)
    with np.errstate(over="ignore"):
        is_test = pp.splitmix64(patients.view(np.uint64)) % np.uint64(5) == 0
        role = pp.splitmix64(pp.splitmix64(patients.view(np.uint64))) % np.uint64(10)
    train_idx, test_idx = np.nonzero(~is_test)[0], np.nonzero(is_test)[0]
    schema = pp.Schema(df, cohort[train_idx])
    x = schema.encode(df, pp.history_features(df))[cohort]
    layout = pp.Layout(schema, x[train_idx], y[train_idx])
    imputed = layout.imputed_onehot(x)
    forest = IsolationForest(n_estimators=100, max_samples=256, random_state=args.seed, n_jobs=1).fit(imputed[train_idx])
    fs = -forest.score_samples(imputed)
    hbos = pp.HBOS(schema, x[train_idx])
    hs = hbos.score(x)
    reference = np.sort(fs[train_idx])[::max(1, len(train_idx) // 2000)]
    bi = np.column_stack([layout.booster_columns(x), fs, hs])
    fit = train_idx[role[train_idx] != 1]
    calib = train_idx[role[train_idx] == 1]
    params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": args.max_depth, "eta": args.eta,
              "min_child_weight": args.min_child_weight, "subsample": 0.8, "colsample_bytree": 0.8, "max_bin": 256,
              "base_score": float(y[train_idx].mean()), "seed": args.seed, "nthread": 1}
    booster = xgb.train(params, xgb.DMatrix(bi[fit], label=y[fit], missing=np.nan, nthread=1), num_boost_round=args.rounds)
    booster.set_param({"nthread": 1})
    ab = pp.platt(booster.predict(xgb.DMatrix(bi[calib], missing=np.nan, nthread=1), output_margin=True), y[calib])
    tiers = np.array([0.3, 0.5])  # placeholder thresholds: a searchsorted either way

    rows = test_idx[np.arange(args.rows) % len(test_idx)]
    xs = np.ascontiguousarray(x[rows])
    xs_imputed = layout.imputed_onehot(xs)
    bs = np.ascontiguousarray(bi[rows])

    def timed(fn):
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    def full():
        f = -forest.score_samples(layout.imputed_onehot(xs))
        inp = np.column_stack([layout.booster_columns(xs), f, hbos.score(xs)])
        risk = pp.platt_apply(ab, booster.predict(xgb.DMatrix(inp, missing=np.nan, nthread=1), output_margin=True))
        atyp = np.searchsorted(reference, f, side="left") / len(reference)
        return risk, atyp, np.searchsorted(tiers, risk, side="right")

    t_if = timed(lambda: forest.score_samples(xs_imputed))
    t_if_exp = timed(lambda: forest.score_samples(layout.imputed_onehot(xs)))
    t_pp = timed(lambda: pp.platt_apply(ab, booster.predict(xgb.DMatrix(bs, missing=np.nan, nthread=1), output_margin=True)))
    t_full = timed(full)
    # XGBoost's own fastest path for margins on a dense array (no DMatrix), one thread: the
    # reference for readmit's booster walk alone (issue 15).
    t_inplace = timed(lambda: booster.inplace_predict(bs, predict_type="margin", missing=np.nan))
    n = args.rows
    print(json.dumps({
        "rows": n, "repeats": args.repeats, "threads": 1, "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "booster": {"max_depth": args.max_depth, "min_child_weight": args.min_child_weight, "eta": args.eta, "rounds": args.rounds},
        "isolation_forest_score_samples_rows_per_second": n / t_if,
        "isolation_forest_with_expansion_rows_per_second": n / t_if_exp,
        "xgboost_platt_predict_proba_rows_per_second": n / t_pp,
        "risk_model_rows_per_second": n / t_full,
        "xgboost_inplace_predict_margin_rows_per_second": n / t_inplace,
        "xgboost_inplace_predict_ns_per_row_per_tree": t_inplace / n / args.rounds * 1e9,
        "versions": {"xgboost": xgb.__version__, "scikit-learn": __import__("sklearn").__version__},
    }, indent=1))


if __name__ == "__main__":
    main()
