#!/usr/bin/env python3
"""The `readmit train` pipeline written the usual Python way, as the benchmark's reference.

Same data, cohort, split, features, models, parameters and evaluation as
Sources/ReadmitTraining/ (TrainingPipeline and its stages) (pandas, numpy, scikit-learn and the
xgboost package), timed per stage under the same stage names. Prints one JSON object:
{"stage_seconds": {...}, "risk_model": {...}, ...}. Used by benchmarks/train/run.sh.

Equivalences, stage by stage (Swift -> Python):
  read        zlib + CSV parser + typed columns + cohort -> pandas.read_csv (gzip) + cohort
  features    schema (training vocabularies), encoding, ICD-9 chapters, history, layout
              -> pandas Categorical codes, vectorised chapters, groupby history, level ranks
  anomaly     own Isolation Forest (100 trees, 256 samples) on imputed one-hot features + HBOS
              -> sklearn IsolationForest(100, 256) on sklearn OneHotEncoder output + numpy HBOS
  booster     XGBoost C API (libxgboost 1.7) grid + early stopping -> xgboost package, same params
  refit       refit + Platt -> same; Platt via sklearn LogisticRegression on the margin
  assembly    model parameters + id hash + model object -> booster raw bytes + pickle + sha256
  references  test scoring, Newton L2 logistic regression, LACE, per-model Platt and metrics
              -> same scoring, sklearn LogisticRegression (lbfgs) on standardised features
  evaluation  patient bootstrap (1000), first-encounter metrics, SHAP (4000 rows),
              missingness, distributions -> same with numpy/sklearn and pred_contribs
  model file  writes the model -> writes the pickle
  report      SVG charts + self-contained HTML -> same charts written as SVG text + HTML
              (no plotting library: matplotlib is not installed here, and the Swift side
              writes SVG by hand too)
"""
import argparse
import base64
import hashlib
import io
import json
import os
import pickle
import sys
import time

T_START = time.perf_counter()
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xgboost as xgb  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - T_START

NUMERIC = ["time_in_hospital", "num_lab_procedures", "num_procedures", "num_medications",
           "number_outpatient", "number_emergency", "number_inpatient", "number_diagnoses"]
MEDICATIONS = ["metformin", "repaglinide", "nateglinide", "chlorpropamide", "glimepiride", "acetohexamide",
               "glipizide", "glyburide", "tolbutamide", "pioglitazone", "rosiglitazone", "acarbose", "miglitol",
               "troglitazone", "tolazamide", "examide", "citoglipton", "insulin", "glyburide-metformin",
               "glipizide-metformin", "glimepiride-pioglitazone", "metformin-rosiglitazone", "metformin-pioglitazone"]
VOCABULARY = ["race", "gender", "admission_type_id", "discharge_disposition_id", "admission_source_id",
              "payer_code", "max_glu_serum", "A1Cresult", "change", "diabetesMed"] + MEDICATIONS
AGE_LEVELS = [f"[{i * 10}-{i * 10 + 10})" for i in range(10)]
CHAPTERS = ["circulatory", "respiratory", "digestive", "diabetes", "injury",
            "musculoskeletal", "genitourinary", "neoplasms", "other"]
HISTORY = ["prior_encounters", "prior_days_in_hospital", "prev_number_inpatient",
           "prev_time_in_hospital", "prev_discharged_home", "prior_readmitted_within_30",
           "prior_readmitted_after_30", "prev_readmitted_after_30"]
EXCLUDED = {"11", "13", "14", "19", "20"}
MIN_SPECIALTY_ROWS = 100   # medical_specialty: min_count 100, other: Other
MIN_CATEGORY_ROWS = 100    # diag_N_category: grouping category, min_count 100
HBOS_BINS = 20


