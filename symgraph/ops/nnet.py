"""Neural-network ops and ``T.nnet`` functions: the softmax family (Softmax, LogSoftmax,
SoftmaxGrad, the fused softmax cross-entropy), activations (built from elementwise ops so that
fusion merges them with their neighbours) and losses.

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
from . import scalar as ps
from .elemwise import (DimShuffle, Elemwise, as_tensor, as_tensor_variable, clip, exp, expm1, gt, log,
                       maximum, switch, tanh, zeros_like, _elem)
from .reduce import sum
from .shape import arange
from .type import TensorType, FLOAT_DTYPES, INT_DTYPES


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
        (gz,), (out,) = output_grads, outputs
        return [gz - exp(out) * sum(gz, axis=-1, keepdims=True)]

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
        dy, sm = inputs
        (g,) = output_grads
        s = sum(dy * sm, axis=-1, keepdims=True)
        t = sum(g * sm, axis=-1, keepdims=True)
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
        g, sm, y = inputs
        (gdz,) = output_grads
        g_g = sum(gdz * sm, axis=1) - gdz[arange(sm.shape[0]), y]
        g_sm = gdz * g.dimshuffle(0, "x")
        return [g_g, g_sm, None]

    def infer_shape(self, node, shapes):
        return [shapes[1]]


softmax_cross_entropy = SoftmaxCrossEntropy()
softmax_cross_entropy_grad = SoftmaxCrossEntropyGrad()


# ---------------------------------------------------------------- activations and losses (T.nnet.*)

def _number(v):
    """NumPy scalars as Python numbers, so they take the dtype of the tensor they meet."""
    return v.item() if isinstance(v, np.generic) else v


def sigmoid(x):
    """``sigmoid(x)``: the logistic function 1 / (1 + exp(-x)).

    >>> y = T.nnet.sigmoid(T.dvector('x'))
    """
    return _elem(ps.sigmoid, x)


def softplus(x):
    """``softplus(x)``: log(1 + exp(x)), computed stably for large |x|.

    >>> y = T.nnet.softplus(T.dvector('x'))
    """
    return _elem(ps.softplus, x)


def ultra_fast_sigmoid(x):
    """``ultra_fast_sigmoid(x)``: Theano's fast approximate sigmoid.

    Here it is the exact sigmoid (max error 0, so the gradient is exact too);
    the C backend may lower it to a fast approximation.

    >>> y = T.nnet.ultra_fast_sigmoid(T.dvector('x'))
    """
    return sigmoid(x)


def hard_sigmoid(x):
    """``hard_sigmoid(x)``: the piecewise-linear ``clip(0.2 * x + 0.5, 0, 1)``.

    >>> y = T.nnet.hard_sigmoid(T.dvector('x'))
    """
    return clip(0.2 * as_tensor_variable(x) + 0.5, 0.0, 1.0)


def relu(x, alpha=0):
    """``relu(x, alpha=0)``: ``max(x, 0)``, or the leaky ``x if x > 0 else alpha * x``.

    ``alpha`` may be a number or a symbolic scalar.

    >>> y = T.nnet.relu(T.dmatrix('x'), alpha=0.1)
    """
    x = as_tensor_variable(x)
    alpha = _number(alpha)
    if isinstance(alpha, (int, float)) and alpha == 0:
        return maximum(x, 0)
    return switch(gt(x, 0), x, alpha * x)


def elu(x, alpha=1):
    """``elu(x, alpha=1)``: ``x if x > 0 else alpha * (exp(x) - 1)``.

    >>> y = T.nnet.elu(T.dvector('x'))
    """
    x = as_tensor_variable(x)
    return switch(gt(x, 0), x, _number(alpha) * expm1(x))


def selu(x):
    """``selu(x)``: scaled ELU with the self-normalising constants of Klambauer et al.

    >>> y = T.nnet.selu(T.dvector('x'))
    """
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946
    return scale * elu(x, alpha)


def softsign(x):
    """``softsign(x)``: ``x / (1 + |x|)``.

    >>> y = T.nnet.softsign(T.dvector('x'))
    """
    x = as_tensor_variable(x)
    return x / (1.0 + abs(x))


def softmax(c):
    """``softmax(c)``: softmax over the last axis (each row of a matrix; a vector as a whole).

    >>> p = T.nnet.softmax(T.dot(x, W) + b)          # rows sum to 1
    """
    return softmax_op(c)


def manual_softmax_input(num, den):
    """x when ``num / den`` is a hand-written softmax over the last axis, ``exp(x) /
    exp(x).sum(axis=-1, keepdims=True)`` (or of ``exp(x - x.max(-1, keepdims=True))``), else None.
    ``/`` then builds ``softmax(x)``, so values and gradients stay finite at large |x|."""
    e = getattr(num, "owner", None)
    if e is None or not isinstance(e.op, Elemwise) or e.op.scalar_op != ps.exp or den.owner is None:
        return None
    x = e.inputs[0]
    if x.ndim < 1 or not num.type.is_float:
        return None
    ds = den.owner
    if not isinstance(ds.op, DimShuffle) or ds.op.new_order != tuple(range(x.ndim - 1)) + ("x",):
        return None
    red = ds.inputs[0].owner
    if red is None or getattr(red.op, "op", None) != "add" or getattr(red.op, "axis", None) != (x.ndim - 1,) \
            or getattr(red.op, "dtype", None) not in (None, num.dtype):
        return None
    summed = red.inputs[0].owner       # the same exp(x) (or a second exp node of the same x)
    if summed is None or not (red.inputs[0] is num or (summed.op == e.op and summed.inputs[0] is x)):
        return None
    sub = x.owner                      # x - x.max(-1, keepdims=True): softmax shifts by itself
    if sub is not None and isinstance(sub.op, Elemwise) and sub.op.scalar_op == ps.sub:
        m = sub.inputs[1].owner
        mx = m.inputs[0].owner if m is not None and isinstance(m.op, DimShuffle) else None
        if mx is not None and getattr(mx.op, "op", None) == "max" and mx.op.axis == (x.ndim - 1,) \
                and mx.inputs[0] is sub.inputs[0] and m.op.new_order == ds.op.new_order:
            return sub.inputs[0]
    return x


def log_softmax(c):
    """``log_softmax(c)`` (also ``logsoftmax``): ``log(softmax(c))`` computed stably.

    >>> lp = T.nnet.log_softmax(T.dmatrix('z'))
    """
    return log_softmax_op(c)


logsoftmax = log_softmax


def softmax_with_bias(x, b):
    """``softmax_with_bias(x, b)``: ``softmax(x + b)`` with ``b`` broadcast over the rows.

    >>> p = T.nnet.softmax_with_bias(T.dmatrix('x'), T.dvector('b'))
    """
    return softmax(as_tensor_variable(x) + b)


def crossentropy_softmax_1hot(x, y_idx):
    """``crossentropy_softmax_1hot(x, y_idx) -> (nll, sm)``: the fused op, by hand.

    ``nll[i] = -log(softmax(x)[i, y_idx[i]])`` (stable for any logits), ``sm = softmax(x)``.

    >>> nll, sm = T.nnet.crossentropy_softmax_1hot(T.dmatrix('z'), T.ivector('y'))
    """
    return softmax_cross_entropy(x, y_idx)


def binary_crossentropy(output, target):
    """``binary_crossentropy(output, target)``: ``-(t * log(o) + (1 - t) * log(1 - o))``.

    >>> loss = T.nnet.binary_crossentropy(T.nnet.sigmoid(z), t).mean()
    """
    output, target = as_tensor_variable(output), as_tensor_variable(target)
    owner = output.owner
    if owner is not None and isinstance(owner.op, Elemwise) and owner.op.scalar_op == ps.sigmoid:
        # of a sigmoid: from the logits, finite in value and gradient at any |z|, in every mode
        return sigmoid_binary_crossentropy(owner.inputs[0], target)
    return -(target * log(output) + (1.0 - target) * log(1.0 - output))


def sigmoid_binary_crossentropy(output, target):
    """``sigmoid_binary_crossentropy(output, target)``: ``binary_crossentropy(sigmoid(output),
    target)`` computed stably from the logits, ``t * softplus(-o) + (1 - t) * softplus(o)``.

    >>> loss = T.nnet.sigmoid_binary_crossentropy(logits, t).mean()
    """
    output, target = as_tensor_variable(output), as_tensor_variable(target)
    return target * softplus(-output) + (1.0 - target) * softplus(output)


def crossentropy_categorical_1hot(coding_dist, true_one_of_n):
    """``crossentropy_categorical_1hot(coding_dist, true_one_of_n)``:
    ``-log(coding_dist[arange(n), true_one_of_n])`` for a matrix of probabilities and
    int class indices (the stabilising rewrite fuses it with a softmax).

    >>> nll = T.nnet.crossentropy_categorical_1hot(T.nnet.softmax(z), y)
    """
    coding_dist, y = as_tensor_variable(coding_dist), as_tensor_variable(true_one_of_n)
    if coding_dist.ndim != 2 or y.ndim != 1 or y.dtype not in INT_DTYPES:
        raise TypeError(f"crossentropy_categorical_1hot: needs a matrix of probabilities and an "
                        f"integer vector, got {coding_dist.type} and {y.type}")
    return -log(coding_dist[arange(y.shape[0]), y])


def categorical_crossentropy(coding_dist, true_dist):
    """``categorical_crossentropy(coding_dist, true_dist)``: per-row cross-entropy.

    ``true_dist`` is either a distribution with the shape of ``coding_dist``
    (one-hot rows: ``-sum(true_dist * log(coding_dist), axis=-1)``) or an int
    vector of class indices (``-log(coding_dist[arange(n), true_dist])``; a
    rewrite turns it into the stable fused op when coding_dist is a softmax).

    >>> cost = T.mean(T.nnet.categorical_crossentropy(T.nnet.softmax(z), y))
    """
    coding_dist, true_dist = as_tensor_variable(coding_dist), as_tensor_variable(true_dist)
    if true_dist.ndim == coding_dist.ndim:
        return -sum(true_dist * log(coding_dist), axis=coding_dist.ndim - 1)
    if true_dist.ndim == coding_dist.ndim - 1:
        return crossentropy_categorical_1hot(coding_dist, true_dist)
    raise TypeError(f"categorical_crossentropy: rank mismatch between coding_dist "
                    f"{coding_dist.type} and true_dist {true_dist.type}")


__all__ = ["sigmoid", "softplus", "ultra_fast_sigmoid", "hard_sigmoid", "relu", "elu", "selu",
           "softsign", "softmax", "log_softmax", "logsoftmax", "softmax_with_bias",
           "crossentropy_softmax_1hot", "binary_crossentropy", "sigmoid_binary_crossentropy",
           "crossentropy_categorical_1hot", "categorical_crossentropy", "tanh",
           "Softmax", "LogSoftmax", "SoftmaxGrad", "SoftmaxCrossEntropy",
           "SoftmaxCrossEntropyGrad", "softmax_op", "log_softmax_op", "softmax_grad",
           "softmax_cross_entropy", "softmax_cross_entropy_grad", "is_zeros"]
