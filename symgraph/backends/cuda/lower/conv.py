"""2-D convolution on the GPU: im2col / col2im kernels around cuBLAS.

All three ops share one column layout for the whole batch, ``colT`` of shape
``(C*kh*kw, N*P)`` (``P = oh*ow``): row ``(c, a, b)`` is filter tap ``(a, b)`` of
channel ``c`` in the filters' own memory order (a flip only changes which image
pixel a tap reads), column ``(n, y, x)`` is an output position. Then

    forward        out[n] (O, P)        = W (O, CK) @ colT[:, n]     one batched gemm
    grad weights   gW (O, CK)           = topT (O, N*P) @ colT^T     one gemm (topT: a copy)
    grad inputs    gcolT[:, n] (CK, P)  = W^T @ top[n]               one batched gemm, then col2im

The batched products read and write the NCHW tensors where they are (no
transposes); the weight gradient sums over images and positions, so it takes
one large gemm over a transposed copy of the output gradient. ``col2im``
gathers (one thread per image pixel, summing the taps that read it), so no
atomics are needed. Strides, dilations, the flip and integer paddings are
compiled into the kernels.
"""
from __future__ import annotations

import numpy as np

from ....ops.conv import Conv2d, Conv2dGradInputs, Conv2dGradWeights, pads_for
from ..dialect import DIALECT, grid_loop, render_kernel
from .elemwise import register_copy
from ..lowering import DEVICE, HOST, Step, register
from .. import driver
from ..memory import empty
from .. import cublas
from ....ops.conv import _shape_checked
from .elemwise import copy_into

# the batch N is 64-bit (a batch's pixels may be more than 2**31); one image's sizes are ints
_GEOM = ["const long long N", "const int C", "const int H", "const int W", "const int kh",
         "const int kw", "const int oh", "const int ow", "const int ph_", "const int pw_"]
GEOM_FORMAT = "q" + "i" * (len(_GEOM) - 1)


def _statics(op):
    """C declarations of the geometry known when the graph is built (compiled in, so a
    stride of 1 costs no division): strides, dilations, flip, and paddings given as ints."""
    (sh, sw), (dh, dw) = op.subsample, op.filter_dilation
    if isinstance(op.border_mode, tuple):
        ph, pw = op.border_mode
    else:
        ph, pw = "ph_", "pw_"
    return (f"  const int sh = {sh}, sw = {sw}, dh = {dh}, dw = {dw}, flip = {int(op.filter_flip)};\n"
            f"  const int ph = {ph}, pw = {pw};")


def _kernel(dtype, op, src, dst, body, total):
    """A kernel of one thread per element of the (N, C, ...) product ``total`` (its four
    factors, from the parameters) reading ``src`` and writing ``dst``; ``body`` runs with
    the flat index ``i``."""
    d = DIALECT
    t = d.ctype(dtype)
    params = _GEOM + [f"const {t}* {d.restrict} {src}", f"{t}* {d.restrict} {dst}"]
    lines = [_statics(op),
             "  const long long P = (long long)oh * ow, NP = N * P;",
             f"  const long long total = {' * '.join(total)};",
             grid_loop("i", "total")] + body + ["  }"]
    return render_kernel(params, lines)


def render_im2col(dtype, op):
    """``<name>(geometry..., img, colT)``: one thread per (c, n, y, x) writes its kh*kw taps."""
    t = DIALECT.ctype(dtype)
    return _kernel(dtype, op, "img", "col", [
        "    const long long r0 = i / ow, r1 = r0 / oh, n = r1 % N;",
        "    const int x = (int)(i - r0 * ow), y = (int)(r0 - r1 * oh), c = (int)(r1 / N);",
        f"    const {t}* src = img + (n * C + c) * H * W;",
        "    long long dst = (long long)c * kh * kw * NP + n * P + (long long)y * ow + x;",
        "    for (int a = 0; a < kh; ++a) {",
        "      const int h = y * sh + (flip ? kh - 1 - a : a) * dh - ph;",
        f"      const {t}* row = src + (long long)h * W;",
        "      for (int b = 0; b < kw; ++b, dst += NP) {",
        "        const int w = x * sw + (flip ? kw - 1 - b : b) * dw - pw;",
        f"        col[dst] = (h >= 0 && h < H && w >= 0 && w < W) ? row[w] : ({t})0;",
        "      }",
        "    }"], ("N", "C", "oh", "ow"))


