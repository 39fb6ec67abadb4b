"""Theano's module path ``theano.tensor.signal.conv``: ``conv2d`` of single-channel images."""
from ...ops.conv import signal_conv2d as conv2d  # noqa: F401

__all__ = ["conv2d"]
