#!/usr/bin/env python3
"""Scores the held-out test patients of the shipped data set with a running readmitd and prints
the patients at highest risk of readmission within 30 days, with the features that drove each
score.

    python bindings/python/examples/score_test_patients.py --endpoint tcp://127.0.0.1:5555

The cohort and split are those of `readmit train` (docs/FEATURES.md, Cohort.swift): encounters
ending in death or hospice are left out, and a patient is a test patient when
splitmix64(patient_nbr) % 5 == 0. The whole file is encoded first, because the history
features of an encounter come from the patient's earlier encounters.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

import readmit

EXCLUDED_DISPOSITIONS = {"11", "13", "14", "19", "20"}  # death and hospice
# The data is not in the repository (data/diabetes130/README.md): a copy in data/diabetes130/,
# else the shared one beside the checkout (../shared/data/diabetes130/).
_ROOT = Path(__file__).resolve().parents[3]
_DATA = [_ROOT / "data/diabetes130/diabetic_data.csv.gz", _ROOT.parent / "shared/data/diabetes130/diabetic_data.csv.gz"]
DEFAULT_DATA = next((p for p in _DATA if p.exists()), _DATA[0])


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The SplitMix64 finalizer on uint64 (wrapping arithmetic, as in SplitMix64.swift)."""
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", default="tcp://127.0.0.1:5555")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="CSV (or .csv.gz) in the data set's layout")
    ap.add_argument("--top", type=int, default=10, help="how many top-risk patients to print")
    ap.add_argument("--timeout-ms", type=int, default=60000)
    args = ap.parse_args()

    frame = readmit.read_csv(args.data)
    with np.errstate(over="ignore"):
        test_patient = splitmix64(frame["patient_nbr"].astype(np.int64).to_numpy().view(np.uint64)) % np.uint64(5) == 0
    eligible = ~frame["discharge_disposition_id"].isin(EXCLUDED_DISPOSITIONS).to_numpy()
    test = np.flatnonzero(test_patient & eligible)

    with readmit.Client(args.endpoint, timeout_ms=args.timeout_ms) as client:
        info = client.info()
        with warnings.catch_warnings(record=True) as notes:
            warnings.simplefilter("always", readmit.ReadmitEncodingWarning)
            x = client.encode(frame)  # whole file: history features need earlier encounters
        for n in notes:
            print(f"note: {n.message}", file=sys.stderr)
        result = client.score_frame(x[test])
        result.index = frame.index[test]
        result["encounter_id"] = frame["encounter_id"].to_numpy()[test]
        result["patient_nbr"] = frame["patient_nbr"].to_numpy()[test]
        result["age"] = frame["age"].to_numpy()[test]
        result["readmitted"] = frame["readmitted"].to_numpy()[test]

        print(f"model {info['model_id']}: {len(test):,} test encounters of {test_patient.sum():,} "
              f"in the test split ({(~eligible).sum():,} death/hospice encounters left out of the file's cohort)")
        print(f"{'tier':<8}{'encounters':>12}{'mean risk':>12}{'readmitted <30':>16}")
        for tier, g in result.groupby("tier", observed=False):
            rate = (g["readmitted"] == "<30").mean() if len(g) else float("nan")
            print(f"{tier:<8}{len(g):>12,}{g['risk'].mean():>12.3f}{rate:>16.3f}")

        top = result.sort_values("risk", ascending=False).head(args.top)
        why = client.explain(x[top.index.to_numpy()], k=3)
        print(f"\nTop {len(top)} test patients by risk:")
        print(f"{'encounter':>10} {'patient':>10} {'age':>8} {'risk':>6} {'atyp.':>6} {'tier':<7} {'outcome':<8} top features (log-odds)")
        for pos, (_, r) in enumerate(top.iterrows()):
            feats = why[why["row"] == pos]
            reasons = ", ".join(f"{f} {c:+.2f}" for f, c in zip(feats["feature"], feats["contribution"]))
            print(f"{r['encounter_id']:>10} {r['patient_nbr']:>10} {r['age']:>8} {r['risk']:>6.3f} "
                  f"{r['atypicality']:>6.2f} {r['tier']:<7} {r['readmitted']:<8} {reasons}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
