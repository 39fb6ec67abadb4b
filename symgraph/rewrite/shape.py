"""Shape inference over a FunctionGraph, and the rewrites that use it.

:class:`ShapeFeature` gives each variable a tuple of int64 scalar variables,
one per dimension, built from each Op's ``infer_shape`` down to the shapes
of the graph inputs (``Shape_i(d)(x)``; 1 for broadcastable dims). An Op
without ``infer_shape`` (or returning None) contributes ``Shape_i(d)(out)``.

With it, ``x.shape[0]`` -- ``Subtensor[0](Shape(x))`` -- becomes an
expression of the inputs' shapes, so an intermediate result used only for
its shape (e.g. by the gradient of ``mean``) is no longer computed::

    shape_of(fgraph, v)   # -> (Shape_i{0}(x), Constant{10})
"""
from __future__ import annotations

import numpy as np

from ..graph import Constant, Feature, node_rewriter
from ..ops import elemwise as elemwise_ops
from ..ops.elemwise import as_tensor_variable, cast, constant
from ..ops.shape import MakeVector, Shape, Shape_i
from ..ops.subtensor import AdvancedSubtensor, Subtensor
from ..ops.type import TensorType
from .utils import same_value


def _const_int(value):
    return constant(int(value), dtype="int64")


class ShapeFeature(Feature):
    """Lazily computed symbolic shapes.

    Each cached shape remembers the graph variables its expressions read; it
    is recomputed when one of them has left the graph (was rewritten away),
    so a stale expression never drags old computations back in.
    """

    def __init__(self):
        self.cache = {}        # var -> (dims, deps)
        self.shape_i = {}      # (var, d) -> Shape_i(d)(var)

    def _shape_i(self, var, d):
        key = (var, d)
        s = self.shape_i.get(key)
        if s is None or s.owner.inputs[0] is not var:     # (a replace may have moved it)
            s = self.shape_i[key] = Shape_i(d)(var)
        return s

    def _default(self, var):
        return tuple(_const_int(1) if b else self._shape_i(var, d)
                     for d, b in enumerate(var.type.broadcastable))

    def _clean(self, var, dims):
        """Turn an infer_shape answer into a tuple of int64 scalar variables (or None)."""
        if dims is None or len(dims) != var.ndim:
            return None
        out = []
        for d, s in enumerate(dims):
            if var.type.broadcastable[d]:
                out.append(_const_int(1))
                continue
            if isinstance(s, (int, np.integer)):
                out.append(_const_int(s))
                continue
            try:
                s = as_tensor_variable(s)
            except TypeError:
                return None
            if s.ndim != 0 or s.dtype[:3] not in ("int", "uin"):
                return None
            out.append(s if s.dtype == "int64" else cast(s, "int64"))
        return tuple(out)

    @staticmethod
    def _deps(fgraph, dims):
        """Graph variables read by the expressions ``dims``."""
        deps, seen, stack = set(), set(), list(dims)
        variables = fgraph.variables
        while stack:
            v = stack.pop()
            if v in seen:
                continue
            seen.add(v)
            if v in variables:
                if not isinstance(v, Constant):
                    deps.add(v)
            elif v.owner is not None:
                stack.extend(v.owner.inputs)
        return frozenset(deps)

    def _valid(self, fgraph, var):
        entry = self.cache.get(var)
        if entry is None:
            return False
        variables = fgraph.variables
        return all(d in variables for d in entry[1])

    def _store(self, fgraph, var, dims):
        self.cache[var] = (dims, self._deps(fgraph, dims))

    def shape_of(self, fgraph, var):
        """Tuple of int64 scalar variables giving ``var``'s shape."""
        if not isinstance(var.type, TensorType):
            return None
        if self._valid(fgraph, var):
            return self.cache[var][0]
        inputs = fgraph._input_set
        # compute, without recursion, for var and its ancestors lacking a valid entry
        order, stack, seen = [], [(var, False)], set()
        while stack:
            v, expanded = stack.pop()
            if expanded:
                order.append(v)
                continue
            if v in seen or self._valid(fgraph, v):
                continue
            seen.add(v)
            stack.append((v, True))
            node = v.owner
            if node is not None and v not in inputs and hasattr(node.op, "infer_shape"):
                stack.extend((i, False) for i in node.inputs if isinstance(i.type, TensorType))
        done_nodes = set()
        for v in order:
            node = v.owner
            if isinstance(v, Constant):
                self.cache[v] = (tuple(_const_int(s) for s in np.shape(v.data)), frozenset())
                continue
            if node is None or v in inputs or not hasattr(node.op, "infer_shape"):
                self._store(fgraph, v, self._default(v))
                continue
            if node in done_nodes:
                continue
            done_nodes.add(node)
            in_shapes = [self.cache[i][0] if i in self.cache else None for i in node.inputs]
            try:
                outs = node.op.infer_shape(node, in_shapes)
            except Exception:
                outs = None
            if outs is None or all(o is None for o in outs):
                rule = _EXTRA_RULES.get(type(node.op))
                if rule is not None:
                    outs = rule(self, node, in_shapes)
            for k, o in enumerate(node.outputs):
                if not isinstance(o.type, TensorType):
                    continue
                dims = None
                if outs is not None and k < len(outs):
                    dims = self._clean(o, outs[k])
                self._store(fgraph, o, dims if dims is not None else self._default(o))
        entry = self.cache.get(var)
        return entry[0] if entry is not None else self._default(var)


