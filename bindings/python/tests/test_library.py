"""The library check at import: a libreadmit too old, of another major version, or missing a
function this package calls is refused with a LibraryError naming the file and both versions,
not an AttributeError about one undefined symbol (or calls whose behaviour differs).

Each case imports readmit in a fresh interpreter with READMIT_LIBRARY pointing at a small
library compiled here: it defines readmit_version and readmit_version_number, and (where said)
links the real libreadmit, whose other functions the dynamic linker then finds through it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import readmit
from readmit import _native

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler to build the stand-in libraries")


def _stand_in(tmp_path: Path, name: str, version: tuple, with_real: bool) -> Path:
    """A shared library reporting `version`; with_real: every other function is the real one's."""
    major, minor, patch = version
    source = tmp_path / f"{name}.c"
    source.write_text(
        f'const char *readmit_version(void) {{ return "{major}.{minor}.{patch}"; }}\n'
        f"int readmit_version_number(void) {{ return {major * 10000 + minor * 100 + patch}; }}\n")
    out = tmp_path / f"lib{name}.so"
    real = Path(_native._library_path()).resolve()
    command = ["cc", "-shared", "-fPIC", "-o", str(out), str(source)]
    if with_real:  # a dependency even though nothing here calls it (--no-as-needed)
        command += ["-Wl,--no-as-needed", str(real), f"-Wl,-rpath,{real.parent}"]
    subprocess.run(command, check=True, capture_output=True)
    return out


def _import_with(library: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, READMIT_LIBRARY=str(library))
    code = "import readmit; print('loaded', readmit.version())"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_the_current_version_through_a_stand_in_loads(tmp_path):
    # The check is not refusing everything: the same stand-in reporting this build's version loads.
    library = _stand_in(tmp_path, "current", tuple(map(int, readmit.version().split("."))), with_real=True)
    out = _import_with(library)
    assert out.returncode == 0, out.stderr
    assert f"loaded {readmit.version()}" in out.stdout


def test_an_older_library_is_refused_naming_both_versions(tmp_path):
    library = _stand_in(tmp_path, "old", (0, 11, 0), with_real=True)
    out = _import_with(library)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("readmit.errors.LibraryError: ")
    assert f"libreadmit at {library} is 0.11.0" in last
    assert "needs 0.12.1 or newer" in last
    assert "READMIT_LIBRARY" in last
    assert "lacks" not in last  # every function is there: the version alone refuses it


def test_another_major_version_is_refused(tmp_path):
    out = _import_with(_stand_in(tmp_path, "next", (1, 0, 0), with_real=True))
    assert out.returncode != 0
    assert "is 1.0.0; this package needs 0.12.1 or newer within major version 0" in out.stderr


def test_a_library_missing_functions_is_refused_naming_them(tmp_path):
    # The right version number, but none of the other functions (a stripped or partial build).
    out = _import_with(_stand_in(tmp_path, "partial", tuple(map(int, readmit.version().split("."))), with_real=False))
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert "readmit.errors.LibraryError" in last
    assert "function(s) this package calls: readmit_strerror" in last
    assert "AttributeError" not in out.stderr


def test_a_file_that_does_not_load_is_refused_naming_it(tmp_path):
    missing = tmp_path / "no-such-libreadmit.so"
    out = _import_with(missing)
    assert out.returncode != 0
    assert f"readmit.errors.LibraryError: cannot load libreadmit from {missing} (READMIT_LIBRARY)" in out.stderr


def test_library_error_is_an_import_error():
    assert issubclass(readmit.LibraryError, ImportError)
    assert issubclass(readmit.LibraryError, readmit.ReadmitError)
