"""2-D convolution on the GPU: im2col / col2im kernels around one cuBLAS gemm per op.

All three ops share one column layout for the whole batch, ``colT`` of shape
``(C*kh*kw, N*P)`` (``P = oh*ow``): row ``(c, a, b)`` is filter tap ``(a, b)`` of
channel ``c`` in the filters' own memory order (a flip only changes which image
pixel a tap reads), column ``(n, y, x)`` is an output position. Then

    forward        outT (O, N*P)     = W (O, CK) @ colT              -> out = outT as (N, O, P)
    grad weights   gW (O, CK)        = topT (O, N*P) @ colT^T
    grad inputs    gcolT (CK, N*P)   = W^T @ topT                    -> gx = col2im(gcolT)

each a single large gemm (``topT``/``outT`` are transposed copies of the small
O-channel tensors). ``col2im`` gathers (one thread per image pixel, summing
the taps that read it), so no atomics are needed.
"""
from __future__ import annotations

from ...ops.conv import Conv2d, Conv2dGradInputs, Conv2dGradWeights, pads_for
from .dialect import DIALECT
from .elemwise import register_copy
from .lowering import DEVICE, HOST, Step, register

_GEOM = ["const int N", "const int C", "const int H", "const int W", "const int kh",
         "const int kw", "const int oh", "const int ow", "const int ph", "const int pw",
         "const int sh", "const int sw", "const int dh", "const int dw", "const int flip"]
GEOM_FORMAT = "i" * len(_GEOM)


def render_im2col(dtype):
    """``KERNEL(geometry..., img, colT)``: one thread per (c, n, y, x) writes its kh*kw taps."""
    d = DIALECT
    t = d.ctype(dtype)
    return "\n".join([
        f"{d.kernel_prefix} KERNEL({', '.join(_GEOM)}, const {t}* {d.restrict} img, {t}* {d.restrict} col)",
        "{",
        "  const int P = oh * ow;",
        "  const long long NP = (long long)N * P;",
        "  const int total = C * N * P;",
        f"  for (int i = {d.global_index}; i < total; i += {d.grid_stride}) {{",
        "    const int x = i % ow; int r = i / ow;",
        "    const int y = r % oh; r /= oh;",
        "    const int n = r % N; const int c = r / N;",
        f"    const {t}* src = img + ((long long)n * C + c) * H * W;",
        "    long long dst = (long long)c * kh * kw * NP + (long long)n * P + y * ow + x;",
        "    for (int a = 0; a < kh; ++a) {",
        "      const int h = y * sh + (flip ? kh - 1 - a : a) * dh - ph;",
        "      for (int b = 0; b < kw; ++b, dst += NP) {",
        "        const int w = x * sw + (flip ? kw - 1 - b : b) * dw - pw;",
        f"        col[dst] = (h >= 0 && h < H && w >= 0 && w < W) ? src[h * W + w] : ({t})0;",
        "      }",
        "    }",
        "  }",
        "}", ""])


def render_col2im(dtype):
    """``KERNEL(geometry..., colT, img)``: img pixel = sum of the colT entries of the taps
    that read it (a gather: one thread per pixel)."""
    d = DIALECT
    t = d.ctype(dtype)
    return "\n".join([
        f"{d.kernel_prefix} KERNEL({', '.join(_GEOM)}, const {t}* {d.restrict} col, {t}* {d.restrict} img)",
        "{",
        "  const int P = oh * ow;",
        "  const long long NP = (long long)N * P;",
        "  const int total = N * C * H * W;",
        f"  for (int i = {d.global_index}; i < total; i += {d.grid_stride}) {{",
        "    const int w = i % W; int r = i / W;",
        "    const int h = r % H; r /= H;",
        "    const int c = r % C; const int n = r / C;",
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
        "        acc += col[((long long)(c * kh + a) * kw + b) * NP + (long long)n * P + y * ow + x];",
        "      }",
        "    }",
        "    img[i] = acc;",
        "  }",
        "}", ""])