def default_data():
    """The Diabetes 130 CSV, which is not in the repository: a copy in data/diabetes130/, else
    the shared one beside the checkout (../shared/data/diabetes130/)."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    paths = [os.path.join(root, "data", "diabetes130", "diabetic_data.csv.gz"),
             os.path.join(root, "..", "shared", "data", "diabetes130", "diabetic_data.csv.gz")]
    return next((p for p in paths if os.path.exists(p)), paths[0])


def splitmix64(x):
    """The SplitMix64 finalizer on a uint64 array (wrapping arithmetic)."""
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def sorted_levels(values):
    """Integer codes in numeric order, other text lexicographically (as the Swift schema builder)."""
    ints = sorted((v for v in values if v.lstrip("-").isdigit()), key=int)
    return ints + sorted(v for v in values if not v.lstrip("-").isdigit())


def icd9_chapter(codes):
    """ICD-9 chapter index per code (NaN when missing), docs/FEATURES.md."""
    s = codes.astype("string")
    x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    c = np.floor(x)
    with np.errstate(invalid="ignore"):
        out = np.select([c == 250, ((c >= 390) & (c <= 459)) | (c == 785), ((c >= 460) & (c <= 519)) | (c == 786),
                         ((c >= 520) & (c <= 579)) | (c == 787), (c >= 800) & (c <= 999), (c >= 710) & (c <= 739),
                         ((c >= 580) & (c <= 629)) | (c == 788), (c >= 140) & (c <= 239)],
                        [3, 0, 1, 2, 4, 5, 6, 7], default=8).astype(float)
    vcode = s.str.startswith("V").fillna(False).to_numpy() | s.str.startswith("E").fillna(False).to_numpy()
    out[vcode] = 8
    out[s.isna().to_numpy()] = np.nan
    return out


def icd9_category(codes):
    """The three-character category as the Swift grouping writes it (`icd9:428`), None when missing."""
    s = codes.astype("string")
    return ("icd9:" + s.str.split(".").str[0].str[:3].str.upper()).where(s.notna(), None)


def history_features(df):
    """History features from each patient's earlier encounters (lower encounter_id)."""
    h = df[["patient_nbr", "encounter_id", "time_in_hospital", "number_inpatient", "discharge_disposition_id", "readmitted"]].copy()
    h["_row"] = np.arange(len(h))
    h = h.sort_values(["patient_nbr", "encounter_id"], kind="mergesort")
    g = h.groupby("patient_nbr", sort=False)
    out = pd.DataFrame(index=h.index)
    out["prior_encounters"] = g.cumcount().astype(float)
    los = h["time_in_hospital"].fillna(0).astype(float)
    out["prior_days_in_hospital"] = los.groupby(h["patient_nbr"], sort=False).cumsum() - los
    out["prev_number_inpatient"] = g["number_inpatient"].shift(1).astype(float)
    out["prev_time_in_hospital"] = g["time_in_hospital"].shift(1).astype(float)
    prev_disp = g["discharge_disposition_id"].shift(1)
    out["prev_discharged_home"] = np.where(prev_disp.isna(), np.nan, (prev_disp == "1").astype(float))
    pos = (h["readmitted"] == "<30").astype(float)
    out["prior_readmitted_within_30"] = pos.groupby(h["patient_nbr"], sort=False).cumsum() - pos
    after = (h["readmitted"] == ">30").astype(float)
    out["prior_readmitted_after_30"] = after.groupby(h["patient_nbr"], sort=False).cumsum() - after
    prev_label = g["readmitted"].shift(1)
    out["prev_readmitted_after_30"] = np.where(prev_label.isna(), np.nan, (prev_label == ">30").astype(float))
    out.index = h["_row"].to_numpy()
    return out.sort_index()


