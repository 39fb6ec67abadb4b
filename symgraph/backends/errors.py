"""Runtime errors that point at the user's line where the failing expression was built."""
from __future__ import annotations

import numpy as np

from ..config import config
from ..graph import graph_inputs, toposort


class NanGuardError(FloatingPointError):
    """A node produced NaN or Inf while NanGuard was on."""


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
