"""Theano's module path ``theano.tensor.sort``: ``sort`` and ``argsort``."""
from ..ops.sort import ArgSortOp, SortOp, argsort, sort  # noqa: F401

__all__ = ["sort", "argsort", "SortOp", "ArgSortOp"]
