"""Softmax family on the GPU: softmax, log-softmax, their gradient, fused softmax cross-entropy.

Each row (the last axis) is handled by ``TK`` threads of a block that holds
``256 / TK`` rows (``TK`` = the power of two >= the row length, at most 256),
so 10-class rows use 16 threads each and wide rows a whole block. Row maxima
and sums are combined in shared memory. All kernels subtract the row maximum
before exponentiating, like the reference ``perform``.

The fused cross-entropy kernels read a class label per row. A label outside
``[0, k)`` (negative ones included, as in the reference) is never used as an
address: the forward kernel writes a NaN loss for that row, the gradient kernel
subtracts nothing, and both record the label in the function's error word
(``lower/subtensor.py``), which the linker raises at the end of the call as the
reference's IndexError ("class index 10 is out of range for 10 classes"),
before any update is committed.
"""
from __future__ import annotations

from ....ops import scalar as ps
from ....ops.nnet import (LogSoftmax, Softmax, SoftmaxCrossEntropy, SoftmaxCrossEntropyGrad,
                         SoftmaxGrad)
from ..dialect import DIALECT, KERNEL_NAME, grid_loop, render_kernel
from .elemwise import supported_dtype
from .subtensor import ERROR_PARAMS, render_error_helper
from ..lowering import DEVICE, Step, register
from .. import driver
from ..memory import DeviceArray

THREADS = 256


def _math(dtype):
    d = DIALECT
    f = "f" if dtype == "float32" else ""
    mx = d.scalar_expr(ps.maximum, ["a", "b"], [dtype, dtype], dtype)
    return f, mx


def render_row_helpers(name, dtype):
    """``name_rmax`` / ``name_rsum``: all-reduce of one value per thread over its row."""
    d = DIALECT
    t = d.ctype(dtype)
    _, mx = _math(dtype)
    out = []
    for kind, comb in (("rmax", mx), ("rsum", "a + b")):
        out += [
            f"{d.helper_prefix} {t} {name}_{kind}({t} v, {t}* buf)",
            "{",
            "  const int tk = threadIdx.x, TK = blockDim.x, r0 = threadIdx.y * TK;",
            "  buf[r0 + tk] = v;",
            f"  {d.barrier}",
            "  for (int s = TK >> 1; s > 0; s >>= 1) {",
            f"    if (tk < s) {{ const {t} a = buf[r0 + tk], b = buf[r0 + tk + s]; buf[r0 + tk] = {comb}; }}",
            f"    {d.barrier}",
            "  }",
            f"  const {t} res = buf[r0];",
            f"  {d.barrier}",
            "  return res;",
            "}",
        ]
    return out


def _row_loop_head(d, params):
    return [f"{d.kernel_prefix} {KERNEL_NAME}({', '.join(params)})", "{",
            f"  {d.shared_prefix} ACC buf[{THREADS}];",
            "  const int tk = threadIdx.x, TK = blockDim.x, TR = blockDim.y;",
            "  for (long long row0 = (long long)blockIdx.x * TR; row0 < M; "
            "row0 += (long long)gridDim.x * TR) {",
            "    const long long row = row0 + threadIdx.y;",
            "    const bool ok = row < M;"]


def _max_and_sum(dtype, xr):
    """Statements computing ``mx`` (row max) and ``s`` (sum of exp(x - mx)) of row ``xr``."""
    f, mx = _math(dtype)
    return [f"    ACC mx = {DIALECT.literal(float('-inf'), dtype)};",
            f"    if (ok) for (long long k = tk; k < K; k += TK) {{ const ACC a = mx, b = {xr}[k]; mx = {mx}; }}",
            "    mx = ${name}_rmax(mx, buf);",
            "    ACC s = 0;",
            f"    if (ok) for (long long k = tk; k < K; k += TK) s += exp{f}({xr}[k] - mx);",
            "    s = ${name}_rsum(s, buf);"]


def _finish(lines, dtype):
    src = "\n".join(render_row_helpers(KERNEL_NAME, dtype) + lines + ["  }", "}", ""])
    return src.replace("ACC", DIALECT.ctype(dtype))


def render_softmax(dtype, log=False):
    """``<name>(M, K, x, out)``: (log-)softmax of each of the M rows of length K."""
    d = DIALECT
    f, _ = _math(dtype)
    t = d.ctype(dtype)
    lines = _row_loop_head(d, ["const long long M", "const long long K",
                               f"const {t}* {d.restrict} x", f"{t}* {d.restrict} out"])
    lines += ["    const ACC* xr = x + row * K;", "    ACC* outr = out + row * K;"]
    lines += _max_and_sum(dtype, "xr")
    if log:
        lines += [f"    const ACC ls = log{f}(s);",
                  "    if (ok) for (long long k = tk; k < K; k += TK) outr[k] = xr[k] - mx - ls;"]
    else:
        lines += ["    if (ok) for (long long k = tk; k < K; k += TK) outr[k] = "
                  f"exp{f}(xr[k] - mx) / s;"]
    return _finish(lines, dtype)


