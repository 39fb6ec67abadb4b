"""Theano's module path ``theano.ifelse``: ``from symgraph.ifelse import ifelse``."""
from .ops.ifelse import IfElse, ifelse  # noqa: F401

__all__ = ["ifelse", "IfElse"]
