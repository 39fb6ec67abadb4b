"""C lowerings of shape ops: DimShuffle, Reshape, Rebroadcast, SpecifyShape (views),
Shape, Shape_i, MakeVector, Alloc, Join, Arange.

Views only write a descriptor (pointer, shape, strides); no data moves.
Reshape of a non-contiguous input copies into the node's own buffer.
"""
from __future__ import annotations

from ....graph import Constant
from ....ops.shape import (Alloc, Arange, Join, MakeVector, Rebroadcast, Reshape, Shape, Shape_i,
                          SpecifyShape)
from ..lowering import c_string, register
from ..render import is_float


def _read_vector(e, var, n, name):
    """Emit code reading the first n entries of integer vector ``var`` into int64_t name[]."""
    V = e.v(var)
    t = e.ctype(var)
    e.emit(f"int64_t {name}[SG_MAXD + 1];",
           f"for (int k = 0; k < {n}; k++) {name}[k] = (int64_t)((const {t} *){V}.data)[k * {V}.strides[0]];")


@register(Reshape, own_buffer=True)
def lower_reshape(e):
    node = e.node
    x, shp = node.inputs
    nd = e.op.ndim
    S = e.v(shp)
    msg = '"shape has %lld entries, expected ' + str(nd) + '"'
    e.emit(f"if ({S}.shape[0] != {nd}) {{ {e.fail('value', msg, f'(long long){S}.shape[0]')} }}")
    _read_vector(e, shp, nd, "req")
    e.emit(e.try_(f"sg_reshape(c, {e.index}, {e.buf(0)}, &{e.inp(0)}, {x.ndim}, req, {nd}, &{e.out(0)}, {e.isz(x)})"))


@register(Rebroadcast)
def lower_rebroadcast(e):
    X, O = e.inp(0), e.out(0)
    nd = e.node.inputs[0].ndim
    for d, b in enumerate(e.op.pattern):
        if b:
            msg = c_string(f"dimension {d} should be broadcastable (length 1) but has shape ") + ' "%s"'
            e.emit(f"if ({X}.shape[{d}] != 1) {{ char s[200]; {e.fail('value', msg, f'sg_shp(s, {nd}, {X}.shape)')} }}")
    e.emit(f"{O} = {X};")


@register(SpecifyShape)
def lower_specify_shape(e):
    X, O = e.inp(0), e.out(0)
    shape = e.op.shape
    nd = len(shape)
    conds = [f"{X}.shape[{d}] != {s}" for d, s in enumerate(shape) if s is not None]
    if conds:
        expected = "(" + ", ".join("None" if s is None else str(s) for s in shape) + ("," if nd == 1 else "") + ")"
        msg = c_string(f"@{e.op.what}: expected shape {expected} (None = any), got ") + ' "%s"'
        e.emit(f"if ({' || '.join(conds)}) {{ char s[200]; {e.fail('value', msg, f'sg_shp(s, {nd}, {X}.shape)')} }}")
    e.emit(f"{O} = {X};")


@register(Shape)
def lower_shape(e):
    X, O = e.inp(0), e.out(0)
    nd = e.node.inputs[0].ndim
    e.emit(f"int64_t sh[1] = {{{nd}}};",
           e.try_(f"sg_alloc(c, {e.index}, {e.buf(0)}, &{O}, 1, sh, 8)"),
           f"for (int d = 0; d < {nd}; d++) ((int64_t *){O}.data)[d] = {X}.shape[d];")


@register(Shape_i)
def lower_shape_i(e):
    e.emit(e.try_(f"sg_alloc(c, {e.index}, {e.buf(0)}, &{e.out(0)}, 0, NULL, 8)"),
           f"*(int64_t *){e.out(0)}.data = {e.inp(0)}.shape[{e.op.i}];")


def scalar_constants(node):
    """Inputs that are constant scalars: their values are written into the code."""
    return {k for k, v in enumerate(node.inputs) if isinstance(v, Constant) and v.type.ndim == 0}


@register(MakeVector, literal_inputs=scalar_constants)
def lower_make_vector(e):
    node, O = e.node, e.out(0)
    t = e.ctype(node.outputs[0])
    n = len(node.inputs)
    e.emit(f"int64_t sh[1] = {{{n}}};",
           e.try_(f"sg_alloc(c, {e.index}, {e.buf(0)}, &{O}, 1, sh, {e.isz(node.outputs[0])})"))
    for k, v in enumerate(node.inputs):
        e.emit(f"(({t} *){O}.data)[{k}] = {e.scalar(v, t)};")


@register(Alloc, literal_inputs=lambda node: scalar_constants(node) - {0})
def lower_alloc(e):
    node = e.node
    value, dims = node.inputs[0], node.inputs[1:]
    nd = len(dims)
    e.emit(f"int64_t sh[SG_MAXD + 1] = {{{', '.join(e.scalar(v) for v in dims) or '0'}}};",
           e.try_(f"sg_alloc_fill(c, {e.index}, {e.buf(0)}, &{e.out(0)}, {nd}, sh, &{e.inp(0)}, "
                  f"{value.ndim}, {e.isz(value)})"))


@register(Join)
def lower_join(e):
    node = e.node
    n = len(node.inputs)
    ins = ", ".join(f"&{e.inp(k)}" for k in range(n))
    e.emit(f"sg_val *ins[] = {{{ins}}};",
           e.try_(f"sg_join(c, {e.index}, {e.buf(0)}, &{e.out(0)}, {node.outputs[0].ndim}, {e.op.axis}, "
                  f"{n}, ins, {e.isz(node.outputs[0])})"))


@register(Arange, literal_inputs=scalar_constants)
def lower_arange(e):
    node = e.node
    out = node.outputs[0]
    t = e.ctype(out)
    integral = all(not is_float(v.dtype) for v in node.inputs)
    O = e.out(0)
    if integral:
        st, sp, ss = (e.scalar(v, "int64_t") for v in node.inputs)
        e.emit(f"int64_t start = {st}, stop = {sp}, step = {ss};",
               f"if (step == 0) {{ {e.fail('value', c_string('@arange: step must not be zero'))} }}",
               "int64_t n = (int64_t)ceil((double)(stop - start) / (double)step);",
               "int64_t first = start, second = start + step;")
    else:
        st, sp, ss = (e.scalar(v, "double") for v in node.inputs)
        e.emit(f"double start = {st}, stop = {sp}, step = {ss};",
               f"if (step == 0) {{ {e.fail('value', c_string('@arange: step must not be zero'))} }}",
               "double len = ceil((stop - start) / step);",
               f"if (len != len) {{ {e.fail('value', c_string('arange: cannot compute length'))} }}",
               "int64_t n = len > 0 ? (int64_t)len : 0;",
               "double first = start, second = start + step;")
    e.emit("if (n < 0) n = 0;",
           "int64_t sh[1] = {n};",
           e.try_(f"sg_alloc(c, {e.index}, {e.buf(0)}, &{O}, 1, sh, {e.isz(out)})"),
           f"{t} *o = ({t} *){O}.data;",
           f"{t} b0 = ({t})first, delta = ({t})(({t})second - b0);",
           "if (n > 0) o[0] = b0;",
           "if (n > 1) o[1] = (" + t + ")second;",
           f"for (int64_t i = 2; i < n; i++) o[i] = ({t})(b0 + ({t})i * delta);")
