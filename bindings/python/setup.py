"""Builds the C shim (libreadmit) into the package as a plain shared library.

The library is compiled from the repository's `shim/` sources (copied into
`src/readmit/_shim/` at build time, so an sdist carries them too) and linked against libzmq
only. It is not a CPython extension module: the package loads it with ctypes, so it does not
depend on the Python version's C API and `pip install ./bindings/python` needs no
LD_LIBRARY_PATH.
"""
import glob
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM_COPY = os.path.join("src", "readmit", "_shim")


def sync_shim_sources():
    """Copies ../../shim/*.{c,h} and ../../include/readmit.h next to the package, when present."""
    repo = os.path.normpath(os.path.join(HERE, "..", ".."))
    shim, header = os.path.join(repo, "shim"), os.path.join(repo, "include", "readmit.h")
    if not (os.path.isdir(shim) and os.path.isfile(header)):
        return  # building from an sdist: the copy is already here
    dest = os.path.join(HERE, SHIM_COPY)
    os.makedirs(dest, exist_ok=True)
    for path in glob.glob(os.path.join(shim, "*.[ch]")) + [header]:
        shutil.copy2(path, dest)


def pkg_config(flag):
    try:
        out = subprocess.run(["pkg-config", flag, "libzmq"], check=True, capture_output=True, text=True).stdout
        return out.split()
    except (OSError, subprocess.CalledProcessError):
        return []


class BuildSharedLibrary(build_ext):
    """build_ext for a ctypes library: plain file name, no Python module init symbol."""

    def get_ext_filename(self, ext_name):
        suffix = {"win32": ".dll", "darwin": ".dylib"}.get(sys.platform, ".so")
        return os.path.join(*ext_name.split(".")) + suffix

    def get_export_symbols(self, ext):
        return []


sync_shim_sources()
sources = sorted(glob.glob(os.path.join(SHIM_COPY, "*.c")))
if not sources:
    sys.exit("readmit: the C shim sources were not found (expected ../../shim or src/readmit/_shim)")

cflags = [f for f in pkg_config("--cflags") if f.startswith("-I")]
include_dirs = [SHIM_COPY] + [f[2:] for f in cflags]
library_dirs = [f[2:] for f in pkg_config("--libs-only-L")]

libreadmit = Extension(
    "readmit._libreadmit",
    sources=sources,
    # The headers too: build_ext rebuilds an object only when a source or a `depends` file is
    # newer, and a reused build/ folder otherwise kept objects compiled against an old header.
    depends=sorted(glob.glob(os.path.join(SHIM_COPY, "*.h"))),
    include_dirs=include_dirs,
    library_dirs=library_dirs,
    libraries=["zmq"],
    extra_compile_args=["-std=c11", "-O2", "-fvisibility=hidden"],
)

setup(ext_modules=[libreadmit], cmdclass={"build_ext": BuildSharedLibrary})
