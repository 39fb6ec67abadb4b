"""Graph rewriting: FunctionGraph, the rewrite engine and the standard passes.

Layout: ``fgraph`` (the mutable graph and its features), ``engine`` (node
rewriters, the worklist driver), ``basic`` (merge, constant folding),
``shape`` (shape inference), ``canonicalize``, ``stabilize``, ``fusion``,
``inplace`` and ``pipeline`` (the ordered phases and mode selection).
"""
from .fgraph import Feature, FunctionGraph, InconsistencyError  # noqa: F401
from .engine import (  # noqa: F401
    EquilibriumRewriter, GraphRewriter, NodeRewriter, graph_rewriter, node_rewriter,
)


def optimize(fgraph, mode):
    """Run the rewrite pipeline selected by ``mode`` on ``fgraph`` (in place)."""
    from .pipeline import run_pipeline
    return run_pipeline(fgraph, mode)
