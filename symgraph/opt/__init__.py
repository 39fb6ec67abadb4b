"""Graph rewriting: FunctionGraph, the rewrite engine and the standard passes."""
from .fgraph import FunctionGraph, InconsistencyError  # noqa: F401


def optimize(fgraph, mode):
    """Run the rewrite pipeline selected by ``mode`` on ``fgraph`` (in place)."""
    from .pipeline import run_pipeline
    return run_pipeline(fgraph, mode)