def render_col2im(dtype, op):
    """``<name>(geometry..., colT, img)``: img pixel = sum of the colT entries of the taps
    that read it (a gather: one thread per pixel)."""
    t = DIALECT.ctype(dtype)
    return _kernel(dtype, op, "col", "img", [
        "    const long long r0 = i / W, r1 = r0 / H, n = r1 / C;",
        "    const int w = (int)(i - r0 * W), h = (int)(r0 - r1 * H), c = (int)(r1 - n * C);",
        f"    const {t}* cn = col + (long long)c * kh * kw * NP + n * P;",
        f"    {t} acc = 0;",
        "    for (int a = 0; a < kh; ++a) {",
        "      const int yy = h + ph - (flip ? kh - 1 - a : a) * dh;",
        "      if (yy < 0 || yy % sh) continue;",
        "      const int y = yy / sh;",
        "      if (y >= oh) continue;",
        "      for (int b = 0; b < kw; ++b) {",
        "        const int xx = w + pw - (flip ? kw - 1 - b : b) * dw;",
        "        if (xx < 0 || xx % sw) continue;",
        "        const int x = xx / sw;",
        "        if (x >= ow) continue;",
        "        acc += cn[(long long)(a * kw + b) * NP + (long long)y * ow + x];",
        "      }",
        "    }",
        "    img[i] = acc;"], ("N", "C", "H", "W"))


class _Geometry:
    """Sizes of one call, checked like the reference ops."""

    def __init__(self, op, n, c, hw, khw, what=None):
        self.N, self.C = n, c
        self.H, self.W = hw
        self.kh, self.kw = khw
        self.ph, self.pw = (int(p) for p in pads_for(op.border_mode, khw, op.filter_dilation))
        self.sh, self.sw = op.subsample
        self.dh, self.dw = op.filter_dilation
        self.oh = (self.H + 2 * self.ph - ((self.kh - 1) * self.dh + 1)) // self.sh + 1
        self.ow = (self.W + 2 * self.pw - ((self.kw - 1) * self.dw + 1)) // self.sw + 1
        if self.oh < 1 or self.ow < 1:
            raise ValueError(f"{what or op}: the filter (spatial shape {tuple(khw)}, dilation "
                             f"{op.filter_dilation}) does not fit the padded image (spatial "
                             f"shape {tuple(hw)}, padding {(self.ph, self.pw)})")
        self.P = self.oh * self.ow
        self.CK = c * self.kh * self.kw
        self.args = (self.N, self.C, self.H, self.W, self.kh, self.kw, self.oh, self.ow,
                     self.ph, self.pw)


def _contig(v):
    return v if v.is_c_contiguous else v.copy()


def _memo(plan):
    """``get(key, *args)``: ``plan(*args)``, computed on the first call with ``key``."""
    cache = {}

    def get(key, *args):
        p = cache.get(key)
        if p is None:
            p = cache[key] = plan(*args)
        return p
    return get


def _im2col_kernel(ctx, op, dtype):
    return ctx.kernel(f"im2col_{dtype}", render_im2col(dtype, op), GEOM_FORMAT + "PP")


def _im2col(h, g, img, npd):
    """colT (CK x N*P) of the C-contiguous images ``img`` with geometry ``g``."""
    col = empty((g.CK, g.N * g.P), npd)
    driver.launch(h.fn, g.C * g.N * g.P, *g.args, img.ptr, col.ptr)
    return col


def _ok(node, ctx, tensors):
    dtype = node.outputs[0].dtype
    return dtype in ("float32", "float64") and all(
        ctx.place(v) == DEVICE and v.dtype == dtype for v in tensors)


def _batched_gemm(dtype, a_ptr, lda, stride_a, b_ptr, ldb, stride_b, c_ptr, ldc, stride_c,
                  m, n, k, count):
    """Row-major C_i (m x n) = A_i (m x k) @ B_i (k x n) for i < count (no transposes)."""
    # column-major: C_i^T = B_i^T A_i^T
    cublas.gemm_strided_batched(cublas.OP_N, cublas.OP_N, n, m, k, b_ptr, ldb, stride_b,
                                a_ptr, lda, stride_a, c_ptr, ldc, stride_c, count, dtype)


@register(Conv2d)
def lower_conv2d(node, ctx):
    """out[n] (O x P) = W (O x CK) @ colT[:, n*P:(n+1)*P], one batched gemm over the images."""
    if not _ok(node, ctx, node.inputs):
        return None
    op, dtype = node.op, node.outputs[0].dtype
    npd = np.dtype(dtype)
    h = _im2col_kernel(ctx, op, dtype)

    @_memo
    def plan(img, kern):
        _shape_checked("input", op.imshp, img.shape, "input_shape (image_shape)")
        _shape_checked("filters", op.kshp, kern.shape, "filter_shape")
        if img.shape[1] != kern.shape[1]:
            raise ValueError(f"conv2d: the input has {img.shape[1]} channels (shape {img.shape}) "
                             f"but the filters expect {kern.shape[1]} (filter shape {kern.shape})")
        g = _Geometry(op, img.shape[0], img.shape[1], img.shape[2:], kern.shape[2:], "conv2d")
        return g, kern.shape[0]

    def run(ins):
        img, kern = _contig(ins[0]), _contig(ins[1])
        g, O = plan((img.shape, kern.shape), img, kern)
        out = empty((g.N, O, g.oh, g.ow), npd)
        if not out.size:
            return [out]
        col = _im2col(h, g, img, npd)
        _batched_gemm(dtype, kern.ptr, g.CK, 0, col.ptr, g.N * g.P, g.P, out.ptr, g.P, O * g.P,
                      O, g.P, g.CK, g.N)
        return [out]

    return Step(run, [DEVICE, DEVICE], [DEVICE])


