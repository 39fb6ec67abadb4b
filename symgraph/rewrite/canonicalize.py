"""Canonicalize and specialize: remove useless work and normalize forms.

Canonicalize (each a named node rewriter):

- ``local_useless_elemwise``: ``x*1``, ``1*x``, ``x+0``, ``0+x``, ``x-0``, ``x/1``, ``x**1`` -> x
- ``local_sub_self``: ``x - x`` -> zeros of x's shape (x itself is no longer read)
- ``local_double_neg``: ``-(-x)`` -> x
- ``local_useless_cast``: a cast to the dtype x already has -> x
- ``local_useless_dimshuffle``, ``local_dimshuffle_compose`` (so ``x.T.T`` -> x),
  ``local_dimshuffle_lift`` (a DimShuffle of a single-client Elemwise moves to its inputs,
  so elementwise chains fuse)
- ``local_subtensor_lift``: ``f(x)[idx]`` -> ``f(x[idx])`` for a unary elemwise f
- ``local_useless_reshape``, ``local_reshape_chain``
- ``local_useless_rebroadcast``
- ``local_sum_sum``: a reduction of a reduction with the same operation -> one reduction
- ``local_fill_to_alloc``: ``fill(x, v)`` -> v when shapes match, else ``Alloc(v, *shape(x))``
  (x is then read only for its shape, which the ShapeFeature takes from the inputs)
- ``local_useless_alloc``, ``local_elemwise_alloc`` (an Alloc feeding an Elemwise
  whose other inputs already give the shape is replaced by its value)

Specialize adds ``local_pow_specialize`` (``x**2`` -> sqr, ``x**0.5`` -> sqrt,
``x**-1`` -> inv) and ``local_mul_neg_one`` (``x*-1`` -> ``-x``).
"""
from __future__ import annotations

from ..graph import Constant
from ..ops import scalar as ps
from ..ops import elemwise as elemwise_ops
from ..ops import shape as shape_ops
from ..ops.elemwise import DimShuffle, Elemwise
from ..ops.reduce import CAReduce
from ..ops.subtensor import Subtensor
from ..ops.builders import OpFromGraph
from ..ops.shape import Alloc, MakeVector, Rebroadcast, Reshape, Shape, Shape_i, static_dims
from ..graph import node_rewriter
from .shape import shape_of
from .utils import elemwise_node, is_constant_equal, same_value, scalar_constant, strip_broadcast



def _plain(node):
    return isinstance(node.op, Elemwise) and not node.op.inplace_pattern


# ---------------------------------------------------------------- elementwise identities

@node_rewriter([Elemwise], tags=("fast_run", "useless"))
def local_useless_elemwise(fgraph, node):
    """x*1, 1*x, x+0, 0+x, x-0, x/1, x**1 -> x (when x already has the output's type)."""
    if not _plain(node) or len(node.inputs) != 2:
        return None
    op = node.op.scalar_op
    a, b = node.inputs
    out = node.outputs[0]
    candidates = []
    if op == ps.mul:
        candidates = [(a, b, 1), (b, a, 1)]
    elif op == ps.add:
        candidates = [(a, b, 0), (b, a, 0)]
    elif op == ps.sub:
        candidates = [(a, b, 0)]
    elif op in (ps.true_div, ps.pow):
        candidates = [(a, b, 1)]
    for keep, other, neutral in candidates:
        if keep.type == out.type and _is_const(other) and is_constant_equal(other, neutral):
            return [keep]
    return None


@node_rewriter([Elemwise], tags=("fast_run", "useless"))
def local_sub_self(fgraph, node):
    """x - x -> zeros with x's shape."""
    if not _plain(node) or node.op.scalar_op != ps.sub or node.inputs[0] is not node.inputs[1]:
        return None
    out = node.outputs[0]
    dims = shape_of(fgraph, out)
    return [shape_ops.alloc(elemwise_ops.constant(0, dtype=out.dtype), *dims)]


@node_rewriter([Elemwise], tags=("fast_run", "useless"))
def local_double_neg(fgraph, node):
    """-(-x) -> x."""
    if not _plain(node) or node.op.scalar_op != ps.neg:
        return None
    inner = elemwise_node(node.inputs[0], ps.neg)
    if inner is not None and inner.inputs[0].type == node.outputs[0].type:
        return [inner.inputs[0]]
    return None


