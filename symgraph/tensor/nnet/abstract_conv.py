"""Theano's module path ``theano.tensor.nnet.abstract_conv``: ``conv2d`` and the convolution
ops that exist here (``conv2d_grad_wrt_inputs``/``_weights``, ``AbstractConv2d`` and the
transposed convolution are not built yet)."""
from ...ops.conv import (  # noqa: F401
    Conv2d, Conv2dGradInputs, Conv2dGradWeights, conv2d, normalize_border_mode,
)

__all__ = ["conv2d", "Conv2d", "Conv2dGradInputs", "Conv2dGradWeights"]