@register(Conv2dGradWeights)
def lower_conv2d_grad_weights(node, ctx):
    """gW (O x CK) = topT (O x N*P) @ colT^T: one gemm summing over images and positions."""
    if not _ok(node, ctx, node.inputs[:2]):
        return None
    op, dtype = node.op, node.outputs[0].dtype
    npd = np.dtype(dtype)
    h = _im2col_kernel(ctx, op, dtype)
    register_copy(ctx, dtype, 3)

    @_memo
    def plan(img, top, shape):
        if len(shape) != 2:
            raise ValueError(f"{op}: the filter shape must have 2 entries, got {tuple(shape)}")
        if img.shape[0] != top.shape[0]:
            raise ValueError(f"{op}: an input of shape {img.shape} does not match an output "
                             f"gradient of shape {top.shape}")
        khw = tuple(int(s) for s in shape)
        g = _Geometry(op, img.shape[0], img.shape[1], img.shape[2:], khw)
        if tuple(top.shape[2:]) != (g.oh, g.ow):
            raise ValueError(f"{op}: output gradient has spatial shape {top.shape[2:]} but an "
                             f"image of spatial shape {img.shape[2:]} gives {(g.oh, g.ow)}")
        return g, top.shape[1], khw

    def run(ins):
        img, top, shape = _contig(ins[0]), _contig(ins[1]), ins[2]
        g, O, khw = plan((img.shape, top.shape, shape.tobytes()), img, top, shape)
        gk = empty((O, g.C) + khw, npd)
        if not gk.size:
            return [gk]
        col = _im2col(h, g, img, npd)
        topT = empty((O, g.N * g.P), npd)
        isz = npd.itemsize
        copy_into(topT.view((O, g.N, g.P), (g.N * g.P * isz, g.P * isz, isz)),
                  top.view((O, g.N, g.P), (g.P * isz, O * g.P * isz, isz)))
        cublas.gemm(topT, col.T, gk.view((O, g.CK), (g.CK * isz, isz)))
        return [gk]

    return Step(run, [DEVICE, DEVICE, HOST], [DEVICE])


@register(Conv2dGradInputs)
def lower_conv2d_grad_inputs(node, ctx):
    """gcolT[:, n*P:(n+1)*P] = W^T (CK x O) @ top[n] (O x P) (batched), then col2im."""
    if not _ok(node, ctx, node.inputs[:2]):
        return None
    op, dtype = node.op, node.outputs[0].dtype
    npd = np.dtype(dtype)
    h = ctx.kernel(f"col2im_{dtype}", render_col2im(dtype, op), GEOM_FORMAT + "PP")

    @_memo
    def plan(kern, top, shape):
        if len(shape) != 2:
            raise ValueError(f"{op}: the image shape must have 2 entries, got {tuple(shape)}")
        if kern.shape[0] != top.shape[1]:
            raise ValueError(f"{op}: filters of shape {kern.shape} do not match an output "
                             f"gradient of shape {top.shape}")
        hw = tuple(int(s) for s in shape)
        O, C = kern.shape[:2]
        g = _Geometry(op, top.shape[0], C, hw, kern.shape[2:])
        if tuple(top.shape[2:]) != (g.oh, g.ow):
            raise ValueError(f"{op}: output gradient has spatial shape {top.shape[2:]} but an "
                             f"image of spatial shape {hw} gives {(g.oh, g.ow)}")
        return g, O, C, hw

    def run(ins):
        kern, top, shape = _contig(ins[0]), _contig(ins[1]), ins[2]
        g, O, C, hw = plan((kern.shape, top.shape, shape.tobytes()), kern, top, shape)
        gx = empty((g.N, C) + hw, npd)
        if not gx.size:
            return [gx]
        gcol = empty((g.CK, g.N * g.P), npd)
        # row-major gcol_n (CK x P) = W^T (CK x O) @ top_n (O x P); W^T read transposed
        cublas.gemm_strided_batched(cublas.OP_N, cublas.OP_T, g.P, g.CK, O, top.ptr, g.P, O * g.P,
                                    kern.ptr, g.CK, 0, gcol.ptr, g.N * g.P, g.P, g.N, dtype)
        driver.launch(h.fn, gx.size, *g.args, gcol.ptr, gx.ptr)
        return [gx]

    return Step(run, [DEVICE, DEVICE, HOST], [DEVICE])
