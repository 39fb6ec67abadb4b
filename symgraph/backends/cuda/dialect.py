"""The CUDA dialect of the shared C renderer.

The C backend's renderer (``symgraph.backends.c.render``) turns scalar ops and
fused ``Composite`` bodies into C expressions; its ``Dialect`` holds what
differs between C targets. ``CudaDialect`` only changes those strings:
``extern "C" __global__`` kernels, thread and block indices, the barrier,
``__shared__`` memory. The scalar-op table is the C renderer's own object, so a
scalar op gains its CUDA form the moment it gains its C form.

Kernels (``elemwise.py``, ``reduce.py``, ``nnet.py`` ...) are written against
``DIALECT``; setting ``SYMGRAPH_FLAGS=print_c=True`` prints each module
compiled.
"""
from __future__ import annotations

try:
    from ..c.render import Dialect, SCALAR_TABLE  # noqa: F401  (re-exported for the tests)
except ImportError:  # the C renderer is not written yet
    from ._cstyle import Dialect, SCALAR_TABLE  # noqa: F401


class CudaDialect(Dialect):
    """C-style rendering for CUDA C++ (compiled by nvcc through pycuda)."""

    name = "cuda"
    kernel_prefix = 'extern "C" __global__ void'
    device_prefix = "__device__ __forceinline__"
    shared_prefix = "__shared__"
    barrier = "__syncthreads();"
    restrict = "__restrict__"
    global_index = "(blockIdx.x * blockDim.x + threadIdx.x)"
    grid_stride = "(blockDim.x * gridDim.x)"
    preamble = "#include <stdint.h>\n#include <math_constants.h>\n"


DIALECT = CudaDialect()
