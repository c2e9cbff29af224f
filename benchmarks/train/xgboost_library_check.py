#!/usr/bin/env python3
"""Diagnostic: the same booster training through two XGBoost builds, to attribute the booster stages.

Trains the booster-search configuration (max_depth 6, min_child_weight 10, eta 0.03, hist,
subsample 0.8, colsample 0.8, nthread 2) for --rounds rounds with a validation evaluation each
round, on the booster input python_pipeline.py builds, once through the pip xgboost package and
once through Debian's libxgboost.so.0 (the library readmit links) via its C API with ctypes -
the same calls XGBoostBooster.swift makes. Prints seconds per 100 rounds for each.

  python3 benchmarks/train/xgboost_library_check.py [--rounds 200]
"""
import argparse
import ctypes
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xgboost as xgb  # noqa: E402

import python_pipeline as pp  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=pp.default_data())
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lib", default="/lib/x86_64-linux-gnu/libxgboost.so.0")
    args = ap.parse_args()
    df = pd.read_csv(args.data, keep_default_na=False, na_values=["?"],
                     dtype={c: str for c in pp.VOCABULARY + ["age", "medical_specialty", "diag_1", "diag_2", "diag_3", "readmitted"]})
    cohort = np.nonzero(~df["discharge_disposition_id"].isin(pp.EXCLUDED).to_numpy())[0]
    patients = df["patient_nbr"].to_numpy(dtype=np.int64)[cohort]
    y = (df["readmitted"].to_numpy()[cohort] == "<30").astype(np.float32)
    with np.errstate(over="ignore"):
        is_test = pp.splitmix64(patients.view(np.uint64)) % np.uint64(5) == 0
        role = pp.splitmix64(pp.splitmix64(patients.view(np.uint64))) % np.uint64(10)
    train_idx = np.nonzero(~is_test)[0]
    schema = pp.Schema(df, cohort[train_idx])
    x = schema.encode(df, pp.history_features(df))[cohort]
    layout = pp.Layout(schema, x[train_idx], y[train_idx])
    hbos = pp.HBOS(schema, x[train_idx])
    bi = np.column_stack([layout.booster_columns(x), np.zeros(len(x)), hbos.score(x)])  # forest column constant: same shape, cheaper setup
    fit, valid = train_idx[role[train_idx] >= 2], train_idx[role[train_idx] == 0]
    params = {"booster": "gbtree", "objective": "binary:logistic", "eval_metric": "logloss", "tree_method": "hist",
              "max_depth": "6", "eta": "0.03", "min_child_weight": "10", "subsample": "0.8", "colsample_bytree": "0.8",
              "max_bin": "256", "base_score": str(float(y[train_idx].mean())), "seed": "42", "nthread": str(args.threads)}
    out = {"rounds": args.rounds, "threads": args.threads}

    d_fit = xgb.DMatrix(bi[fit], label=y[fit], missing=np.nan, nthread=args.threads)
    d_valid = xgb.DMatrix(bi[valid], label=y[valid], missing=np.nan, nthread=args.threads)
    t = time.perf_counter()
    xgb.train(params, d_fit, num_boost_round=args.rounds, evals=[(d_valid, "valid")], verbose_eval=False)
    out[f"pip xgboost {xgb.__version__} s/100 rounds"] = (time.perf_counter() - t) * 100 / args.rounds

    lib = ctypes.CDLL(args.lib)
    major, minor, patch = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    lib.XGBoostVersion(ctypes.byref(major), ctypes.byref(minor), ctypes.byref(patch))

    def check(rc):
        if rc != 0:
            lib.XGBGetLastError.restype = ctypes.c_char_p
            raise RuntimeError(lib.XGBGetLastError().decode())

    def dmatrix(rows):
        a = np.ascontiguousarray(bi[rows], dtype=np.float32)  # XGDMatrixCreateFromMat takes float32
        h = ctypes.c_void_p()
        check(lib.XGDMatrixCreateFromMat_omp(a.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), ctypes.c_uint64(a.shape[0]),
                                             ctypes.c_uint64(a.shape[1]), ctypes.c_float(np.nan), ctypes.byref(h), ctypes.c_int(args.threads)))
        lab = np.ascontiguousarray(y[rows], dtype=np.float32)
        check(lib.XGDMatrixSetFloatInfo(h, b"label", lab.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), ctypes.c_uint64(len(lab))))
        return h

    hf, hv = dmatrix(fit), dmatrix(valid)
    mats = (ctypes.c_void_p * 2)(hf, hv)
    bst = ctypes.c_void_p()
    check(lib.XGBoosterCreate(mats, ctypes.c_uint64(2), ctypes.byref(bst)))
    for k, v in params.items():
        check(lib.XGBoosterSetParam(bst, k.encode(), v.encode()))
    evs = (ctypes.c_void_p * 1)(hv)
    names = (ctypes.c_char_p * 1)(b"valid")
    res = ctypes.c_char_p()
    t = time.perf_counter()
    for r in range(args.rounds):
        check(lib.XGBoosterUpdateOneIter(bst, ctypes.c_int(r), hf))
        check(lib.XGBoosterEvalOneIter(bst, ctypes.c_int(r), evs, names, ctypes.c_uint64(1), ctypes.byref(res)))
    out[f"libxgboost {major.value}.{minor.value}.{patch.value} C API s/100 rounds"] = (time.perf_counter() - t) * 100 / args.rounds
    out["last eval (C API)"] = res.value.decode()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