@node_rewriter([Elemwise], tags=("fast_run", "useless"))
def local_useless_cast(fgraph, node):
    """cast(x, dtype) with x already of that dtype -> x."""
    if _plain(node) and isinstance(node.op.scalar_op, ps.Cast) \
            and node.inputs[0].type == node.outputs[0].type:
        return [node.inputs[0]]
    return None


# ---------------------------------------------------------------- dimshuffle

@node_rewriter([DimShuffle], tags=("fast_run", "useless", "dimshuffle"))
def local_useless_dimshuffle(fgraph, node):
    """DimShuffle{0,1,...,n-1}(x) -> x."""
    if node.op.new_order == tuple(range(node.inputs[0].ndim)):
        return [node.inputs[0]]
    return None


@node_rewriter([DimShuffle], tags=("fast_run", "dimshuffle"))
def local_dimshuffle_compose(fgraph, node):
    """DimShuffle(DimShuffle(x)) -> one DimShuffle of x (x.T.T -> x after useless_dimshuffle)."""
    inner = node.inputs[0].owner
    if inner is None or not isinstance(inner.op, DimShuffle):
        return None
    x = inner.inputs[0]
    order = tuple("x" if e == "x" else inner.op.new_order[e] for e in node.op.new_order)
    if order == tuple(range(x.ndim)):
        return [x]
    return [DimShuffle(x.broadcastable, order)(x)]


@node_rewriter([DimShuffle], tags=("fast_run", "dimshuffle"))
def local_dimshuffle_lift(fgraph, node):
    """DimShuffle(elemwise(a, b)) -> elemwise(DimShuffle(a), DimShuffle(b)) when the
    elemwise result has no other client (so nothing is computed twice)."""
    inner = node.inputs[0].owner
    if inner is None or not _plain(inner) or len(inner.outputs) != 1:
        return None
    if len(fgraph.clients.get(node.inputs[0], ())) != 1:
        return None
    order = node.op.new_order
    new_inputs = [DimShuffle(i.broadcastable, order)(i) for i in inner.inputs]
    return [inner.op(*new_inputs)]


@node_rewriter([Subtensor], tags=("fast_run", "subtensor"))
def local_subtensor_lift(fgraph, node):
    """unary_elemwise(x)[idx] -> unary_elemwise(x[idx]) when the elemwise result has no
    other client: only the selected part is computed (e.g. the seeds' ``T.cast(labels)``
    sliced by ``givens``)."""
    inner = node.inputs[0].owner
    if inner is None or not _plain(inner) or len(inner.inputs) != 1 or len(inner.outputs) != 1:
        return None
    if len(fgraph.clients.get(node.inputs[0], ())) != 1:
        return None
    new = inner.op(node.op(inner.inputs[0], *node.inputs[1:]))
    return [new] if new.type == node.outputs[0].type else None


# ---------------------------------------------------------------- reshape / rebroadcast

def _reshape_dims(node):
    """Entries of a Reshape's shape vector: ints, -1, or scalar variables (None if unknown)."""
    shp = node.inputs[1]
    if shp.owner is not None and isinstance(shp.owner.op, Shape) \
            and shp.owner.inputs[0] is node.inputs[0]:
        return [Shape_i(d)(node.inputs[0]) for d in range(node.op.ndim)]
    dims = static_dims(shp, node.op.ndim)
    if shp.owner is not None and isinstance(shp.owner.op, MakeVector):
        return [d if d is not None else v for d, v in zip(dims, shp.owner.inputs)]
    if isinstance(shp, Constant):
        return dims
    return None


@node_rewriter([Reshape], tags=("fast_run", "useless", "shape"))
def local_useless_reshape(fgraph, node):
    """Reshape(x, shape) where shape is x's own shape (at most one -1) -> x."""
    x = node.inputs[0]
    if x.ndim != node.op.ndim:
        return None
    dims = _reshape_dims(node)
    if dims is None:
        return None
    xs = shape_of(fgraph, x)
    n_free = 0
    for d, e in enumerate(dims):
        if isinstance(e, int):
            if e == -1:
                n_free += 1
                continue
            if not (isinstance(xs[d], Constant) and int(xs[d].data) == e):
                return None
        elif not same_value(e, xs[d]):
            return None
    if n_free <= 1:
        return [x]
    return None


