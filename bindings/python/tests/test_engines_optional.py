"""pyspark and dask are optional: readmit, readmit.spark and readmit.dask import without them,
and only scoring asks for them, naming the package to install."""
from __future__ import annotations

import subprocess
import sys

BLOCKED = r'''
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pyspark", "dask", "distributed"):
            raise ImportError(f"No module named {name!r} (blocked by the test)")
sys.meta_path.insert(0, Blocker())
import readmit, readmit.spark, readmit.dask
assert readmit.spark.score is readmit.spark.__dict__["score"]
assert not any(m.split(".")[0] in ("pyspark", "dask") for m in sys.modules)
for engine, hint in ((readmit.spark, "pip install pyspark"), (readmit.dask, "pip install 'dask[distributed,dataframe]'")):
    try:
        engine.score(None, endpoints="tcp://127.0.0.1:1")
    except ImportError as e:
        assert hint in str(e), e
    else:
        raise AssertionError(f"{engine.__name__}.score ran without its engine")
print("ok")
'''


def test_the_package_imports_without_the_engines():
    proc = subprocess.run([sys.executable, "-c", BLOCKED], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


def test_engines_are_attributes_of_the_package():
    proc = subprocess.run([sys.executable, "-c", "import readmit; print(readmit.dask.__name__, readmit.spark.__name__)"],
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["readmit.dask", "readmit.spark"], proc.stderr[-3000:]
