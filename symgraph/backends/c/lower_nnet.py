"""C lowerings of the neural-network ops: softmax family, conv2d (+ gradients), pooling
(+ gradients), MRG31k3p uniforms. Each node is one call into the runtime library
(``src/nnet.c``, ``src/conv.c``), typed by the node's float dtype.
"""
from __future__ import annotations

from ...ops import conv, nnet, pool, random
from ...ops.type import INT_DTYPES
from .lowering import c_string, register

_SFX = {"float32": "f32", "float64": "f64"}


def _same_float(node, tensor_inputs=None):
    """All float tensor inputs (by index) and every output share one float dtype."""
    dt = node.outputs[-1].dtype
    if dt not in _SFX:
        return False
    idx = range(len(node.inputs)) if tensor_inputs is None else tensor_inputs
    return all(node.inputs[k].dtype == dt for k in idx) and all(o.dtype in (dt, "int32") for o in node.outputs)


def _itype(var):
    dt = var.type.numpy_dtype
    return dt.itemsize if dt.kind == "i" else -dt.itemsize


# ---------------------------------------------------------------- softmax family

@register(nnet.Softmax, nnet.LogSoftmax, check=_same_float)
def lower_softmax(e):
    x = e.node.inputs[0]
    logsm = int(isinstance(e.op, nnet.LogSoftmax))
    e.emit(e.try_(f"sg_softmax_{_SFX[x.dtype]}(c, {e.index}, {e.buf(0)}, &{e.inp(0)}, {x.ndim}, "
                  f"&{e.out(0)}, {logsm})"))


@register(nnet.SoftmaxGrad, check=_same_float)
def lower_softmax_grad(e):
    sm = e.node.inputs[1]
    e.emit(e.try_(f"sg_softmax_grad_{_SFX[sm.dtype]}(c, {e.index}, {e.buf(0)}, &{e.inp(0)}, &{e.inp(1)}, "
                  f"{sm.ndim}, &{e.out(0)})"))


def _classes_ok(node, y_index, floats):
    return node.inputs[y_index].dtype in INT_DTYPES and _same_float(node, floats)


@register(nnet.SoftmaxCrossEntropy, check=lambda n: _classes_ok(n, 1, [0]))
def lower_xent(e):
    z, y = e.node.inputs
    e.emit(e.try_(f"sg_xent_{_SFX[z.dtype]}(c, {e.index}, {e.buf(0)}, {e.buf(1)}, &{e.inp(0)}, &{e.inp(1)}, "
                  f"{_itype(y)}, &{e.out(0)}, &{e.out(1)})"))


@register(nnet.SoftmaxCrossEntropyGrad, check=lambda n: _classes_ok(n, 2, [0, 1]))
def lower_xent_grad(e):
    g, sm, y = e.node.inputs
    e.emit(e.try_(f"sg_xent_grad_{_SFX[sm.dtype]}(c, {e.index}, {e.buf(0)}, &{e.inp(0)}, &{e.inp(1)}, "
                  f"&{e.inp(2)}, {_itype(y)}, &{e.out(0)})"))


# ---------------------------------------------------------------- convolution

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
    return _same_float(node, [0, 1])


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
    e.emit(e.try_(f"{fn}_{_SFX[dtype]}(c, {A}, {e.buf(0)}, {e.ws(0)}, {e.ws(1)}, {e.ws(2)}, "
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


# ---------------------------------------------------------------- pooling

_POOL_MODES = {"max": 0, "sum": 1, "average_inc_pad": 2, "average_exc_pad": 3}


def _pool_params(e):
    op = e.op
    (wh, ww), (sh, sw), (ph, pw) = op.ws, op.stride, op.pad
    return e.static("sg_pool_t", [f"{{{e.index}, {_POOL_MODES[op.mode]}, {int(op.ignore_border)}, "
                                  f"{wh}, {ww}, {sh}, {sw}, {ph}, {pw}}}"], "P")


@register(pool.Pool, check=_same_float)
def lower_pool(e):
    x = e.node.inputs[0]
    e.emit(e.try_(f"sg_pool_{_SFX[x.dtype]}(c, {_pool_params(e)}, {e.buf(0)}, &{e.inp(0)}, {x.ndim}, "
                  f"&{e.out(0)})"))


def _pool_grad_ok(node):
    return _same_float(node) and len({v.ndim for v in node.inputs}) == 1


@register(pool.MaxPoolGrad, pool.MaxPoolGradGrad, pool.AveragePoolGrad, check=_pool_grad_ok)
def lower_pool_grad(e):
    x = e.node.inputs[0]
    if isinstance(e.op, pool.AveragePoolGrad):
        kind, m, g = 1, "NULL", f"&{e.inp(1)}"
    else:
        kind, m, g = (0 if isinstance(e.op, pool.MaxPoolGrad) else 2), f"&{e.inp(1)}", f"&{e.inp(2)}"
    e.emit(e.try_(f"sg_pool_grad_{_SFX[x.dtype]}(c, {_pool_params(e)}, {kind}, {e.buf(0)}, &{e.inp(0)}, "
                  f"{m}, {g}, {x.ndim}, &{e.out(0)})"))


# ---------------------------------------------------------------- MRG31k3p

@register(random.MRGUniform, literal_inputs=lambda n: set())
def lower_mrg_uniform(e):
    op = e.op
    size = e.node.inputs[1]
    nd = op.ndim
    S = e.v(size)
    msg = c_string(f"size has ") + ' "%lld entries, expected ' + f'{nd}"'
    e.emit(f"if ({S}.shape[0] != {nd}) {{ {e.fail('value', msg, f'(long long){S}.shape[0]')} }}",
           f"int64_t size[SG_MAXD + 1] = {{0}};",
           f"for (int d = 0; d < {nd}; d++) size[d] = (int64_t)((const {e.ctype(size)} *){S}.data)[d * {S}.strides[0]];",
           e.try_(f"sg_mrg_uniform(c, {e.index}, {-1 if e.inplace(0) == 0 else e.buf(0)}, {e.buf(1)}, "
                  f"&{e.inp(0)}, size, {nd}, "
                  f"{int(op.dtype == 'float64')}, &{e.out(0)}, &{e.out(1)})"))
