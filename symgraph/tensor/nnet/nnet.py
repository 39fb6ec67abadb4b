"""Activations, softmax and losses of ``T.nnet`` (Theano 1.0 names and semantics).

Activations are built from elementwise ops so that fusion can merge them with
their neighbours; softmax and the fused cross-entropy are ops of
``symgraph.ops.nnet``.
"""
from __future__ import annotations

import numpy as np

from ...ops import scalar as _ps
from ...ops import nnet as _nnet
from .. import basic as T
from ..basic import _elem, as_tensor_variable
from ..type import INT_DTYPES


def _number(v):
    """NumPy scalars as Python numbers, so they take the dtype of the tensor they meet."""
    return v.item() if isinstance(v, np.generic) else v


def sigmoid(x):
    """``sigmoid(x)``: the logistic function 1 / (1 + exp(-x)).

    >>> y = T.nnet.sigmoid(T.dvector('x'))
    """
    return _elem(_ps.sigmoid, x)


def softplus(x):
    """``softplus(x)``: log(1 + exp(x)), computed stably for large |x|.

    >>> y = T.nnet.softplus(T.dvector('x'))
    """
    return _elem(_ps.softplus, x)


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
    return T.clip(0.2 * as_tensor_variable(x) + 0.5, 0.0, 1.0)


def relu(x, alpha=0):
    """``relu(x, alpha=0)``: ``max(x, 0)``, or the leaky ``x if x > 0 else alpha * x``.

    ``alpha`` may be a number or a symbolic scalar.

    >>> y = T.nnet.relu(T.dmatrix('x'), alpha=0.1)
    """
    x = as_tensor_variable(x)
    alpha = _number(alpha)
    if isinstance(alpha, (int, float)) and alpha == 0:
        return T.maximum(x, 0)
    return T.switch(T.gt(x, 0), x, alpha * x)


def elu(x, alpha=1):
    """``elu(x, alpha=1)``: ``x if x > 0 else alpha * (exp(x) - 1)``.

    >>> y = T.nnet.elu(T.dvector('x'))
    """
    x = as_tensor_variable(x)
    return T.switch(T.gt(x, 0), x, _number(alpha) * T.expm1(x))


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
    return _nnet.softmax_op(c)


def log_softmax(c):
    """``log_softmax(c)`` (also ``logsoftmax``): ``log(softmax(c))`` computed stably.

    >>> lp = T.nnet.log_softmax(T.dmatrix('z'))
    """
    return _nnet.log_softmax_op(c)


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
    return _nnet.softmax_cross_entropy(x, y_idx)


def binary_crossentropy(output, target):
    """``binary_crossentropy(output, target)``: ``-(t * log(o) + (1 - t) * log(1 - o))``.

    >>> loss = T.nnet.binary_crossentropy(T.nnet.sigmoid(z), t).mean()
    """
    output, target = as_tensor_variable(output), as_tensor_variable(target)
    return -(target * T.log(output) + (1.0 - target) * T.log(1.0 - output))


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
    return -T.log(coding_dist[T.arange(y.shape[0]), y])


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
        return -T.sum(true_dist * T.log(coding_dist), axis=coding_dist.ndim - 1)
    if true_dist.ndim == coding_dist.ndim - 1:
        return crossentropy_categorical_1hot(coding_dist, true_dist)
    raise TypeError(f"categorical_crossentropy: rank mismatch between coding_dist "
                    f"{coding_dist.type} and true_dist {true_dist.type}")


tanh = T.tanh

__all__ = ["sigmoid", "softplus", "ultra_fast_sigmoid", "hard_sigmoid", "relu", "elu", "selu",
           "softsign", "softmax", "log_softmax", "logsoftmax", "softmax_with_bias",
           "crossentropy_softmax_1hot", "binary_crossentropy", "sigmoid_binary_crossentropy",
           "crossentropy_categorical_1hot", "categorical_crossentropy", "tanh"]
