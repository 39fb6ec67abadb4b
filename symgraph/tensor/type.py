"""Theano's module path ``theano.tensor.type``: ``TensorType`` and the dtype helpers."""
from ..ops.type import (  # noqa: F401
    ALL_DTYPES, COMPLEX_DTYPES, DISCRETE_DTYPES, FLOAT_DTYPES, INT_DTYPES, TensorType,
    float_upcast, normalize_dtype, upcast,
)
