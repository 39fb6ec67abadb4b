"""Theano's module path ``theano.tensor.nnet.neighbours``."""
from ...ops.neighbours import Images2Neibs, Neibs2Images, images2neibs, neibs2images  # noqa: F401
