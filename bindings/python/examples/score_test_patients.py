#!/usr/bin/env python3
"""Scores the held-out test patients of the Diabetes 130 data set with a running readmitd and
prints the patients at highest risk of readmission within 30 days, with the features that drove
each score.

    readmit history --model model.readmit --data diabetic_data.csv.gz --out flat.csv   # optional
    python bindings/python/examples/score_test_patients.py --endpoint tcp://127.0.0.1:5555 [--data flat.csv]

The raw fields go to the daemon as they are (score_records; the daemon encodes them with the
model's dataset spec). History fields (the patient's earlier stays) are inputs: a file made by
`readmit history` has them; the raw data file has not, and its rows are then scored with
unknown history, which the output says. The test split is that of `readmit train` for this
data set: a patient is a test patient when splitmix64(patient id) % 5 == 0, and encounters
ending in death or hospice are left out.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import readmit

# This example is about one data set; these are its columns and codes (the package knows none).
PATIENT, DISPOSITION, OUTCOME = "patient_nbr", "discharge_disposition_id", "readmitted"
EXCLUDED_DISPOSITIONS = {"11", "13", "14", "19", "20"}  # death and hospice
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
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="raw records: the data set's CSV, or a flat file from `readmit history` (with history)")
    ap.add_argument("--top", type=int, default=10, help="how many top-risk patients to print")
    ap.add_argument("--timeout-ms", type=int, default=60000)
    args = ap.parse_args()

    frame = readmit.read_csv(args.data)  # every value as written; the daemon reads '?' as missing
    with np.errstate(over="ignore"):
        test_patient = splitmix64(frame[PATIENT].astype(np.int64).to_numpy().view(np.uint64)) % np.uint64(5) == 0
    eligible = ~frame[DISPOSITION].isin(EXCLUDED_DISPOSITIONS).to_numpy()
    test = frame[test_patient & eligible]

    with readmit.Client(args.endpoint, timeout_ms=args.timeout_ms) as client:
        info = client.info()
        history = [f["name"] for f in client.raw_fields() if f["history"]]
        absent = [h for h in history if h not in frame.columns]
        if absent:
            print(f"note: {args.data.name} has no history fields ({', '.join(absent)}): every encounter is scored "
                  "with unknown history; `readmit history` writes a file with them")
        result = client.score_records(test, warn=False)  # per-row errors in result["error"], none expected
        print(f"model {info['model_id']}: {len(test):,} test encounters of {test_patient.sum():,} in the test split "
              f"({(~eligible).sum():,} death/hospice encounters left out); {result['error'].notna().sum()} with errors")
        print(f"{'tier':<8}{'encounters':>12}{'mean risk':>12}{'readmitted <30':>16}")
        for tier, g in result.groupby("tier", observed=False):
            rate = (test.loc[g.index, OUTCOME] == "<30").mean() if len(g) else float("nan")
            print(f"{tier:<8}{len(g):>12,}{g['risk'].mean():>12.3f}{rate:>16.3f}")

        top = result.sort_values("risk", ascending=False).head(args.top)
        why = client.explain(test.loc[top.index], k=3, warn=False)
        print(f"\nTop {len(top)} test patients by risk (top features: raw value, log-odds):")
        for pos, (i, r) in enumerate(top.iterrows()):
            feats = why[why["row"] == pos]
            reasons = ", ".join(f"{f}={'missing' if v is None else v} {c:+.2f}"
                                for f, v, c in zip(feats["feature"], feats["value"], feats["contribution"]))
            print(f"patient {test.at[i, PATIENT]:>10}  risk {r['risk']:.3f}  atyp. {r['atypicality']:.2f}  "
                  f"{r['tier']:<7} outcome {test.at[i, OUTCOME]:<4}  {reasons}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
