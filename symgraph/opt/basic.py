"""Merge (common-subexpression elimination) and constant folding.

``merge``: equal constants (same :meth:`Constant.signature`) become one
variable, and Apply nodes with equal ops on the same inputs become one node.
:class:`MergeFeature` does it incrementally while other rewrites run.

``constant_folding``: a node whose inputs are all constants is computed once
with ``perform`` and replaced by constants. Ops with side effects opt out
with the class attribute ``_no_constant_fold = True``; ops that destroy
inputs, results above :data:`FOLD_MAX_SIZE` elements, and ``Alloc`` (whose
whole point is a fresh buffer) are never folded.
"""
from __future__ import annotations

import numpy as np

from ..graph import Constant
from ..ops.shape import Alloc
from ..tensor.type import TensorType
from .engine import GraphRewriter, apply_replacements, node_rewriter
from .fgraph import Feature, InconsistencyError

FOLD_MAX_SIZE = 100_000


def _mergeable(op):
    return not op.destroy_map and not getattr(op, "_no_merge", False)


class MergeFeature(Feature):
    """Notices equal constants and equal nodes as they enter the graph; ``flush`` merges them.

    The first-registered of two equal nodes is kept.
    """

    def __init__(self):
        self.nodes = {}
        self.consts = {}
        self.pending = []

    def on_attach(self, fgraph):
        for node in fgraph.toposort():
            self.register(fgraph, node)

    def on_import(self, fgraph, node):
        self.register(fgraph, node)

    def on_change_input(self, fgraph, node, i, old, new):
        if node != "output":
            self.register(fgraph, node)

    def register(self, fgraph, node):
        for inp in node.inputs:
            if isinstance(inp, Constant):
                sig = inp.signature()
                canon = self.consts.get(sig)
                if canon is None or canon not in fgraph.variables:
                    self.consts[sig] = inp
                elif canon is not inp:
                    self.pending.append((inp, canon))
        if not _mergeable(node.op):
            return
        # keyed by the inputs only: hashing ops (with their props) is slow, and
        # nodes on the same inputs are few, so ops are compared in the bucket
        key = tuple(node.inputs)
        bucket = self.nodes.get(key)
        if bucket is None:
            self.nodes[key] = [node]
            return
        live = [n for n in bucket if n in fgraph.apply_nodes and tuple(n.inputs) == key]
        for other in live:
            if other is not node and other.op == node.op:
                self.pending.append((node, other))
                break
        if node not in live:
            live.append(node)
        self.nodes[key] = live

    def flush(self, fgraph):
        """Carry out the pending merges (and those they cause); returns how many."""
        done = 0
        while self.pending:
            a, b = self.pending.pop()
            if isinstance(a, Constant):
                if a in fgraph.variables and b in fgraph.variables and a.type == b.type:
                    pairs = [(a, b)]
                else:
                    continue
            else:
                if a not in fgraph.apply_nodes or b not in fgraph.apply_nodes \
                        or a.op != b.op or a.inputs != b.inputs:
                    continue
                pairs = [(o, k) for o, k in zip(a.outputs, b.outputs) if o.type == k.type]
                if len(pairs) != len(a.outputs):
                    continue
                if apply_replacements(fgraph, a, pairs, "merge"):
                    done += 1
                continue
            try:
                fgraph.replace_validate(pairs, reason="merge")
            except InconsistencyError:
                continue
            done += 1
        return done


class MergeRewriter(GraphRewriter):
    """Whole-graph merge of equal constants and equal nodes."""

    def __init__(self, name="merge", tags=("fast_run", "fast_compile", "merge")):
        super().__init__(None, name, tags)

    def apply(self, fgraph, excluded=frozenset()):
        feature = fgraph.get_feature(MergeFeature)
        own = feature is None
        if own:
            feature = MergeFeature()
            fgraph.attach_feature(feature)
        try:
            return feature.flush(fgraph)
        finally:
            if own:
                fgraph.remove_feature(feature)


merge = MergeRewriter()


@node_rewriter(None, tags=("fast_run", "fast_compile", "constant_folding"))
def constant_folding(fgraph, node):
    """Compute nodes whose inputs are all constants (see the module docstring)."""
    if not node.inputs or not all(isinstance(i, Constant) for i in node.inputs):
        return None
    op = node.op
    if getattr(op, "_no_constant_fold", False) or op.destroy_map:
        return None
    if not all(isinstance(o.type, TensorType) for o in node.outputs):
        return None
    if isinstance(op, Alloc) and any(not all(o.broadcastable) for o in node.outputs):
        return None
    storage = [[None] for _ in node.outputs]
    try:
        with np.errstate(all="ignore"):
            op.perform(node, [i.data for i in node.inputs], storage)
    except Exception:
        return None      # the error will be raised, with context, at run time
    from ..tensor.var import TensorConstant
    result = []
    for out, (val,) in zip(node.outputs, storage):
        if not isinstance(val, (np.ndarray, np.generic)):
            return None
        val = np.array(val, dtype=out.dtype)        # own, writable copy
        if val.size > FOLD_MAX_SIZE or val.ndim != out.ndim:
            return None
        try:
            c = TensorConstant(out.type, val)
        except TypeError:
            return None
        result.append(c)
    return result


__all__ = ["MergeFeature", "MergeRewriter", "merge", "constant_folding", "FOLD_MAX_SIZE"]
