"""Theano's module path ``theano.compile.sharedvalue``: shared variables and ``shared()``."""
from ..graph.shared import GenericSharedVariable, GenericType, SharedVariable  # noqa: F401
from ..ops.sharedvar import TensorSharedVariable, register_shared_constructor, shared  # noqa: F401
