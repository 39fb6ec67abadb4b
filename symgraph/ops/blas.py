"""Dot products of vectors and matrices (the C backend lowers them to BLAS gemm/gemv)."""
from __future__ import annotations

import numpy as np

import builtins

from ..graph import Apply, Op
from .elemwise import as_tensor, as_tensor_variable, cast, mul, patternbroadcast
from .shape import _count, reshape
from .type import TensorType, upcast


def _same_dtype(a, b):
    """``a`` and ``b`` cast to their common dtype (products compute in one dtype)."""
    dtype = upcast(a.dtype, b.dtype)
    return (a if a.dtype == dtype else cast(a, dtype)), (b if b.dtype == dtype else cast(b, dtype))


class Dot(Op):
    """``dot(a, b)`` for 1-d and 2-d operands (numpy semantics)."""

    def make_node(self, a, b):
        a, b = as_tensor(a), as_tensor(b)
        if a.ndim not in (1, 2) or b.ndim not in (1, 2):
            raise TypeError(f"dot: operands must be vectors or matrices, got {a.type} and {b.type} "
                            f"(use tensordot/batched ops for higher ranks)")
        a, b = _same_dtype(a, b)
        dtype = a.dtype
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


def _tensordot_axes(a, b, axes, what, first=0):
    """NumPy's ``axes`` argument (an int n: the last n axes of a with the first n of b (after
    ``first`` leading batch axes); or a pair, each an int or a sequence) as two lists."""
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > a.ndim - first or n > b.ndim - first:
            raise ValueError(f"{what}: cannot sum over {n} axes of {a.type} and {b.type}")
        return list(range(a.ndim - n, a.ndim)), list(range(first, first + n))
    try:
        ax_a, ax_b = axes
    except (TypeError, ValueError):
        raise ValueError(f"{what}: axes must be an int or a pair of axis lists, got "
                         f"{axes!r}") from None
    ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
    ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
    if len(ax_a) != len(ax_b):
        raise ValueError(f"{what}: the two axis lists {ax_a} and {ax_b} differ in length")
    for ax, t in ((ax_a, a), (ax_b, b)):
        for d in ax:
            if not -t.ndim <= int(d) < t.ndim:
                raise ValueError(f"{what}: axis {d} is out of range for {t.type}")
    ax_a, ax_b = [int(d) % a.ndim for d in ax_a], [int(d) % b.ndim for d in ax_b]
    if len(set(ax_a)) != len(ax_a) or len(set(ax_b)) != len(ax_b):
        raise ValueError(f"{what}: repeated axis in {axes!r}")
    return ax_a, ax_b


