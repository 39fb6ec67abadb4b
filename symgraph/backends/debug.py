"""DebugLinker (``mode=DebugMode``): run every node with the C and the Python backends and compare.

The graph is compiled once by the C backend with one segment per node. A call
runs the nodes in order; before each C node its inputs are copied, the C
segment runs, then the node's ``perform`` runs on the copies and the outputs
are compared (``TensorType.values_eq_approx``: exact for integers, a dtype
tolerance for floats). The first disagreement raises :class:`BadThunkOutput`
naming the node, the output, the size of the difference and the user's line.
Each node is checked on the C backend's own inputs, so one wrong lowering is
reported where it happens instead of where its error surfaces.

Nodes without a C lowering run their ``perform`` once, as in the C backend.

Example::

    f = symgraph.function([x], T.tanh(x) * 2, mode=DebugMode())
    f(np.ones(3))        # raises BadThunkOutput if C and Python differ
"""
from __future__ import annotations

import numpy as np

from ..ops.type import TensorType
from .c.linker import CLinker
from .python import PythonLinker


class DebugModeError(Exception):
    """A check of DebugMode failed."""


class BadThunkOutput(DebugModeError):
    """The C and Python backends computed different outputs (or only one raised) for a node.

    Attributes: ``node``, ``output_index``, ``c_value``, ``py_value``.
    """

    def __init__(self, message, node=None, output_index=None, c_value=None, py_value=None):
        super().__init__(message)
        self.node = node
        self.output_index = output_index
        self.c_value = c_value
        self.py_value = py_value


def _copy(v):
    return np.array(v, copy=True) if isinstance(v, np.ndarray) else v


def _differ(var, c_val, py_val):
    """None when equal (up to the dtype's tolerance), else a description of the difference."""
    t = var.type
    if not isinstance(t, TensorType):
        return None
    c_arr, py_arr = np.asarray(c_val), np.asarray(py_val)
    if py_arr.dtype != t.numpy_dtype:
        py_arr = py_arr.astype(t.numpy_dtype)
    if c_arr.shape != py_arr.shape:
        return f"shape {c_arr.shape} (C) vs {py_arr.shape} (Python)"
    if c_arr.dtype != t.numpy_dtype:
        return f"dtype {c_arr.dtype} (C) vs {t.dtype} (expected)"
    if t.values_eq_approx(c_arr, py_arr):
        return None
    if c_arr.dtype.kind in "fc":
        diff = np.abs(c_arr.astype(np.float64) - py_arr.astype(np.float64))
        diff = np.where(np.isnan(diff), np.inf, diff)
        k = int(np.argmax(diff))
        idx = np.unravel_index(k, c_arr.shape) if c_arr.ndim else ()
        return (f"max abs difference {diff.ravel()[k]:.3g} at index {tuple(int(i) for i in idx)}: "
                f"C {c_arr.ravel()[k]!r}, Python {py_arr.ravel()[k]!r}")
    bad = np.argwhere(c_arr != py_arr)
    idx = tuple(int(i) for i in bad[0]) if bad.size else ()
    return f"{int((c_arr != py_arr).sum())} elements differ, first at index {idx}"


class DebugLinker:
    """Linker of ``DebugMode``: C and Python side by side, node by node."""

    name = "debug"

    def __init__(self, nan_guard=False):
        self.nan_guard = nan_guard

    def make_thunk(self, fgraph):
        rt = CLinker().compile(fgraph, per_node=True)
        if rt is None:
            run = PythonLinker(nan_guard=self.nan_guard).make_thunk(fgraph)
            run.internal_outputs = ()
            return run

        def c_step(step, values):
            (i,) = step.nodes
            _check_node(rt, i, step.id, values)

        def run(values):
            return rt.run_stepwise(values, c_step)

        run.internal_outputs = rt.internal
        run.runtime = rt
        return run


def _check_node(rt, i, seg, values):
    node = rt.plan.nodes[i]
    ins = [_copy(rt.value(v, values)) for v in node.inputs]
    c_exc = py_exc = None
    try:
        rt.run_segment(seg, values)
    except Exception as exc:        # compared with the Python backend's behaviour below
        c_exc = exc
    outs = [[None] for _ in node.outputs]
    try:
        node.op.perform(node, ins, outs)
    except Exception as exc:
        py_exc = exc
    where = node.outputs[0].where()
    if c_exc is not None or py_exc is not None:
        if c_exc is not None and py_exc is not None:
            raise c_exc
        which, exc = ("C", c_exc) if c_exc is not None else ("Python", py_exc)
        raise BadThunkOutput(f"DebugMode: only the {which} backend raised for node {i} {node.op} "
                             f"({type(exc).__name__}: {exc}); expression built at {where}", node)
    for k, var in enumerate(node.outputs):
        c_val = np.array(rt.export(var), copy=True)
        msg = _differ(var, c_val, outs[k][0])
        if msg is not None:
            raise BadThunkOutput(f"DebugMode: the C and Python backends disagree on output {k} of node "
                                 f"{i} {node.op}: {msg}; expression built at {where}",
                                 node, k, c_val, outs[k][0])
