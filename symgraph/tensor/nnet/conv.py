"""Theano's module path ``theano.tensor.nnet.conv``: ``conv2d`` with the old ConvOp arguments."""
from ...ops.conv import conv2d_legacy as conv2d  # noqa: F401

__all__ = ["conv2d"]
