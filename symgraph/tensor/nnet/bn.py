"""Theano's module path ``theano.tensor.nnet.bn``: batch normalization."""
from ...ops.bn import (  # noqa: F401
    batch_normalization, batch_normalization_test, batch_normalization_train,
)
