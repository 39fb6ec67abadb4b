"""C lowerings of the conv family: conv2d and its gradients (``src/conv.c``: im2col + gemm
over chunks of images), typed by the node's float dtype.
"""
from __future__ import annotations

from ....ops import conv
from ..lowering import SFX, c_string, register, same_float


def _conv_params(e):
    op = e.op
    bm = op.border_mode
    if isinstance(bm, str):
        mode, ph, pw = (1 if bm == "full" else 2), 0, 0
    else:
        mode, (ph, pw) = 0, bm
    (sh, sw), (dh, dw) = op.subsample, op.filter_dilation
    return e.static("sg_conv_t", [f"{{{e.index}, {int(op.filter_flip)}, {mode}, {ph}, {pw}, {sh}, {sw}, {dh}, {dw}}}"], "A")


def _declared(e, var, declared, what, param):
    """Check a user-declared shape (None entries are free) at run time."""
    if declared is None:
        return
    V = e.v(var)
    conds = [f"{V}.shape[{d}] != {s}" for d, s in enumerate(declared) if s is not None]
    if not conds:
        return
    text = "(" + ", ".join("None" if s is None else str(s) for s in declared) + ")"
    msg = c_string(f"@conv2d: the {what} has shape ") + f' "%s but {param}={text} was declared (None = any)"'
    e.emit(f"if ({' || '.join(conds)}) {{ char s[200]; {e.fail('value', msg, f'sg_shp(s, 4, {V}.shape)')} }}")


def _conv_ok(node):
    return same_float(node, [0, 1])


def _read_pair(e, var, name):
    V = e.v(var)
    t = e.ctype(var)
    msg = c_string("the spatial shape must have 2 entries, got ") + ' "%lld"'
    e.emit(f"if ({V}.shape[0] != 2) {{ {e.fail('value', msg, f'(long long){V}.shape[0]')} }}",
           f"int64_t {name}0 = (int64_t)((const {t} *){V}.data)[0], "
           f"{name}1 = (int64_t)((const {t} *){V}.data)[{V}.strides[0]];")


def _emit_conv(e, fn, dtype, *extra):
    """Call ``<fn>_f32`` / ``<fn>_f64`` with the conv parameters, output buffer, the three
    workspaces, the two tensor inputs, the ``extra`` arguments and the output."""
    A = _conv_params(e)
    rest = "".join(f"{a}, " for a in extra)
    e.emit(e.try_(f"{fn}_{SFX[dtype]}(c, {A}, {e.buf(0)}, {e.ws(0)}, {e.ws(1)}, {e.ws(2)}, "
                  f"&{e.inp(0)}, &{e.inp(1)}, {rest}&{e.out(0)})"))


@register(conv.Conv2d, check=_conv_ok, workspace=3)
def lower_conv2d(e):
    img, kern = e.node.inputs
    _declared(e, img, e.op.imshp, "input", "input_shape (image_shape)")
    _declared(e, kern, e.op.kshp, "filters", "filter_shape")
    _emit_conv(e, "sg_conv2d", img.dtype)


@register(conv.Conv2dGradInputs, check=_conv_ok, workspace=3)
def lower_conv2d_grad_inputs(e):
    kern = e.node.inputs[0]
    _read_pair(e, e.node.inputs[2], "hw")
    _emit_conv(e, "sg_conv2d_gi", kern.dtype, "hw0", "hw1")


@register(conv.Conv2dGradWeights, check=_conv_ok, workspace=3)
def lower_conv2d_grad_weights(e):
    img = e.node.inputs[0]
    _read_pair(e, e.node.inputs[2], "k")
    _emit_conv(e, "sg_conv2d_gw", img.dtype, "k0", "k1")