class _Geometry:
    """Sizes of one call, checked like the reference ops."""

    def __init__(self, op, n, c, hw, khw, what):
        self.N, self.C = n, c
        self.H, self.W = hw
        self.kh, self.kw = khw
        self.ph, self.pw = (int(p) for p in pads_for(op.border_mode, khw, op.filter_dilation))
        self.sh, self.sw = op.subsample
        self.dh, self.dw = op.filter_dilation
        self.oh = (self.H + 2 * self.ph - ((self.kh - 1) * self.dh + 1)) // self.sh + 1
        self.ow = (self.W + 2 * self.pw - ((self.kw - 1) * self.dw + 1)) // self.sw + 1
        if self.oh < 1 or self.ow < 1:
            raise ValueError(f"{what}: the filter (spatial shape {tuple(khw)}, dilation "
                             f"{op.filter_dilation}) does not fit the padded image (spatial "
                             f"shape {tuple(hw)}, padding {(self.ph, self.pw)})")
        self.flip = int(op.filter_flip)
        self.P = self.oh * self.ow
        self.CK = c * self.kh * self.kw

    def args(self):
        return (self.N, self.C, self.H, self.W, self.kh, self.kw, self.oh, self.ow, self.ph,
                self.pw, self.sh, self.sw, self.dh, self.dw, self.flip)


def _launch(h, total, g, *ptrs):
    from . import driver
    if total:
        grid, block = driver.launch_dims(total)
        h.fn.prepared_call(grid, block, *g.args(), *ptrs)


def _contig(v):
    return v if v.is_c_contiguous else v.copy()


def _im2col(h, img, g):
    from .memory import DeviceArray
    col = DeviceArray((g.CK, g.N * g.P), img.dtype)
    _launch(h, g.C * g.N * g.P, g, img.ptr, col.ptr)
    return col


def _nop_to_onp(t, g, O):
    """(N, O, P) -> (O, N*P) contiguous copy."""
    from .memory import DeviceArray, copy_into
    out = DeviceArray((O, g.N * g.P), t.dtype)
    v = t.view((O, g.N, g.P), (t.strides[1], t.strides[0], t.itemsize))
    copy_into(out.view((O, g.N, g.P), (g.N * g.P * t.itemsize, g.P * t.itemsize, t.itemsize)), v)
    return out


def _ok(node, ctx, tensors):
    dtype = node.outputs[0].dtype
    return dtype in ("float32", "float64") and all(
        ctx.place(v) == DEVICE and v.dtype == dtype for v in tensors)


@register(Conv2d)
def lower_conv2d(node, ctx):
    from . import cublas
    from .memory import DeviceArray, copy_into
    from ...ops.conv import _shape_checked
    if not _ok(node, ctx, node.inputs):
        return None
    op, dtype = node.op, node.outputs[0].dtype
    h = ctx.kernel(f"im2col_{dtype}", render_im2col(dtype), GEOM_FORMAT + "PP")
    register_copy(ctx, dtype, 3)

    def run(ins):
        img, kern = _contig(ins[0]), _contig(ins[1])
        _shape_checked("input", op.imshp, img.shape, "input_shape (image_shape)")
        _shape_checked("filters", op.kshp, kern.shape, "filter_shape")
        if img.shape[1] != kern.shape[1]:
            raise ValueError(f"conv2d: the input has {img.shape[1]} channels (shape {img.shape}) "
                             f"but the filters expect {kern.shape[1]} (filter shape {kern.shape})")
        g = _Geometry(op, img.shape[0], img.shape[1], img.shape[2:], kern.shape[2:], "conv2d")
        O = kern.shape[0]
        out = DeviceArray((g.N, O, g.oh, g.ow), dtype)
        if not out.size:
            return [out]
        col = _im2col(h, img, g)
        outT = DeviceArray((O, g.N * g.P), dtype)
        cublas.gemm(kern.reshape(O, g.CK), col, outT)
        isz = outT.itemsize
        copy_into(out.view((g.N, O, g.P), (O * g.P * isz, g.P * isz, isz)),
                  outT.view((g.N, O, g.P), (g.P * isz, g.N * g.P * isz, isz)))
        return [out]

    return Step(run, [DEVICE, DEVICE], [DEVICE])