class Schema:
    """Ordered features: (name, kind, levels, source, transform)."""

    def __init__(self, df, train_rows):
        tr = df.iloc[train_rows]
        self.features = [(n, "numeric", [], n, "number") for n in NUMERIC]
        self.features.append(("age", "categorical", AGE_LEVELS, "age", "level"))
        for n in VOCABULARY:
            levels = sorted_levels(tr[n].dropna().astype(str).unique().tolist())
            self.features.append((n, "categorical", levels, n, "level"))
        counts = tr["medical_specialty"].dropna().value_counts()
        kept = [k for k, n in counts.items() if n >= MIN_SPECIALTY_ROWS and k != "Other"]
        self.features.append(("medical_specialty", "categorical", sorted_levels(kept) + ["Other"], "medical_specialty", "level_or_other"))
        for d in ["diag_1", "diag_2", "diag_3"]:
            self.features.append((f"{d}_chapter", "categorical", CHAPTERS, d, "icd9_chapter"))
        for d in ["diag_1", "diag_2", "diag_3"]:
            counts = icd9_category(tr[d]).dropna().value_counts()
            kept = [k for k, n in counts.items() if n >= MIN_CATEGORY_ROWS]
            self.features.append((f"{d}_category", "categorical", sorted_levels(kept) + ["other"], d, "icd9_category"))
        self.features += [("medications_used", "numeric", [], "medications_used", "derived"),
                          ("medications_changed", "numeric", [], "medications_changed", "derived"),
                          ("visits_in_prior_year", "numeric", [], "visits_in_prior_year", "derived")]
        self.features += [(n, "numeric", [], n, "history") for n in HISTORY]
        self.names = [f[0] for f in self.features]

    def encode(self, df, history):
        """Schema-order float matrix: values, level indices, NaN for missing."""
        cols = []
        for name, kind, levels, source, transform in self.features:
            if transform == "number":
                cols.append(df[source].to_numpy(dtype=float))
            elif transform in ("level", "level_or_other"):
                raw = df[source].astype("string")
                codes = pd.Categorical(raw, categories=levels).codes.astype(float)
                codes[codes < 0] = np.nan
                if transform == "level_or_other":
                    codes[np.isnan(codes) & raw.notna().to_numpy()] = len(levels) - 1
                cols.append(codes)
            elif transform == "icd9_chapter":
                cols.append(icd9_chapter(df[source]))
            elif transform == "icd9_category":
                category = icd9_category(df[source])
                codes = pd.Categorical(category, categories=levels).codes.astype(float)
                codes[(codes < 0) & category.notna().to_numpy()] = len(levels) - 1
                codes[category.isna().to_numpy()] = np.nan
                cols.append(codes)
            elif transform == "derived":
                meds = df[MEDICATIONS]
                if name == "medications_used":
                    cols.append(meds.isin(["Steady", "Up", "Down"]).sum(axis=1).to_numpy(dtype=float))
                elif name == "medications_changed":
                    cols.append(meds.isin(["Up", "Down"]).sum(axis=1).to_numpy(dtype=float))
                else:
                    cols.append((df["number_outpatient"] + df["number_emergency"] + df["number_inpatient"]).to_numpy(dtype=float))
            else:
                cols.append(history[source].to_numpy(dtype=float))
        return np.column_stack(cols)


class Layout:
    """Training medians (numeric, age), level ranks by smoothed outcome rate, one-hot encoder."""

    def __init__(self, schema, x_train, y_train):
        prevalence = y_train.mean()
        self.rank, self.median, self.onehot_cols = [], [], []
        for j, (name, kind, levels, _, _) in enumerate(schema.features):
            v = x_train[:, j]
            present = ~np.isnan(v)
            if kind == "categorical":
                k = len(levels)
                cnt = np.bincount(v[present].astype(int), minlength=k)
                pos = np.bincount(v[present].astype(int), weights=y_train[present], minlength=k)
                rate = (pos + 20 * prevalence) / (cnt + 20)
                order = np.lexsort((np.arange(k), rate))
                rank = np.empty(k)
                rank[order] = np.arange(k)
                self.rank.append(rank)
            else:
                self.rank.append(None)
            onehot = kind == "categorical" and name != "age"
            self.median.append(np.nan if onehot else (np.median(v[present]) if present.any() else 0.0))
            if onehot:
                self.onehot_cols.append(j)
        self.plain_cols = [j for j in range(len(schema.features)) if j not in self.onehot_cols]
        self.encoder = OneHotEncoder(categories=[list(range(len(schema.features[j][2]))) for j in self.onehot_cols],
                                     handle_unknown="ignore", sparse_output=False, dtype=np.float64)
        self.encoder.fit(np.zeros((1, len(self.onehot_cols)), dtype=int))

    def imputed_onehot(self, x):
        plain = x[:, self.plain_cols].copy()
        med = np.array([self.median[j] for j in self.plain_cols])
        nan = np.isnan(plain)
        plain[nan] = np.take(med, np.nonzero(nan)[1])
        codes = np.nan_to_num(x[:, self.onehot_cols], nan=-1).astype(int)
        return np.hstack([plain, self.encoder.transform(codes)])

    def booster_columns(self, x):
        out = x.copy()
        for j, rank in enumerate(self.rank):
            if rank is not None:
                v = x[:, j]
                ok = ~np.isnan(v)
                out[ok, j] = rank[v[ok].astype(int)]
        return out


