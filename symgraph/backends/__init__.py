"""Backends: python (reference), c (generated C through cffi), cuda (pycuda).

Each backend exposes a linker with ``make_thunk(fgraph) -> run(values) -> outputs``.
"""
from __future__ import annotations

import warnings

from .c.build import compiler_info
from .c.linker import CLinker
from .cuda.linker import CudaLinker
from .debug import DebugLinker
from .python import PythonLinker

_C_OK = None


def c_available():
    """True when the C backend can build modules here (probed once)."""
    global _C_OK
    if _C_OK is None:
        try:
            _C_OK = bool(compiler_info().available)
            if not _C_OK:
                warnings.warn(f"symgraph: no working C compiler ({compiler_info().reason}); "
                              f"using the Python backend", stacklevel=3)
        except ImportError:
            _C_OK = False
    return _C_OK


def get_linker(name, nan_guard=False, profile=None, **options):
    if name == "py":
        return PythonLinker(nan_guard=nan_guard, profile=profile)
    if name == "c":
        return CLinker(nan_guard=nan_guard, profile=profile)
    if profile is not None:
        warnings.warn(f"profile: per-node times are not recorded on the {name} backend; the "
                      f"profile counts calls and their total time only", stacklevel=3)
    if name == "debug":
        return DebugLinker()
    if name == "cuda":
        return CudaLinker(nan_guard=nan_guard, **options)
    raise ValueError(f"unknown backend {name!r}")
