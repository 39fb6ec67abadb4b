"""FunctionGraph: a mutable, self-contained copy of a graph that rewrites edit in place.

Rewrites never touch the user's variables: construction copies every Apply
node between the inputs and the outputs. Edits go through :meth:`replace`
(or :meth:`replace_validate`, which undoes the edit when a feature objects),
and attached *features* are told about every change::

    fg = FunctionGraph([x], [T.exp(x) * 1])
    fg.replace(fg.outputs[0], fg.outputs[0].owner.inputs[0], reason="example")
"""
from __future__ import annotations

from .aliasing import is_shared
from .basic import Apply, Constant, Variable, toposort


class InconsistencyError(ValueError):
    """A replacement would make the graph invalid (e.g. a destroyed value is still read)."""


class Feature:
    """Base class of FunctionGraph features; every callback is optional.

    ``on_attach(fg)``, ``on_detach(fg)``, ``on_import(fg, node)`` (a node
    entered the graph), ``on_prune(fg, node)`` (a node left it),
    ``on_change_input(fg, node, i, old, new)`` (``node`` is ``"output"`` for
    graph outputs) and ``validate(fg)`` (raise :class:`InconsistencyError` to
    veto the edits made by :meth:`FunctionGraph.replace_validate`).
    """


class FunctionGraph:
    """The graph between ``inputs`` and ``outputs``, with client lists.

    Construction copies every Apply node between inputs and outputs, so the
    user's variables are never mutated (input variables themselves are kept).
    ``clients[var]`` lists ``(node, i)`` pairs, or ``("output", i)`` for
    graph outputs. Features (see :class:`Feature`) are notified of edits.
    """

    def __init__(self, inputs, outputs, clone=True):
        self.inputs = list(inputs)
        self._input_set = set(self.inputs)
        self.features = []
        self.clients = {}
        self.apply_nodes = set()
        self.variables = set()
        self._order = None
        self._journal = None
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

    def _new_nodes(self, var):
        """Nodes needed by ``var`` that are not in the graph yet, in dependency order.

        The walk stops at variables already in the graph, so importing a small
        new expression costs its own size, not the size of the whole graph.
        """
        order, seen, inputs = [], set(), self._input_set
        stack = [(var, False)]
        while stack:
            v, expanded = stack.pop()
            node = v.owner
            if expanded:
                order.append(node)
                continue
            if node is None or node in seen or node in self.apply_nodes or v in inputs:
                continue
            seen.add(node)
            stack.append((v, True))
            for inp in reversed(node.inputs):
                if inp.owner is not None and inp.owner not in seen \
                        and inp.owner not in self.apply_nodes and inp not in inputs:
                    stack.append((inp, False))
        return order

    def _import_var(self, var):
        for node in self._new_nodes(var):
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
        if var.owner is None and var not in self.variables:
            self._check_free_input(var)
        self._add_var(var)

    def _check_free_input(self, v):
        if isinstance(v, Constant) or is_shared(v) or v in self._input_set:
            return
        # Free non-constant inputs are only legal if listed as graph inputs.
        raise ValueError(f"variable {v} (built at {v.where()}) is needed by the graph "
                         f"but is not one of its inputs")

    def _prune(self, var):
        """Remove var's owner (recursively) if nothing uses it any more."""
        stack = [var]
        while stack:
            v = stack.pop()
            if self.clients.get(v) or v in self._input_set:
                continue
            node = v.owner
            if node is None or node not in self.apply_nodes:
                if node is None and v not in self._input_set:
                    self.variables.discard(v)
                    self.clients.pop(v, None)
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
        """Make input ``i`` of ``node`` (or output ``i`` when node == 'output') be ``new``."""
        if node == "output":
            old = self.outputs[i]
            if old is new:
                return
            self.outputs[i] = new
        else:
            old = node.inputs[i]
            if old is new:
                return
            node.inputs[i] = new
        self._import_var(new)
        self.clients[old].remove((node, i))
        self.clients[new].append((node, i))
        self._order = None
        if self._journal is not None:
            self._journal.append((node, i, old))
        for f in self.features:
            if hasattr(f, "on_change_input"):
                f.on_change_input(self, node, i, old, new)
        self._prune(old)

    def replace(self, var, new, reason=None):
        """Make every client of ``var`` use ``new`` instead.

        ``new`` must have var's type (a differing broadcastable pattern is
        converted). Newly built variables inherit var's user line (``tag.trace``)
        so run-time errors in rewritten code still point at the user's source.
        """
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

    def replace_validate(self, pairs, reason=None):
        """Replace every ``(var, new)`` pair, then ask features to validate.

        If a feature raises :class:`InconsistencyError` every edit is undone
        and the error propagates.
        """
        outer = self._journal
        self._journal = []
        try:
            for var, new in pairs:
                self.replace(var, new, reason)
            self.validate()
        except InconsistencyError:
            journal, self._journal = self._journal, None
            for node, i, old in reversed(journal):
                self.change_input(node, i, old)
            self._journal = outer
            raise
        if outer is not None:
            outer.extend(self._journal)
        self._journal = outer

    def validate(self):
        for f in self.features:
            if hasattr(f, "validate"):
                f.validate(self)

    # ------------------------------------------------------------ features
    def attach_feature(self, feature):
        if feature in self.features:
            return
        self.features.append(feature)
        if hasattr(feature, "on_attach"):
            feature.on_attach(self)

    def remove_feature(self, feature):
        if feature in self.features:
            self.features.remove(feature)
            if hasattr(feature, "on_detach"):
                feature.on_detach(self)

    def get_feature(self, cls):
        """The attached feature of class ``cls``, or None."""
        for f in self.features:
            if isinstance(f, cls):
                return f
        return None

    # ------------------------------------------------------------ queries
    def toposort(self):
        if self._order is None:
            self._order = toposort(self.outputs, self.inputs)
        return self._order

    def __contains__(self, item):
        if isinstance(item, Apply):
            return item in self.apply_nodes
        return item in self.variables

    def __str__(self):
        return f"FunctionGraph({', '.join(map(str, self.outputs))})"

    def __len__(self):
        return len(self.apply_nodes)


def _coerce(var, new, reason):
    t, n = var.type, new.type
    converted = t.convert_variable(new) if hasattr(t, "convert_variable") else None
    if converted is not None:
        return converted
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


__all__ = ["FunctionGraph", "Feature", "InconsistencyError", "Variable"]
