"""The CUDA dialect of the C renderer (``symgraph.backends.c.render``).

The C renderer turns scalar ops and fused ``Composite`` bodies into C
expressions through one table (``SCALAR_RULES``); its ``Dialect`` holds the
spellings that differ between targets. ``CudaDialect`` overrides only those
strings (``extern "C" __global__`` kernels, ``__restrict__``, ``__device__``
helpers, thread indices, the barrier, ``__shared__``), so a scalar op gains
its CUDA form the moment it gains its C form. The scalar helpers the rules
call (``sg_idiv``, ``sg_floordiv``, ``sg_sigmoid`` ...) are the C runtime's
own definitions (``c/src/sg_scalar.h``), qualified ``__device__`` through ``SG_DEVICE``.

The kernels (``elemwise.py``, ``reduce.py``, ``nnet.py`` ...) are written
against ``DIALECT``; ``SYMGRAPH_FLAGS=print_c=True`` prints each module compiled.

Index arithmetic. A GPU holds arrays of more than 2**31 elements, so every element
count, flat index and offset a kernel computes is 64-bit: ``long long`` parameters
(``"q"`` in the launch formats) and grid-stride loops counting in ``long long``
(:func:`grid_loop`). Only one image's sides (convolution, pooling) and flags stay ``int``.
Splitting a flat index into coordinates divides in 64 bits; nvcc (LLVM's NVPTX backend)
already runs such a division as a 32-bit one when both operands fit, and on an H100 kernels
with explicit ``int`` coordinates measured no faster (gather, scatter, pooling, im2col,
reductions), so those have one 64-bit version. Strided elementwise launches were slower
with 64-bit offsets and choose an ``int`` path at launch when everything fits
(``elemwise.py``).
"""
from __future__ import annotations

import re
import string

from ..c import render as c_render
from ..c.render import SCALAR_RULES, Dialect, ElemwiseBody
from ..c.sources import read_source

SCALAR_TABLE = SCALAR_RULES        # the same object: one table for C and CUDA


def _scalar_helpers(qualifier):
    """The C runtime's scalar helpers (``c/src/sg_scalar.h``, the whole file), each function
    qualified by ``qualifier`` (the header's ``SG_DEVICE``)."""
    return f"#define SG_DEVICE {qualifier}\n" + read_source("sg_scalar.h")


class CudaDialect(Dialect):
    """C-family spellings for CUDA C++ (nvcc through pycuda)."""

    name = "cuda"
    restrict = "__restrict__"
    kernel_prefix = 'extern "C" __global__ void'
    helper_prefix = "static __device__ __forceinline__"
    shared_prefix = "__shared__"
    barrier = "__syncthreads();"
    global_index = "(blockIdx.x * blockDim.x + threadIdx.x)"
    grid_stride = "(blockDim.x * gridDim.x)"

    @property
    def preamble(self):
        # sg_scalar.h also gives C++ the (int, double) copysign overload its helpers need
        return "#include <stdint.h>\n#include <math.h>\n" + _scalar_helpers(self.helper_prefix) + "\n"

    def composite(self, op, in_exprs, prefix="t"):
        """``(statements, [(expr, dtype) per output])`` of scalar op ``op`` (a Composite
        included) on ``in_exprs`` = [(expr, dtype)]; NotImplementedError when the C
        renderer has no rule for some dtype combination."""
        body = ElemwiseBody(self, op, [e for e, _ in in_exprs], [t for _, t in in_exprs], prefix)
        if not body.ok:
            raise NotImplementedError(f"no C rendering of {op} for {[t for _, t in in_exprs]}")
        return list(body.stmts), list(zip(body.outputs, body.out_dtypes))

    def scalar_expr(self, op, args, in_dtypes, out_dtype):
        """One expression of ``op`` on ``args``, cast to ``out_dtype``."""
        stmts, outs = self.composite(op, list(zip(args, in_dtypes)))
        if stmts:
            raise NotImplementedError(f"{op} needs statements; use composite()")
        expr, dt = outs[0]
        return self.cast(expr, dt, out_dtype)


DIALECT = CudaDialect()


def grid_loop(var, bound, indent="  "):
    """``for`` header of a grid-stride loop over ``[0, bound)`` with a 64-bit counter."""
    d = DIALECT
    return (f"{indent}for (long long {var} = {d.global_index}; {var} < {bound}; "
            f"{var} += {d.grid_stride}) {{")


def cuda_source(name):
    """Text of ``src/<name>`` (a ``.cu`` or ``.cuh`` shipped with the package)."""
    import importlib.resources
    return importlib.resources.files(__package__).joinpath("src", name).read_text(encoding="utf-8")


def source_parameters(text):
    """The names a CUDA source declares on its first line, ``// parameters: A B ...``."""
    first = text.split("\n", 1)[0].split()
    if first[:2] != ["//", "parameters:"]:
        return ()
    return tuple(first[2:])


def instantiate(name, **params):
    """``src/<name>`` with its parameters defined: ``#define`` lines, the file, ``#undef`` lines.

    ``params`` must be exactly the names the file declares (:func:`source_parameters`);
    values are C tokens (types, integers). Raises ValueError otherwise.
    """
    text = cuda_source(name)
    declared = source_parameters(text)
    if set(params) != set(declared):
        raise ValueError(f"{name} takes parameters {sorted(declared)}, got {sorted(params)}")
    for key, value in params.items():
        if not str(value) or "\n" in str(value):
            raise ValueError(f"{name}: parameter {key} must be one line of C tokens, got {value!r}")
    return ("".join(f"#define {k} {params[k]}\n" for k in declared) + text
            + "".join(f"#undef {k}\n" for k in declared))


# A kernel source is rendered by a function that takes the kernel's name as a parameter. The
# lowerings render it as a template, its name (and its helpers' names, ``<name>_rmax``) spelled
# by the named field ``KERNEL_NAME``; ``name_kernel`` gives the field its value, checked.
KERNEL_NAME = "${name}"
# The name a template is rendered under for the hash in a kernel's final name (lowering.kernel_name):
# a kernel's name never depends on itself, and is what it was when sources said ``KERNEL``.
HASH_NAME = "KERNEL"


def name_kernel(template, name):
    """``template`` (a kernel source spelling its name ``${name}``) with the field set to ``name``.

    Checked: ``name`` is a C identifier, the template defines the kernel
    (``extern "C" __global__ void ${name}(``) and has no other field (a stray ``$`` or an
    unknown ``${field}`` raises ValueError/KeyError from ``string.Template``).
    """
    if not re.fullmatch(r"[A-Za-z_][0-9A-Za-z_]*", name):
        raise ValueError(f"kernel name {name!r} is not a C identifier")
    if f"{DIALECT.kernel_prefix} {KERNEL_NAME}(" not in template:
        raise ValueError("a kernel template defines its kernel as "
                         f"'{DIALECT.kernel_prefix} {KERNEL_NAME}(...)'")
    return string.Template(template).substitute(name=name)


def render_kernel(params, body, name=KERNEL_NAME):
    """Source of kernel ``name(params)`` (C declarations) with ``body`` (lines); by default the
    template whose name is the field ``KERNEL_NAME``."""
    return "\n".join([f"{DIALECT.kernel_prefix} {name}({', '.join(params)})", "{"] + list(body)
                      + ["}", ""])


__all__ = ["CudaDialect", "DIALECT", "HASH_NAME", "KERNEL_NAME", "SCALAR_TABLE", "c_render", "cuda_source",
           "grid_loop", "instantiate", "name_kernel", "render_kernel", "source_parameters"]
