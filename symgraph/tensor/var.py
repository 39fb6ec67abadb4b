"""Theano's module path ``theano.tensor.var``: the tensor variable classes."""
from ..ops.sharedvar import TensorSharedVariable  # noqa: F401
from ..ops.variable import TensorConstant, TensorVariable, _TensorOps  # noqa: F401

_tensor_py_operators = _TensorOps     # Theano's name for the operator mix-in
