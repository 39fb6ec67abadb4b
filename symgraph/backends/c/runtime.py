"""The C runtime: a small header every module includes, and a library built once and cached.

``runtime_core``, ``runtime_index`` and ``runtime_blas`` each hold ``DECLS``
(types, inline scalar helpers) and ``IMPL`` (functions marked ``SG_API``).
The implementations are compiled once into a runtime library (cached like any
module, keyed by its source and flags); generated modules get the declarations
plus prototypes derived from ``IMPL`` and link against that library, so gcc
compiles only a module's kernels and node functions: cold compiles stay short.
"""
from __future__ import annotations

import os
import re
import threading

from . import runtime_blas, runtime_conv, runtime_core, runtime_index, runtime_nnet
from .build import TU_MARKER
from .render import simd_declarations
from .build import blas_flags
from .cache import default_cache

_API = re.compile(r"^SG_API\s+([^{;]*?\))\s*\{", re.M)
_IMPLS = (runtime_core.IMPL, runtime_index.IMPL, runtime_blas.IMPL, runtime_nnet.impl(), runtime_conv.impl())
_DECLS = (runtime_core.DECLS, runtime_index.DECLS, runtime_blas.DECLS, runtime_nnet.DECLS, runtime_conv.DECLS)


def _prototypes(impl):
    return "\n".join(" ".join(m.group(1).split()) + ";" for m in _API.finditer(impl))


MODULE_HEADER = "".join(_DECLS) + "\n" + "\n".join(_prototypes(p) for p in _IMPLS) + "\n"


def library_source(simd):
    """Source of the runtime library; ``simd`` declares exp/log SIMD (libmvec) for the softmax loops.

    Two translation units of about equal compile time (the neural-network kernels, and the
    rest), joined by ``build.TU_MARKER``: the cold build compiles them at the same time.
    """
    decls = ""
    if simd:
        decls = simd_declarations({(fn, dt) for fn in ("exp", "log") for dt in ("float32", "float64")}) + "\n"
    core, index, blas, nnet, conv = _IMPLS
    return TU_MARKER.join(MODULE_HEADER + decls + "".join(unit)
                          for unit in ((core, index, blas, conv), (nnet,)))


_lock = threading.Lock()
_built = {}


def runtime_link_flags(module_flags, simd=False):
    """Linker flags that make a module use the runtime library (building it on first use).

    The library is compiled with ``module_flags`` plus BLAS; the flags name it
    by its cache key, so a changed runtime gives every module a new key.
    """
    cache = default_cache()
    # -O2 (after the base -O3, so it wins) halves the one-time build; its few hot loops are
    # marked `omp simd`, which vectorizes them at -O2 as well.
    flags = tuple(module_flags) + blas_flags() + ("-fno-semantic-interposition", "-O2")
    source = library_source(simd)
    slot = (cache.directory, flags, simd)
    with _lock:
        hit = _built.get(slot)
        if hit is None:
            cache.get_library(source, "int64_t sg_size(int nd, const int64_t *s);", flags)
            name = os.path.basename(cache.path(cache.key(source, flags)))
            hit = _built[slot] = (f"-L{cache.directory}", f"-l:{name}", f"-Wl,-rpath,{cache.directory}")
        return hit
