"""Theano's module path ``theano.compile.builders``: ``OpFromGraph``."""
from ..ops.builders import OpFromGraph  # noqa: F401
