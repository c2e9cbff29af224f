"""The training report as a browser shows it: both shipped datasets are trained (quick) by the
real `readmit` binary and each report is opened in headless Chromium (report_in_chromium.py),
which must find every section and every chart with data drawn. The check itself is shown to
fail on a report with a chart removed, emptied, or drawn from NaN coordinates."""
import os
import re
import shutil
import subprocess

import pytest

from report_in_chromium import chromium, problems, render

ROOT = os.environ.get("READMIT_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
READMIT = os.environ.get("READMIT_BIN", os.path.join(ROOT, ".build", "release", "readmit"))

SECTIONS = ["model-card", "cohort", "metrics", "curves", "clinical", "subgroups", "ablation", "factors", "features", "notes", "model-file"]
FIGURES = ["roc", "pr", "calibration", "risk_distribution", "gain", "lift", "decision_curve", "subgroups", "top_factors"]
DATASETS = {
    "diabetes130": ["--quick"],
    "mimic-iv-demo": ["--dataset", os.path.join(ROOT, "data", "mimic-iv-demo", "dataset.yaml")],
}

pytestmark = pytest.mark.skipif(chromium() is None, reason="no Chromium (scripts/setup.sh installs it)")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = {}
    for name, args in DATASETS.items():
        folder = tmp_path_factory.mktemp(name)
        done = subprocess.run([READMIT, "train", *args, "--out", str(folder)], cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"readmit train ({name}) failed:\n{done.stderr[-3000:]}"
        out[name] = folder
    return out


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_every_section_and_chart_renders(reports, dataset):
    folder = reports[dataset]
    result = render(str(folder / "report.html"))
    assert problems(result, plots_dir=str(folder / "plots"), sections=SECTIONS, figures=FIGURES) == []
    assert any(name.startswith("feature_") for name in result["figures"])
    print(dataset, {k: v["marks"] for k, v in sorted(result["figures"].items())})


def broken_copy(reports, tmp_path, edit):
    """The Diabetes 130 report with `edit` applied to its HTML, in a folder of its own."""
    folder = tmp_path / "broken"
    shutil.copytree(reports["diabetes130"], folder)
    html = (folder / "report.html").read_text(encoding="utf-8")
    edited = edit(html)
    assert edited != html, "the edit changed nothing"
    (folder / "report.html").write_text(edited, encoding="utf-8")
    return folder


def figure_span(html, name):
    m = re.search(r'<figure id="fig-%s">.*?</figure>\n' % re.escape(name), html, re.S)
    assert m, name
    return m.span()


def test_a_missing_chart_is_found(reports, tmp_path):
    def drop(html):
        a, b = figure_span(html, "decision_curve")
        return html[:a] + html[b:]
    folder = broken_copy(reports, tmp_path, drop)
    found = problems(render(str(folder / "report.html")), plots_dir=str(folder / "plots"), sections=SECTIONS, figures=FIGURES)
    assert found == ["figure 'decision_curve' is missing"]


def test_a_chart_without_its_data_is_found(reports, tmp_path):
    def empty(html):
        a, b = figure_span(html, "roc")
        return html[:a] + re.sub(r"<(polyline|circle)[^>]*?(/>|>.*?</\1>)", "", html[a:b], flags=re.S) + html[b:]
    folder = broken_copy(reports, tmp_path, empty)
    found = problems(render(str(folder / "report.html")), plots_dir=str(folder / "plots"), sections=SECTIONS, figures=FIGURES)
    assert found == ["figure 'roc' renders empty: no data drawn"]


def test_a_chart_drawn_from_nan_is_found(reports, tmp_path):
    def nan(html):
        a, b = figure_span(html, "gain")
        return html[:a] + re.sub(r'points="[^"]*"', 'points="NaN,NaN NaN,NaN"', html[a:b]) + html[b:]
    folder = broken_copy(reports, tmp_path, nan)
    found = problems(render(str(folder / "report.html")), plots_dir=str(folder / "plots"), sections=SECTIONS, figures=FIGURES)
    assert found == ["figure 'gain' renders empty: no data drawn"]


EVALUATION_SECTIONS = ["model-card", "cohort", "metrics", "curves", "clinical", "subgroups", "factors", "features", "notes", "model-file"]
EVALUATION_FIGURES = ["roc", "pr", "calibration", "risk_distribution", "gain", "lift", "decision_curve", "subgroups", "top_factors"]


def test_the_evaluation_report_renders(reports, tmp_path):
    """`readmit evaluate --report` on another hospital's extract (data/diabetes130/other_hospital.py),
    the trained model compared with its recalibration: every section and chart it has is drawn,
    with both models' curves; it has no section that needs a training (the ablation)."""
    model = str(reports["diabetes130"] / "model.readmit")
    other = str(tmp_path / "other.csv")
    subprocess.run(["python3", os.path.join(ROOT, "data", "diabetes130", "other_hospital.py"), "--keep", "0.5", "--out", other], check=True, capture_output=True)
    local = str(tmp_path / "local.readmit")
    done = subprocess.run([READMIT, "recalibrate", "--model", model, "--data", other, "--out", local, "--replicates", "100"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "evaluation"
    done = subprocess.run([READMIT, "evaluate", "--model", model, "--data", other, "--test-split", "--compare", local,
                           "--replicates", "100", "--report", str(folder)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = render(str(folder / "report.html"))
    assert problems(result, plots_dir=str(folder / "plots"), sections=EVALUATION_SECTIONS, figures=EVALUATION_FIGURES) == []
    assert "ablation" not in result["sections"]
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "Model performance on the evaluated test patients" in html and "test split" not in html
    assert html.count("--compare ") >= 2 and "External validation: model " in html
