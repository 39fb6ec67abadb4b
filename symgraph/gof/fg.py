"""Theano's module path ``theano.gof.fg``: FunctionGraph."""
from ..graph.fgraph import Feature, FunctionGraph, InconsistencyError  # noqa: F401
