"""Small pattern-matching helpers shared by the rewrite modules.

>>> node = elemwise_node(v, ps.exp)        # v = exp(a)? -> its Apply node, else None
>>> scalar_constant(v)                     # 1.0 when v is a constant (broadcast) of ones
"""
from __future__ import annotations

import numpy as np

from ..graph import Constant
from ..ops import scalar as ps
from ..ops.elemwise import DimShuffle, Elemwise
from ..ops.shape import Alloc, Rebroadcast, Shape, Shape_i
from ..ops.subtensor import Subtensor


def owner_of(v, op_class):
    """``v.owner`` when v is computed by an op of ``op_class``, else None."""
    node = v.owner
    if node is not None and isinstance(node.op, op_class):
        return node
    return None


def elemwise_node(v, scalar_op=None):
    """The Apply node of an Elemwise (not inplace) computing ``v``, optionally of ``scalar_op``."""
    node = v.owner
    if node is None or not isinstance(node.op, Elemwise) or node.op.inplace_pattern:
        return None
    if scalar_op is not None and node.op.scalar_op != scalar_op:
        return None
    return node


def strip_broadcast(v):
    """Skip DimShuffles that only add or drop broadcastable dims, and Rebroadcasts."""
    while v.owner is not None:
        op = v.owner.op
        if isinstance(op, DimShuffle) and list(op.shuffle) == sorted(op.shuffle):
            v = v.owner.inputs[0]
        elif isinstance(op, Rebroadcast):
            v = v.owner.inputs[0]
        else:
            break
    return v


def scalar_constant(v, through_alloc=True):
    """The value when every element of ``v`` is one known constant, else None.

    Looks through broadcasting DimShuffles, Rebroadcast, ``Alloc(c, ...)`` and
    ``fill(x, c)``.
    """
    v = strip_broadcast(v)
    if through_alloc and v.owner is not None:
        node = v.owner
        if isinstance(node.op, Alloc):
            return scalar_constant(node.inputs[0])
        if isinstance(node.op, Elemwise) and node.op.scalar_op == ps.second:
            return scalar_constant(node.inputs[1])
    if isinstance(v, Constant):
        data = np.asarray(v.data)
        if data.size == 0:
            return None
        first = data.flat[0]
        if data.size == 1 or np.all(data == first):
            return first.item() if hasattr(first, "item") else first
    return None


def is_constant_equal(v, value):
    """True when every element of v is the constant ``value``."""
    c = scalar_constant(v)
    return c is not None and c == value


def _dim_of(v):
    """(x, i) when ``v`` is the length of x's dimension i, as ``Shape_i(i)(x)`` or as
    ``Shape(x)[i]`` (what ``x.shape[i]`` builds before the shape rewrites run), else None."""
    node = v.owner
    if node is None:
        return None
    if isinstance(node.op, Shape_i):
        return node.inputs[0], node.op.i
    if isinstance(node.op, Subtensor) and len(node.op.idx_list) == 1 and node.op.idx_list[0][0] == "int" \
            and node.op.idx_list[0][1] != "s" and node.inputs[0].owner is not None \
            and isinstance(node.inputs[0].owner.op, Shape):
        x = node.inputs[0].owner.inputs[0]
        return x, int(node.op.idx_list[0][1]) % max(x.ndim, 1)
    return None


def same_value(a, b):
    """Structural equality of two (small) expressions: same variable, equal constants or
    equal ops applied to same-valued inputs. Used to compare shape expressions."""
    stack = [(a, b)]
    steps = 0
    while stack:
        x, y = stack.pop()
        steps += 1
        if x is y:
            continue
        if steps > 200:
            return False
        if isinstance(x, Constant) and isinstance(y, Constant):
            if np.asarray(x.data).shape == np.asarray(y.data).shape and \
                    np.array_equal(np.asarray(x.data), np.asarray(y.data)):
                continue
            return False
        dx = _dim_of(x)
        if dx is not None:
            dy = _dim_of(y)
            if dy is not None and dx[0] is dy[0] and dx[1] == dy[1]:
                continue
        nx, ny = x.owner, y.owner
        if nx is None or ny is None or nx.op != ny.op or x.index != y.index \
                or len(nx.inputs) != len(ny.inputs):
            return False
        stack.extend(zip(nx.inputs, ny.inputs))
    return True


__all__ = ["owner_of", "elemwise_node", "strip_broadcast", "scalar_constant",
           "is_constant_equal", "same_value"]