def render_softmax_grad(dtype):
    """``<name>(M, K, dy, sm, out)``: out = dy * sm - sum(dy * sm) * sm per row."""
    d = DIALECT
    t = d.ctype(dtype)
    lines = _row_loop_head(d, ["const long long M", "const long long K",
                               f"const {t}* {d.restrict} dy", f"const {t}* {d.restrict} sm",
                               f"{t}* {d.restrict} out"])
    lines += ["    const long long o = row * K;",
              "    ACC s = 0;",
              "    if (ok) for (long long k = tk; k < K; k += TK) s += dy[o + k] * sm[o + k];",
              "    s = ${name}_rsum(s, buf);",
              "    if (ok) for (long long k = tk; k < K; k += TK) "
              "out[o + k] = dy[o + k] * sm[o + k] - s * sm[o + k];"]
    return _finish(lines, dtype)


def render_xent(dtype, ydtype):
    """``<name>(M, K, z, y, loss, sm, err, site)``: loss[i] = logsumexp(z[i]) - z[i, y[i]];
    sm = softmax. A label outside [0, K) gives a NaN loss and is recorded in the error word."""
    d = DIALECT
    f, _ = _math(dtype)
    t, yt = d.ctype(dtype), d.ctype(ydtype)
    lines = _row_loop_head(d, ["const long long M", "const long long K",
                               f"const {t}* {d.restrict} z", f"const {yt}* {d.restrict} y",
                               f"{t}* {d.restrict} loss", f"{t}* {d.restrict} sm"] + ERROR_PARAMS)
    lines += ["    const ACC* zr = z + row * K;", "    ACC* smr = sm + row * K;"]
    lines += _max_and_sum(dtype, "zr")
    lines += ["    if (ok) for (long long k = tk; k < K; k += TK) smr[k] = "
              f"exp{f}(zr[k] - mx) / s;",
              "    if (ok && tk == 0) {",
              "      const long long c = (long long)y[row];",
              "      if (c >= 0 && c < K) {",
              f"        loss[row] = log{f}(s) - (zr[c] - mx);",
              "      } else {",
              f"        loss[row] = {DIALECT.literal(float('nan'), dtype)};",
              "        ${name}_bad_index(err, site, 1, row, c, K);",
              "      }",
              "    }"]
    return render_error_helper() + _finish(lines, dtype)


def render_xent_grad(dtype, ydtype):
    """``<name>(n, K, g, sm, y, out, err, site)``: out = sm * g[row] - g[row] at column y[row].
    A label outside [0, K) subtracts nothing and is recorded in the error word."""
    d = DIALECT
    t, yt = d.ctype(dtype), d.ctype(ydtype)
    params = ["const long long n", "const long long K", f"const {t}* {d.restrict} g",
              f"const {t}* {d.restrict} sm", f"const {yt}* {d.restrict} y",
              f"{t}* {d.restrict} out"] + ERROR_PARAMS
    body = [grid_loop("i", "n"),
            "    const long long row = i / K, col = i - row * K;",
            f"    const {t} gr = g[row];",
            "    const long long c = (long long)y[row];",
            "    if (col == 0 && (c < 0 || c >= K)) ${name}_bad_index(err, site, 1, row, c, K);",
            f"    out[i] = sm[i] * gr - (c == col ? gr : ({t})0);",
            "  }"]
    return render_error_helper() + render_kernel(params, body)


