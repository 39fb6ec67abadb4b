"""Theano's module path ``theano.tensor.xlogx``: ``xlogx`` and ``xlogy0``."""
from ..ops.xlogx import xlogx, xlogy0  # noqa: F401

__all__ = ["xlogx", "xlogy0"]
