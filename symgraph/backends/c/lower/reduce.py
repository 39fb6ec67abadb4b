"""C lowerings of the reduce family: CAReduce (sum, prod, max, min over axes) and Argmax.

A CAReduce node renders three small kernels (``r<i>_init``, ``_inner`` over one reduced
run, ``_acc`` folding a run into the output) that the runtime driver ``sg_reduce`` calls
over the collapsed iteration space; a float32 sum accumulates in double.
"""
from __future__ import annotations

import numpy as np

from ....ops.reduce import Argmax, CAReduce
from ..lowering import c_string, register
from ..render import is_float
from .elemwise import PAR_MIN_CHEAP


def _reduce_ok(node):
    return node.inputs[0].ndim <= 8


def _identity(op, dtype, d):
    if op == "add":
        return d.literal(0, dtype)
    if op == "mul":
        return d.literal(1, dtype)
    if dtype == "bool":
        return "0" if op == "max" else "1"
    if is_float(dtype):
        return d.literal(-np.inf if op == "max" else np.inf, dtype)
    info = np.iinfo(dtype)
    return d.literal(info.min if op == "max" else info.max, dtype)


def _combine(op, a, b):
    """Expression folding element b into accumulator a."""
    if op == "add":
        return f"{a} + {b}"
    if op == "mul":
        return f"{a} * {b}"
    cmp = ">" if op == "max" else "<"
    return f"((({b} {cmp} {a}) | ({b} != {b})) ? {b} : {a})"


@register(CAReduce, check=_reduce_ok)
def lower_careduce(e):
    node, d, op = e.node, e.d, e.node.op.op
    x, out = node.inputs[0], node.outputs[0]
    ti, to = e.ctype(x), e.ctype(out)
    odt = out.dtype
    acc_dt = "float64" if (op == "add" and odt == "float32") else odt
    ta = d.ctype(acc_dt)
    conv = f"({ta})x[j]" if ta != ti else "x[j]"
    conv_s = f"({ta})x[j * s]" if ta != ti else "x[j * s]"
    ident = _identity(op, odt, d)
    simd = "#pragma omp simd reduction(+:acc)" if op == "add" else \
        ("#pragma omp simd reduction(*:acc)" if op == "mul" else "")
    fold = _combine(op, "acc", "v")
    norm = (lambda s: f"({s} != 0)") if odt == "bool" else (lambda s: s)
    name = e.name("r")
    e.kernel(
        f"static void {name}_init(int64_t n, char *out) {{ {to} *o = ({to} *)out; "
        f"for (int64_t j = 0; j < n; j++) o[j] = {ident}; }}\n"
        f"static void {name}_inner(int64_t n, const char *in, int64_t s, char *out) {{\n"
        f"    const {ti} *x = (const {ti} *)in; {ta} acc = {_identity(op, acc_dt, d)};\n"
        f"    if (s == 1) {{\n        {simd}\n        for (int64_t j = 0; j < n; j++) {{ {ta} v = {conv}; "
        f"acc = {fold}; }}\n    }} else {{\n"
        f"        for (int64_t j = 0; j < n; j++) {{ {ta} v = {conv_s}; acc = {fold}; }}\n    }}\n"
        f"    {to} *o = ({to} *)out; {ta} v = acc, a0 = *o; (void)a0;\n"
        f"    *o = ({to})({norm(_combine(op, 'a0', 'v'))});\n}}\n"
        f"static void {name}_acc(int64_t n, const char *in, int64_t s, char *out, int64_t so) {{\n"
        f"    const {ti} *x = (const {ti} *)in; {to} *o = ({to} *)out;\n"
        f"    if (s == 1 && so == 1) {{\n"
        f"        for (int64_t j = 0; j < n; j++) {{ {to} v = ({to})x[j], a = o[j]; "
        f"o[j] = {norm(_combine(op, 'a', 'v'))}; }}\n    }} else {{\n"
        f"        for (int64_t j = 0; j < n; j++) {{ {to} v = ({to})x[j * s], a = o[j * so]; "
        f"o[j * so] = {norm(_combine(op, 'a', 'v'))}; }}\n    }}\n}}")
    axes = sum(1 << a for a in node.op.axis)
    minmax = int(op in ("max", "min"))
    e.emit(f"const sg_red_t R = {{{e.index}, {x.ndim}, {e.buf(0)}, {minmax}, {axes}u, {e.isz(x)}, {e.isz(out)}, "
           f"{name}_init, {name}_inner, {name}_acc, {PAR_MIN_CHEAP}}};",
           e.try_(f"sg_reduce(c, &R, &{e.inp(0)}, &{e.out(0)})"))


