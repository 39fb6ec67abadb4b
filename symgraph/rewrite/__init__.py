"""The rewrite passes and the pipeline that orders them.

``basic`` (constant folding), ``shape`` (shape inference), ``canonicalize``, ``stabilize``,
``fusion``, ``inplace`` and ``pipeline`` (the ordered phases and mode selection). The engine
they run on (FunctionGraph, node rewriters, merge) is the graph layer's (symgraph/graph/).
"""
from .pipeline import run_pipeline


def optimize(fgraph, mode):
    """Run the rewrite pipeline selected by ``mode`` on ``fgraph`` (in place)."""
    return run_pipeline(fgraph, mode)
