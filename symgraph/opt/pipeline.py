"""Placeholder pipeline (replaced by the rewrite engine)."""


def run_pipeline(fgraph, mode):
    return fgraph
