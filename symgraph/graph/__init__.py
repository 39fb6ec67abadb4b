"""The graph layer: the IR, FunctionGraph, the rewriting engine and shared-variable storage.

Nothing here knows about tensors or backends: ``basic`` (Type, Variable, Constant, Apply, Op,
traversal), ``fgraph`` (the mutable graph that rewrites edit, and its features),
``rewriting`` (node rewriters, the worklist driver, merge) and ``shared`` (variables whose
value persists across calls).
"""
from .basic import (  # noqa: F401
    Apply, Constant, Op, Type, Variable, ancestors, clone_replace, compiler, format_trace,
    graph_inputs, is_same_graph, register_compiler, toposort, user_trace, with_test_values,
)
from .fgraph import Feature, FunctionGraph, InconsistencyError  # noqa: F401
from .rewriting import (  # noqa: F401
    EquilibriumRewriter, GraphRewriter, MergeFeature, MergeRewriter, NodeRewriter, Rewriter,
    apply_replacements, graph_rewriter, merge, node_rewriter, result_pairs,
)
from . import aliasing  # noqa: F401
from .shared import GenericSharedVariable, GenericType, SharedVariable  # noqa: F401
