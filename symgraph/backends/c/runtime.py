"""The C runtime: real C sources shipped with the package, built once into a cached library.

The sources live in ``src/`` next to this module (package data):

- ``sg_runtime.h``: the header every generated module and every runtime source includes:
  types, the static tables the lowerings write, inline helpers, and the prototypes of every
  function of the runtime library (typed ones through ``sg_api_typed.h``, once per dtype);
- ``sg_abi.h``: ``sg_val``, ``sg_ctx`` and the module entry points in plain C, which is also
  the cffi declaration Python binds modules with (:data:`CDEF`);
- ``sg_scalar.h``: the scalar helpers the expression rules call, shared with CUDA
  (qualifier ``SG_DEVICE``);
- ``core.c``, ``index.c``, ``blas.c``, ``conv.c``, ``nnet.c``, ``scan.c``: the runtime library; code
  written once for an element type is in ``conv_impl.h`` / ``nnet_impl.h``, instantiated once per
  dtype by ``sg_per_dtype.h`` (``SG_T float`` / ``SG_S f32`` / ``SG_MSFX f``, then double;
  names through ``SG_FN``).

The library is compiled once (cached like any module, keyed by its units, its flags and
:func:`source_digest`, the hash of every file in ``src/``), in two translation units of about
equal compile time (:data:`UNITS`) built at the same time. Generated modules include the
header and link against the library, so gcc compiles only a module's kernels and node
functions: cold compiles stay short.
"""
from __future__ import annotations

import os
import threading

from .build import blas_flags, dnnl_flags
from .cache import default_cache
from .render import simd_declarations

from .sources import (CDEF, INCLUDE_FLAGS, MODULE_HEADER, SRC_DIR, UNITS,  # noqa: F401
                      read_source, source_digest, source_files, source_path)


def library_units(simd):
    """The runtime library's translation units: one small C text per entry of :data:`UNITS`.

    Each includes the header, then (``simd``) the libmvec SIMD declarations of exp/log for
    the softmax loops, then its ``.c`` files.
    """
    decls = ""
    if simd:
        decls = simd_declarations({(fn, dt) for fn in ("exp", "log") for dt in ("float32", "float64")}) + "\n"
    return tuple(MODULE_HEADER + decls + "".join(f'#include "{name}"\n' for name in unit) for unit in UNITS)


_lock = threading.Lock()
_built = {}


def runtime_link_flags(module_flags, simd=False):
    """Flags that make a module include the runtime header and use the runtime library
    (building it on first use).

    The library is compiled with ``module_flags`` plus BLAS; the flags name it
    by its cache key, so a changed runtime gives every module a new key.
    """
    cache = default_cache()
    # -O2 (after the base -O3, so it wins) halves the one-time build; its few hot loops are
    # marked `omp simd`, which vectorizes them at -O2 as well.
    flags = tuple(module_flags) + INCLUDE_FLAGS + blas_flags() + dnnl_flags() + ("-fno-semantic-interposition", "-O2")
    units = library_units(simd)
    slot = (cache.directory, flags, simd)
    with _lock:
        hit = _built.get(slot)
        # a library another process removed from the cache is built again: modules link to the file
        if hit is None or not os.path.exists(os.path.join(cache.directory, hit[0])):
            cache.get_library(units, "int64_t sg_size(int nd, const int64_t *s);", flags, keep=True,
                              what="the C runtime library (once per cache)")
            name = os.path.basename(cache.path(cache.key(units, flags)))
            hit = _built[slot] = (name,) + INCLUDE_FLAGS + (f"-L{cache.directory}", f"-l:{name}",
                                                            f"-Wl,-rpath,{cache.directory}")
        return hit[1:]