def tensordot(a, b, axes=2):
    """Sum products over the given axes, as ``numpy.tensordot`` (implemented by reshaping to
    a matrix product)."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    ax_a, ax_b = _tensordot_axes(a, b, axes, "tensordot")
    free_a = [d for d in range(a.ndim) if d not in ax_a]
    free_b = [d for d in range(b.ndim) if d not in ax_b]
    at = a.dimshuffle(free_a + ax_a)
    bt = b.dimshuffle(ax_b + free_b)
    k = _count(a, ax_a) if ax_a else 1
    ma = reshape(at, [-1, k], ndim=2)
    mb = reshape(bt, [k, -1], ndim=2)
    out_shape = [a.shape[d] for d in free_a] + [b.shape[d] for d in free_b]
    return reshape(_dot_op(ma, mb), out_shape, ndim=len(out_shape))


class BatchedDot(Op):
    """``out[i] = dot(a[i], b[i])`` for a batch of vectors (2-d) or matrices (3-d)."""

    def make_node(self, a, b):
        a, b = as_tensor(a), as_tensor(b)
        if a.ndim not in (2, 3) or b.ndim not in (2, 3):
            raise TypeError(f"batched_dot: operands must be 2-d or 3-d, got {a.type} and "
                            f"{b.type}")
        a, b = _same_dtype(a, b)
        bcast = [a.broadcastable[0] and b.broadcastable[0]]
        if a.ndim == 3:
            bcast.append(a.broadcastable[1])
        if b.ndim == 3:
            bcast.append(b.broadcastable[2])
        return Apply(self, [a, b], [TensorType(a.dtype, tuple(bcast))()])

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        a3 = a if a.ndim == 3 else a[:, np.newaxis, :]
        b3 = b if b.ndim == 3 else b[:, :, np.newaxis]
        if a3.shape[0] != b3.shape[0] or a3.shape[2] != b3.shape[1]:
            raise ValueError(f"batched_dot: shapes {a.shape} and {b.shape} are not aligned")
        out = np.matmul(a3, b3)
        if b.ndim == 2:
            out = out[:, :, 0]
        if a.ndim == 2:
            out = out[:, 0]
        output_storage[0][0] = np.asarray(out, dtype=node.outputs[0].dtype)

    def grad(self, inputs, output_grads):
        (a, b), (gz,) = inputs, output_grads
        a3 = a if a.ndim == 3 else a.dimshuffle(0, "x", 1)
        b3 = b if b.ndim == 3 else b.dimshuffle(0, 1, "x")
        if a.ndim == 2 and b.ndim == 2:
            gz3 = gz.dimshuffle(0, "x", "x")
        elif a.ndim == 2:
            gz3 = gz.dimshuffle(0, "x", 1)
        elif b.ndim == 2:
            gz3 = gz.dimshuffle(0, 1, "x")
        else:
            gz3 = gz
        ga = _batched_dot_op(gz3, b3.dimshuffle(0, 2, 1))
        gb = _batched_dot_op(a3.dimshuffle(0, 2, 1), gz3)
        if a.ndim == 2:
            ga = ga.dimshuffle(0, 2)
        if b.ndim == 2:
            gb = gb.dimshuffle(0, 1)
        ga = patternbroadcast(ga, a.broadcastable) if ga.broadcastable != a.broadcastable else ga
        gb = patternbroadcast(gb, b.broadcastable) if gb.broadcastable != b.broadcastable else gb
        return [ga, gb]

    def infer_shape(self, node, shapes):
        sa, sb = shapes
        out = [sa[0]]
        if len(sa) == 3:
            out.append(sa[1])
        if len(sb) == 3:
            out.append(sb[2])
        return [tuple(out)]


_batched_dot_op = BatchedDot()


def batched_dot(a, b):
    """``dot`` of each pair ``a[i], b[i]`` along the leading (batch) axis: vectors (2-d) or
    matrices (3-d); higher ranks go through ``batched_tensordot``, a 1-d operand scales."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        raise TypeError("batched_dot: operands need a leading batch axis")
    if a.ndim == 1:
        return a.dimshuffle(*([0] + ["x"] * (b.ndim - 1))) * b
    if b.ndim == 1:
        return a * b.dimshuffle(*([0] + ["x"] * (a.ndim - 1)))
    if a.ndim > 3 or b.ndim > 3:
        return batched_tensordot(a, b, [[a.ndim - 1], [builtins.max(1, b.ndim - 2)]])
    return _batched_dot_op(a, b)


def batched_tensordot(x, y, axes=2):
    """``tensordot`` of each pair ``x[i], y[i]``; ``axes`` (an int, or two axis lists that do
    not include the batch axis 0) as in ``tensordot``."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    ax_x, ax_y = _tensordot_axes(x, y, axes, "batched_tensordot", first=1)
    if 0 in ax_x or 0 in ax_y:
        raise ValueError("batched_tensordot: the batch axis 0 cannot be summed over")
    free_x = [d for d in range(1, x.ndim) if d not in ax_x]
    free_y = [d for d in range(1, y.ndim) if d not in ax_y]
    xt = x.dimshuffle([0] + free_x + ax_x)
    yt = y.dimshuffle([0] + ax_y + free_y)
    k = _count(x, ax_x) if ax_x else 1
    fx = _count(x, free_x) if free_x else 1
    fy = _count(y, free_y) if free_y else 1
    x3 = reshape(xt, [x.shape[0], fx, k], ndim=3)
    y3 = reshape(yt, [y.shape[0], k, fy], ndim=3)
    out_shape = [x.shape[0]] + [x.shape[d] for d in free_x] + [y.shape[d] for d in free_y]
    return reshape(_batched_dot_op(x3, y3), out_shape, ndim=len(out_shape))
