"""Stabilize: replace numerically fragile patterns by stable equivalents.

- ``local_manual_softmax``: ``exp(x - max(x, -1, keepdims)) / sum(exp(..), -1, keepdims)``
  and ``exp(x) / sum(exp(x), -1, keepdims)`` -> ``softmax(x)``
- ``local_log_softmax``: ``log(softmax(x))`` -> ``log_softmax(x)``
- ``local_log_sigmoid``: ``log(sigmoid(x))`` -> ``-softplus(-x)``
- ``local_log1m_sigmoid``: ``log(1 - sigmoid(x))`` -> ``-softplus(x)``
- ``local_log1p``: ``log(1 + x)`` -> ``log1p(x)``
- ``local_softmax_crossentropy``: ``log_softmax(z)[arange(n), y]`` (the NLL of the seeds),
  ``log(softmax(z))[arange(n), y]`` and ``log(softmax(z)[arange(n), y])`` (what
  ``categorical_crossentropy`` builds for int targets) -> ``-SoftmaxCrossEntropy(z, y)[0]``
- ``local_softmax_crossentropy_grad``: the gradients ``grad()`` built for those forms,
  ``SoftmaxGrad(AdvancedIncSubtensor(0, w, arange, y) / sm, sm)`` and
  ``SoftmaxGrad(AdvancedIncSubtensor(0, -g / sm[arange, y], arange, y), sm)``
  -> ``SoftmaxCrossEntropyGrad(g, sm, y)``; any other ``SoftmaxGrad(x / sm, sm)``
  (e.g. one-hot targets) -> ``x - sm * sum(x, -1, keepdims)``, which stays finite
  where sm underflows to 0
- ``local_softmax_from_crossentropy``: a ``softmax(z)`` next to ``SoftmaxCrossEntropy(z, y)``
  reuses the latter's softmax output.

With these, logits of magnitude 1000 give finite, exact costs and gradients.
"""
from __future__ import annotations

from ..graph import Constant, node_rewriter
from ..ops import scalar as ps
from ..ops import elemwise as elemwise_ops
from ..ops import reduce as reduce_ops
from ..ops import shape as shape_ops
from ..ops.elemwise import DimShuffle, Elemwise
from ..ops.nnet import (LogSoftmax, Softmax, SoftmaxCrossEntropy, SoftmaxGrad,
                        log_softmax_op, softmax_cross_entropy, softmax_cross_entropy_grad,
                        softmax_op)
from ..ops.reduce import CAReduce
from ..ops.shape import Arange
from ..ops.subtensor import AdvancedIncSubtensor, AdvancedSubtensor
from ..ops.type import INT_DTYPES
from .shape import shape_of
from .utils import elemwise_node, is_constant_equal, owner_of, same_value, strip_broadcast

TAGS = ("fast_run", "stabilize")




def _keepdims_reduce(v, op, x):
    """True when ``v`` is ``reduce_op(x, axis=-1)`` re-expanded on the last axis (keepdims)."""
    ds = owner_of(v, DimShuffle)
    if ds is None or ds.op.new_order != tuple(range(x.ndim - 1)) + ("x",):
        return False
    red = owner_of(ds.inputs[0], CAReduce)
    return red is not None and red.op.op == op and red.op.axis == (x.ndim - 1,) \
        and red.inputs[0] is x and red.op.dtype in (None, x.dtype)


@node_rewriter([Elemwise], tags=TAGS + ("softmax",))
def local_manual_softmax(fgraph, node):
    """exp(x - max(x)) / sum(exp(x - max(x))) (keepdims, last axis) -> softmax(x)."""
    if elemwise_node(node.outputs[0], ps.true_div) is None:
        return None
    e, denom = node.inputs
    exp_node = elemwise_node(e, ps.exp)
    if exp_node is None or not e.type.is_float or not _keepdims_reduce(denom, "add", e):
        return None
    x = exp_node.inputs[0]
    sub = elemwise_node(x, ps.sub)
    if sub is not None and _keepdims_reduce(sub.inputs[1], "max", sub.inputs[0]):
        x = sub.inputs[0]
    if x.ndim < 1 or x.type != node.outputs[0].type:
        return None
    return [softmax_op(x)]


def _softmax_input(sm):
    """z when ``sm`` is softmax(z) (a Softmax or the softmax output of the fused op)."""
    node = sm.owner
    if node is None:
        return None
    if isinstance(node.op, Softmax):
        return node.inputs[0]
    if isinstance(node.op, SoftmaxCrossEntropy) and sm.index == 1:
        return node.inputs[0]
    return None


