"""The Theano-style tensor API: ``import symgraph.tensor as T``."""
from ..ops.type import TensorType  # noqa: F401
# The modules tensor.var and tensor.type are loaded before the star import below, so that the
# functions T.var (variance) and friends win over the submodule attributes (as in Theano).
from . import type, var  # noqa: F401,E402
# Theano's module paths; ``T.sort`` is the function (the star import below wins over the
# submodule attribute), ``T.xlogx`` the module, as in Theano.
from . import elemwise, extra_ops, nlinalg, slinalg, sort, xlogx  # noqa: F401,E402
from ..ops.variable import TensorVariable, TensorConstant  # noqa: F401
from ..ops.elemwise import DimShuffle, Elemwise  # noqa: F401
from ..ops.reduce import CAReduce  # noqa: F401
from .basic import *  # noqa: F401,F403
from .basic import (  # noqa: F401
    constant, as_tensor_variable, as_tensor, abs_, max, min, sum, pow, round, and_, or_,
    getitem, tensor, _elem,
)
from ..gradient import grad, verify_grad, zero_grad, disconnected_grad, Lop, Rop  # noqa: F401
from ..ops.sharedvar import shared  # noqa: F401
from . import nnet  # noqa: F401
from . import signal  # noqa: F401
from . import shared_randomstreams  # noqa: F401
from . import opt  # noqa: F401
