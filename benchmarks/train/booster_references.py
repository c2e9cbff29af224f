#!/usr/bin/env python3
"""The booster's references on readmit's own trees and rows: XGBoost and tl2cgen, one thread.

    python3 benchmarks/train/booster_references.py EXPORT_DIR [--repeats N] [--swift SWIFT_JSON]

EXPORT_DIR is what `readmit benchmark-scoring --export-booster EXPORT_DIR` wrote: the model
file's booster (XGBoost UBJSON), the benchmark's rows as the booster reads them, and readmit's
margins of them. Each reference loads that booster and scores those rows (margins, one thread):
  xgboost      Booster.inplace_predict(predict_type="margin"), nthread=1;
  tl2cgen      the trees compiled to C (treelite's XGBoost frontend, gcc), Predictor(nthread=1),
               with each of several compiler settings (none, quantize, branch annotation,
               both, both with -march=native); all are reported and the best is the figure.
The rows are handed over as float32, which both libraries compare in (readmit's walk converts
its double rows to float keys inside its timed call, so the references start a step ahead),
and tl2cgen's branch annotation counts these same rows (in its favour too). Timed as readmit
times (thread CPU time, the median of --repeats calls); every reference's margins must agree
with readmit's within --tolerance, or the script fails. Set OMP_NUM_THREADS=1 before starting
Python (score_throughput.sh does). Prints one JSON object.
"""
import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import xgboost as xgb


@contextlib.contextmanager
def c_output_to_stderr():
    """tl2cgen's C library logs to the process's standard output, where the JSON goes."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def load_export(folder):
    with open(os.path.join(folder, "booster_export.json")) as f:
        shapes = json.load(f)
    rows, cols = shapes["rows"], shapes["columns"]
    x = np.fromfile(os.path.join(folder, shapes["files"]["input"]), dtype="<f8")
    margins = np.fromfile(os.path.join(folder, shapes["files"]["margins"]), dtype="<f8")
    if x.size != rows * cols or margins.size != rows:
        sys.exit(f"booster_references: {folder} holds {x.size} input values and {margins.size} margins, "
                 f"not {rows} x {cols} and {rows}: export it again")
    with open(os.path.join(folder, shapes["files"]["booster"]), "rb") as f:
        ubj = f.read()
    return shapes, x.reshape(rows, cols), margins, ubj


def timed(call, repeats):
    """Median thread CPU seconds of `repeats` calls, and the last call's result."""
    seconds, out = [], None
    for _ in range(repeats):
        start = time.thread_time()
        out = call()
        seconds.append(time.thread_time() - start)
    return statistics.median(seconds), out


def agreement(name, got, expected, tolerance):
    got = np.asarray(got, dtype=np.float64).reshape(-1)
    if got.shape != expected.shape:
        sys.exit(f"booster_references: {name} gave {got.size} margins for {expected.size} rows")
    worst = float(np.max(np.abs(got - expected)))
    if not worst <= tolerance:
        sys.exit(f"booster_references: {name}'s margins differ from readmit's by up to {worst:.3g} "
                 f"(tolerance {tolerance:g}): not the same trees")
    return worst


def figures(seconds, rows, trees, worst):
    return {"seconds_median": seconds, "rows_per_second": rows / seconds,
            "ns_per_row_per_tree": seconds / rows / trees * 1e9, "max_abs_margin_difference": worst}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("export_dir")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tolerance", type=float, default=1e-4,
                    help="largest |margin - readmit's margin| accepted (float32 sums in another order)")
    ap.add_argument("--swift", help="readmit benchmark-scoring's JSON of the same run: its booster figures are set beside")
    args = ap.parse_args()
    shapes, x64, expected, ubj = load_export(args.export_dir)
    rows, trees = shapes["rows"], shapes["booster_trees"]
    x32 = np.ascontiguousarray(x64, dtype=np.float32)
    result = {"rows": rows, "columns": shapes["columns"], "booster_trees": trees, "repeats": args.repeats, "threads": 1,
              "clock": "thread CPU time (time.thread_time), median of repeats", "input_dtype": "float32",
              "versions": {"xgboost": xgb.__version__, "numpy": np.__version__}}

    booster = xgb.Booster(model_file=bytearray(ubj))
    booster.set_param({"nthread": 1})
    if booster.num_boosted_rounds() != trees:
        sys.exit(f"booster_references: the exported booster has {booster.num_boosted_rounds()} rounds, readmit walks {trees} trees")
    booster.inplace_predict(x32[:1000], predict_type="margin")  # warm-up, untimed
    seconds, out = timed(lambda: booster.inplace_predict(x32, predict_type="margin"), args.repeats)
    result["xgboost_inplace_predict"] = figures(seconds, rows, trees, agreement("XGBoost", out, expected, args.tolerance))

    try:
        import tl2cgen
        import treelite
    except ImportError as error:
        result["tl2cgen"] = {"skipped": f"not installed ({error}): python3 -m pip install tl2cgen"}
    else:
        result["versions"].update(tl2cgen=tl2cgen.__version__, treelite=treelite.__version__)
        model = treelite.frontend.from_xgboost(booster)
        dmat = tl2cgen.DMatrix(x32, dtype="float32")
        variants = {}
        with tempfile.TemporaryDirectory() as work, c_output_to_stderr():
            annotation = os.path.join(work, "annotation.json")
            tl2cgen.annotate_branch(model, dmat, annotation, nthread=1)
            settings = [
                ("plain", {}, []),
                ("quantize", {"quantize": 1}, []),
                ("annotated", {"annotate_in": annotation}, []),
                ("quantize+annotated", {"quantize": 1, "annotate_in": annotation}, []),
                ("quantize+annotated, -march=native", {"quantize": 1, "annotate_in": annotation}, ["-march=native"]),
            ]
            for name, params, options in settings:
                lib = os.path.join(work, f"model{len(variants)}.so")
                build = time.monotonic()
                tl2cgen.export_lib(model, toolchain="gcc", libpath=lib, params={**params, "parallel_comp": os.cpu_count() or 1},
                                   options=options, nthread=os.cpu_count() or 1)
                build = time.monotonic() - build
                predictor = tl2cgen.Predictor(lib, nthread=1)
                predictor.predict(tl2cgen.DMatrix(x32[:1000], dtype="float32"), pred_margin=True)  # warm-up
                seconds, out = timed(lambda: predictor.predict(dmat, pred_margin=True), args.repeats)
                variants[name] = {**figures(seconds, rows, trees, agreement(f"tl2cgen ({name})", out, expected, args.tolerance)),
                                  "params": {k: ("(annotation of these rows)" if k == "annotate_in" else v) for k, v in params.items()},
                                  "gcc_options": ["-O3", *options], "build_seconds": build}
                del predictor
        best = max(variants, key=lambda k: variants[k]["rows_per_second"])
        result["tl2cgen"] = {"best": best, **variants[best], "variants": variants}

    if args.swift:
        with open(args.swift) as f:
            swift = json.load(f)
        walks = swift.get("tree_walks", {})
        result["readmit"] = {name: {"rows_per_second": w["booster_rows_per_second"], "ns_per_row_per_tree": w["booster_ns_per_row_per_tree"]}
                             for name, w in walks.items()}
        result["readmit_selected_walk"] = swift.get("tree_walk")
    print(json.dumps(result, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
