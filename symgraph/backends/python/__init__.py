"""The reference backend: runs each node's ``perform`` with NumPy, in topological order.

It is the ground truth the C and CUDA backends are tested against, so it is
kept simple. Storage cells (one-element lists) are allocated once and reused
across calls.
"""
from __future__ import annotations

import time

import numpy as np

from ...graph import Constant, aliasing
from ..errors import reraise_with_node
from ..errors import NanGuard, NanGuardError  # noqa: F401


class PythonLinker:
    """Build a callable ``run(input_values) -> output_values`` for a FunctionGraph."""

    name = "py"

    def __init__(self, nan_guard=False, profile=None):
        self.nan_guard = nan_guard
        self.profile = profile            # a ProfileStats: time every node

    def make_thunk(self, fgraph):
        order = fgraph.toposort()
        storage = {}
        for v in fgraph.inputs:
            storage[v] = [None]
        for node in order:
            for v in node.inputs:
                if v not in storage:
                    if isinstance(v, Constant):
                        storage[v] = [v.data]
                    elif aliasing.is_shared(v):
                        storage[v] = aliasing.storage(v)
                    else:
                        storage[v] = [None]
            for v in node.outputs:
                storage[v] = [None]
        for v in fgraph.outputs:
            if v not in storage:
                storage[v] = [v.data] if isinstance(v, Constant) else [None]
        in_cells = [storage[v] for v in fgraph.inputs]
        out_cells = [storage[v] for v in fgraph.outputs]
        steps = [(node, node.op.perform, [storage[i] for i in node.inputs],
                  [storage[o] for o in node.outputs], _destroyed_inputs(node, fgraph)) for node in order]
        nan_guard = self.nan_guard
        profile = self.profile
        clock = time.perf_counter
        free = [storage[o] for node in order for o in node.outputs if o not in fgraph.outputs]

        def run(values):
            for cell, val in zip(in_cells, values):
                cell[0] = val
            for node, perform, ins, outs, destroyed in steps:
                args = [c[0] for c in ins]
                for k in destroyed:
                    args[k] = np.array(args[k], copy=True)
                try:
                    if profile is None:
                        perform(node, args, outs)
                    else:
                        t0 = clock()
                        perform(node, args, outs)
                        profile.record(node, clock() - t0)
                except Exception as exc:
                    reraise_with_node(exc, node, args)
                if nan_guard:
                    check_finite(node, outs, nan_guard)
            result = [c[0] for c in out_cells]
            for cell in free:       # drop intermediates so memory is not held between calls
                cell[0] = None
            return result

        run.storage = storage
        return run if profile is None else profile.timed_call(run)


def _destroyed_inputs(node, fgraph):
    """Positions of graph inputs (shared variables' values) that ``node`` would overwrite.

    They are copied first: a shared variable keeps its old value until the whole call
    succeeds (a later node may still fail), and its value may be a read-only array.
    """
    return aliasing.destroyed_inputs(node, aliasing.is_graph_input)


def check_finite(node, outs, guard=True):
    """NanGuard: check each output cell of ``node`` as ``guard`` says (True: raise at a NaN
    or Inf; a :class:`~symgraph.backends.errors.NanGuard`: its checks and action)."""
    guard = NanGuard.of(guard)
    if guard is not None:
        guard.check(node, [cell[0] for cell in outs])
