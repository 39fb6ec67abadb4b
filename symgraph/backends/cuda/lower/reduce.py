"""Reductions (``CAReduce``: sum/prod/max/min over axes; ``Argmax``) as CUDA kernels.

One kernel shape serves every reduction: a block of ``TX x TY`` threads (256
in all) computes ``TX`` outputs; the ``TY`` threads of an output stride over
its ``K`` reduced elements and combine their partials in shared memory. At run
time the kept and the reduced dimensions are each collapsed; a reduction along
contiguous memory (rows) gets ``TX = 1`` (the block reads each row coalesced),
a reduction across it (columns, ``sum(axis=0)``) gets ``TX = 32`` (a warp reads
32 neighbouring outputs' elements at once).

Rendering (no GPU needed)::

    src = render_careduce("R_sum", "add", "float32", "float32", max_dims=3)
"""
from __future__ import annotations

import numpy as np

from ....ops import scalar as ps
from ....ops.reduce import Argmax, CAReduce
from ..dialect import DIALECT, KERNEL_NAME, render_kernel
from .elemwise import supported_dtype
from ..lowering import DEVICE, Step, register
from .. import driver
from ..memory import empty
from ..memory import _c_strides
from ..memory import DeviceArray

THREADS = 256
_COMBINE = {"add": ps.add, "mul": ps.mul, "max": ps.maximum, "min": ps.minimum}


def acc_dtype(op, in_dtype, out_dtype):
    if out_dtype == "bool":
        return "int32"
    if op in ("add", "mul"):
        return out_dtype
    return in_dtype if in_dtype != "bool" else "int32"


def identity_literal(op, dtype):
    d = DIALECT
    if op == "add":
        return d.literal(0, dtype)
    if op == "mul":
        return d.literal(1, dtype)
    if np.dtype(dtype).kind == "f":
        return d.literal(-np.inf if op == "max" else np.inf, dtype)
    info = np.iinfo(dtype)
    return d.literal(info.min if op == "max" else info.max, dtype)


def index_chain(r, off, sizes, strides, count, nd, q="q"):
    """C statements adding to ``off`` the offset of flat index ``r`` over ``count`` dims
    (``sizes``/``strides`` name prefixes, innermost dimension first)."""
    def chain(dd):
        if dd == nd - 1:
            return [f"{off} += {r} * {strides}{dd};"]
        inner = chain(dd + 1)
        return ([f"if ({count} <= {dd + 1}) {{ {off} += {r} * {strides}{dd}; }} else {{",
                 f"  {q} = {r} % {sizes}{dd}; {r} /= {sizes}{dd}; {off} += {q} * {strides}{dd};"]
                + ["  " + s for s in inner] + ["}"])
    return chain(0)


def _params(max_dims, extra):
    """Parameters of a reduction kernel (counts, sizes and strides 64-bit)."""
    p = ["const long long M", "const long long K", "const int nk", "const int nr"]
    for g in ("kd", "ks", "rd", "rs"):
        p += [f"const long long {g}{k}" for k in range(max_dims)]
    return p + extra


def _loop_head():
    """The loop over the outputs of the block (``m``: this thread's output)."""
    return ["  const int tx = threadIdx.x, ty = threadIdx.y, bx = blockDim.x;",
            "  for (long long m0 = (long long)blockIdx.x * bx; m0 < M; "
            "m0 += (long long)gridDim.x * bx) {",
            "    const long long m = m0 + tx;"]


def _inner_loop(max_dims):
    """The loop of a thread over the reduced elements of output ``m`` (``off``: the
    element's offset)."""
    lines = ["      long long base = 0, r = m, q;"]
    lines += ["      " + s for s in index_chain("r", "base", "kd", "ks", "nk", max_dims)]
    lines += ["      for (long long k = ty; k < K; k += blockDim.y) {",
              "        long long off = base, rr = k;"]
    lines += ["        " + s for s in index_chain("rr", "off", "rd", "rs", "nr", max_dims)]
    return lines


