"""A small evaluator of a FunctionGraph on Python values: each node's ``perform``, in order.

Ops that hold an inner graph (``Scan``, ``IfElse``) run it with this evaluator from their
``perform``, which every backend can call: the reference semantics of control flow. The
evaluator knows only the Op contract (``perform``, ``destroy_map``), so it belongs here.

    ev = GraphEvaluator(fgraph)
    outs = ev([np.ones(3)])          # one value per fgraph input, one result per output

Inner graphs hold no shared variables (the ops that own them pass shared values in as
ordinary inputs), only placeholders and constants. Results never share memory with the
values passed in (a result that would is copied), so the owning op's outputs are fresh.
"""
from __future__ import annotations

import numpy as np

from .basic import Constant


class InnerGraphError(RuntimeError):
    """Raised when a node of an inner graph fails (the message names the node)."""


class GraphEvaluator:
    """Run ``fgraph`` on a list of input values; ``where`` names the owner in error messages."""

    def __init__(self, fgraph, where="inner graph"):
        self.fgraph = fgraph
        self.where = where
        slot = {}
        self.constants = []
        for k, v in enumerate(fgraph.inputs):
            slot[v] = k
        n = len(fgraph.inputs)
        order = fgraph.toposort()

        def slot_of(v):
            nonlocal n
            if v not in slot:
                slot[v] = n
                if isinstance(v, Constant):
                    self.constants.append((n, v.data))
                elif getattr(v, "_box", None) is not None:     # a shared variable's storage
                    self.constants.append((n, v))
                elif v.owner is None:
                    raise ValueError(f"{where}: free variable {v} (built at {v.where()}) is "
                                     f"not an input of the inner graph")
                n += 1
            return slot[v]

        self.steps = []
        for node in order:
            ins = [slot_of(v) for v in node.inputs]
            outs = [slot_of(v) for v in node.outputs]
            destroyed = sorted({k for m in node.op.destroy_map.values() for k in m
                                if node.inputs[k].owner is None})
            self.steps.append((node, node.op.perform, ins, outs, destroyed))
        self.out_slots = [slot_of(v) for v in fgraph.outputs]
        self.n_slots = n
        self.n_inputs = len(fgraph.inputs)

    def __call__(self, values, copy_aliased=True):
        vals = [None] * self.n_slots
        vals[:self.n_inputs] = values
        for k, data in self.constants:
            vals[k] = data._box[0] if hasattr(data, "_box") else data
        for node, perform, ins, outs, destroyed in self.steps:
            args = [vals[k] for k in ins]
            for k in destroyed:
                args[k] = np.array(args[k], copy=True)
            cells = [[None] for _ in outs]
            try:
                perform(node, args, cells)
            except Exception as exc:
                if getattr(exc, "_sg_inner", False):
                    raise
                raise _located(exc, f"{self.where}: {exc} (in inner node {node.op}, built at "
                                    f"{node.outputs[0].where()})") from exc
            for k, c in zip(outs, cells):
                vals[k] = c[0]
        result = [vals[k] for k in self.out_slots]
        if copy_aliased:
            mine = list(values) + [vals[k] for k, _ in self.constants]
            result = [_fresh(r, mine) for r in result]
        return result


def _located(exc, msg):
    """An exception of ``exc``'s type (when it can be built from a message) carrying ``msg``."""
    try:
        new = type(exc)(msg)
    except Exception:
        new = InnerGraphError(msg)
    new._sg_inner = True
    return new


def _fresh(value, inputs):
    """``value``, or a copy of it when it may share memory with one of ``inputs``."""
    if not isinstance(value, np.ndarray):
        return value
    for v in inputs:
        if isinstance(v, np.ndarray) and np.may_share_memory(value, v):
            return value.copy()
    return value


__all__ = ["GraphEvaluator", "InnerGraphError"]
