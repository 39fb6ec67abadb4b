"""Legacy ``theano.tensor.nnet.conv``: ``conv2d`` with the old ConvOp argument names."""
from ...ops.conv import conv2d as _conv2d

_SPEED_KNOBS = ("unroll_batch", "unroll_kern", "unroll_patch", "verbose", "version",
                "direction_hint", "openmp")


def conv2d(input, filters, filter_shape=None, image_shape=None, border_mode="valid",
           subsample=(1, 1), **kargs):
    """``conv2d(input, filters, filter_shape=None, image_shape=None, border_mode='valid',
    subsample=(1, 1))``: the pre-1.0 ConvOp interface of ``T.nnet.conv2d`` (true
    convolution of NCHW images with OIHW filters; the shapes are checked at run time).

    >>> from symgraph.tensor.nnet import conv
    >>> y = conv.conv2d(x, w, filter_shape=(20, 1, 5, 5), image_shape=(500, 1, 28, 28))
    """
    for knob in _SPEED_KNOBS:        # ConvOp's tuning options do not change the result
        kargs.pop(knob, None)
    return _conv2d(input, filters, input_shape=image_shape, filter_shape=filter_shape,
                   border_mode=border_mode, subsample=subsample, **kargs)


__all__ = ["conv2d"]