def render_careduce(name, op, in_dtype, out_dtype, max_dims):
    """Source of ``name(M, K, nk, nr, kd*, ks*, rd*, rs*, x, out)``: out[m] = op over K."""
    d = DIALECT
    acc = acc_dtype(op, in_dtype, out_dtype)
    at, xt, ot = d.ctype(acc), d.ctype(in_dtype), d.ctype(out_dtype)
    combine_a_b = d.scalar_expr(_COMBINE[op], ["a", "b"], [acc, acc], acc)
    body = [f"  {d.shared_prefix} {at} buf[{THREADS}];"] + _loop_head() + [
        f"    {at} acc = {identity_literal(op, acc)};",
        "    if (m < M) {"] + _inner_loop(max_dims) + [
        f"        acc = {name}_combine(acc, ({at})x[off]);",
        "      }",
        "    }",
        "    buf[ty * bx + tx] = acc;",
        f"    {d.barrier}",
        "    for (int s = blockDim.y >> 1; s > 0; s >>= 1) {",
        f"      if (ty < s) buf[ty * bx + tx] = {name}_combine(buf[ty * bx + tx], "
        "buf[(ty + s) * bx + tx]);",
        f"      {d.barrier}",
        "    }",
        f"    if (ty == 0 && m < M) out[m] = ({ot})buf[tx];",
        f"    {d.barrier}",
        "  }"]
    src = render_kernel(_params(max_dims, [f"const {xt}* {d.restrict} x", f"{ot}* out"]), body, name)
    helper = f"{d.helper_prefix} {at} {name}_combine({at} a, {at} b) {{ return {combine_a_b}; }}\n"
    return helper + src


def render_argmax(name, op, in_dtype, max_dims):
    """Source of ``name(M, K, nk, nr, kd*, ks*, rd*, rs*, x, out)``: the first index of
    the max (min) of each output's K elements (NaN counts as the max, as in numpy)."""
    d = DIALECT
    xt = d.ctype(in_dtype)
    better = ">" if op == "max" else "<"
    isnan = "(v != v)" if np.dtype(in_dtype).kind == "f" else "false"
    bnan = "(bv != bv)" if np.dtype(in_dtype).kind == "f" else "false"
    body = [f"  {d.shared_prefix} {xt} vbuf[{THREADS}];",
            f"  {d.shared_prefix} long long ibuf[{THREADS}];"] + _loop_head() + [
        f"    {xt} bv = 0; long long bi = -1;",
        "    if (m < M) {"] + _inner_loop(max_dims) + [
        f"        const {xt} v = x[off];",
        f"        if (bi < 0 || (!{bnan} && ({isnan} || v {better} bv))) {{ bv = v; bi = k; }}",
        "      }",
        "    }",
        "    vbuf[ty * bx + tx] = bv; ibuf[ty * bx + tx] = bi;",
        f"    {d.barrier}",
        "    for (int s = blockDim.y >> 1; s > 0; s >>= 1) {",
        "      if (ty < s) {",
        "        const int a = ty * bx + tx, b = (ty + s) * bx + tx;",
        f"        const {xt} v = vbuf[b], bv = vbuf[a]; const long long vi = ibuf[b], ai = ibuf[a];",
        f"        bool take = vi >= 0 && (ai < 0 || (!{bnan} && ({isnan} || v {better} bv)) ||"
        f" (v == bv && vi < ai) || ({isnan} && {bnan} && vi < ai));",
        "        if (take) { vbuf[a] = v; ibuf[a] = vi; }",
        "      }",
        f"      {d.barrier}",
        "    }",
        "    if (ty == 0 && m < M) out[m] = ibuf[tx];",
        f"    {d.barrier}",
        "  }"]
    src = render_kernel(_params(max_dims, [f"const {xt}* {d.restrict} x", "int64_t* out"]), body, name)
    return src


