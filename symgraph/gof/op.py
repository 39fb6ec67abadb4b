"""Theano's module path ``theano.gof.op``: the Op base class."""
from ..graph.basic import Apply, Op  # noqa: F401

PureOp = Op
