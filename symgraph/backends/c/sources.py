"""The C runtime's source files (``src/`` next to this module, package data): where they are,
their text, and the digest of all of them that every compile cache key includes.

Kept apart from ``runtime.py`` (which builds the library through the cache) because the
cache's keys need the digest: cache < sources would otherwise be a circle.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.resources
import os

# A real directory (the package is installed or run from a checkout, not zipped): gcc reads it.
SRC_DIR = os.fspath(importlib.resources.files(__package__).joinpath("src"))

# What a generated module starts with, and the flag that lets the compiler find it.
MODULE_HEADER = '#include "sg_runtime.h"\n'
INCLUDE_FLAGS = (f"-I{SRC_DIR}",)

# The runtime library's translation units (each a list of sources compiled as one unit, so
# calls between them can inline as before): about equal compile times, built in parallel.
UNITS = (("core.c", "index.c", "blas.c", "conv.c"), ("nnet.c", "scan.c", "conv_dnnl.c"))


def source_path(name):
    """Path of the runtime source ``name`` (e.g. ``"sg_runtime.h"``)."""
    return os.path.join(SRC_DIR, name)


def read_source(name):
    """Text of the runtime source ``name``."""
    return importlib.resources.files(__package__).joinpath("src", name).read_text(encoding="utf-8")


def source_files():
    """Names of every C source and header in ``src/``, sorted."""
    return sorted(n for n in os.listdir(SRC_DIR) if n.endswith((".c", ".h")))


@functools.lru_cache(maxsize=None)
def source_digest():
    """sha256 of the names and contents of every file in ``src/`` (read once per process).

    Part of every compile cache key (``cache.CompileCache.key``): a changed ``.c`` or ``.h``
    gives the runtime library and every module that includes the header new keys.
    """
    digest = hashlib.sha256()
    for name in source_files():
        with open(source_path(name), "rb") as f:
            data = f.read()
        for part in (name.encode(), data):
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)
    return digest.hexdigest()


# cffi's declaration of a module: sg_abi.h as it is (plain C, no preprocessor lines).
CDEF = read_source("sg_abi.h")


__all__ = ["SRC_DIR", "MODULE_HEADER", "INCLUDE_FLAGS", "UNITS", "CDEF", "source_path",
           "read_source", "source_files", "source_digest"]