@register(Conv2dGradWeights)
def lower_conv2d_grad_weights(node, ctx):
    from . import cublas
    from .memory import DeviceArray
    if not _ok(node, ctx, node.inputs[:2]):
        return None
    op, dtype = node.op, node.outputs[0].dtype
    h = ctx.kernel(f"im2col_{dtype}", render_im2col(dtype), GEOM_FORMAT + "PP")
    register_copy(ctx, dtype, 3)

    def run(ins):
        img, top, shape = _contig(ins[0]), _contig(ins[1]), ins[2]
        if len(shape) != 2:
            raise ValueError(f"{op}: the filter shape must have 2 entries, got {tuple(shape)}")
        if img.shape[0] != top.shape[0]:
            raise ValueError(f"{op}: an input of shape {img.shape} does not match an output "
                             f"gradient of shape {top.shape}")
        khw = tuple(int(s) for s in shape)
        g = _Geometry(op, img.shape[0], img.shape[1], img.shape[2:], khw, str(op))
        if tuple(top.shape[2:]) != (g.oh, g.ow):
            raise ValueError(f"{op}: output gradient has spatial shape {top.shape[2:]} but an "
                             f"image of spatial shape {img.shape[2:]} gives {(g.oh, g.ow)}")
        O = top.shape[1]
        gk = DeviceArray((O, g.C) + khw, dtype)
        if not gk.size:
            return [gk]
        col = _im2col(h, img, g)
        topT = _nop_to_onp(top.reshape(g.N, O, g.P), g, O)
        cublas.gemm(topT, col.T, gk.reshape(O, g.CK))
        return [gk]

    return Step(run, [DEVICE, DEVICE, HOST], [DEVICE])


@register(Conv2dGradInputs)
def lower_conv2d_grad_inputs(node, ctx):
    from . import cublas
    from .memory import DeviceArray
    if not _ok(node, ctx, node.inputs[:2]):
        return None
    op, dtype = node.op, node.outputs[0].dtype
    h = ctx.kernel(f"col2im_{dtype}", render_col2im(dtype), GEOM_FORMAT + "PP")
    register_copy(ctx, dtype, 3)

    def run(ins):
        kern, top, shape = _contig(ins[0]), _contig(ins[1]), ins[2]
        if len(shape) != 2:
            raise ValueError(f"{op}: the image shape must have 2 entries, got {tuple(shape)}")
        if kern.shape[0] != top.shape[1]:
            raise ValueError(f"{op}: filters of shape {kern.shape} do not match an output "
                             f"gradient of shape {top.shape}")
        hw = tuple(int(s) for s in shape)
        O, C = kern.shape[:2]
        g = _Geometry(op, top.shape[0], C, hw, kern.shape[2:], str(op))
        if tuple(top.shape[2:]) != (g.oh, g.ow):
            raise ValueError(f"{op}: output gradient has spatial shape {top.shape[2:]} but an "
                             f"image of spatial shape {hw} gives {(g.oh, g.ow)}")
        gx = DeviceArray((g.N, C) + hw, dtype)
        if not gx.size:
            return [gx]
        topT = _nop_to_onp(top.reshape(g.N, O, g.P), g, O)
        gcol = DeviceArray((g.CK, g.N * g.P), dtype)
        cublas.gemm(kern.reshape(O, g.CK).T, topT, gcol)
        _launch(h, g.N * C * hw[0] * hw[1], g, gcol.ptr, gx.ptr)
        return [gx]

    return Step(run, [DEVICE, DEVICE, HOST], [DEVICE])
