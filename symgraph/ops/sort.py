"""Sorting (``theano.tensor.sort``): ``sort`` and ``argsort`` along an axis (None: flattened).

``argsort`` has no gradient; the gradient of ``sort`` sends each output gradient back to the
position its value came from (a gather through the inverse of the argsort permutation).
"""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Op
from .elemwise import as_tensor, as_tensor_variable
from .shape import axis_result_shape, reshape
from .type import TensorType, INT_DTYPES

_KINDS = ("quicksort", "mergesort", "heapsort", "stable")


def _check_kind(kind, order):
    if kind not in _KINDS:
        raise ValueError(f"sort: kind must be one of {', '.join(_KINDS)}, got {kind!r}")
    if order is not None:
        raise ValueError("sort: order (structured arrays) is not supported")


def _axis(a, axis):
    if axis is None:
        return None
    axis = int(axis)
    if not -a.ndim <= axis < a.ndim:
        raise ValueError(f"sort: axis {axis} is out of range for {a.type}")
    return axis % a.ndim


class _AlongAxis(Op):
    """What sort and argsort share: the props, the checks, the name and the output shape
    (the input's; its size as one dimension for ``axis=None``)."""

    __props__ = ("kind", "axis")

    def __init__(self, kind="quicksort", axis=-1, order=None):
        _check_kind(kind, order)
        self.kind, self.axis = kind, axis

    def __str__(self):
        return f"{type(self).__name__}{{{self.kind}, axis={self.axis}}}"

    def infer_shape(self, node, shapes):
        return [axis_result_shape(shapes[0], self.axis)]


class SortOp(_AlongAxis):
    """``numpy.sort(a, axis, kind)``; ``axis=None`` sorts the flattened tensor."""

    def make_node(self, a):
        a = as_tensor(a)
        out = TensorType(a.dtype, (False,))() if self.axis is None else a.type()
        return Apply(self, [a], [out])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.sort(inputs[0], axis=self.axis, kind=self.kind)

    def grad(self, inputs, output_grads):
        (a,), (gz,) = inputs, output_grads
        if not a.type.is_float:
            return [None]
        axis = 0 if self.axis is None else self.axis
        flat = a.flatten() if self.axis is None else a
        perm = ArgSortOp(self.kind, axis)(flat)
        ranks = ArgSortOp("stable", axis)(perm)        # the inverse permutation
        g = TakeAlongAxis(axis)(gz, ranks)
        return [reshape(g, a.shape, ndim=a.ndim) if self.axis is None else g]



class ArgSortOp(_AlongAxis):
    """``numpy.argsort(a, axis, kind)`` as int64; no gradient."""

    def make_node(self, a):
        a = as_tensor(a)
        bcast = (False,) if self.axis is None else a.broadcastable
        return Apply(self, [a], [TensorType("int64", bcast)()])

    def perform(self, node, inputs, output_storage):
        out = np.argsort(inputs[0], axis=self.axis, kind=self.kind)
        output_storage[0][0] = out.astype("int64")

    def grad(self, inputs, output_grads):
        return [None]



class TakeAlongAxis(Op):
    """``numpy.take_along_axis(x, indices, axis)`` with indices of x's shape."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = int(axis)

    def make_node(self, x, indices):
        x, indices = as_tensor(x), as_tensor(indices)
        if indices.dtype not in INT_DTYPES or indices.ndim != x.ndim:
            raise TypeError(f"{self}: indices must be an integer tensor of x's ndim, got "
                            f"{indices.type}")
        return Apply(self, [x, indices], [TensorType(x.dtype, indices.broadcastable)()])

    def perform(self, node, inputs, output_storage):
        x, idx = inputs
        output_storage[0][0] = np.take_along_axis(x, idx, axis=self.axis)

    def grad(self, inputs, output_grads):
        x, idx = inputs
        if not x.type.is_float:
            return [None, None]
        return [ScatterAddAlongAxis(self.axis)(x, idx, output_grads[0]), None]

    def infer_shape(self, node, shapes):
        return [shapes[1]]


class ScatterAddAlongAxis(Op):
    """Zeros shaped like ``x`` with ``g`` added at ``indices`` along ``axis``: the gradient of
    TakeAlongAxis."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = int(axis)

    def make_node(self, x, indices, g):
        x, indices, g = as_tensor(x), as_tensor(indices), as_tensor(g)
        return Apply(self, [x, indices, g], [TensorType(g.dtype, x.broadcastable)()])

    def perform(self, node, inputs, output_storage):
        x, idx, g = inputs
        out = np.zeros(x.shape, dtype=node.outputs[0].dtype)
        # the other axes index themselves, the chosen axis takes the given indices
        grids = list(np.ogrid[tuple(slice(0, n) for n in idx.shape)])
        grids[self.axis] = idx
        np.add.at(out, tuple(grids), g)
        output_storage[0][0] = out

    def infer_shape(self, node, shapes):
        return [shapes[0]]


def sort(a, axis=-1, kind="quicksort", order=None):
    """A sorted copy of ``a`` along ``axis`` (None: the flattened tensor)."""
    a = as_tensor_variable(a)
    return SortOp(kind, _axis(a, axis), order)(a)


def argsort(a, axis=-1, kind="quicksort", order=None):
    """Indices that sort ``a`` along ``axis`` (None: the flattened tensor), as int64."""
    a = as_tensor_variable(a)
    return ArgSortOp(kind, _axis(a, axis), order)(a)


__all__ = ["SortOp", "ArgSortOp", "TakeAlongAxis", "ScatterAddAlongAxis", "sort", "argsort"]
