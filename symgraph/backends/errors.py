"""Runtime errors that point at the user's line where the failing expression was built."""
from __future__ import annotations

import logging

import numpy as np

from ..config import config
from ..graph import graph_inputs, toposort


class NanGuardError(FloatingPointError, AssertionError):
    """A node produced NaN, Inf or (``big_is_error``) a value above 1e10 in magnitude while
    NanGuard was on. An ``AssertionError`` too, as Theano's NanGuardMode raises."""


_logger = logging.getLogger("symgraph.nanguard")


class NanGuard:
    """What a NaN guard checks in every node's outputs, and what it does on a hit.

    ``nan``/``inf``/``big`` (|x| > ``big_threshold``, 1e10 as in Theano) select the checks;
    ``action`` is 'raise' (a :class:`NanGuardError`), 'warn' (logged on the
    ``symgraph.nanguard`` logger, the run goes on) or 'pdb' (the debugger at the node).
    ``NanGuard.of(True)`` is the guard of ``Mode(nan_guard=True)``: NaN and Inf, raise.
    """

    big_threshold = 1e10

    def __init__(self, nan=True, inf=True, big=False, action="raise"):
        if action not in ("raise", "warn", "pdb"):
            raise ValueError(f"NanGuard: action must be 'raise', 'warn' or 'pdb', got {action!r}")
        self.nan, self.inf, self.big, self.action = bool(nan), bool(inf), bool(big), action

    @classmethod
    def of(cls, guard):
        """``guard`` as a NanGuard (None when it is off)."""
        if isinstance(guard, cls):
            return guard
        return cls() if guard else None

    def problem(self, v):
        """'NaN', 'Inf', 'a big value' or None for the array ``v``."""
        if not isinstance(v, np.ndarray) or v.dtype.kind not in "fc" or v.size == 0:
            return None
        if self.nan and np.isnan(v).any():
            return "NaN"
        if self.inf and np.isinf(v).any():
            return "Inf"
        if not self.big:
            return None
        finite = v[np.isfinite(v)]
        if finite.size and np.abs(finite).max() > self.big_threshold:
            return f"a value above {self.big_threshold:g} in magnitude"
        return None

    def check(self, node, values):
        """Check the output values of ``node`` (one array per output)."""
        for k, v in enumerate(values):
            what = self.problem(v)
            if what is None:
                continue
            out = node.outputs[k]
            msg = (f"NanGuard: {what} produced by {node.op} (output {k}, shape {v.shape}) "
                   f"built at {out.where()}")
            if self.action == "warn":
                _logger.error(msg)
                continue
            if self.action == "pdb":
                import pdb
                pdb.set_trace()
            raise NanGuardError(msg)

    def __repr__(self):
        return (f"NanGuard(nan={self.nan}, inf={self.inf}, big={self.big}, "
                f"action={self.action!r})")


def describe_node(node, values=None):
    """One paragraph naming the node, its input types/shapes and where it was built."""
    out = node.outputs[0]
    lines = [f"Apply node that caused the error: {node.op}"]
    for i, v in enumerate(node.inputs):
        shape = ""
        if values is not None and i < len(values):
            shape = f", shape {np.shape(values[i])}"
        lines.append(f"  input {i}: {v} ({v.type}{shape})")
    lines.append(f"Expression built at: {out.where()}")
    if config.exception_verbosity == "high":
        lines.append("The graph that computes the failing node's inputs "
                     "(config.exception_verbosity='high'):")
        lines.extend(_graph_lines(node))
    return "\n".join(lines)


def _graph_lines(node, limit=60):
    """One line per node computing ``node``'s inputs, in execution order (at most ``limit``)."""
    order = toposort(node.inputs, graph_inputs(node.inputs))
    shown = order[-limit:]
    lines = [f"  ... {len(order) - len(shown)} earlier nodes"] if len(shown) < len(order) else []
    for n in shown:
        args = ", ".join(str(v) for v in n.inputs)
        lines.append(f"  {n.outputs[0]} = {n.op}({args})  [{n.outputs[0].type}]")
    lines.append(f"  -> {node.op}({', '.join(str(v) for v in node.inputs)})")
    return lines


def reraise_with_node(exc, node, values=None):
    """Re-raise ``exc`` (same type when possible) with the node description appended."""
    if getattr(exc, "_symgraph_annotated", False) or isinstance(exc, KeyboardInterrupt):
        raise exc
    try:
        msg = f"{exc}\n{describe_node(node, values)}"
    except MemoryError:
        raise exc from None
    if isinstance(exc, MemoryError):      # a failed allocation (NumPy's subclass takes other arguments)
        new = MemoryError(msg if str(node.op) in msg else f"{node.op}: {msg}")
    else:
        try:
            new = type(exc)(msg)
        except Exception:
            new = RuntimeError(msg)
    new._symgraph_annotated = True
    raise new.with_traceback(exc.__traceback__) from None
