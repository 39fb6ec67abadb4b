"""Softmax family: Softmax, LogSoftmax, SoftmaxGrad and the fused softmax cross-entropy.

All ``perform`` methods subtract the row maximum before exponentiating, so
logits of any magnitude give finite results, and keep the input float dtype.

``SoftmaxCrossEntropy(z, y)`` with int class indices ``y`` returns
``(loss, sm)``: ``loss[i] = -log softmax(z)[i, y[i]]`` computed as
``logsumexp(z[i]) - z[i, y[i]]``, and ``sm = softmax(z)``. It is the op the
stabilising rewrite turns ``-log(softmax(z))[arange(n), y]`` into; its
gradient is ``SoftmaxCrossEntropyGrad(g_loss, sm, y) = (sm - onehot(y)) * g_loss``.
"""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Constant, Op
from ..tensor.type import TensorType, FLOAT_DTYPES, INT_DTYPES
from .elemwise import DimShuffle, Elemwise, as_tensor
from . import scalar as ps


def _float_input(op, x, what="input", ndim=None):
    x = as_tensor(x)
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{op}: the {what} must be a float tensor, got {x.type}")
    if ndim is not None and x.ndim != ndim:
        raise TypeError(f"{op}: the {what} must be {ndim}-d, got {x.type}")
    if ndim is None and x.ndim < 1:
        raise TypeError(f"{op}: the {what} must have at least one dimension, got {x.type}")
    return x


def _int_vector(op, y):
    y = as_tensor(y)
    if y.ndim != 1 or y.dtype not in INT_DTYPES:
        raise TypeError(f"{op}: the class indices must be an integer vector, got {y.type}")
    return y


def is_zeros(g):
    """True when ``g`` is None or the ``zeros_like`` grad() passes for an output it did not reach."""
    if g is None:
        return True
    node = g.owner
    if node is None or not isinstance(node.op, Elemwise) or node.op.scalar_op is not ps.second:
        return False
    fill = node.inputs[1]
    while fill.owner is not None and isinstance(fill.owner.op, DimShuffle):
        fill = fill.owner.inputs[0]
    return isinstance(fill, Constant) and not np.any(fill.data)


def _softmax(x):
    if x.shape[-1] == 0:
        return x.copy()
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


