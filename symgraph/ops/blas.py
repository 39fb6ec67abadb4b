"""Dot products of vectors and matrices (the C backend lowers them to BLAS gemm/gemv)."""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Op
from ..tensor.type import TensorType, upcast
from .elemwise import as_tensor


class Dot(Op):
    """``dot(a, b)`` for 1-d and 2-d operands (numpy semantics)."""

    def make_node(self, a, b):
        from ..tensor.basic import cast
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
        from ..tensor import basic as T
        (a, b), (gz,) = inputs, output_grads
        if a.ndim == 2 and b.ndim == 2:
            ga, gb = T.dot(gz, b.T), T.dot(a.T, gz)
        elif a.ndim == 1 and b.ndim == 2:       # (k) . (k, n) -> (n)
            ga, gb = T.dot(b, gz), T.outer(a, gz)
        elif a.ndim == 2 and b.ndim == 1:       # (m, k) . (k) -> (m)
            ga, gb = T.outer(gz, b), T.dot(gz, a)
        else:                                   # vector . vector -> scalar
            ga, gb = gz * b, gz * a
        ga = T.patternbroadcast(ga, a.broadcastable) if ga.broadcastable != a.broadcastable else ga
        gb = T.patternbroadcast(gb, b.broadcastable) if gb.broadcastable != b.broadcastable else gb
        return [ga, gb]

    def infer_shape(self, node, shapes):
        sa, sb = shapes
        return [tuple(sa[:-1]) + tuple(sb[1:])]


dot = Dot()
