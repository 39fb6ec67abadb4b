"""symgraph: a Theano-style symbolic tensor compiler.

    import symgraph as theano
    import symgraph.tensor as T

    x = T.dmatrix('x')
    f = theano.function([x], T.tanh(x).sum())
"""
__version__ = "0.1.0"

from .config import config  # noqa: F401
from .config import change_flags  # noqa: F401
from .graph import Variable, Constant, Apply, Op, Type, clone_replace  # noqa: F401
from . import tensor  # noqa: F401
from .compile.sharedvalue import shared, SharedVariable  # noqa: F401
from .compile.io import In, Out  # noqa: F401
from .compile.function import function, MissingInputError, UnusedInputError  # noqa: F401
from .compile.mode import Mode, CudaMode, DebugMode, NanGuardMode, get_mode  # noqa: F401
from .gradient import grad, verify_grad  # noqa: F401
from .printing import pp, debugprint, pydotprint  # noqa: F401
from . import printing  # noqa: F401
from . import ifelse  # noqa: F401
from . import scan_module  # noqa: F401
# the subpackages `import theano` makes attributes of the package
from . import compile, gof, misc, sandbox, scalar  # noqa: F401,A004
from .scan_module import scan, until, map, reduce, foldl, foldr  # noqa: F401,A004


def clone(output, replace=None, strict=True, share_inputs=True):
    """Copy the graph of ``output`` (a variable or list), substituting per ``replace``."""
    single = not isinstance(output, (list, tuple))
    outs = clone_replace([output] if single else list(output), replace, copy_inputs=True)
    return outs[0] if single else outs


Param = In  # old Theano name
