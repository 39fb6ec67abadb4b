"""Theano's module path ``theano.tensor.signal.downsample``: ``max_pool_2d``."""
from ...ops.pool import max_pool_2d  # noqa: F401

__all__ = ["max_pool_2d"]
