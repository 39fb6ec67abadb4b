"""2-D pooling on the GPU: forward (max, sum, average_inc_pad, average_exc_pad) and the
gradients of max and of sum/average pooling.

Forward: one thread per output, looping over its window. Gradients gather: one
thread per input pixel, looping over the (few) windows that contain it, so
overlapping windows need no atomics. Max pooling's gradient goes to every
position equal to its window's maximum (ties all receive it), as in the
reference ``MaxPoolGrad``.
"""
from __future__ import annotations

import numpy as np

from ....ops import scalar as ps
from ....ops.pool import AveragePoolGrad, MaxPoolGrad, Pool
from ..dialect import DIALECT, grid_loop, render_kernel
from ..lowering import DEVICE, Step, register
from .. import driver
from ..memory import empty

# the batch (all leading dims) may be huge, so it is 64-bit; a single image's sides are ints
_GEOM = ["const long long B", "const int H", "const int W", "const int oh", "const int ow"]
GEOM_FORMAT = "qiiii"


def _statics(op):
    """The window, stride and padding, compiled in (they are Op parameters)."""
    (wh, ww), (sh, sw), (ph, pw) = op.ws, op.stride, op.pad
    return f"  const int wh = {wh}, ww = {ww}, sh = {sh}, sw = {sw}, ph = {ph}, pw = {pw};"


def _count(d, mode):
    """C expression: the divisor of window (oy, ox) for the average modes."""
    if mode == "average_inc_pad":
        lo_h, hi_h, lo_w, hi_w = "-ph", "H + ph", "-pw", "W + pw"
    else:
        lo_h, hi_h, lo_w, hi_w = "0", "H", "0", "W"
    return (f"((min(hs + wh, {hi_h}) - max(hs, {lo_h})) * (min(ws + ww, {hi_w}) - max(ws, {lo_w})))")


def _pixel_loop(names, inner, outer):
    """Grid-stride loop over the pixels of B images of ``outer`` x ``inner``: the flat index
    ``i`` and its image ``b`` (64-bit), its column and row (ints named ``names``)."""
    return [f"  const long long total = B * {outer} * {inner};",
            grid_loop("i", "total"),
            f"    const long long r = i / {inner}, b = r / {outer};",
            f"    const int {names[0]} = (int)(i - r * {inner}), "
            f"{names[1]} = (int)(r - b * {outer});"]


def render_pool(dtype, op):
    """``<name>(geometry..., x, out)``: pool windows (wh, ww) moved by (sh, sw) over x padded by (ph, pw)."""
    d = DIALECT
    t = d.ctype(dtype)
    mode = op.mode
    if mode == "max":
        init = d.literal(float("-inf") if dtype.startswith("float") else np.iinfo(dtype).min,
                         dtype)
        comb = d.scalar_expr(ps.maximum, ["acc", "v"], [dtype, dtype], dtype)
    else:
        init, comb = f"({t})0", "acc + v"
    body = [_statics(op)] + _pixel_loop(("ox", "oy"), "ow", "oh") + [
        "    const int hs = oy * sh - ph, ws = ox * sw - pw;",
        f"    const {t}* xb = x + b * H * W;",
        f"    {t} acc = {init};",
        "    for (int h = max(hs, 0); h < min(hs + wh, H); ++h) {",
        f"      const {t}* xr = xb + (long long)h * W;",
        "      for (int w = max(ws, 0); w < min(ws + ww, W); ++w) {",
        f"        const {t} v = xr[w];",
        f"        acc = {comb};",
        "      }",
        "    }",
    ]
    if mode.startswith("average"):
        body.append(f"    acc = acc / ({t}){_count(d, mode)};")
    body += ["    out[i] = acc;", "  }"]
    params = _GEOM + [f"const {t}* {d.restrict} x", f"{t}* {d.restrict} out"]
    return render_kernel(params, body)


def render_max_pool_grad(dtype, op):
    """``<name>(geometry..., x, maxout, gz, gx)``: gx = sum of gz over the windows whose
    maximum equals x at that position."""
    return _render_grad(dtype, op, ["maxout", "gz"], [
        "      if (xv == maxout[o]) acc += gz[o];"])


def render_avg_pool_grad(dtype, op):
    """``<name>(geometry..., x, gz, gx)``: gx = sum over windows of gz / count (sum: no division)."""
    d = DIALECT
    t = d.ctype(dtype)
    div = "" if op.mode == "sum" else f" / ({t}){_count(d, op.mode)}"
    return _render_grad(dtype, op, ["gz"], [
        "      const int hs = oy * sh - ph, ws = ox * sw - pw;",
        f"      acc += gz[o]{div};"])


