"""Runtime errors that point at the user's line where the failing expression was built."""
from __future__ import annotations

import numpy as np


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
    return "\n".join(lines)


def reraise_with_node(exc, node, values=None):
    """Re-raise ``exc`` (same type when possible) with the node description appended."""
    if getattr(exc, "_symgraph_annotated", False) or isinstance(exc, (KeyboardInterrupt, MemoryError)):
        raise exc
    msg = f"{exc}\n{describe_node(node, values)}"
    try:
        new = type(exc)(msg)
    except Exception:
        new = RuntimeError(msg)
    new._symgraph_annotated = True
    raise new.with_traceback(exc.__traceback__) from None
