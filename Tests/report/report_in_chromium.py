"""Opens a readmit report in headless Chromium and says what it rendered.

The report has no scripts of its own. This copies it beside itself with one script added that
runs after the page has loaded and laid out, and records, for every section and every figure,
what the browser drew: the chart's size on the page, its data marks (polylines of two or more
points, circles, bars; not the background, axes, grid or legend samples) that have an extent
and lie inside the chart, and the text that has a width. `chromium --dump-dom` prints the page
after the script ran. Standard library only.

    python3 report_in_chromium.py output/report.html   # prints the JSON, exit 1 if a chart is empty
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

CHECK_ID = "readmit-report-check"

SCRIPT = """
<script>
window.addEventListener('load', function () {
  var out = {sections: [], figures: {}};
  document.querySelectorAll('section[id]').forEach(function (s) { out.sections.push(s.id); });
  document.querySelectorAll('figure[id^="fig-"]').forEach(function (f) {
    var svg = f.querySelector('svg'), r = {svg: !!svg, width: 0, height: 0, marks: 0, texts: 0};
    if (svg) {
      var box = svg.getBoundingClientRect(), vb = svg.viewBox.baseVal;
      var W = vb && vb.width ? vb.width : box.width, H = vb && vb.height ? vb.height : box.height;
      r.width = box.width; r.height = box.height;
      var inside = function (b) { return b.x < W && b.y < H && b.x + b.width > 0 && b.y + b.height > 0; };
      svg.querySelectorAll('polyline, circle, rect').forEach(function (el) {
        if (el.closest('defs, clipPath') || el.classList.contains('legend')) return;
        var b; try { b = el.getBBox(); } catch (e) { return; }
        if (!isFinite(b.x) || !isFinite(b.y)) return;
        if (el.tagName === 'polyline' && (el.points.numberOfItems < 2 || b.width + b.height <= 0)) return;
        if (el.tagName === 'circle' && !(el.r.baseVal.value > 0)) return;
        if (el.tagName === 'rect' && (b.width <= 0 || b.height <= 0 || (b.width >= W && b.height >= H))) return;
        if (inside(b)) r.marks++;
      });
      svg.querySelectorAll('text').forEach(function (t) { if (t.getComputedTextLength() > 0) r.texts++; });
    }
    out.figures[f.id.slice(4)] = r;
  });
  var pre = document.createElement('pre');
  pre.id = '%s';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
""" % CHECK_ID


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def render(report_html, browser=None, timeout=120):
    """What Chromium rendered of the report at `report_html`: {"sections": [...], "figures":
    {name: {svg, width, height, marks, texts}}}."""
    browser = browser or chromium()
    if not browser:
        raise RuntimeError("no Chromium found (scripts/setup.sh installs Debian's chromium)")
    with open(report_html, encoding="utf-8") as f:
        html = f.read()
    if "</body>" not in html:
        raise ValueError(f"{report_html}: no </body>")
    folder = os.path.dirname(os.path.abspath(report_html))
    fd, probe = tempfile.mkstemp(prefix=".chromium-check-", suffix=".html", dir=folder)
    profile = tempfile.mkdtemp(prefix="readmit-chromium-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(html.replace("</body>", SCRIPT + "</body>", 1))
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", f"--user-data-dir={profile}", "--window-size=1600,1200",
               "--virtual-time-budget=10000", "--dump-dom", "file://" + probe]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    finally:
        os.unlink(probe)
        shutil.rmtree(profile, ignore_errors=True)
    m = re.search(r'<pre id="%s">(.*?)</pre>' % CHECK_ID, done.stdout, re.S)
    if not m:
        raise RuntimeError(f"Chromium (exit {done.returncode}) printed no check result; stderr ends: {done.stderr[-2000:]}")
    text = m.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return json.loads(text)


def problems(result, plots_dir=None, sections=(), figures=()):
    """Every way the rendered report falls short, as sentences (empty when it is complete):
    a section or figure expected and absent, a chart not laid out, with no data mark or no
    text, and (with `plots_dir`) a plots/*.svg file with no figure on the page."""
    found = []
    for s in sections:
        if s not in result["sections"]:
            found.append(f"section '{s}' is missing")
    expected = list(figures)
    if plots_dir:
        expected += sorted(os.path.splitext(n)[0] for n in os.listdir(plots_dir) if n.endswith(".svg"))
    for name in dict.fromkeys(expected):
        if name not in result["figures"]:
            found.append(f"figure '{name}' is missing")
    for name, r in sorted(result["figures"].items()):
        if not r["svg"]:
            found.append(f"figure '{name}' has no chart")
        elif r["width"] <= 0 or r["height"] <= 0:
            found.append(f"figure '{name}' is not laid out ({r['width']} x {r['height']})")
        elif r["marks"] == 0:
            found.append(f"figure '{name}' renders empty: no data drawn")
        elif r["texts"] == 0:
            found.append(f"figure '{name}' renders no text")
    return found


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else "output/report.html"
    result = render(path)
    print(json.dumps(result, indent=1, sort_keys=True))
    issues = problems(result, plots_dir=os.path.join(os.path.dirname(path), "plots"))
    for p in issues:
        print("problem:", p, file=sys.stderr)
    sys.exit(1 if issues else 0)