class Softmax(Op):
    """``Softmax()(x)``: softmax over the last axis (vectors and row-wise on matrices)."""

    def make_node(self, x):
        x = _float_input(self, x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = _softmax(inputs[0])

    def L_op(self, inputs, outputs, output_grads):
        return [softmax_grad(output_grads[0], outputs[0])]

    def infer_shape(self, node, shapes):
        return shapes


class LogSoftmax(Op):
    """``LogSoftmax()(x)``: ``x - logsumexp(x)`` over the last axis, computed stably."""

    def make_node(self, x):
        x = _float_input(self, x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        if x.shape[-1] == 0:
            output_storage[0][0] = x.copy()
            return
        shifted = x - x.max(axis=-1, keepdims=True)
        shifted -= np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        output_storage[0][0] = shifted

    def L_op(self, inputs, outputs, output_grads):
        from ..tensor import basic as T
        (gz,), (out,) = output_grads, outputs
        return [gz - T.exp(out) * T.sum(gz, axis=-1, keepdims=True)]

    def infer_shape(self, node, shapes):
        return shapes


class SoftmaxGrad(Op):
    """``SoftmaxGrad()(dy, sm)``: gradient of softmax, ``(dy - sum(dy * sm)) * sm`` per row."""

    def make_node(self, dy, sm):
        dy, sm = _float_input(self, dy, "gradient"), _float_input(self, sm, "softmax")
        if dy.ndim != sm.ndim:
            raise TypeError(f"{self}: dy {dy.type} and sm {sm.type} need the same ndim")
        return Apply(self, [dy, sm], [sm.type()])

    def perform(self, node, inputs, output_storage):
        dy, sm = inputs
        if dy.shape != sm.shape:
            raise ValueError(f"{self}: dy of shape {dy.shape} does not match sm of shape {sm.shape}")
        dy_sm = dy * sm
        out = dy_sm - dy_sm.sum(axis=-1, keepdims=True) * sm
        output_storage[0][0] = np.asarray(out, dtype=node.outputs[0].dtype)

    def L_op(self, inputs, outputs, output_grads):
        from ..tensor import basic as T
        dy, sm = inputs
        (g,) = output_grads
        s = T.sum(dy * sm, axis=-1, keepdims=True)
        t = T.sum(g * sm, axis=-1, keepdims=True)
        return [softmax_grad(g, sm), g * (dy - s) - dy * t]

    def infer_shape(self, node, shapes):
        return [shapes[1]]


softmax_op = Softmax()
log_softmax_op = LogSoftmax()
softmax_grad = SoftmaxGrad()


def _check_classes(op, y, n, k):
    if y.shape != (n,):
        raise ValueError(f"{op}: expected {n} class indices (one per row of a {n}x{k} matrix), "
                         f"got shape {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= k):
        bad = y.min() if y.min() < 0 else y.max()
        raise IndexError(f"{op}: class index {int(bad)} is out of range for {k} classes")


class SoftmaxCrossEntropy(Op):
    """``SoftmaxCrossEntropy()(z, y) -> (loss, sm)``: fused softmax + negative log-likelihood.

    ``z`` is an (n, k) float matrix of logits, ``y`` an (n,) int vector of
    class indices. ``loss[i] = logsumexp(z[i]) - z[i, y[i]]``; ``sm = softmax(z)``.
    """

    def make_node(self, z, y):
        z, y = _float_input(self, z, "logits", ndim=2), _int_vector(self, y)
        loss = TensorType(z.dtype, (z.broadcastable[0],))()
        return Apply(self, [z, y], [loss, z.type()])

    def perform(self, node, inputs, output_storage):
        z, y = inputs
        n, k = z.shape
        _check_classes(self, y, n, k)
        if k == 0:
            output_storage[0][0] = np.zeros(n, dtype=z.dtype)
            output_storage[1][0] = z.copy()
            return
        shifted = z - z.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        loss = np.log(total[:, 0]) - shifted[np.arange(n), y]
        output_storage[0][0] = np.asarray(loss, dtype=z.dtype)
        output_storage[1][0] = np.asarray(e / total, dtype=z.dtype)

    def L_op(self, inputs, outputs, output_grads):
        from ..tensor.basic import zeros_like
        z, y = inputs
        _, sm = outputs
        g_loss, g_sm = output_grads
        gz = None
        if not is_zeros(g_loss):
            gz = softmax_cross_entropy_grad(g_loss, sm, y)
        if not is_zeros(g_sm):
            g = softmax_grad(g_sm, sm)
            gz = g if gz is None else gz + g
        return [zeros_like(z) if gz is None else gz, None]

    def infer_shape(self, node, shapes):
        (n, k), _ = shapes
        return [(n,), (n, k)]


class SoftmaxCrossEntropyGrad(Op):
    """``SoftmaxCrossEntropyGrad()(g_loss, sm, y)``: ``(sm - onehot(y)) * g_loss[:, None]``."""

    def make_node(self, g_loss, sm, y):
        g_loss = _float_input(self, g_loss, "loss gradient", ndim=1)
        sm = _float_input(self, sm, "softmax", ndim=2)
        y = _int_vector(self, y)
        return Apply(self, [g_loss, sm, y], [sm.type()])

    def perform(self, node, inputs, output_storage):
        g, sm, y = inputs
        n, k = sm.shape
        _check_classes(self, y, n, k)
        if g.shape != (n,):
            raise ValueError(f"{self}: loss gradient of shape {g.shape} does not match "
                             f"{n} rows")
        dz = sm * g[:, None]
        dz[np.arange(n), y] -= g
        output_storage[0][0] = np.asarray(dz, dtype=node.outputs[0].dtype)

    def L_op(self, inputs, outputs, output_grads):
        from ..tensor import basic as T
        g, sm, y = inputs
        (gdz,) = output_grads
        g_g = T.sum(gdz * sm, axis=1) - gdz[T.arange(sm.shape[0]), y]
        g_sm = gdz * g.dimshuffle(0, "x")
        return [g_g, g_sm, None]

    def infer_shape(self, node, shapes):
        return [shapes[1]]


softmax_cross_entropy = SoftmaxCrossEntropy()
softmax_cross_entropy_grad = SoftmaxCrossEntropyGrad()

__all__ = ["Softmax", "LogSoftmax", "SoftmaxGrad", "SoftmaxCrossEntropy",
           "SoftmaxCrossEntropyGrad", "softmax_op", "log_softmax_op", "softmax_grad",
           "softmax_cross_entropy", "softmax_cross_entropy_grad", "is_zeros"]