@node_rewriter([Reshape], tags=("fast_run", "shape"))
def local_reshape_chain(fgraph, node):
    """Reshape(Reshape(x, s1), s2) -> Reshape(x, s2)."""
    inner = node.inputs[0].owner
    if inner is not None and isinstance(inner.op, Reshape):
        return [node.op(inner.inputs[0], node.inputs[1])]
    return None


@node_rewriter([Rebroadcast], tags=("fast_run", "useless"))
def local_useless_rebroadcast(fgraph, node):
    """Rebroadcast to the pattern x already has -> x; Rebroadcast(Rebroadcast(x)) -> one."""
    x = node.inputs[0]
    if x.broadcastable == node.op.pattern:
        return [x]
    if x.owner is not None and isinstance(x.owner.op, Rebroadcast):
        return [node.op(x.owner.inputs[0])]
    return None


# ---------------------------------------------------------------- reductions

@node_rewriter([CAReduce], tags=("fast_run", "reduce"))
def local_sum_sum(fgraph, node):
    """sum(sum(x, a), b) -> sum(x, a + b) (same for prod, max, min)."""
    inner = node.inputs[0].owner
    if inner is None or not isinstance(inner.op, CAReduce) or inner.op.op != node.op.op:
        return None
    if len(fgraph.clients.get(node.inputs[0], ())) != 1:
        return None
    x = inner.inputs[0]
    kept = [d for d in range(x.ndim) if d not in inner.op.axis]
    axes = tuple(sorted(set(inner.op.axis) | {kept[a] for a in node.op.axis}))
    dtype = node.op.dtype if node.op.dtype is not None else inner.op.dtype
    new = CAReduce(node.op.op, axes, dtype)(x)
    if new.type != node.outputs[0].type:
        return None
    return [new]


# ---------------------------------------------------------------- fill / alloc

@node_rewriter([Elemwise], tags=("fast_run", "fill"))
def local_fill_to_alloc(fgraph, node):
    """fill(x, v) -> v when v already has x's shape, else Alloc(v, *shape(x))."""
    if not _plain(node) or node.op.scalar_op != ps.second:
        return None
    x, v = node.inputs
    out = node.outputs[0]
    dims = shape_of(fgraph, out)
    if v.type == out.type:
        vs = shape_of(fgraph, v)
        if all(out.broadcastable[d] or same_value(vs[d], dims[d]) for d in range(out.ndim)):
            return [v]
        return None     # same rank and pattern, shapes not known equal: Alloc saves nothing
    if v.dtype != out.dtype:
        return None
    return [shape_ops.alloc(v, *dims)]


@node_rewriter([Alloc], tags=("fast_run", "useless", "fill"))
def local_useless_alloc(fgraph, node):
    """Alloc(v, *shape) with v already of that type and shape -> v."""
    v = node.inputs[0]
    out = node.outputs[0]
    if v.type != out.type:
        return None
    vs = shape_of(fgraph, v)
    if all(out.broadcastable[d] or same_value(vs[d], s) for d, s in enumerate(node.inputs[1:])):
        return [v]
    return None


@node_rewriter([Elemwise], tags=("fast_run", "fill"))
def local_elemwise_alloc(fgraph, node):
    """elemwise(Alloc(v, *shape), y) -> elemwise(v, y) when the other inputs give the shape."""
    if not _plain(node) or len(node.inputs) < 2:
        return None
    out = node.outputs[0]
    for k, inp in enumerate(node.inputs):
        a = inp.owner
        if a is None or not isinstance(a.op, Alloc):
            continue
        others = [i for j, i in enumerate(node.inputs) if j != k]
        covered = all(inp.broadcastable[d] or any(not o.broadcastable[d] for o in others)
                      for d in range(out.ndim))
        if not covered:
            continue
        v, shape = a.inputs[0], a.inputs[1:]
        pad = out.ndim - v.ndim
        if v.dtype != inp.dtype or pad < 0:
            continue
        vs = shape_of(fgraph, v) if v.ndim else ()
        if not all(v.broadcastable[d] or same_value(vs[d], shape[d + pad]) for d in range(v.ndim)):
            continue
        if pad:
            v = DimShuffle(v.broadcastable, ["x"] * pad + list(range(v.ndim)))(v)
        new_inputs = list(node.inputs)
        new_inputs[k] = v
        new = node.op(*new_inputs)
        if new.type == out.type:
            return [new]
    return None