def _render_grad(dtype, op, ins, inner):
    """A pooling gradient: one thread per input pixel sums ``inner`` (statements adding to
    ``acc``) over the windows (oy, ox) that contain it (``o``: the window's output)."""
    d = DIALECT
    t = d.ctype(dtype)
    params = _GEOM + [f"const {t}* {d.restrict} {n}" for n in ["x"] + ins] + \
        [f"{t}* {d.restrict} gx"]
    body = [_statics(op)] + _pixel_loop(("w", "h"), "W", "H") + [
        f"    const {t} xv = x[i];",
        f"    {t} acc = 0;",
        "    (void)xv;",
        "    const int hp = h + ph, wp = w + pw;",
        "    const int oy0 = hp >= wh ? (hp - wh) / sh + 1 : 0, oy1 = min(hp / sh, oh - 1);",
        "    const int ox0 = wp >= ww ? (wp - ww) / sw + 1 : 0, ox1 = min(wp / sw, ow - 1);",
        "    for (int oy = oy0; oy <= oy1; ++oy) for (int ox = ox0; ox <= ox1; ++ox) {",
        "      const long long o = (b * oh + oy) * ow + ox;",
    ] + inner + ["    }", "    gx[i] = acc;", "  }"]
    return render_kernel(params, body)


def _geometry(op, shape, cache):
    """(oh, ow), kernel geometry arguments and grid of an input of ``shape`` (cached)."""
    g = cache.get(shape)
    if g is None:
        H, W = shape[-2:]
        oh, ow = (int(v) for v in op.out_hw((H, W)))
        B = 1
        for s in shape[:-2]:
            B *= s
        g = cache[shape] = ((oh, ow), (B, H, W, oh, ow))
    return g


def _contig(v):
    return v if v.is_c_contiguous else v.copy()


def _launch(h, total, geom, *ptrs):
    driver.launch(h.fn, total, *geom, *ptrs)


def _ok(node, ctx):
    dtype = node.outputs[0].dtype
    return dtype in ("float32", "float64") and all(
        ctx.place(v) == DEVICE and v.dtype == dtype for v in node.inputs)


@register(Pool)
def lower_pool(node, ctx):
    if not _ok(node, ctx):
        return None
    op, dtype = node.op, node.outputs[0].dtype
    npd = np.dtype(dtype)
    h = ctx.kernel(f"pool_{op.mode}_{dtype}", render_pool(dtype, op), GEOM_FORMAT + "PP")
    cache = {}

    def run(ins):
        x = _contig(ins[0])
        (oh, ow), geom = _geometry(op, x.shape, cache)
        out = empty(x.shape[:-2] + (oh, ow), npd)
        _launch(h, out.size, geom, x.ptr, out.ptr)
        return [out]

    return Step(run, [DEVICE], [DEVICE])


def _check(op, shape, *pooled):
    for v in pooled:
        if v.shape != tuple(shape):
            raise ValueError(f"{op}: pooled tensors must have shape {tuple(shape)} for this "
                             f"input, got {v.shape}")


@register(MaxPoolGrad)
def lower_max_pool_grad(node, ctx):
    if not _ok(node, ctx):
        return None
    op, dtype = node.op, node.outputs[0].dtype
    npd = np.dtype(dtype)
    h = ctx.kernel(f"max_pool_grad_{dtype}", render_max_pool_grad(dtype, op), GEOM_FORMAT + "PPPP")
    cache = {}

    def run(ins):
        x, maxout, gz = (_contig(v) for v in ins)
        (oh, ow), geom = _geometry(op, x.shape, cache)
        _check(op, x.shape[:-2] + (oh, ow), maxout, gz)
        gx = empty(x.shape, npd)
        _launch(h, gx.size, geom, x.ptr, maxout.ptr, gz.ptr, gx.ptr)
        return [gx]

    return Step(run, [DEVICE] * 3, [DEVICE])


@register(AveragePoolGrad)
def lower_avg_pool_grad(node, ctx):
    if not _ok(node, ctx):
        return None
    op, dtype = node.op, node.outputs[0].dtype
    npd = np.dtype(dtype)
    h = ctx.kernel(f"avg_pool_grad_{op.mode}_{dtype}", render_avg_pool_grad(dtype, op),
                   GEOM_FORMAT + "PPP")
    cache = {}

    def run(ins):
        x, gz = (_contig(v) for v in ins)
        (oh, ow), geom = _geometry(op, x.shape, cache)
        _check(op, x.shape[:-2] + (oh, ow), gz)
        gx = empty(x.shape, npd)
        _launch(h, gx.size, geom, x.ptr, gz.ptr, gx.ptr)
        return [gx]

    return Step(run, [DEVICE] * 2, [DEVICE])
