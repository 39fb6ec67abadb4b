"""Theano's module path ``theano.compile.ops``: ``as_op``."""
from ..ops.builders import FromFunctionOp, as_op  # noqa: F401
