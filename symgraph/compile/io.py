"""In and Out: per-input and per-output options of function()."""
from __future__ import annotations


class In:
    """A function input with options.

    ``In(x, value=1.0, name='step')`` makes the argument optional (default
    ``value``) and addressable by keyword ``step``. ``borrow=True`` lets the
    function keep a reference to the given array; ``strict=True`` requires the
    exact dtype; ``allow_downcast`` permits lossy casts; ``update`` gives an
    expression whose value replaces ``value`` after each call (implicit state).
    """

    def __init__(self, variable, name=None, value=None, update=None, mutable=False,
                 strict=False, allow_downcast=None, autoname=True, implicit=False, borrow=False):
        self.variable = variable
        self.name = name if name is not None else (getattr(variable, "name", None) if autoname
                                                    else None)
        self.value = value
        self.has_default = value is not None or update is not None
        self.update = update
        self.mutable = mutable
        self.strict = strict
        self.allow_downcast = allow_downcast
        self.implicit = implicit
        self.borrow = borrow

    def __repr__(self):
        return f"In({self.variable}, name={self.name!r})"


class Out:
    """A function output with options: ``Out(y, borrow=True)`` may return an internal buffer."""

    def __init__(self, variable, borrow=False):
        self.variable = variable
        self.borrow = borrow

    def __repr__(self):
        return f"Out({self.variable}, borrow={self.borrow})"