@node_rewriter([Elemwise], tags=TAGS + ("softmax",))
def local_log_softmax(fgraph, node):
    """log(softmax(x)) -> log_softmax(x)."""
    if elemwise_node(node.outputs[0], ps.log) is None:
        return None
    x = _softmax_input(node.inputs[0])
    if x is None or x.type != node.outputs[0].type:
        return None
    return [log_softmax_op(x)]


@node_rewriter([Elemwise], tags=TAGS + ("sigmoid",))
def local_log_sigmoid(fgraph, node):
    """log(sigmoid(x)) -> -softplus(-x)."""
    if elemwise_node(node.outputs[0], ps.log) is None:
        return None
    s = elemwise_node(node.inputs[0], ps.sigmoid)
    if s is None:
        return None
    x = s.inputs[0]
    return [elemwise_ops.neg(elemwise_ops._elem(ps.softplus, elemwise_ops.neg(x)))]


@node_rewriter([Elemwise], tags=TAGS + ("sigmoid",))
def local_log1m_sigmoid(fgraph, node):
    """log(1 - sigmoid(x)) -> -softplus(x)."""
    if elemwise_node(node.outputs[0], ps.log) is None:
        return None
    sub = elemwise_node(node.inputs[0], ps.sub)
    if sub is None or not is_constant_equal(sub.inputs[0], 1) \
            or not _is_constant(sub.inputs[0]):
        return None
    s = elemwise_node(sub.inputs[1], ps.sigmoid)
    if s is None:
        return None
    new = elemwise_ops.neg(elemwise_ops._elem(ps.softplus, s.inputs[0]))
    return [new] if new.type == node.outputs[0].type else None


def _is_constant(v):
    return isinstance(strip_broadcast(v), Constant)


@node_rewriter([Elemwise], tags=TAGS + ("log1p",))
def local_log1p(fgraph, node):
    """log(1 + x) and log(x + 1) -> log1p(x)."""
    if elemwise_node(node.outputs[0], ps.log) is None:
        return None
    add = elemwise_node(node.inputs[0], ps.add)
    if add is None:
        return None
    for one, x in ((add.inputs[0], add.inputs[1]), (add.inputs[1], add.inputs[0])):
        if _is_constant(one) and is_constant_equal(one, 1):
            new = elemwise_ops.log1p(x)
            if new.type == node.outputs[0].type:
                return [new]
    return None


# ---------------------------------------------------------------- cross-entropy

def _is_row_arange(fgraph, rows, z, y):
    """True when ``rows`` is arange(0, n, 1) with n the length of y or the rows of z."""
    node = owner_of(rows, Arange)
    if node is None:
        return False
    start, stop, step = node.inputs
    if not (_is_constant(start) and is_constant_equal(start, 0)
            and _is_constant(step) and is_constant_equal(step, 1)):
        return False
    return same_value(stop, shape_of(fgraph, y)[0]) or same_value(stop, shape_of(fgraph, z)[0])


def _row_index(fgraph, node, z):
    """(rows, y) when an Advanced(Inc)Subtensor ``node`` picks ``[arange(n), y]`` of z's rows."""
    if node.op.idx_list != (("adv",), ("adv",)):
        return None
    rows, y = node.inputs[-2:]
    if y.ndim != 1 or y.dtype not in INT_DTYPES or z.ndim != 2:
        return None
    if not _is_row_arange(fgraph, rows, z, y):
        return None
    return rows, y


def _fused(fgraph, z, y):
    """Outputs (loss, sm) of SoftmaxCrossEntropy(z, y), plus replacements of other softmaxes
    of z by its softmax output."""
    loss, sm = softmax_cross_entropy(z, y)
    extra = {}
    for c, _ in fgraph.clients.get(z, ()):
        if c != "output" and isinstance(c.op, Softmax) and c.outputs[0].type == sm.type:
            extra[c.outputs[0]] = sm
    return loss, sm, extra


