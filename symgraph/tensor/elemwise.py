"""Theano's module path ``theano.tensor.elemwise``: ``Elemwise``, ``DimShuffle``, ``CAReduce``."""
from ..ops.elemwise import DimShuffle, Elemwise  # noqa: F401
from ..ops.reduce import CAReduce  # noqa: F401

__all__ = ["Elemwise", "DimShuffle", "CAReduce"]