@register(Argmax, check=_reduce_ok, workspace=1)
def lower_argmax(e):
    node = e.node
    x = node.inputs[0]
    t = e.ctype(x)
    cmp = ">" if node.op.op == "max" else "<"
    name = e.name("a")
    e.kernel(f"static int64_t {name}(int64_t n, const {t} *x, int64_t s) {{\n"
             f"    {t} best = x[0]; int64_t bi = 0;\n    if (best != best) return 0;\n"
             f"    for (int64_t j = 1; j < n; j++) {{\n        {t} v = x[j * s];\n"
             f"        if (v {cmp} best || v != v) {{ best = v; bi = j; if (v != v) break; }}\n    }}\n"
             f"    return bi;\n}}")
    nd, X, O = x.ndim, e.inp(0), e.out(0)
    msg = c_string(f"attempt to take arg{node.op.op} of an empty dimension (input shape ") + ' "%s)"'
    axis = node.op.axis
    if axis is None:
        e.emit(f"int64_t n = sg_size({nd}, {X}.shape);",
               f"if (n == 0) {{ char s[200]; {e.fail('value', msg, f'sg_shp(s, {nd}, {X}.shape)')} }}",
               e.try_(f"sg_alloc(c, {e.index}, {e.buf(0)}, &{O}, 0, NULL, 8)"),
               f"sg_val src = {X};",
               f"if (!sg_is_contig({nd}, src.shape, src.strides)) {{",
               f"    {e.try_(f'sg_alloc(c, {e.index}, {e.ws(0)}, &src, {nd}, {X}.shape, {e.isz(x)})')}",
               f"    uint32_t bm[2] = {{0, 0}}; sg_copy({nd}, {X}.shape, &src, &{X}, bm, {e.isz(x)});",
               "}",
               f"*(int64_t *){O}.data = {name}(n, (const {t} *)src.data, 1);")
        return
    keep = [dd for dd in range(nd) if dd != axis]
    e.emit(f"if ({X}.shape[{axis}] == 0) {{ char s[200]; {e.fail('value', msg, f'sg_shp(s, {nd}, {X}.shape)')} }}",
           "int64_t sh[SG_MAXD + 1];",
           "sg_val xr;",
           *[f"sh[{k}] = {X}.shape[{dd}]; xr.strides[{k}] = {X}.strides[{dd}];" for k, dd in enumerate(keep)],
           e.try_(f"sg_alloc(c, {e.index}, {e.buf(0)}, &{O}, {nd - 1}, sh, 8)"),
           f"int64_t total = sg_size({nd - 1}, sh), n = {X}.shape[{axis}], sk = {X}.strides[{axis}];",
           "if (total == 0) return 0;",
           f"sg_val *ops[2] = {{&{O}, &xr}};",
           "sg_iter it; int64_t idx[SG_MAXD], off[2];",
           f"sg_iter_init(&it, {nd - 1}, sh, 2, ops, NULL); sg_iter_collapse(&it); sg_iter_seek(&it, 0, idx, off);",
           "int L = it.nd - 1;",
           "for (int64_t r = 0; r < total / it.shape[L]; r++) {",
           "    for (int64_t j = 0; j < it.shape[L]; j++)",
           f"        ((int64_t *){O}.data)[off[0] + j * it.st[0][L]] = "
           f"{name}(n, (const {t} *){X}.data + off[1] + j * it.st[1][L], sk);",
           "    sg_iter_next(&it, idx, off);",
           "}")
