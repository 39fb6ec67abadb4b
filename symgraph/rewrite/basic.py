"""Constant folding (merge, the other basic pass, is part of the engine: graph/rewriting.py).

``constant_folding``: a node whose inputs are all constants is computed once
with ``perform`` and replaced by constants. Ops with side effects opt out
with the class attribute ``_no_constant_fold = True``; ops that destroy
inputs, results above :data:`FOLD_MAX_SIZE` elements, and ``Alloc`` (whose
whole point is a fresh buffer) are never folded.
"""
from __future__ import annotations

import numpy as np

from ..graph import Constant, MergeFeature, MergeRewriter, merge, node_rewriter
from ..ops.shape import Alloc
from ..ops.type import TensorType

FOLD_MAX_SIZE = 100_000


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
    result = []
    for out, (val,) in zip(node.outputs, storage):
        if not isinstance(val, (np.ndarray, np.generic)):
            return None
        val = np.array(val, dtype=out.dtype)        # own, writable copy
        if val.size > FOLD_MAX_SIZE or val.ndim != out.ndim:
            return None
        try:
            c = out.type.make_constant(val)
        except TypeError:
            return None
        result.append(c)
    return result


__all__ = ["MergeFeature", "MergeRewriter", "merge", "constant_folding", "FOLD_MAX_SIZE"]