@node_rewriter([Elemwise], tags=("fast_run", "fill"))
def local_alloc_lift(fgraph, node):
    """elemwise(Alloc(v, *shape), c) with every other input fully broadcastable
    -> Alloc(elemwise(v, c), *shape): compute on the small value, broadcast once."""
    if not _plain(node) or len(node.outputs) != 1:
        return None
    allocs = [k for k, i in enumerate(node.inputs)
              if i.owner is not None and isinstance(i.owner.op, Alloc)]
    if len(allocs) != 1:
        return None
    k = allocs[0]
    if not all(all(i.broadcastable) for j, i in enumerate(node.inputs) if j != k):
        return None
    a = node.inputs[k].owner
    v, shape = a.inputs[0], a.inputs[1:]
    out = node.outputs[0]
    if all(out.broadcastable) or v.dtype != node.inputs[k].dtype or v.ndim > out.ndim:
        return None
    if v.ndim < out.ndim:
        v = DimShuffle(v.broadcastable, ["x"] * (out.ndim - v.ndim) + list(range(v.ndim)))(v)
    new_inputs = list(node.inputs)
    new_inputs[k] = v
    new = shape_ops.alloc(node.op(*new_inputs), *shape)
    if new.dtype != out.dtype or new.ndim != out.ndim:
        return None
    return [new]


# ---------------------------------------------------------------- specialize

@node_rewriter([Elemwise], tags=("fast_run", "specialize_pow"))
def local_pow_specialize(fgraph, node):
    """x**2 -> sqr(x), x**0.5 -> sqrt(x), x**-1 -> inv(x) (x float)."""
    if not _plain(node) or node.op.scalar_op != ps.pow:
        return None
    x, e = node.inputs
    c = scalar_constant(e, through_alloc=False) if _is_const(e) else None
    if c is None or x.type != node.outputs[0].type:
        return None
    if c == 2:
        return [elemwise_ops.sqr(x)]
    if not x.type.is_float:
        return None
    if c == 0.5:
        return [elemwise_ops.sqrt(x)]
    if c == -1:
        return [elemwise_ops.inv(x)]
    return None


@node_rewriter([Elemwise], tags=("fast_run", "specialize_mul"))
def local_mul_neg_one(fgraph, node):
    """x * -1 -> -x."""
    if not _plain(node) or node.op.scalar_op != ps.mul or len(node.inputs) != 2:
        return None
    a, b = node.inputs
    out = node.outputs[0]
    for keep, other in ((a, b), (b, a)):
        if keep.type == out.type and _is_const(other) \
                and scalar_constant(other, through_alloc=False) == -1:
            return [elemwise_ops.neg(keep)]
    return None


def _is_const(v):
    return isinstance(strip_broadcast(v), Constant)


CANONICALIZE = [local_useless_elemwise, local_sub_self, local_double_neg, local_useless_cast,
                local_useless_dimshuffle, local_dimshuffle_compose, local_dimshuffle_lift,
                local_subtensor_lift,
                local_useless_reshape, local_reshape_chain, local_useless_rebroadcast,
                local_sum_sum, local_fill_to_alloc, local_useless_alloc, local_elemwise_alloc,
                local_alloc_lift]
SPECIALIZE = [local_pow_specialize, local_mul_neg_one]

__all__ = [r.name for r in CANONICALIZE + SPECIALIZE] + ["CANONICALIZE", "SPECIALIZE"]


# ---------------------------------------------------------------- OpFromGraph(inline=True)

@node_rewriter([OpFromGraph], tags=("fast_run", "fast_compile", "inline"))
def local_inline_op_from_graph(fgraph, node):
    """An ``OpFromGraph(..., inline=True)`` node -> a copy of its sub-graph on its inputs."""
    if not node.op.inline:
        return None
    return node.op.expand(node.inputs)


CANONICALIZE.append(local_inline_op_from_graph)
