"""Theano's module path ``theano.sandbox.rng_mrg``: ``MRG_RandomStreams`` (MRG31k3p)."""
from ..ops.rng_mrg import MRG_RandomStreams, guess_n_streams  # noqa: F401

__all__ = ["MRG_RandomStreams", "guess_n_streams"]
