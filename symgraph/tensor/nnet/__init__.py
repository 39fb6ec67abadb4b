"""Neural-network ops (``T.nnet``): activations, softmax, losses, convolution."""
from ...ops import scalar as _ps
from ..basic import _elem


def sigmoid(x):
    """Logistic function 1 / (1 + exp(-x))."""
    return _elem(_ps.sigmoid, x)


def softplus(x):
    """log(1 + exp(x)), computed stably."""
    return _elem(_ps.softplus, x)
