"""Theano's module path ``theano.compile.nanguardmode``."""
from ..backends.errors import NanGuard, NanGuardError  # noqa: F401
from .mode import NanGuardMode  # noqa: F401
