"""Theano's module path ``theano.tensor.shared_randomstreams``: ``RandomStreams``."""
from ..ops.random_streams import RandomStreams  # noqa: F401

__all__ = ["RandomStreams"]
