"""Theano's module path ``theano.tensor.opt``: the decorators that add a local rewrite to
the pipeline's phases."""
from ..rewrite.pipeline import (  # noqa: F401
    register_canonicalize, register_specialize, register_specialize_device, register_stabilize,
    register_uncanonicalize,
)
from ..gof.opt import local_optimizer  # noqa: F401
