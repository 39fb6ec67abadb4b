"""FunctionGraph: a mutable, self-contained copy of a graph that rewrites edit in place."""
from __future__ import annotations

from ..graph import Apply, Constant, Variable, toposort


class InconsistencyError(ValueError):
    """A replacement would make the graph invalid (e.g. a destroyed value is still read)."""


class FunctionGraph:
    """The graph between ``inputs`` and ``outputs``, with client lists.

    Construction copies every Apply node between inputs and outputs, so the
    user's variables are never mutated (input variables themselves are kept).
    ``clients[var]`` lists ``(node, i)`` pairs, or ``("output", i)`` for
    graph outputs. Features (objects with ``on_import``, ``on_prune``,
    ``on_change_input`` methods) are notified of edits.
    """

    def __init__(self, inputs, outputs, clone=True):
        self.inputs = list(inputs)
        self.features = []
        self.clients = {}
        self.apply_nodes = set()
        self.variables = set()
        self._order = None
        self.memo = {}
        if clone:
            outputs = self._clone(outputs)
        self.outputs = list(outputs)
        for v in self.inputs:
            self._add_var(v)
        for i, out in enumerate(self.outputs):
            self._import_var(out)
            self.clients[out].append(("output", i))

    def _clone(self, outputs):
        memo = {v: v for v in self.inputs}
        for node in toposort(outputs, self.inputs):
            new_inputs = [memo.get(i, i) for i in node.inputs]
            new = Apply(node.op, new_inputs, [o.clone() for o in node.outputs])
            new.tag = node.tag
            for o, n in zip(node.outputs, new.outputs):
                memo[o] = n
        self.memo = memo
        return [memo.get(o, o) for o in outputs]

    # ------------------------------------------------------------ bookkeeping
    def _add_var(self, v):
        if v not in self.variables:
            self.variables.add(v)
            self.clients.setdefault(v, [])

    def _import_var(self, var):
        for node in toposort([var], self.inputs):
            if node in self.apply_nodes:
                continue
            self.apply_nodes.add(node)
            for o in node.outputs:
                self._add_var(o)
            for i, inp in enumerate(node.inputs):
                if inp.owner is None and inp not in self.variables:
                    self._check_free_input(inp)
                self._add_var(inp)
                self.clients[inp].append((node, i))
            self._order = None
            for f in self.features:
                if hasattr(f, "on_import"):
                    f.on_import(self, node)
        self._add_var(var)

    def _check_free_input(self, v):
        if isinstance(v, Constant) or getattr(v, "_box", None) is not None:
            return
        # Free non-constant inputs are only legal if listed as graph inputs.
        raise ValueError(f"variable {v} (built at {v.where()}) is needed by the graph "
                         f"but is not one of its inputs")

    def _prune(self, var):
        """Remove var's owner (recursively) if nothing uses it any more."""
        stack = [var]
        while stack:
            v = stack.pop()
            if self.clients.get(v) or v in self.inputs:
                continue
            node = v.owner
            if node is None or node not in self.apply_nodes:
                if node is None and not isinstance(v, Constant) and v not in self.inputs:
                    self.variables.discard(v)
                continue
            if any(self.clients.get(o) for o in node.outputs):
                continue
            self.apply_nodes.discard(node)
            self._order = None
            for o in node.outputs:
                self.variables.discard(o)
                self.clients.pop(o, None)
            for i, inp in enumerate(node.inputs):
                cl = self.clients.get(inp)
                if cl is not None and (node, i) in cl:
                    cl.remove((node, i))
                stack.append(inp)
            for f in self.features:
                if hasattr(f, "on_prune"):
                    f.on_prune(self, node)

    # ------------------------------------------------------------ editing
    def change_input(self, node, i, new):
        if node == "output":
            old = self.outputs[i]
            self.outputs[i] = new
        else:
            old = node.inputs[i]
            node.inputs[i] = new
        self._import_var(new)
        self.clients[old].remove((node, i))
        self.clients[new].append((node, i))
        self._order = None
        for f in self.features:
            if hasattr(f, "on_change_input"):
                f.on_change_input(self, node, i, old, new)
        self._prune(old)

    def replace(self, var, new, reason=None):
        """Make every client of ``var`` use ``new`` instead."""
        if var is new:
            return
        if var not in self.variables:
            return
        if new.type != var.type:
            new = _coerce(var, new, reason)
        if new.owner is not None and new not in self.variables:
            _inherit_trace(new, var, self)
        for node, i in list(self.clients[var]):
            self.change_input(node, i, new)

    def replace_all(self, pairs, reason=None):
        for var, new in pairs:
            self.replace(var, new, reason)

    def attach_feature(self, feature):
        self.features.append(feature)
        if hasattr(feature, "on_attach"):
            feature.on_attach(self)

    def toposort(self):
        if self._order is None:
            self._order = toposort(self.outputs, self.inputs)
        return self._order

    def __str__(self):
        return f"FunctionGraph({', '.join(map(str, self.outputs))})"

    def __len__(self):
        return len(self.apply_nodes)


def _coerce(var, new, reason):
    t, n = var.type, new.type
    if getattr(t, "dtype", None) == getattr(n, "dtype", None) and getattr(t, "ndim", -1) == getattr(n, "ndim", -2):
        from ..tensor.basic import patternbroadcast
        return patternbroadcast(new, t.broadcastable)
    raise TypeError(f"rewrite {reason or '?'} tried to replace {var} of type {t} by {new} of "
                    f"type {n}")


def _inherit_trace(new, old, fgraph):
    """Give newly built variables (up to the existing graph) the user line of ``old``."""
    trace = getattr(old.tag, "trace", None)
    if trace is None:
        return
    stack, seen = [new], set()
    while stack:
        v = stack.pop()
        if v in seen or v in fgraph.variables or v.owner is None:
            continue
        seen.add(v)
        for o in v.owner.outputs:
            o.tag.trace = trace
        stack.extend(v.owner.inputs)


__all__ = ["FunctionGraph", "InconsistencyError", "Variable"]
