"""Theano's module path ``theano.tensor.raw_random``: draws from a symbolic RandomState."""
from ..ops.random import (  # noqa: F401
    RandomFunction, RandomStateType, binomial, choice, normal, permutation, random_integers,
    random_state_type, size_vector_and_ndim, uniform,
)

__all__ = ["uniform", "normal", "binomial", "random_integers", "choice", "permutation"]
