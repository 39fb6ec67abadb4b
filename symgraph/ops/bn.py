"""Batch normalization (Theano 1.0's ``tensor.nnet.bn``) and the two-level hierarchical
softmax (``tensor.nnet.h_softmax``), as compositions of the elementwise, reduction and
product ops, so their gradients (Theano's) come from those ops' pullbacks and every
backend runs them.
"""
from __future__ import annotations

import numpy as np

from ..config import config
from . import blas, elemwise, nnet, shape
from .elemwise import as_tensor_variable


def batch_normalization(inputs, gamma, beta, mean, std, mode="low_mem"):
    """Theano's ``bn.batch_normalization``: ``(inputs - mean) * (gamma / std) + beta``,
    broadcasting as the arguments' types say. ``mode`` ('low_mem' or 'high_mem') only chose
    Theano's implementation; the result is the same."""
    if mode not in ("low_mem", "high_mem"):
        raise ValueError(f"batch_normalization: mode must be 'low_mem' or 'high_mem', got {mode!r}")
    inputs, gamma, beta, mean, std = (as_tensor_variable(v) for v in
                                      (inputs, gamma, beta, mean, std))
    return (inputs - mean) * (gamma / std) + beta


def _bn_axes(axes, ndim, what):
    if axes == "per-activation":
        axes = (0,)
    elif axes == "spatial":
        axes = (0,) + tuple(range(2, ndim))
    elif isinstance(axes, (tuple, list, np.ndarray)):
        axes = tuple(int(a) for a in axes)
    else:
        raise ValueError(f"{what}: axes must be 'per-activation', 'spatial' or a tuple of ints, "
                         f"got {axes!r}")
    if any(not 0 <= a < ndim for a in axes):
        raise ValueError(f"{what}: axes {axes} out of range for a {ndim}-d input")
    return tuple(sorted(set(axes)))


def _bn_params(what, inputs, axes, params):
    """Params broadcast to the input's ndim, and a function restoring their own ndim."""
    ndim = inputs.ndim
    kept = [a for a in range(ndim) if a not in axes]
    params = [as_tensor_variable(p) for p in params]
    pndim = params[0].ndim
    if pndim not in (ndim, len(kept)):
        raise ValueError(f"{what}: gamma has {pndim} dimensions; expected {ndim} (broadcastable "
                         f"along axes {axes}) or {len(kept)} (the axes not normalized)")
    for p in params:
        if p.ndim != pndim:
            raise ValueError(f"{what}: gamma, beta (and the statistics) must have the same "
                             f"number of dimensions, got {pndim} and {p.ndim}")
    if pndim == ndim:           # broadcastable along the axes (checked at run time)
        bc = tuple(a in axes or b for a, b in enumerate(params[0].broadcastable))
        return [elemwise.patternbroadcast(p, tuple(a in axes or b for a, b in
                                                   enumerate(p.broadcastable)))
                for p in params], lambda v: elemwise.patternbroadcast(v, bc)
    pattern = ["x"] * ndim
    for i, a in enumerate(kept):
        pattern[a] = i
    return [p.dimshuffle(pattern) for p in params], lambda v: v.dimshuffle(kept)


def _epsilon(epsilon, what):
    eps = np.asarray(epsilon, dtype=config.floatX)
    if eps < 1e-5:
        raise ValueError(f"{what}: epsilon must be at least 1e-5, got {epsilon}")
    return float(eps)