def row_launch(M, K):
    """(grid, block) of a row kernel: blockDim.x threads per row, blockDim.y rows per block."""
    tk = 1
    while tk < K and tk < THREADS:
        tk *= 2
    tr = THREADS // tk
    blocks = max(1, min((M + tr - 1) // tr, driver.multiprocessor_count() * 16))
    return (blocks, 1, 1), (tk, tr, 1)


def _contig(v):
    return v if v.is_c_contiguous else v.copy()


def _float_ok(ctx, node):
    return all(ctx.place(v) == DEVICE for v in node.inputs) and \
        node.outputs[0].dtype in ("float32", "float64")


@register(Softmax, LogSoftmax)
def lower_softmax(node, ctx):
    if not _float_ok(ctx, node):
        return None
    dtype = node.outputs[0].dtype
    log = isinstance(node.op, LogSoftmax)
    h = ctx.kernel(f"{'log' if log else ''}softmax_{dtype}", render_softmax(dtype, log), "qqPP")

    def run(ins):
        x = _contig(ins[0])
        out = DeviceArray(x.shape, dtype)
        K = x.shape[-1] if x.ndim else 1
        M = x.size // K if K else 0
        if M and K:
            grid, block = row_launch(M, K)
            h.fn.prepared_call(grid, block, M, K, x.ptr, out.ptr)
        return [out]

    return Step(run, [DEVICE], [DEVICE])


@register(SoftmaxGrad)
def lower_softmax_grad(node, ctx):
    if not _float_ok(ctx, node) or node.inputs[0].dtype != node.inputs[1].dtype:
        return None
    dtype = node.outputs[0].dtype
    h = ctx.kernel(f"softmax_grad_{dtype}", render_softmax_grad(dtype), "qqPPP")

    def run(ins):
        dy, sm = _contig(ins[0]), _contig(ins[1])
        if dy.shape != sm.shape:
            raise ValueError(f"{node.op}: dy of shape {dy.shape} does not match sm of shape {sm.shape}")
        out = DeviceArray(sm.shape, dtype)
        K = sm.shape[-1] if sm.ndim else 1
        M = sm.size // K if K else 0
        if M and K:
            grid, block = row_launch(M, K)
            h.fn.prepared_call(grid, block, M, K, dy.ptr, sm.ptr, out.ptr)
        return [out]

    return Step(run, [DEVICE, DEVICE], [DEVICE])


def _class_message(op):
    """The reference's wording (``ops.nnet._check_classes``) of a bad class label."""
    def message(axis, value, size, pos, values):
        return f"{op}: class index {value} is out of range for {size} classes (row {pos})"
    return message


def _no_classes(op, yv):
    """M rows of K = 0 classes: every label is out of range (the reference's IndexError)."""
    y = yv.get()
    bad = y.min() if y.min() < 0 else y.max()
    return IndexError(f"{op}: class index {int(bad)} is out of range for 0 classes")


@register(SoftmaxCrossEntropy)
def lower_xent(node, ctx):
    z, y = node.inputs
    dtype = node.outputs[0].dtype
    if not _float_ok(ctx, node) or not supported_dtype(y.dtype):
        return None
    h = ctx.kernel(f"softmax_xent_{dtype}_{y.dtype}", render_xent(dtype, y.dtype), "qqPPPPPi")
    errors = ctx.index_errors
    site = errors.site(node, _class_message(node.op))

    def run(ins):
        zv, yv = _contig(ins[0]), _contig(ins[1])
        M, K = zv.shape
        if yv.shape != (M,):
            raise ValueError(f"{node.op}: expected {M} class indices (one per row of a {M}x{K} "
                             f"matrix), got shape {yv.shape}")
        loss, sm = DeviceArray((M,), dtype), DeviceArray((M, K), dtype)
        if M and K:
            grid, block = row_launch(M, K)
            h.fn.prepared_call(grid, block, M, K, zv.ptr, yv.ptr, loss.ptr, sm.ptr,
                               errors.ptr, site)
        elif M:
            raise _no_classes(node.op, yv)
        return [loss, sm]

    return Step(run, [DEVICE, DEVICE], [DEVICE, DEVICE])


@register(SoftmaxCrossEntropyGrad)
def lower_xent_grad(node, ctx):
    g, sm, y = node.inputs
    dtype = node.outputs[0].dtype
    if not _float_ok(ctx, node) or not supported_dtype(y.dtype) or g.dtype != sm.dtype:
        return None
    h = ctx.kernel(f"softmax_xent_grad_{dtype}_{y.dtype}", render_xent_grad(dtype, y.dtype),
                   "qqPPPPPi")
    errors = ctx.index_errors
    site = errors.site(node, _class_message(node.op))

    def run(ins):
        gv, smv, yv = (_contig(v) for v in ins)
        M, K = smv.shape
        if yv.shape != (M,):
            raise ValueError(f"{node.op}: expected {M} class indices (one per row of a {M}x{K} "
                             f"matrix), got shape {yv.shape}")
        if gv.shape != (M,):
            raise ValueError(f"{node.op}: loss gradient of shape {gv.shape} does not match "
                             f"{M} rows")
        out = DeviceArray((M, K), dtype)
        if M and K:
            grid, block = driver.launch_dims(M * K)
            h.fn.prepared_call(grid, block, M * K, K, gv.ptr, smv.ptr, yv.ptr, out.ptr,
                               errors.ptr, site)
        elif M:
            raise _no_classes(node.op, yv)
        return [out]

    return Step(run, [DEVICE, DEVICE, DEVICE], [DEVICE])
