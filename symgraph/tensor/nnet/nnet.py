"""Theano's module path ``theano.tensor.nnet.nnet``: activations, softmax and losses."""
from ...ops.elemwise import tanh  # noqa: F401
from ...ops.nnet import (  # noqa: F401
    binary_crossentropy, categorical_crossentropy, crossentropy_categorical_1hot,
    crossentropy_softmax_1hot, elu, hard_sigmoid, log_softmax, logsoftmax, relu, selu, sigmoid,
    sigmoid_binary_crossentropy, softmax, softmax_with_bias, softplus, softsign, ultra_fast_sigmoid,
)
