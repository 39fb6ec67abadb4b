"""The Theano-style tensor API: ``import symgraph.tensor as T``."""
from .type import TensorType  # noqa: F401
from .var import TensorVariable, TensorConstant  # noqa: F401
from .basic import *  # noqa: F401,F403
from .basic import (  # noqa: F401
    constant, as_tensor_variable, as_tensor, abs_, max, min, sum, pow, round, and_, or_,
    getitem, tensor, _elem,
)
from ..gradient import grad, verify_grad, zero_grad, disconnected_grad, Lop, Rop  # noqa: F401
from ..compile.sharedvalue import shared  # noqa: F401
from . import nnet  # noqa: F401
from . import signal  # noqa: F401
from . import shared_randomstreams  # noqa: F401
