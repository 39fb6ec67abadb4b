"""Theano's module path ``theano.tensor.nnet.abstract_conv``: ``conv2d``, its gradients as
functions (``conv2d_grad_wrt_inputs`` is also the transposed convolution) and the op classes
under Theano's names."""
from ...ops.conv import (  # noqa: F401
    AbstractConv2d, AbstractConv2d_gradInputs, AbstractConv2d_gradWeights, Conv2d,
    Conv2dGradInputs, Conv2dGradWeights, conv2d, conv2d_grad_wrt_inputs,
    conv2d_grad_wrt_weights, normalize_border_mode,
)

__all__ = ["conv2d", "conv2d_grad_wrt_inputs", "conv2d_grad_wrt_weights", "AbstractConv2d",
           "AbstractConv2d_gradInputs", "AbstractConv2d_gradWeights", "Conv2d",
           "Conv2dGradInputs", "Conv2dGradWeights"]
