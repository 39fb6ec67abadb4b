"""C lowerings of the pool family: pooling and its gradients (``src/nnet.c``), typed by the
node's float dtype.
"""
from __future__ import annotations

from ....ops import pool
from ..lowering import SFX, register, same_float


_POOL_MODES = {"max": 0, "sum": 1, "average_inc_pad": 2, "average_exc_pad": 3}


def _pool_params(e):
    op = e.op
    (wh, ww), (sh, sw), (ph, pw) = op.ws, op.stride, op.pad
    return e.static("sg_pool_t", [f"{{{e.index}, {_POOL_MODES[op.mode]}, {int(op.ignore_border)}, "
                                  f"{wh}, {ww}, {sh}, {sw}, {ph}, {pw}}}"], "P")


@register(pool.Pool, check=same_float)
def lower_pool(e):
    x = e.node.inputs[0]
    e.emit(e.try_(f"sg_pool_{SFX[x.dtype]}(c, {_pool_params(e)}, {e.buf(0)}, &{e.inp(0)}, {x.ndim}, "
                  f"&{e.out(0)})"))


def _pool_grad_ok(node):
    return same_float(node) and len({v.ndim for v in node.inputs}) == 1


@register(pool.MaxPoolGrad, pool.MaxPoolGradGrad, pool.AveragePoolGrad, check=_pool_grad_ok)
def lower_pool_grad(e):
    x = e.node.inputs[0]
    if isinstance(e.op, pool.AveragePoolGrad):
        kind, m, g = 1, "NULL", f"&{e.inp(1)}"
    else:
        kind, m, g = (0 if isinstance(e.op, pool.MaxPoolGrad) else 2), f"&{e.inp(1)}", f"&{e.inp(2)}"
    e.emit(e.try_(f"sg_pool_grad_{SFX[x.dtype]}(c, {_pool_params(e)}, {kind}, {e.buf(0)}, &{e.inp(0)}, "
                  f"{m}, {g}, {x.ndim}, &{e.out(0)})"))
