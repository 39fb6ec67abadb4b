"""Backends: python (reference), c (generated C through cffi), cuda (pycuda).

Each backend exposes a linker with ``make_thunk(fgraph) -> run(values) -> outputs``.
"""
from __future__ import annotations

_C_OK = None


def c_available():
    """True when the C backend can build modules here (probed once)."""
    global _C_OK
    if _C_OK is None:
        try:
            from .c.linker import CLinker  # noqa: F401
            from .c.build import compiler_info
            _C_OK = bool(compiler_info().available)
            if not _C_OK:
                import warnings
                warnings.warn(f"symgraph: no working C compiler ({compiler_info().reason}); "
                              f"using the Python backend", stacklevel=3)
        except ImportError:
            _C_OK = False
    return _C_OK


def get_linker(name, nan_guard=False):
    if name == "py":
        from .python import PythonLinker
        return PythonLinker(nan_guard=nan_guard)
    if name == "c":
        from .c.linker import CLinker
        return CLinker(nan_guard=nan_guard)
    if name == "debug":
        from .debug import DebugLinker
        return DebugLinker()
    if name == "cuda":
        from .cuda.linker import CudaLinker
        return CudaLinker(nan_guard=nan_guard)
    raise ValueError(f"unknown backend {name!r}")
