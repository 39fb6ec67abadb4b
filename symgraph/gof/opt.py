"""Theano's module path ``theano.gof.opt``: the rewriter classes under Theano's names."""
from ..rewrite.pipeline import local_rewriter
from ..graph.rewriting import (  # noqa: F401
    EquilibriumRewriter, GraphRewriter, MergeRewriter, NodeRewriter, graph_rewriter,
    node_rewriter,
)

LocalOptimizer = NodeRewriter
Optimizer = GraphRewriter
EquilibriumOptimizer = EquilibriumRewriter
MergeOptimizer = MergeRewriter


def local_optimizer(tracks, inplace=False, requirements=()):
    """Theano's ``gof.local_optimizer(tracks)`` decorator: ``fn(node)`` (Theano's form) or
    ``fn(fgraph, node)`` returning replacements (a list, a dict, or False/None) becomes a
    node rewriter; register it with ``tensor.opt.register_canonicalize`` and friends."""
    def deco(fn):
        return local_rewriter(fn, tracks)
    return deco