# ---------------------------------------------------------------- rules for ops that
# answer None: known dimensions are given, the others stay Shape_i(d)(out)

def _subtensor_shape(feature, node, shapes):
    """Basic indexing: int entries drop a dim, full slices and trailing dims keep theirs."""
    out = node.outputs[0]
    if shapes[0] is None:
        return None
    dims = []
    for d, e in enumerate(node.op.idx_list):
        if e[0] == "int":
            continue
        dims.append(shapes[0][d] if e[1:] in ((None, None, None), (0, None, None),
                                               (None, None, 1), (0, None, 1)) else None)
    dims.extend(shapes[0][len(node.op.idx_list):])
    return [tuple(feature._shape_i(out, k) if s is None else s for k, s in enumerate(dims))]


def _advanced_subtensor_shape(feature, node, shapes):
    """x[i, j, ...] with integer index vectors first (then full slices): the broadcast
    length of the indices, then x's remaining dims."""
    idx_list = node.op.idx_list
    n_adv = sum(1 for e in idx_list if e[0] == "adv")
    if [e[0] for e in idx_list[:n_adv]] != ["adv"] * n_adv or n_adv == 0:
        return None
    idx_vars = node.inputs[1:1 + n_adv]
    nd = idx_vars[0].ndim
    if any(v.ndim != nd for v in idx_vars) or len(node.inputs) != 1 + n_adv:
        return None
    dims = []
    for d in range(nd):
        lens = []
        for v, sh in zip(idx_vars, shapes[1:1 + n_adv]):
            if sh is None:
                return None
            if not v.broadcastable[d] and not any(same_value(sh[d], k) for k in lens):
                lens.append(sh[d])
        if not lens:
            dims.append(1)
        elif len(lens) == 1:
            dims.append(lens[0])
        else:       # numpy broadcasting of lengths that are equal or 1 (0 wins over 1)
            hi, lo = lens[0], lens[0]
            for k in lens[1:]:
                hi, lo = elemwise_ops.maximum(hi, k), elemwise_ops.minimum(lo, k)
            dims.append(hi * elemwise_ops.cast(elemwise_ops.gt(lo, 0), "int64"))
    for d, e in enumerate(idx_list[n_adv:], start=n_adv):
        if e[1:] != (None, None, None):
            return None
        dims.append(shapes[0][d])
    dims.extend(shapes[0][len(idx_list):])
    return [tuple(dims)]


_EXTRA_RULES = {Subtensor: _subtensor_shape, AdvancedSubtensor: _advanced_subtensor_shape}