@node_rewriter([AdvancedSubtensor, Elemwise], tags=TAGS + ("crossentropy",))
def local_softmax_crossentropy(fgraph, node):
    """log_softmax(z)[arange(n), y] -> -SCE(z, y)[0]; log(softmax(z)[arange(n), y]) likewise."""
    if isinstance(node.op, AdvancedSubtensor):
        sub, src = node, node.inputs[0]
        if owner_of(src, LogSoftmax) is not None:
            z = src.owner.inputs[0]
        elif elemwise_node(src, ps.log) is not None:
            z = _softmax_input(src.owner.inputs[0])
        else:
            return None
    else:
        if elemwise_node(node.outputs[0], ps.log) is None:
            return None
        sub = owner_of(node.inputs[0], AdvancedSubtensor)
        if sub is None:
            return None
        z = _softmax_input(sub.inputs[0])
    if z is None:
        return None
    ri = _row_index(fgraph, sub, z)
    if ri is None:
        return None
    loss, _, extra = _fused(fgraph, z, ri[1])
    new = elemwise_ops.neg(loss)
    if new.type != node.outputs[0].type:
        return None
    extra[node.outputs[0]] = new
    return extra


def _zeros_like_rows(fgraph, base, sm):
    return is_constant_equal(base, 0) and base.ndim == 2 and \
        all(same_value(a, b) for a, b in zip(shape_of(fgraph, base), shape_of(fgraph, sm)))


def _as_row_vector(fgraph, g, sm):
    """``g`` (a scalar or a broadcastable 1-vector) as an (n,) vector for the rows of sm."""
    if g.ndim == 0 or g.broadcastable == (True,):
        return shape_ops.alloc(g, shape_of(fgraph, sm)[0])
    return g


@node_rewriter([SoftmaxGrad], tags=TAGS + ("crossentropy",))
def local_softmax_crossentropy_grad(fgraph, node):
    """The gradients of the cross-entropy forms -> SoftmaxCrossEntropyGrad (see module doc);
    other SoftmaxGrad(x / sm, sm) -> x - sm * sum(x, -1, keepdims)."""
    dy, sm = node.inputs
    z = _softmax_input(sm)
    if z is None:
        return None
    out = node.outputs[0]
    g_loss = y = None
    div = elemwise_node(dy, ps.true_div)
    if div is not None and div.inputs[1] is sm:
        inc = owner_of(div.inputs[0], AdvancedIncSubtensor)
        if inc is not None and not inc.op.set_instead_of_inc and z.ndim == 2:
            ri = _row_index(fgraph, inc, z)
            if ri is not None and _zeros_like_rows(fgraph, inc.inputs[0], sm) \
                    and inc.inputs[1].ndim <= 1:
                g_loss, y = elemwise_ops.neg(inc.inputs[1]), ri[1]
    inc = owner_of(dy, AdvancedIncSubtensor)
    if g_loss is None and inc is not None and not inc.op.set_instead_of_inc and z.ndim == 2:
        ri = _row_index(fgraph, inc, z)
        v = elemwise_node(inc.inputs[1], ps.true_div)
        if ri is not None and v is not None and _zeros_like_rows(fgraph, inc.inputs[0], sm):
            picked = owner_of(v.inputs[1], AdvancedSubtensor)
            if picked is not None and picked.inputs[0] is sm and v.inputs[0].ndim <= 1 \
                    and picked.inputs[1] is ri[0] and picked.inputs[2] is ri[1]:
                g_loss, y = elemwise_ops.neg(v.inputs[0]), ri[1]
    if g_loss is not None:
        if g_loss.dtype != sm.dtype:
            g_loss = elemwise_ops.cast(g_loss, sm.dtype)
        g_loss = _as_row_vector(fgraph, g_loss, sm)
        _, fused_sm, extra = _fused(fgraph, z, y)
        new = softmax_cross_entropy_grad(g_loss, fused_sm, y)
        if new.type == out.type:
            extra[out] = new
            return extra
    if div is not None and div.inputs[1] is sm and div.inputs[0].dtype == sm.dtype:
        x = div.inputs[0]
        new = x - sm * reduce_ops.sum(x, axis=-1, keepdims=True)
        if new.type == out.type:
            return [new]
    return None


@node_rewriter([Softmax], tags=TAGS + ("crossentropy",))
def local_softmax_from_crossentropy(fgraph, node):
    """softmax(z) -> SoftmaxCrossEntropy(z, y)[1] when that fused node is in the graph."""
    z = node.inputs[0]
    for c, _ in fgraph.clients.get(z, ()):
        if c != "output" and isinstance(c.op, SoftmaxCrossEntropy) and c in fgraph.apply_nodes:
            if c.outputs[1].type == node.outputs[0].type:
                return [c.outputs[1]]
    return None


STABILIZE = [local_manual_softmax, local_log_softmax, local_log_sigmoid, local_log1m_sigmoid,
             local_log1p, local_softmax_crossentropy, local_softmax_crossentropy_grad,
             local_softmax_from_crossentropy]

__all__ = [r.name for r in STABILIZE] + ["STABILIZE"]