class HBOS:
    """Per-feature histogram detector (as HistogramDetector.swift): sum of -log(height / max)."""

    def __init__(self, schema, x_train):
        self.h = []
        for j, (_, kind, levels, _, _) in enumerate(schema.features):
            v = x_train[:, j]
            present = ~np.isnan(v)
            missing = float((~present).sum())
            low = width = 0.0
            if kind == "categorical":
                counts = np.bincount(v[present].astype(int), minlength=len(levels)).astype(float)
            else:
                p = v[present]
                mn, mx = (p.min(), p.max()) if p.size else (0.0, 0.0)
                low = mn
                width = (mx - mn) / HBOS_BINS if mx > mn else 0.0
                nb = HBOS_BINS if width > 0 else 1
                b = np.minimum(((p - low) / width).astype(int), HBOS_BINS - 1) if width > 0 else np.zeros(p.size, int)
                counts = np.bincount(b, minlength=nb).astype(float)
            top = max(counts.max() if counts.size else 0.0, missing, 0.5)
            cost = -np.log(np.maximum(counts, 0.5) / top)
            self.h.append((kind, low, width, cost, -np.log(max(missing, 0.5) / top), -np.log(0.5 / top)))

    def score(self, x):
        total = np.zeros(x.shape[0])
        for j, (kind, low, width, cost, missing_cost, outside) in enumerate(self.h):
            v = x[:, j]
            nan = np.isnan(v)
            c = np.full(v.shape, outside)
            if width == 0 and cost.size == 1:
                c[v == low] = cost[0]
            elif width == 0:
                i = np.nan_to_num(v, nan=-1).astype(int)
                ok = (i >= 0) & (i < cost.size)
                c[ok] = cost[i[ok]]
            else:
                z = (v - low) / width
                ok = ~nan & (z >= 0) & (z <= cost.size)
                c[ok] = cost[np.minimum(z[ok].astype(int), cost.size - 1)]
            c[nan] = missing_cost
            total += c
        return total


def platt(margin_calib, y_calib):
    lr = LogisticRegression(C=1e6, max_iter=1000)
    lr.fit(margin_calib.reshape(-1, 1), y_calib)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def platt_apply(ab, m):
    return 1.0 / (1.0 + np.exp(-(ab[0] * m + ab[1])))


def calibration_bins(p, y, bins=10):
    idx = np.minimum((p * bins).astype(int), bins - 1)
    cnt = np.bincount(idx, minlength=bins)
    mp = np.bincount(idx, weights=p, minlength=bins)
    obs = np.bincount(idx, weights=y, minlength=bins)
    ok = cnt > 0
    return cnt[ok], mp[ok] / cnt[ok], obs[ok] / cnt[ok]


def metrics(scores, y, probabilities=True):
    out = {"roc_auc": float(roc_auc_score(y, scores)), "pr_auc": float(average_precision_score(y, scores))}
    if probabilities:
        out["brier"] = float(np.mean((scores - y) ** 2))
        cnt, mp, obs = calibration_bins(scores, y)
        out["ece"] = float(np.sum(cnt / len(y) * np.abs(mp - obs)))
    top = max(1, int(round(len(y) * 0.1)))
    order = np.argsort(-scores, kind="stable")[:top]
    hits = y[order].sum()
    out["precision_at_10pct"] = float(hits / top)
    out["recall_at_10pct"] = float(hits / max(y.sum(), 1))
    out["n"], out["positives"] = int(len(y)), int(y.sum())
    return out


def bootstrap_auc(scores, y, patients, replicates, seed, level=0.95):
    """Patient-level bootstrap of the ROC AUC."""
    order = np.argsort(patients, kind="stable")
    _, starts, counts = np.unique(patients[order], return_index=True, return_counts=True)
    rng = np.random.default_rng(seed)
    aucs = []
    for _ in range(replicates):
        g = rng.integers(0, len(starts), len(starts))
        idx = order[np.repeat(starts[g], counts[g]) + (np.arange(counts[g].sum()) - np.repeat(np.cumsum(counts[g]) - counts[g], counts[g]))]
        yy = y[idx]
        if 0 < yy.sum() < len(yy):
            aucs.append(roc_auc_score(yy, scores[idx]))
    aucs = np.sort(aucs)
    return float(aucs[int((len(aucs) - 1) * (1 - level) / 2)]), float(aucs[int((len(aucs) - 1) * (1 + level) / 2)])