def arg_format(max_dims):
    return "qqii" + "q" * (4 * max_dims) + "PP"


def reduction_plan(x, axes, max_dims):
    """Kernel arguments (up to the pointers), grid and block for reducing ``axes`` of ``x``."""
    es = x.elem_strides()
    kept = [(x.shape[k], es[k]) for k in range(x.ndim) if k not in axes and x.shape[k] != 1]
    red = [(x.shape[k], es[k]) for k in range(x.ndim) if k in axes and x.shape[k] != 1]
    red.sort(key=lambda t: -abs(t[1]))          # order is free for a reduction: merge more
    kept, red = _merge(kept), _merge(red)
    M = int(np.prod([s for s, _ in kept], dtype=np.int64))
    K = int(np.prod([s for s, _ in red], dtype=np.int64))
    row = not red or red[-1][1] in (1, -1) or (kept and abs(kept[-1][1]) != 1)
    if row:
        ty = THREADS
        while ty > 1 and ty // 2 >= K:
            ty //= 2
        tx = THREADS // ty
    else:
        tx, ty = 32, THREADS // 32
    kept = kept[::-1] or [(1, 0)]              # innermost first for the kernel
    red = red[::-1] or [(1, 0)]
    pad = lambda lst, i: [t[i] for t in lst] + [1 if i == 0 else 0] * (max_dims - len(lst))  # noqa: E731
    head = [M, K, len(kept), len(red)] + pad(kept, 0) + pad(kept, 1) + pad(red, 0) + pad(red, 1)
    blocks = max(1, min((M + tx - 1) // tx, driver.multiprocessor_count() * 32))
    return M, K, head, (blocks, 1, 1), (tx, ty, 1)


def _merge(dims):
    """Merge (size, stride) pairs, outermost first, where memory is contiguous across them."""
    out = []
    for size, st in dims:
        if out and out[-1][1] == st * size:
            out[-1] = (out[-1][0] * size, st)
        else:
            out.append((size, st))
    return out


@register(CAReduce)
def lower_careduce(node, ctx):
    (x,), out = node.inputs, node.outputs[0]
    if ctx.place(x) != DEVICE or not (supported_dtype(x.dtype) and supported_dtype(out.dtype)):
        return None
    op, axes = node.op.op, tuple(node.op.axis)
    nd = max(x.ndim, 1)
    h = ctx.kernel(f"R_{op}_{x.dtype}_{out.dtype}_{nd}d",
                   render_careduce(KERNEL_NAME, op, x.dtype, out.dtype, nd), arg_format(nd))
    out_np = np.dtype(out.dtype)
    h2 = None
    if len(axes) >= 2:     # a second pass (on the first pass's partial results)
        h2 = ctx.kernel(f"R_{op}_{out.dtype}_{out.dtype}_{nd}d",
                        render_careduce(KERNEL_NAME, op, out.dtype, out.dtype, nd), arg_format(nd))
    cache = {}

    def plan(xv):
        """One pass, or two when few outputs each reduce many elements over both leading and
        trailing axes (conv bias gradients: (N, C, H, W) -> (C,)): the trailing axes first, so
        both passes have enough outputs to fill the GPU."""
        M, K, head, grid, block = reduction_plan(xv, axes, nd)
        inner = tuple(a for a in axes if a > max([k for k in range(xv.ndim) if k not in axes],
                                                 default=xv.ndim))
        if h2 is None or M >= 512 or K < 16384 or not inner or len(inner) == len(axes):
            return [(h, None, head, grid, block)]
        mid_shape = tuple(s for k, s in enumerate(xv.shape) if k not in inner)
        mid = _Shape(mid_shape, out_np)
        outer = tuple(a for a in axes if a not in inner)
        p1 = reduction_plan(xv, inner, nd)
        p2 = reduction_plan(mid, outer, nd)
        return [(h, mid_shape, p1[2], p1[3], p1[4]), (h2, None, p2[2], p2[3], p2[4])]

    def run(ins):
        xv = ins[0]
        oshape = tuple(s for k, s in enumerate(xv.shape) if k not in axes)
        if op in ("max", "min") and any(xv.shape[a] == 0 for a in axes):
            raise ValueError(f"{node.op}: cannot reduce an empty dimension (input shape {xv.shape})")
        key = (xv.shape, xv.strides)
        passes = cache.get(key)
        if passes is None:
            passes = cache[key] = plan(xv)
        res = empty(oshape, out_np)
        if not res.size:
            return [res]
        src = xv
        for kern, mid_shape, head, grid, block in passes:
            dst = res if mid_shape is None else empty(mid_shape, out_np)
            kern.fn.prepared_call(grid, block, *head, src.ptr, dst.ptr)
            src = dst
        return [res]

    return Step(run, [DEVICE], [DEVICE])


class _Shape:
    """Shape and strides of a C-contiguous array not allocated yet (for planning)."""

    def __init__(self, shape, dtype):
        self.shape, self.ndim = shape, len(shape)
        self._es = tuple(s // dtype.itemsize for s in _c_strides(shape, dtype.itemsize))

    def elem_strides(self):
        return self._es


@register(Argmax)
def lower_argmax(node, ctx):
    (x,) = node.inputs
    if ctx.place(x) != DEVICE or not supported_dtype(x.dtype) or x.dtype == "bool":
        return None
    axis = node.op.axis
    axes = tuple(range(x.ndim)) if axis is None else (axis,)
    nd = max(x.ndim, 1)
    h = ctx.kernel(f"arg{node.op.op}_{x.dtype}_{nd}d",
                   render_argmax(KERNEL_NAME, node.op.op, x.dtype, nd), arg_format(nd))
    cache = {}

    def run(ins):
        xv = ins[0]
        if any(xv.shape[a] == 0 for a in axes):
            raise ValueError(f"{node.op}: attempt to take arg{node.op.op} of an empty dimension "
                             f"(input shape {xv.shape})")
        oshape = tuple(s for k, s in enumerate(xv.shape) if k not in axes)
        # argmax over several axes indexes the flattened (C order) block: no reordering
        key = (xv.shape, xv.strides)
        plan = cache.get(key)
        if plan is None:
            plan = cache[key] = _argmax_plan(xv, axes, nd)
        M, K, head, grid, block = plan
        res = DeviceArray(oshape, "int64")
        if M:
            h.fn.prepared_call(grid, block, *head, xv.ptr, res.ptr)
        return [res]

    return Step(run, [DEVICE], [DEVICE])


def _argmax_plan(x, axes, max_dims):
    """Like :func:`reduction_plan` but keeps the reduced dims in C order (indices matter)."""
    es = x.elem_strides()
    kept = _merge([(x.shape[k], es[k]) for k in range(x.ndim) if k not in axes and x.shape[k] != 1])
    red = _merge([(x.shape[k], es[k]) for k in range(x.ndim) if k in axes and x.shape[k] != 1])
    M = int(np.prod([s for s, _ in kept], dtype=np.int64))
    K = int(np.prod([s for s, _ in red], dtype=np.int64))
    ty = THREADS
    while ty > 1 and ty // 2 >= K:
        ty //= 2
    tx = THREADS // ty
    kept = kept[::-1] or [(1, 0)]
    red = red[::-1] or [(1, 0)]
    pad = lambda lst, i: [t[i] for t in lst] + [1 if i == 0 else 0] * (max_dims - len(lst))  # noqa: E731
    head = [M, K, len(kept), len(red)] + pad(kept, 0) + pad(kept, 1) + pad(red, 0) + pad(red, 1)
    blocks = max(1, min((M + tx - 1) // tx, driver.multiprocessor_count() * 32))
    return M, K, head, (blocks, 1, 1), (tx, ty, 1)
