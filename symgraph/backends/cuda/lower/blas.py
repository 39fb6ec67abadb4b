"""``Dot`` on the GPU: every vector/matrix case is one cuBLAS gemm (a vector is a 1-row or
1-column matrix view, so no copies are made)."""
from __future__ import annotations

from ....ops.blas import Dot
from ..lowering import DEVICE, Step, register
from .. import cublas
from ..memory import DeviceArray


def _as_matrix(v, row):
    """A 1-d DeviceArray as a (1, n) (``row``) or (n, 1) matrix view."""
    (n,), (s,) = v.shape, v.strides
    if row:
        return v.view((1, n), (n * v.itemsize, s))
    return v.view((n, 1), (s, v.itemsize))


@register(Dot)
def lower_dot(node, ctx):
    a, b = node.inputs
    dtype = node.outputs[0].dtype
    if dtype not in ("float32", "float64") or not any(ctx.place(v) == DEVICE for v in (a, b)):
        return None

    def run(ins):
        av, bv = ins
        ka, kb = av.shape[-1], bv.shape[0]
        if ka != kb:
            raise ValueError(f"dot: shapes {av.shape} and {bv.shape} are not aligned ({ka} != {kb})")
        am = av if av.ndim == 2 else _as_matrix(av, row=True)
        bm = bv if bv.ndim == 2 else _as_matrix(bv, row=False)
        oshape = av.shape[:-1] + bv.shape[1:]
        out = DeviceArray(oshape, dtype)
        cublas.gemm(am, bm, out.view((am.shape[0], bm.shape[1]),
                                     (bm.shape[1] * out.itemsize, out.itemsize)))
        return [out]

    return Step(run, [DEVICE, DEVICE], [DEVICE])