def svg_lines(title, series, xlabel, ylabel, w=840, h=420):
    """A minimal line chart as SVG text: series is [(name, xs, ys)]."""
    pad = 50
    xs_all = np.concatenate([np.asarray(s[1], float) for s in series])
    ys_all = np.concatenate([np.asarray(s[2], float) for s in series])
    x0, x1 = float(np.nanmin(xs_all)), float(np.nanmax(xs_all)) or 1.0
    y0, y1 = float(np.nanmin(ys_all)), float(np.nanmax(ys_all)) or 1.0
    sx = lambda v: pad + (v - x0) / ((x1 - x0) or 1) * (w - 2 * pad)  # noqa: E731
    sy = lambda v: h - pad - (v - y0) / ((y1 - y0) or 1) * (h - 2 * pad)  # noqa: E731
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}"><text x="{w / 2}" y="20" text-anchor="middle">{title}</text>',
             f'<text x="{w / 2}" y="{h - 10}" text-anchor="middle">{xlabel}</text><text x="12" y="{h / 2}">{ylabel}</text>']
    for k, (name, xs, ys) in enumerate(series):
        xs, ys = np.asarray(xs, float), np.asarray(ys, float)
        if len(xs) > 800:  # thin long curves
            keep = np.linspace(0, len(xs) - 1, 800).astype(int)
            xs, ys = xs[keep], ys[keep]
        pts = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(xs, ys))
        parts.append(f'<polyline fill="none" stroke="{colors[k % 6]}" points="{pts}"/><text x="{w - pad}" y="{40 + 14 * k}" text-anchor="end" fill="{colors[k % 6]}">{name}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_bars(title, labels, a, b, w=840, h=420):
    pad, n = 50, len(labels)
    top = max(float(np.max(a)), float(np.max(b)), 1e-9)
    bw = (w - 2 * pad) / max(n, 1) / 2
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}"><text x="{w / 2}" y="20" text-anchor="middle">{title}</text>']
    for i in range(n):
        for k, (v, col) in enumerate([(a[i], "#1f77b4"), (b[i], "#d62728")]):
            bh = v / top * (h - 2 * pad)
            parts.append(f'<rect x="{pad + (2 * i + k) * bw:.1f}" y="{h - pad - bh:.1f}" width="{bw:.1f}" height="{bh:.1f}" fill="{col}"/>')
        parts.append(f'<text x="{pad + 2 * i * bw:.1f}" y="{h - pad + 14}" font-size="9">{labels[i]}</text>')
    parts.append("</svg>")
    return "".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=default_data())
    ap.add_argument("--out", default="output-python")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--grid", default="4:5,5:5,6:10,5:5:0.02:0.8:0.5",
                    help="max_depth:min_child_weight[:eta[:subsample[:colsample_bytree[:lambda]]]] settings, as readmit train "
                         "--booster-grid (run.sh passes the grid readmit train tried)")
    ap.add_argument("--eta", type=float, default=0.02, help="eta of grid settings that do not state one")
    ap.add_argument("--quick", action="store_true", help="one grid point, eta 0.1, 120 rounds (as readmit train --quick)")
    args = ap.parse_args()
    stages = {}
    t0 = time.perf_counter()
    mark = [t0]

    def stage(name):
        now = time.perf_counter()
        stages[name] = now - mark[0]
        mark[0] = now
        print(f"{name} done", file=sys.stderr)

    # read: bytes, hash, CSV, checks, cohort, split.
    with open(args.data, "rb") as f:
        raw = f.read()
    data_hash = hashlib.sha256(raw).hexdigest()
    df = pd.read_csv(io.BytesIO(raw), compression="gzip" if raw[:2] == b"\x1f\x8b" else None,
                     keep_default_na=False, na_values=["?"], dtype={c: str for c in VOCABULARY + ["age", "medical_specialty", "diag_1", "diag_2", "diag_3", "readmitted"]})
    bad = ~df["readmitted"].isin(["NO", ">30", "<30"])
    if bad.any():
        raise SystemExit(f"{args.data}: line {int(np.argmax(bad.to_numpy())) + 2}: unknown label value in readmitted")
    for c in NUMERIC + ["encounter_id", "patient_nbr"]:
        if not pd.api.types.is_numeric_dtype(df[c]):
            raise SystemExit(f"{args.data}: column {c} is not numeric")
    cohort = np.nonzero(~df["discharge_disposition_id"].isin(EXCLUDED).to_numpy())[0]
    patients_all = df["patient_nbr"].to_numpy(dtype=np.int64)
    patients = patients_all[cohort]
    y = (df["readmitted"].to_numpy()[cohort] == "<30").astype(float)
    with np.errstate(over="ignore"):
        is_test = splitmix64(patients.view(np.uint64)) % np.uint64(5) == 0
        role = splitmix64(splitmix64(patients.view(np.uint64))) % np.uint64(10)
    enc = df["encounter_id"].to_numpy()[cohort]
    first_enc = pd.Series(enc).groupby(patients).transform("min").to_numpy() == enc
    stage("read")

    train_idx, test_idx = np.nonzero(~is_test)[0], np.nonzero(is_test)[0]
    schema = Schema(df, cohort[train_idx])
    history = history_features(df)
    x = schema.encode(df, history)[cohort]
    fit_idx = train_idx[role[train_idx] >= 2]
    valid_idx = train_idx[role[train_idx] == 0]
    calib_idx = train_idx[role[train_idx] == 1]
    layout = Layout(schema, x[train_idx], y[train_idx])
    stage("features")

    imputed = layout.imputed_onehot(x)
    forest = IsolationForest(n_estimators=100, max_samples=256, random_state=args.seed, n_jobs=1).fit(imputed[train_idx])
    forest_scores = -forest.score_samples(imputed)
    hbos = HBOS(schema, x[train_idx])
    hbos_scores = hbos.score(x)
    tf = np.sort(forest_scores[train_idx])
    reference = tf[::max(1, len(tf) // 2000)]
    stage("anomaly detectors")

    booster_input = np.column_stack([layout.booster_columns(x), forest_scores, hbos_scores])
    prevalence = float(y[train_idx].mean())

    def params(setting, nthread):
        depth, min_child, eta, subsample, colsample, lam = setting
        return {"booster": "gbtree", "objective": "binary:logistic", "eval_metric": "logloss", "tree_method": "hist",
                "max_depth": depth, "eta": eta, "min_child_weight": min_child, "subsample": subsample, "colsample_bytree": colsample,
                "lambda": lam, "alpha": 0, "gamma": 0, "max_bin": 256, "base_score": prevalence, "seed": args.seed,
                "seed_per_iteration": False, "max_delta_step": 0, "scale_pos_weight": 1, "sampling_method": "uniform",
                "grow_policy": "depthwise", "verbosity": 1, "nthread": nthread}

    def setting(text):
        f = text.split(":")
        rest = [float(v) for v in f[2:]] + [args.eta, 0.8, 0.8, 1.0][len(f) - 2:]
        return (int(f[0]), int(f[1]), *rest)

    grid = [(4, 5, 0.1, 0.8, 0.8, 1.0)] if args.quick else [setting(g) for g in args.grid.split(",")]
    max_rounds, patience = (120, 20) if args.quick else (2000, 80)
    d_fit = xgb.DMatrix(booster_input[fit_idx], label=y[fit_idx], missing=np.nan, nthread=args.threads)
    d_valid = xgb.DMatrix(booster_input[valid_idx], label=y[valid_idx], missing=np.nan, nthread=args.threads)
    trials, best = [], None
    for g in grid:
        ev = {}
        b = xgb.train(params(g, args.threads), d_fit, num_boost_round=max_rounds, evals=[(d_valid, "valid")],
                      early_stopping_rounds=patience, evals_result=ev, verbose_eval=False)
        rounds = b.best_iteration + 1
        loss = ev["valid"]["logloss"][rounds - 1]
        auc = roc_auc_score(y[valid_idx], b.predict(d_valid, iteration_range=(0, rounds)))
        trials.append({"max_depth": g[0], "min_child_weight": g[1], "eta": g[2], "subsample": g[3], "colsample_bytree": g[4],
                       "lambda": g[5], "rounds": rounds, "validation_logloss": loss, "validation_auc": auc})
        if best is None or loss < best[2]:
            best = (g, rounds, loss)
    stage("booster search")

    refit_idx = np.sort(np.concatenate([fit_idx, valid_idx]))
    refit_rounds = int(round(best[1] * len(refit_idx) / len(fit_idx)))
    d_refit = xgb.DMatrix(booster_input[refit_idx], label=y[refit_idx], missing=np.nan, nthread=args.threads)
    d_calib = xgb.DMatrix(booster_input[calib_idx], label=y[calib_idx], missing=np.nan, nthread=args.threads)
    booster = xgb.train(params(best[0], args.threads), d_refit, num_boost_round=refit_rounds,
                        evals=[(d_calib, "calib")], verbose_eval=False)
    calibrator = platt(booster.predict(d_calib, output_margin=True), y[calib_idx])
    held = np.concatenate([valid_idx, calib_idx])
    held_risk = np.sort(platt_apply(calibrator, booster.predict(xgb.DMatrix(booster_input[held], missing=np.nan), output_margin=True)))
    q = lambda p: held_risk[min(len(held_risk) - 1, int(len(held_risk) * p))]  # noqa: E731
    tiers = [0.0, q(0.70), q(0.90)]
    stage("booster refit and calibration")

    model = {"schema": schema.features, "layout": {"rank": layout.rank, "median": layout.median, "onehot": layout.onehot_cols},
             "forest": forest, "reference": reference, "hbos": hbos.h, "booster": bytes(booster.save_raw("ubj")),
             "calibrator": calibrator, "tiers": tiers, "data_sha256": data_hash, "seed": args.seed,
             "summary": {"max_depth": best[0][0], "min_child_weight": best[0][1], "eta": best[0][2], "subsample": best[0][3],
                         "colsample_bytree": best[0][4], "lambda": best[0][5], "rounds": refit_rounds}}
    blob = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    model["model_id"] = hashlib.sha256(blob).hexdigest()[:16]
    served = xgb.Booster(model_file=bytearray(model["booster"]))
    served.set_param({"nthread": args.threads})
    stage("model assembly")

    # references: the served model on the test patients (as the daemon scores: schema rows in),
    # then logistic regression, LACE, forest and HBOS alone, each Platt-calibrated.
    xt = x[test_idx]
    yt = y[test_idx]
    fs = -forest.score_samples(layout.imputed_onehot(xt))
    bi = np.column_stack([layout.booster_columns(xt), fs, hbos.score(xt)])
    risk = platt_apply(calibrator, served.predict(xgb.DMatrix(bi, missing=np.nan), output_margin=True))
    atyp = np.searchsorted(reference, fs, side="left") / len(reference)
    tier = np.searchsorted(np.array(tiers[1:]), risk, side="right")
    evaluations = {"risk_model": metrics(risk, yt)}

    def calibrated(key, score):
        ab = platt(score[calib_idx], y[calib_idx])
        evaluations[key] = metrics(platt_apply(ab, score[test_idx]), yt)

    scaler = StandardScaler().fit(imputed[train_idx])
    std = scaler.transform(imputed)
    lr = LogisticRegression(C=1.0, max_iter=1000).fit(std[fit_idx], y[fit_idx])
    calibrated("logistic_regression", lr.decision_function(std))
    names = schema.names
    los = x[:, names.index("time_in_hospital")]
    lace_l = np.select([np.isnan(los), los < 1, los < 2, los < 3, los < 4, los < 7, los < 14], [0, 0, 1, 2, 3, 4, 5], 7)
    adm = schema.features[names.index("admission_type_id")][2]
    a_code = x[:, names.index("admission_type_id")]
    lace_a = np.where(~np.isnan(a_code) & (a_code == (adm.index("1") if "1" in adm else -1)), 3, 0)
    comorbid = [CHAPTERS.index(c) for c in ["circulatory", "respiratory", "neoplasms", "diabetes", "genitourinary"]]
    lace_c = sum(np.isin(x[:, names.index(f"diag_{k}_chapter")], comorbid).astype(float) for k in (1, 2, 3))
    ed = x[:, names.index("number_emergency")]
    lace = lace_l + lace_a + np.minimum(lace_c, 5) + np.where(np.isnan(ed), 0, np.minimum(ed, 4))
    calibrated("lace", lace)
    calibrated("isolation_forest", forest_scores)
    calibrated("histogram_detector", hbos_scores)
    stage("references")

    interval = bootstrap_auc(risk, yt, patients[test_idx], 50 if args.quick else args.bootstrap, args.seed)
    first = first_enc[test_idx]
    first_metrics = metrics(risk[first], yt[first])
    sample = np.arange(min(4000, len(test_idx)))
    contrib = served.predict(xgb.DMatrix(bi[sample], missing=np.nan), pred_contribs=True)[:, :len(names)]
    importance = sorted(zip(names, np.abs(contrib).mean(axis=0)), key=lambda t: -t[1])
    missingness = {c: float(df[c].iloc[cohort].isna().mean()) for c in NUMERIC + ["age", "medical_specialty", "diag_1", "diag_2", "diag_3"] + VOCABULARY}
    dist = {}
    ytr = y[train_idx] > 0
    for n in ["time_in_hospital", "number_inpatient", "number_emergency", "num_medications", "number_diagnoses", "age",
              "prior_encounters", "prev_number_inpatient", "discharge_disposition_id", "diag_1_chapter"]:
        v = x[train_idx, names.index(n)]
        vv = np.nan_to_num(v, nan=-1)
        levels, inv = np.unique(vv, return_inverse=True)
        dist[n] = {"bins": levels.tolist(), "positive": np.bincount(inv[ytr], minlength=len(levels)).tolist(),
                   "negative": np.bincount(inv[~ytr], minlength=len(levels)).tolist()}
    stage("evaluation")

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "model.pkl"), "wb") as f:
        pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
    stage("model file")

    plots = {}
    test_scores = {"risk_model": risk}
    curves_roc, curves_pr, curves_gain = [], [], []
    for k, s in test_scores.items():
        fpr, tpr, _ = roc_curve(yt, s)
        pr, rc, _ = precision_recall_curve(yt, s)
        curves_roc.append((k, fpr, tpr))
        curves_pr.append((k, rc, pr))
        order = np.argsort(-s, kind="stable")
        curves_gain.append((k, np.arange(1, len(s) + 1) / len(s), np.cumsum(yt[order]) / yt.sum()))
    plots["roc"] = svg_lines("ROC", curves_roc, "false positive rate", "true positive rate")
    plots["pr"] = svg_lines("Precision-recall", curves_pr, "recall", "precision")
    plots["gain"] = svg_lines("Cumulative gain", curves_gain, "share contacted", "share of readmissions")
    cnt, mp, obs = calibration_bins(risk, yt)
    plots["calibration"] = svg_lines("Reliability", [("risk model", mp, obs), ("ideal", [0, 1], [0, 1])], "predicted", "observed")
    hist_p, _ = np.histogram(risk[yt > 0], bins=30, range=(0, 1))
    hist_n, _ = np.histogram(risk[yt == 0], bins=30, range=(0, 1))
    plots["risk_distribution"] = svg_bars("Risk by outcome", [f"{i / 30:.2f}" for i in range(30)], hist_p / max(hist_p.sum(), 1), hist_n / max(hist_n.sum(), 1))
    top = importance[:15]
    plots["importance"] = svg_bars("Mean |SHAP|", [t[0] for t in top], np.array([t[1] for t in top]), np.zeros(len(top)))
    for n, d in dist.items():
        p, ng = np.array(d["positive"], float), np.array(d["negative"], float)
        plots[f"dist_{n}"] = svg_bars(n, [str(b) for b in d["bins"]][:40], (p / max(p.sum(), 1))[:40], (ng / max(ng.sum(), 1))[:40])
    os.makedirs(os.path.join(args.out, "plots"), exist_ok=True)
    html = ["<!doctype html><html><head><meta charset='utf-8'><title>readmit (Python reference)</title></head><body>",
            "<h1>Readmission model (Python reference pipeline)</h1><table>"]
    for k, m in evaluations.items():
        html.append(f"<tr><td>{k}</td>" + "".join(f"<td>{m.get(c, float('nan')):.4f}</td>" for c in ["roc_auc", "pr_auc", "brier", "ece"]) + "</tr>")
    html.append("</table>")
    for name, svg in plots.items():
        with open(os.path.join(args.out, "plots", f"{name}.svg"), "w") as f:
            f.write(svg)
        html.append(f"<img alt='{name}' src='data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}'/>")
    html.append("</body></html>")
    with open(os.path.join(args.out, "report.html"), "w") as f:
        f.write("".join(html))
    stage("report")
    stages["total"] = time.perf_counter() - t0

    result = {"stage_seconds": stages, "import_seconds": IMPORT_SECONDS, "risk_model": evaluations["risk_model"],
              "models": evaluations, "risk_model_auc_interval": interval, "first_encounter": first_metrics,
              "hyperparameter_search": trials, "chosen": model["summary"], "tiers": tiers,
              "cohort": {"encounters": int(len(cohort)), "train": int(len(train_idx)), "test": int(len(test_idx)),
                         "test_prevalence": float(yt.mean()), "schema_features": len(names), "onehot_width": int(imputed.shape[1])},
              "mean_atypicality_test": float(atyp.mean()), "tier_counts": np.bincount(tier, minlength=3).tolist(),
              "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "pandas": pd.__version__,
                           "xgboost": xgb.__version__, "scikit-learn": __import__("sklearn").__version__}}
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(result, f, indent=1, default=float)
    print(json.dumps(result, indent=1, default=float))


if __name__ == "__main__":
    main()
