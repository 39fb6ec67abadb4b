"""Compilation: ``function()``, modes, In/Out, shared variables; and Theano's module paths
``theano.compile.ops`` (as_op), ``.builders`` (OpFromGraph), ``.nanguardmode``."""
from . import builders, io, mode, nanguardmode, ops, sharedvalue  # noqa: F401
from .builders import OpFromGraph  # noqa: F401
from .io import In, Out  # noqa: F401
from .mode import DebugMode, Mode, NanGuardMode, get_mode  # noqa: F401
from .ops import as_op  # noqa: F401
from .sharedvalue import SharedVariable, shared  # noqa: F401
