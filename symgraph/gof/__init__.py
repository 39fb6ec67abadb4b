"""Theano's module path ``theano.gof``: the graph IR (``symgraph.graph``) under Theano's names.

``gof.graph`` (Apply, Variable, Constant, ``inputs``, ``ancestors``, ``io_toposort``,
``clone``), ``gof.op`` (Op), ``gof.fg`` (FunctionGraph), ``gof.opt`` (the rewriter classes).
"""
from ..graph import (  # noqa: F401
    Apply, Constant, EquilibriumRewriter, Feature, FunctionGraph, GraphRewriter,
    InconsistencyError, MergeRewriter, NodeRewriter, Op, Type, Variable, ancestors,
    clone_replace, graph_inputs, graph_rewriter, is_same_graph, node_rewriter, toposort,
)
from ..graph.shared import SharedVariable  # noqa: F401
from . import fg, graph, op, opt  # noqa: F401
from .opt import local_optimizer  # noqa: F401

# Theano's names for the rewriting classes and decorators
LocalOptimizer = NodeRewriter
Optimizer = GraphRewriter
EquilibriumOptimizer = EquilibriumRewriter
MergeOptimizer = MergeRewriter
inputs = graph_inputs
