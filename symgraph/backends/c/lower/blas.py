"""C lowering of Dot: OpenBLAS gemm/gemv/dot for float32/float64, a plain loop otherwise."""
from __future__ import annotations

from ....ops.blas import Dot
from ..lowering import c_string, register


def _is_blas(node):
    return node.outputs[0].dtype in ("float32", "float64")


@register(Dot, workspace=2)
def lower_dot(e):
    node = e.node
    a, b = node.inputs
    out = node.outputs[0]
    A, B, O = e.inp(0), e.inp(1), e.out(0)
    ka = f"{A}.shape[{a.ndim - 1}]"
    kb = f"{B}.shape[0]"
    msg = c_string("@dot: shapes ") + ' "%s and %s are not aligned (%lld != %lld)"'
    e.emit(f"if ({ka} != {kb}) {{",
           f"    char s1[200], s2[200]; {e.fail('value', msg, f'sg_shp(s1, {a.ndim}, {A}.shape)', f'sg_shp(s2, {b.ndim}, {B}.shape)', f'(long long){ka}', f'(long long){kb}')}",
           "}")
    dims = ([f"{A}.shape[0]"] if a.ndim == 2 else []) + ([f"{B}.shape[1]"] if b.ndim == 2 else [])
    e.emit(f"int64_t sh[SG_MAXD] = {{{', '.join(dims) or '0'}}};",
           e.try_(f"sg_alloc(c, {e.index}, {e.buf(0)}, &{O}, {out.ndim}, sh, {e.isz(out)})"))
    if _is_blas(node):
        dbl = int(out.dtype == "float64")
        w0, w1 = e.ws(0), e.ws(1)
        if a.ndim == 2 and b.ndim == 2:
            call = f"sg_gemm(c, {e.index}, {dbl}, &{A}, &{B}, &{O}, {w0}, {w1})"
        elif a.ndim == 2:
            call = f"sg_gemv(c, {e.index}, {dbl}, &{A}, 0, &{B}, &{O}, {w0}, {w1})"
        elif b.ndim == 2:
            call = f"sg_gemv(c, {e.index}, {dbl}, &{B}, 1, &{A}, &{O}, {w1}, {w0})"
        else:
            call = f"sg_vdot(c, {e.index}, {dbl}, &{A}, &{B}, &{O}, {w0}, {w1})"
        e.emit(e.try_(call))
        return
    # integer / bool dot: a plain loop over 2-d views of both operands
    t = e.ctype(out)
    acc = "int64_t" if out.dtype == "bool" else t
    fin = "(acc != 0)" if out.dtype == "bool" else "acc"
    e.emit("int64_t M = 1, N = 1, K, sa0 = 0, sa1, sb0, sb1 = 0;",
           f"K = {kb};",
           f"sa1 = {A}.strides[{a.ndim - 1}]; sb0 = {B}.strides[0];")
    if a.ndim == 2:
        e.emit(f"M = {A}.shape[0]; sa0 = {A}.strides[0];")
    if b.ndim == 2:
        e.emit(f"N = {B}.shape[1]; sb1 = {B}.strides[1];")
    ta, tb = e.ctype(a), e.ctype(b)
    e.emit(f"const {ta} *pa = (const {ta} *){A}.data; const {tb} *pb = (const {tb} *){B}.data;",
           f"{t} *po = ({t} *){O}.data;",
           "for (int64_t m = 0; m < M; m++)",
           "    for (int64_t n = 0; n < N; n++) {",
           f"        {acc} acc = 0;",
           "        for (int64_t k = 0; k < K; k++) acc += pa[m * sa0 + k * sa1] * pb[k * sb0 + n * sb1];",
           f"        po[m * N + n] = ({t}){fin};",
           "    }")
