"""Dot products of vectors and matrices (the C backend lowers them to BLAS gemm/gemv)."""
from __future__ import annotations

import numpy as np

import builtins

from ..graph import Apply, Op
from .elemwise import as_tensor, as_tensor_variable, cast, mul, patternbroadcast
from .shape import _count, reshape
from .type import TensorType, upcast


class Dot(Op):
    """``dot(a, b)`` for 1-d and 2-d operands (numpy semantics)."""

    def make_node(self, a, b):
        a, b = as_tensor(a), as_tensor(b)
        if a.ndim not in (1, 2) or b.ndim not in (1, 2):
            raise TypeError(f"dot: operands must be vectors or matrices, got {a.type} and {b.type} "
                            f"(use tensordot/batched ops for higher ranks)")
        dtype = upcast(a.dtype, b.dtype)
        if a.dtype != dtype:
            a = cast(a, dtype)
        if b.dtype != dtype:
            b = cast(b, dtype)
        bcast = []
        if a.ndim == 2:
            bcast.append(a.broadcastable[0])
        if b.ndim == 2:
            bcast.append(b.broadcastable[1])
        return Apply(self, [a, b], [TensorType(dtype, tuple(bcast))()])

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        ka = a.shape[-1]
        kb = b.shape[0]
        if ka != kb:
            raise ValueError(f"dot: shapes {a.shape} and {b.shape} are not aligned "
                             f"({ka} != {kb})")
        if ka == 1:
            # np.dot sends these to BLAS routines that skip zero factors, so 0 * inf or 0 * nan
            # would give 0 instead of NaN; an outer product keeps IEEE semantics
            out = np.multiply.outer(a[..., 0], b[0])
        else:
            out = np.dot(a, b)
        output_storage[0][0] = np.asarray(out, dtype=node.outputs[0].dtype)

    def grad(self, inputs, output_grads):
        (a, b), (gz,) = inputs, output_grads
        if a.ndim == 2 and b.ndim == 2:
            ga, gb = dot(gz, b.T), dot(a.T, gz)
        elif a.ndim == 1 and b.ndim == 2:       # (k) . (k, n) -> (n)
            ga, gb = dot(b, gz), outer(a, gz)
        elif a.ndim == 2 and b.ndim == 1:       # (m, k) . (k) -> (m)
            ga, gb = outer(gz, b), dot(gz, a)
        else:                                   # vector . vector -> scalar
            ga, gb = gz * b, gz * a
        ga = patternbroadcast(ga, a.broadcastable) if ga.broadcastable != a.broadcastable else ga
        gb = patternbroadcast(gb, b.broadcastable) if gb.broadcastable != b.broadcastable else gb
        return [ga, gb]

    def infer_shape(self, node, shapes):
        sa, sb = shapes
        return [tuple(sa[:-1]) + tuple(sb[1:])]


_dot_op = Dot()


# ---------------------------------------------------------------- constructors

def dot(a, b):
    """Matrix/vector product; scalars multiply elementwise."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    if a.ndim > 2 or b.ndim > 2:
        return tensordot(a, b, axes=[[a.ndim - 1], [builtins.max(b.ndim - 2, 0)]])
    return _dot_op(a, b)


def outer(a, b):
    """Outer product of two vectors."""
    return dot(as_tensor_variable(a).dimshuffle(0, "x"), as_tensor_variable(b).dimshuffle("x", 0))


def tensordot(a, b, axes=2):
    """Sum products over the given axes (implemented by reshaping to a matrix product)."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if isinstance(axes, int):
        axes = [list(range(a.ndim - axes, a.ndim)), list(range(axes))]
    ax_a, ax_b = [x % a.ndim for x in axes[0]], [x % b.ndim for x in axes[1]]
    free_a = [d for d in range(a.ndim) if d not in ax_a]
    free_b = [d for d in range(b.ndim) if d not in ax_b]
    at = a.dimshuffle(free_a + ax_a)
    bt = b.dimshuffle(ax_b + free_b)
    k = _count(a, ax_a) if ax_a else 1
    ma = reshape(at, [-1, k], ndim=2)
    mb = reshape(bt, [k, -1], ndim=2)
    out_shape = [a.shape[d] for d in free_a] + [b.shape[d] for d in free_b]
    return reshape(_dot_op(ma, mb), out_shape, ndim=len(out_shape))
