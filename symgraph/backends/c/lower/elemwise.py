"""C lowerings of the elemwise family: Elemwise (fused Composites included), DimShuffle.

An Elemwise node becomes one kernel ``k<i>(n, p)``: a contiguous loop over
``n`` elements with ``restrict`` pointers, inputs broadcast along the last
dimension hoisted out as scalars. The runtime driver ``sg_elemwise`` checks
shapes, allocates (or reuses, in place) the outputs, collapses dimensions,
splits the work over OpenMP threads when it is large, and gathers strided rows
into blocks for the same kernel, so each node's code stays a few lines.
"""
from __future__ import annotations

import numpy as np

from ....graph import Constant
from ....ops.elemwise import DimShuffle, Elemwise
from ..lowering import MAXOPS, register
from ..render import CDialect, ElemwiseBody

PAR_MIN_CHEAP = 1 << 16     # elements before an elementwise loop uses threads
PAR_MIN_MATH = 1 << 13      # ... when the body calls libm


def _literal_inputs(node):
    """Inputs that are constants of one element: rendered inline, never loaded."""
    return {k for k, v in enumerate(node.inputs)
            if isinstance(v, Constant) and all(v.type.broadcastable) and np.size(v.data) == 1}


def _elemwise_ok(node):
    op = node.op
    n_ops = len(node.inputs) - len(_literal_inputs(node)) + len(node.outputs)
    if n_ops > MAXOPS or len(node.outputs) != op.scalar_op.nout:
        return False
    body = ElemwiseBody(CDialect(), op.scalar_op, ["x"] * len(node.inputs), [v.dtype for v in node.inputs])
    return body.ok


@register(Elemwise, check=_elemwise_ok, literal_inputs=_literal_inputs)
def lower_elemwise(e):
    node, d = e.node, e.d
    nd = node.outputs[0].ndim
    lits = _literal_inputs(node)
    operands = [k for k in range(len(node.inputs)) if k not in lits]
    pos = {k: n for n, k in enumerate(operands)}
    nin = len(operands)
    inplace = {j: e.inplace(j) for j in range(len(node.outputs))}
    aliased = {k for k in inplace.values() if k is not None}
    decls, args = [], []
    inner_bcast = [0] * nin
    for k, v in enumerate(node.inputs):
        t = e.ctype(v)
        if k in lits:
            args.append(d.literal(np.asarray(v.data).item(), v.dtype))
            continue
        n = pos[k]
        if nd == 0 or v.broadcastable[-1]:
            inner_bcast[n] = 1
            decls.append(f"const {t} b{n} = *(const {t} *)p[{n}];")
            args.append(f"b{n}")
        else:
            r = "" if k in aliased else f" {d.restrict}"
            decls.append(f"const {t} *{r} i{n} = (const {t} *)p[{n}];")
            args.append(f"x{n}")
    body = ElemwiseBody(d, node.op.scalar_op, args, [v.dtype for v in node.inputs])
    e.math |= body.math
    loads = [f"const {e.ctype(node.inputs[k])} x{pos[k]} = i{pos[k]}[j];" for k in operands
             if not inner_bcast[pos[k]]]
    stores = []
    for j, (out, expr) in enumerate(zip(node.outputs, body.outputs)):
        t = e.ctype(out)
        r = "" if inplace[j] is not None else f" {d.restrict}"
        decls.append(f"{t} *{r} o{j} = ({t} *)p[{nin + j}];")
        stores.append(f"o{j}[j] = {expr};")
    name = e.name("k")
    inner = "\n        ".join(loads + body.stmts + stores)
    e.kernel(f"static void {name}(int64_t n, char **p, int *kerr) {{\n    (void)kerr;\n    " + "\n    ".join(decls) +
             f"\n    #pragma omp simd\n    for (int64_t j = 0; j < n; j++) {{\n        {inner}\n    }}\n}}")
    bmask = [sum(1 << dd for dd, b in enumerate(node.inputs[k].broadcastable) if b) for k in operands]
    isz = [e.isz(node.inputs[k]) for k in operands] + [e.isz(o) for o in node.outputs]
    bufs = [(-1 - pos[inplace[j]]) if inplace[j] is not None else e.buf(j) for j in range(len(node.outputs))]
    bm = e.static("uint32_t", bmask)
    sz = e.static("int8_t", isz)
    bf = e.static("int32_t", bufs)
    ib = e.static("uint8_t", inner_bcast) if any(inner_bcast) else "NULL"
    par = PAR_MIN_MATH if body.math else PAR_MIN_CHEAP
    ops = ", ".join([f"&{e.inp(k)}" for k in operands] + [f"&{e.out(j)}" for j in range(len(node.outputs))])
    err = '"Integers to negative integer powers are not allowed."' if "sg_ipow_chk" in inner else "NULL"
    e.emit(f"const sg_ew_t E = {{{e.index}, {nd}, {nin}, {len(node.outputs)}, {bm}, {sz}, {bf}, "
           f"{ib}, {par}, {name}, {err}}};",
           f"sg_val *ops[] = {{{ops}}};",
           e.try_("sg_elemwise(c, &E, ops)"))


@register(DimShuffle)
def lower_dimshuffle(e):
    X, O = e.inp(0), e.out(0)
    e.emit(f"{O}.data = {X}.data;")
    for k, src in enumerate(e.op.new_order):
        if src == "x":
            e.emit(f"{O}.shape[{k}] = 1; {O}.strides[{k}] = 0;")
        else:
            e.emit(f"{O}.shape[{k}] = {X}.shape[{src}]; {O}.strides[{k}] = {X}.strides[{src}];")
