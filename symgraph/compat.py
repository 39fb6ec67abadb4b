"""Make ``import theano`` (and every ``theano.X.Y``) give the symgraph modules.

:func:`install_theano_alias` puts a finder at the front of ``sys.meta_path`` that maps
``theano`` to ``symgraph`` and ``theano.X.Y`` to ``symgraph.X.Y``: the *same* module
objects, so ``sys.modules['theano.tensor'] is sys.modules['symgraph.tensor']``. A module
symgraph lacks is a ``ModuleNotFoundError`` naming both names. ``python -m symgraph.run``
installs it before running a program; code can call it directly::

    import symgraph.compat
    symgraph.compat.install_theano_alias()
    import theano.tensor as T          # symgraph.tensor
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys

ALIAS = "theano"
TARGET = "symgraph"


def target_name(fullname, alias=ALIAS, target=TARGET):
    """``'theano.tensor.nnet'`` -> ``'symgraph.tensor.nnet'``; None if not under ``alias``."""
    if fullname == alias:
        return target
    if fullname.startswith(alias + "."):
        return target + fullname[len(alias):]
    return None


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, module):
        self._module = module

    def create_module(self, spec):
        return self._module         # the symgraph module itself; its attributes are kept

    def exec_module(self, module):
        pass                        # already executed under its symgraph name


class TheanoAliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``theano[.X.Y]`` by importing ``symgraph[.X.Y]``."""

    def __init__(self, alias=ALIAS, target=TARGET):
        self.alias, self.target = alias, target

    def find_spec(self, fullname, path=None, target=None):
        real = target_name(fullname, self.alias, self.target)
        if real is None:
            return None
        try:
            module = importlib.import_module(real)
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            if missing == real or real.startswith(missing + ".") or missing == self.target:
                # name=real: a `from theano.x import y` must not take it for "no submodule y"
                # and fall back to a vaguer "cannot import name" error.
                raise ModuleNotFoundError(
                    f"No module named {fullname!r}: symgraph runs Theano programs by mapping "
                    f"{fullname!r} to {real!r}, and symgraph has no module {missing!r}",
                    name=real) from None
            raise
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(module),
                                              is_package=hasattr(module, "__path__"))


def install_theano_alias():
    """Install the finder (once) and return it. Modules already imported as ``theano`` are
    left alone."""
    for finder in sys.meta_path:
        if isinstance(finder, TheanoAliasFinder):
            return finder
    finder = TheanoAliasFinder()
    sys.meta_path.insert(0, finder)
    return finder


def uninstall_theano_alias():
    """Remove the finder and the ``theano*`` entries of ``sys.modules`` it created."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, TheanoAliasFinder)]
    for name in [n for n in sys.modules if target_name(n) is not None]:
        if sys.modules[name] is sys.modules.get(target_name(name)):
            del sys.modules[name]
