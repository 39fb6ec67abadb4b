"""C lowerings of the nnet family: the softmax family and softmax cross-entropy. Each node is
one call into the runtime library (``src/nnet.c``), typed by the node's float dtype.
"""
from __future__ import annotations

from ....ops import nnet
from ....ops.type import INT_DTYPES
from ..lowering import SFX, register, same_float


def _itype(var):
    dt = var.type.numpy_dtype
    return dt.itemsize if dt.kind == "i" else -dt.itemsize


@register(nnet.Softmax, nnet.LogSoftmax, check=same_float)
def lower_softmax(e):
    x = e.node.inputs[0]
    logsm = int(isinstance(e.op, nnet.LogSoftmax))
    e.emit(e.try_(f"sg_softmax_{SFX[x.dtype]}(c, {e.index}, {e.buf(0)}, &{e.inp(0)}, {x.ndim}, "
                  f"&{e.out(0)}, {logsm})"))


@register(nnet.SoftmaxGrad, check=same_float)
def lower_softmax_grad(e):
    sm = e.node.inputs[1]
    e.emit(e.try_(f"sg_softmax_grad_{SFX[sm.dtype]}(c, {e.index}, {e.buf(0)}, &{e.inp(0)}, &{e.inp(1)}, "
                  f"{sm.ndim}, &{e.out(0)})"))


def _classes_ok(node, y_index, floats):
    return node.inputs[y_index].dtype in INT_DTYPES and same_float(node, floats)


@register(nnet.SoftmaxCrossEntropy, check=lambda n: _classes_ok(n, 1, [0]))
def lower_xent(e):
    z, y = e.node.inputs
    e.emit(e.try_(f"sg_xent_{SFX[z.dtype]}(c, {e.index}, {e.buf(0)}, {e.buf(1)}, &{e.inp(0)}, &{e.inp(1)}, "
                  f"{_itype(y)}, &{e.out(0)}, &{e.out(1)})"))


@register(nnet.SoftmaxCrossEntropyGrad, check=lambda n: _classes_ok(n, 2, [0, 1]))
def lower_xent_grad(e):
    g, sm, y = e.node.inputs
    e.emit(e.try_(f"sg_xent_grad_{SFX[sm.dtype]}(c, {e.index}, {e.buf(0)}, &{e.inp(0)}, &{e.inp(1)}, "
                  f"&{e.inp(2)}, {_itype(y)}, &{e.out(0)})"))
