#!/usr/bin/env python3
"""Writes a labelled extract shaped like another hospital's, from the shipped Diabetes 130 data,
to try `readmit recalibrate` on (README, "Recalibrating for another hospital").

It keeps the patients of the spec's test split only (splitmix64(patient_nbr) % 5 == 0: a model
trained on the shipped data never fitted them), gives them other patient numbers (so that the
spec's split divides them anew into update and check patients), and keeps a share (--keep, by a
fixed draw per encounter) of the stays not readmitted within 30 days: the readmission rate rises,
as it differs between real hospitals, while the patients stay the kind the model was trained on.

    python3 data/diabetes130/other_hospital.py --keep 0.5 --out other.csv
"""
import argparse
import gzip
import os

MASK = (1 << 64) - 1


def splitmix64(x):
    """The finalizer of readmit's patient_hash split (Sources/ReadmitTables/SplitMix64.swift)."""
    z = (x + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "diabetic_data.csv.gz")
    if not os.path.exists(default):
        default = os.path.join(here, "..", "..", "..", "shared", "data", "diabetes130", "diabetic_data.csv.gz")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=default, help="the shipped diabetic_data.csv.gz")
    parser.add_argument("--keep", type=float, default=0.5, help="share of the stays without a 30-day readmission kept (0-1]")
    parser.add_argument("--out", required=True, help="the CSV to write")
    args = parser.parse_args()
    if not 0 < args.keep <= 1:
        parser.error("--keep must be in (0, 1]")
    with gzip.open(args.data, "rt", newline="") as f:
        lines = f.read().split("\r\n")
    out = [lines[0]]
    for line in lines[1:]:
        if not line:
            continue
        fields = line.split(",")  # the file has no quoted fields
        encounter, patient = int(fields[0]), int(fields[1])
        if splitmix64(patient) % 5 != 0:
            continue
        if fields[-1] != "<30" and (splitmix64(encounter ^ 0x55) % 1000) / 1000 >= args.keep:
            continue
        fields[1] = str(patient * 7 + 3)
        out.append(",".join(fields))
    with open(args.out, "w", newline="") as f:
        f.write("\r\n".join(out) + "\r\n")
    readmitted = sum(1 for l in out[1:] if l.endswith(",<30"))
    print(f"{args.out}: {len(out) - 1} encounters, {readmitted} readmitted within 30 days ({readmitted / max(len(out) - 1, 1):.1%})")


if __name__ == "__main__":
    main()