def get_shape_feature(fgraph):
    feature = fgraph.get_feature(ShapeFeature)
    if feature is None:
        feature = ShapeFeature()
        fgraph.attach_feature(feature)
    return feature


def shape_of(fgraph, var):
    """Symbolic shape of ``var`` (a tuple of int64 scalars), via the graph's ShapeFeature."""
    return get_shape_feature(fgraph).shape_of(fgraph, var)


def _is_own_shape_i(s, var, d):
    node = s.owner
    return node is not None and isinstance(node.op, Shape_i) and node.op.i == d \
        and node.inputs[0] is var


def same_shape(fgraph, a, b, dims=None):
    """True when ``a`` and ``b`` are known to have equal shapes (on ``dims``, default all)."""
    if a.ndim != b.ndim:
        return False
    sa, sb = shape_of(fgraph, a), shape_of(fgraph, b)
    for d in (range(a.ndim) if dims is None else dims):
        if not same_value(sa[d], sb[d]):
            return False
    return True


@node_rewriter([Shape_i], tags=("fast_run", "shape"))
def local_shape_i(fgraph, node):
    """Shape_i(d)(x) -> the inferred expression of x's dimension d (from input shapes)."""
    x = node.inputs[0]
    if x.owner is None or x in fgraph._input_set:
        if x.type.broadcastable[node.op.i]:
            return [_const_int(1)]
        return None
    s = shape_of(fgraph, x)[node.op.i]
    if s is node.outputs[0] or _is_own_shape_i(s, x, node.op.i):
        return None
    return [s]


@node_rewriter([Shape], tags=("fast_run", "shape"))
def local_shape_to_make_vector(fgraph, node):
    """Shape(x) -> MakeVector(*inferred dims) when some dimension is known without x."""
    x = node.inputs[0]
    if x.ndim == 0:
        return [constant(np.zeros(0, dtype="int64"))]
    dims = shape_of(fgraph, x)
    if all(_is_own_shape_i(s, x, d) for d, s in enumerate(dims)):
        return None
    if all(isinstance(s, Constant) for s in dims):
        return [constant(np.array([int(s.data) for s in dims], dtype="int64"))]
    return [MakeVector("int64")(*dims)]


@node_rewriter([Subtensor], tags=("fast_run", "shape"))
def local_subtensor_of_shape(fgraph, node):
    """Shape(x)[i] / MakeVector(a, b, ...)[i] with a constant i -> the i-th dimension;
    with a constant slice -> a MakeVector of the selected dimensions."""
    if len(node.op.idx_list) != 1:
        return None
    entry = node.op.idx_list[0]
    if "s" in entry[1:] or entry[0] not in ("int", "slice"):
        return None
    v = node.inputs[0]
    if v.owner is None:
        return None
    if isinstance(v.owner.op, Shape):
        x = v.owner.inputs[0]
        if x.owner is None or x in fgraph._input_set:
            dims = [_const_int(1) if b else Shape_i(d)(x) for d, b in enumerate(x.broadcastable)]
        else:
            dims = list(shape_of(fgraph, x))
    elif isinstance(v.owner.op, MakeVector):
        dims = list(v.owner.inputs)
    else:
        return None
    if entry[0] == "int":
        i = entry[1]
        if not -len(dims) <= i < len(dims) or dims[i].type != node.outputs[0].type:
            return None
        return [dims[i]]
    picked = dims[slice(*entry[1:])]
    if any(d.dtype != "int64" for d in picked):
        return None
    if all(isinstance(d, Constant) for d in picked):
        return [constant(np.array([int(d.data) for d in picked], dtype="int64"))]
    return [MakeVector("int64")(*picked)]


SHAPE_REWRITES = [local_shape_i, local_shape_to_make_vector, local_subtensor_of_shape]

__all__ = ["ShapeFeature", "shape_of", "same_shape", "get_shape_feature", "SHAPE_REWRITES",
           "local_shape_i", "local_shape_to_make_vector", "local_subtensor_of_shape"]
