"""Theano's module path ``theano.tensor.nnet.sigm``: the sigmoid family."""
from ...ops.nnet import hard_sigmoid, sigmoid, softplus, ultra_fast_sigmoid  # noqa: F401

__all__ = ["sigmoid", "softplus", "ultra_fast_sigmoid", "hard_sigmoid"]
