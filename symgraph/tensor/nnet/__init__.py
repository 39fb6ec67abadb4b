"""Neural-network ops (``T.nnet``): activations, softmax, losses, convolution.

>>> import symgraph.tensor as T
>>> p = T.nnet.softmax(T.dot(x, W) + b)
>>> y = T.nnet.conv2d(images, filters, border_mode='half')
"""
from .nnet import (  # noqa: F401
    sigmoid, softplus, ultra_fast_sigmoid, hard_sigmoid, relu, elu, selu, softsign,
    softmax, log_softmax, logsoftmax, softmax_with_bias, crossentropy_softmax_1hot,
    binary_crossentropy, sigmoid_binary_crossentropy, crossentropy_categorical_1hot,
    categorical_crossentropy, tanh,
)
from ...ops.conv import conv2d  # noqa: F401
from ...ops.nnet import (  # noqa: F401
    Softmax, LogSoftmax, SoftmaxGrad, SoftmaxCrossEntropy, SoftmaxCrossEntropyGrad,
    softmax_op, softmax_grad,
)
from . import conv  # noqa: F401
from . import abstract_conv, bn, neighbours, nnet, sigm  # noqa: F401
from ...ops.bn import h_softmax  # noqa: F401
from ...ops.neighbours import images2neibs, neibs2images  # noqa: F401
