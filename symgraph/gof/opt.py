"""Theano's module path ``theano.gof.opt``: the rewriter classes under Theano's names."""
from ..graph.rewriting import (  # noqa: F401
    EquilibriumRewriter, GraphRewriter, MergeRewriter, NodeRewriter, graph_rewriter,
    node_rewriter,
)

LocalOptimizer = NodeRewriter
Optimizer = GraphRewriter
EquilibriumOptimizer = EquilibriumRewriter
MergeOptimizer = MergeRewriter
local_optimizer = node_rewriter
