"""Rewrites of the control-flow ops (Scan, IfElse): their inner graphs go through the pipeline.

``InnerGraphRewriter`` gives every node whose op holds inner graphs (``op.inner_graphs()``)
a new op over rewritten copies of them (``op.with_inner(*fgraphs)``): the same phases as
the outer graph (merge, canonicalize, stabilize, specialize, fusion) except ``inplace``, as
an inner graph's inputs are the loop's buffers or the outer graph's values, and nested
scans are rewritten by the same pass inside. The user's graph keeps its original op.
An ``IfElse`` whose condition is a constant is replaced by the branch it selects.

The pipeline function is handed in by ``pipeline.py`` (which imports this module), so the
two modules do not import each other.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ..graph import Constant, GraphRewriter, InconsistencyError
from ..ops.ifelse import IfElse
from ..ops.innergraph import clone_inner, outer_outputs

INNER_EXCLUDED = frozenset({"inplace"})


class InnerGraphRewriter(GraphRewriter):
    """Rewrite the inner graphs of Scan and IfElse nodes with ``run(fgraph, mode)``."""

    def __init__(self, name, tags, run):
        super().__init__(None, name, tags)
        self.run = run

    def apply(self, fgraph, excluded=frozenset()):
        mode = SimpleNamespace(optimizer="fast_run", excluded=frozenset(excluded) | INNER_EXCLUDED)
        for node in list(fgraph.toposort()):
            if node not in fgraph.apply_nodes or not hasattr(node.op, "inner_graphs"):
                continue
            if isinstance(node.op, IfElse) and isinstance(node.inputs[0], Constant):
                branch = node.op.then_fg if bool(np.asarray(node.inputs[0].data)) \
                    else node.op.else_fg
                new = outer_outputs(branch, node.inputs[1:])
            else:
                if getattr(node.op, "inner_rewritten", False):
                    continue
                graphs = [clone_inner(fg) for _, fg in node.op.inner_graphs()]
                for fg in graphs:
                    self.run(fg, mode)
                op = node.op.with_inner(*graphs)
                op.inner_rewritten = True
                new = op.make_node(*node.inputs).outputs
            try:
                fgraph.replace_validate(list(zip(node.outputs, new)), reason=self.name)
            except (InconsistencyError, TypeError):
                continue


__all__ = ["InnerGraphRewriter"]