def batch_normalization_train(inputs, gamma, beta, axes="per-activation", epsilon=1e-4,
                              running_average_factor=0.1, running_mean=None, running_var=None):
    """Theano 1.0's ``bn.batch_normalization_train``.

    Normalizes over ``axes`` ('per-activation' = (0,), 'spatial' = (0, 2, 3, ...), or a
    tuple) with this batch's statistics: ``out = (x - mean) * invstd * gamma + beta``,
    ``invstd = 1 / sqrt(var + epsilon)``. Returns ``(out, mean, invstd)``, plus with
    ``running_mean``/``running_var`` given their new values ``running * (1 - factor) +
    stat * factor`` (the variance unbiased: times m / (m - 1), m the count reduced over).
    gamma, beta and the statistics have the input's ndim (broadcastable along ``axes``) or
    one dimension per axis not normalized; the returned statistics follow gamma's form.
    """
    what = "batch_normalization_train"
    inputs = as_tensor_variable(inputs)
    axes = _bn_axes(axes, inputs.ndim, what)
    eps = _epsilon(epsilon, what)
    extra = [v for v in (running_mean, running_var) if v is not None]
    if len(extra) == 1:
        raise ValueError(f"{what}: give both running_mean and running_var, or neither")
    params, restore = _bn_params(what, inputs, axes, [gamma, beta] + extra)
    gamma, beta = params[:2]
    mean = inputs.mean(axis=axes, keepdims=True)
    var = inputs.var(axis=axes, keepdims=True)
    invstd = elemwise.inv(elemwise.sqrt(var + eps))
    out = (inputs - mean) * invstd * gamma + beta
    result = [out, restore(mean), restore(invstd)]
    if extra:
        factor = running_average_factor
        count = _count(inputs, axes, var.dtype)
        unbiased = var * (count / elemwise.maximum(count - 1, 1))
        rmean, rvar = params[2:]
        result.append(restore(rmean * (1 - factor) + mean * factor))
        result.append(restore(rvar * (1 - factor) + unbiased * factor))
    return tuple(result)


def _count(inputs, axes, dtype):
    n = inputs.shape[axes[0]]
    for a in axes[1:]:
        n = n * inputs.shape[a]
    return elemwise.cast(n, dtype)


def batch_normalization_test(inputs, gamma, beta, mean, var, axes="per-activation",
                             epsilon=1e-4):
    """Theano 1.0's ``bn.batch_normalization_test``: normalizes with the given statistics,
    ``(x - mean) * gamma / sqrt(var + epsilon) + beta``; parameters as in
    :func:`batch_normalization_train`."""
    what = "batch_normalization_test"
    inputs = as_tensor_variable(inputs)
    axes = _bn_axes(axes, inputs.ndim, what)
    eps = _epsilon(epsilon, what)
    (gamma, beta, mean, var), _ = _bn_params(what, inputs, axes, [gamma, beta, mean, var])
    return (inputs - mean) * (gamma / elemwise.sqrt(var + eps)) + beta


def h_softmax(x, batch_size, n_outputs, n_classes, n_outputs_per_class, W1, b1, W2, b2,
              target=None):
    """Theano 1.0's two-level hierarchical softmax ``h_softmax``.

    The outputs are split into ``n_classes`` classes of ``n_outputs_per_class``:
    ``p(y) = softmax(x W1 + b1)[class(y)] * softmax(x W2[class(y)] + b2[class(y)])[y %
    n_outputs_per_class]``, with W1 (n_in, n_classes), b1 (n_classes,), W2 (n_classes,
    n_in, n_outputs_per_class), b2 (n_classes, n_outputs_per_class). Without ``target``:
    the (batch_size, n_outputs) matrix of every probability; with ``target`` (int vector of
    the batch's outputs): the vector of their probabilities (only their class's second
    softmax is computed).
    """
    x, W1, b1, W2, b2 = (as_tensor_variable(v) for v in (x, W1, b1, W2, b2))
    class_probs = nnet.softmax(blas.dot(x, W1) + b1)
    if target is None:
        act = blas.tensordot(x, W2, [[1], [1]]) + b2          # (batch, classes, per class)
        probs = nnet.softmax(act.reshape((-1, n_outputs_per_class)))
        probs = probs.reshape((batch_size, n_classes, n_outputs_per_class))
        probs = class_probs.dimshuffle(0, 1, "x") * probs
        return probs.reshape((batch_size, n_classes * n_outputs_per_class))[:, :n_outputs]
    target = as_tensor_variable(target).flatten()
    cls = target // n_outputs_per_class
    within = target % n_outputs_per_class
    act = blas.batched_dot(x, W2[cls]) + b2[cls]              # (batch, per class)
    rows = shape.arange(batch_size)
    return class_probs[rows, cls] * nnet.softmax(act)[rows, within]
