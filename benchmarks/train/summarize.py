#!/usr/bin/env python3
"""Summarises a benchmarks/train/run.sh work folder: per-stage medians, ratios, wall time, peak RSS, ROC AUC."""
import json
import re
import statistics
import sys

STAGES = ["read", "features", "anomaly detectors", "booster search", "booster refit and calibration", "model assembly",
          "references", "evaluation", "model file", "report", "total"]


def gnu_time(path):
    text = open(path).read()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    seconds = 0.0
    for part in wall.split(":"):
        seconds = seconds * 60 + float(part)
    rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return seconds, rss_kib / 1024


def main():
    work, n = sys.argv[1], int(sys.argv[2])
    sw = {"stages": [], "wall": [], "rss": [], "auc": [], "brier": [], "rounds": []}
    py = {"stages": [], "wall": [], "rss": [], "auc": [], "brier": [], "rounds": []}
    for i in range(1, n + 1):
        m = json.load(open(f"{work}/swift-{i}/metrics.json"))
        sw["stages"].append(m["stage_seconds"])
        sw["auc"].append(m["risk_model"]["roc_auc"]); sw["brier"].append(m["risk_model"]["brier"])
        ts = m["model"]["training_summary"]
        sw["rounds"].append(f"depth {ts['max_depth']}, mcw {ts['min_child_weight']}, {ts['rounds']} rounds")
        w, r = gnu_time(f"{work}/swift-{i}.time"); sw["wall"].append(w); sw["rss"].append(r)
        p = json.load(open(f"{work}/python-{i}.json"))
        py["stages"].append(p["stage_seconds"])
        py["auc"].append(p["risk_model"]["roc_auc"]); py["brier"].append(p["risk_model"]["brier"])
        c = p["chosen"]
        py["rounds"].append(f"depth {c['max_depth']}, mcw {c['min_child_weight']}, {c['rounds']} rounds")
        w, r = gnu_time(f"{work}/python-{i}.time"); py["wall"].append(w); py["rss"].append(r)

    med = statistics.median
    print()
    print(f"{'stage':<32}{'Swift median s':>16}{'Python median s':>17}{'Swift/Python':>14}")
    rows = []
    for s in STAGES:
        a = med([st.get(s, float("nan")) for st in sw["stages"]])
        b = med([st.get(s, float("nan")) for st in py["stages"]])
        rows.append((s, a, b))
        print(f"{s:<32}{a:>16.4f}{b:>17.4f}{a / b if b > 0 else float('nan'):>14.3f}")
    a, b = med(sw["wall"]), med(py["wall"])
    print(f"{'process wall time (GNU time)':<32}{a:>16.2f}{b:>17.2f}{a / b:>14.3f}")
    a, b = med(sw["rss"]), med(py["rss"])
    print(f"{'peak RSS MiB (GNU time)':<32}{a:>16.0f}{b:>17.0f}{a / b:>14.3f}")
    print(f"{'test ROC AUC, risk model':<32}{med(sw['auc']):>16.4f}{med(py['auc']):>17.4f}")
    print(f"{'test Brier, risk model':<32}{med(sw['brier']):>16.4f}{med(py['brier']):>17.4f}")
    print(f"chosen (Swift):  {sorted(set(sw['rounds']))}")
    print(f"chosen (Python): {sorted(set(py['rounds']))}")
    print("per run (s), Swift | Python:")
    for s in STAGES:
        print(f"  {s:<30}" + " ".join(f"{st.get(s, float('nan')):8.4f}" for st in sw["stages"]) + "  | "
              + " ".join(f"{st.get(s, float('nan')):8.4f}" for st in py["stages"]))
    print(f"runs: {n}; per-run totals Swift {[round(st['total'], 1) for st in sw['stages']]}, Python {[round(st['total'], 1) for st in py['stages']]}")
    print(json.dumps({"swift": sw, "python": py}, default=str), file=open(f"{work}/summary.json", "w"))


if __name__ == "__main__":
    main()
