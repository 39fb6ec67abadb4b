"""Inplace rewrites and the DestroyHandler that keeps them safe.

An op that overwrites an input (``destroy_map``) is only correct when no
one else needs the old value. :class:`DestroyHandler` states the (deliberately
conservative) rule and vetoes any edit that breaks it: a variable may be
destroyed only when

- it is computed in the graph (not an input the user passes, not a
  constant) and is a fresh buffer (its op declares no view of an input for
  it, and it is not a ``second``/``fill`` result that may alias an input);
- its only reader is the destroying node (so no view of it and no other
  reader exists, and it is not a graph output);

or it is a shared variable whose update is exactly the destroying (elementwise)
node's output and nothing else reads it (``w <- w - lr * g`` when w is read nowhere
else).

The ``inplace`` pass then turns ``Elemwise`` nodes into
``Elemwise(scalar_op, inplace_pattern=((out, in),))`` (an input of the output's
dtype and broadcastable pattern), and ops with an ``inplace`` property
(IncSubtensor, AdvancedIncSubtensor) into their inplace form.
"""
from __future__ import annotations

from ..ops.elemwise import Elemwise
from ..graph import Feature, GraphRewriter, InconsistencyError, aliasing, apply_replacements


def _update_target(fgraph, var):
    """The shared variable whose update is ``var`` (via ``fgraph.update_mapping``), or None."""
    mapping = getattr(fgraph, "update_mapping", None)
    if not mapping:
        return None
    for k, sv in mapping.items():
        if k < len(fgraph.outputs) and fgraph.outputs[k] is var:
            return sv
    return None


def can_destroy(fgraph, var, node, out_index=None):
    """May ``node`` overwrite ``var`` (see the module docstring)?"""
    readers = fgraph.clients.get(var, ())
    if not readers or any(c is not node for c, _ in readers):
        return False
    if len(readers) > 1 and not isinstance(node.op, Elemwise):
        return False
    if var.owner is None:
        # a shared variable: only an elementwise update of it (w <- w * 2 + x); random
        # states are left alone, a caller may hold the old RandomState object
        if not aliasing.is_shared(var) or out_index is None \
                or not isinstance(node.op, Elemwise):
            return False
        return _update_target(fgraph, node.outputs[out_index]) is var
    if var in fgraph._input_set:
        return False
    return not aliasing.may_alias_input(var.owner, var.index)


class DestroyHandler(Feature):
    """Validates, after each ``replace_validate``, the destroying nodes the edits touched."""

    def __init__(self):
        self.destroyers = set()
        self.dirty = set()

    def on_attach(self, fgraph):
        self.destroyers = {n for n in fgraph.apply_nodes if n.op.destroy_map}
        self.dirty = set(self.destroyers)

    def _touch(self, fgraph, var):
        for c, _ in fgraph.clients.get(var, ()):
            if c != "output" and c in self.destroyers:
                self.dirty.add(c)

    def on_import(self, fgraph, node):
        if node.op.destroy_map:
            self.destroyers.add(node)
            self.dirty.add(node)
        for v in node.inputs:
            self._touch(fgraph, v)

    def on_prune(self, fgraph, node):
        self.destroyers.discard(node)
        self.dirty.discard(node)

    def on_change_input(self, fgraph, node, i, old, new):
        self._touch(fgraph, new)

    def validate(self, fgraph):
        dirty, self.dirty = self.dirty, set()
        for node in dirty:
            if node not in self.destroyers:
                continue
            for o, ins in node.op.destroy_map.items():
                for i in ins:
                    if not can_destroy(fgraph, node.inputs[i], node, o):
                        self.dirty |= dirty
                        raise InconsistencyError(
                            f"{node.op} would overwrite {node.inputs[i]}, which is still needed")


def _inplace_elemwise(fgraph, node):
    """The inplace version of an Elemwise node, or None."""
    op = node.op
    if len(node.outputs) != 1 or node.outputs[0].ndim == 0:
        # scalars: nothing to save, and some ops hand back numpy scalars, not arrays
        # several outputs: a backend may store output k of element i before it loads the
        # inputs output k+1 needs, so only single-output nodes are made inplace
        return None
    pattern, used = [], set()
    for o, out in enumerate(node.outputs):
        for i, inp in enumerate(node.inputs):
            if i in used or inp.type != out.type:
                continue
            if can_destroy(fgraph, inp, node, o):
                pattern.append((o, i))
                used.add(i)
                break
    if not pattern:
        return None
    return Elemwise(op.scalar_op, tuple(pattern)).make_node(*node.inputs)


def _inplace_prop(fgraph, node):
    """The ``inplace=True`` version of an op with an ``inplace`` property, or None."""
    op = node.op
    props = getattr(op, "__props__", ())
    if "inplace" not in props or op.inplace:
        return None
    kwargs = {p: getattr(op, p) for p in props}
    kwargs["inplace"] = True
    try:
        new_op = type(op)(**kwargs)
    except TypeError:
        return None
    for o, ins in new_op.destroy_map.items():
        for i in ins:
            if not can_destroy(fgraph, node.inputs[i], node, o):
                return None
    return new_op.make_node(*node.inputs)


class InplaceRewriter(GraphRewriter):
    """Make Elemwise and inplace-capable ops overwrite inputs nobody else needs."""

    def __init__(self, name="inplace", tags=("fast_run", "inplace")):
        super().__init__(None, name, tags)

    def apply(self, fgraph, excluded=frozenset()):
        if fgraph.get_feature(DestroyHandler) is None:
            fgraph.attach_feature(DestroyHandler())
        done = 0
        for node in list(fgraph.toposort()):
            if node not in fgraph.apply_nodes or node.op.destroy_map:
                continue
            if isinstance(node.op, Elemwise):
                if "inplace_elemwise" in excluded:
                    continue
                new, name = _inplace_elemwise(fgraph, node), "inplace_elemwise"
            else:
                if "inplace_op" in excluded:
                    continue
                new, name = _inplace_prop(fgraph, node), "inplace_op"
            if new is None:
                continue
            pairs = list(zip(node.outputs, new.outputs))
            for old, n in pairs:
                n.tag.trace = getattr(old.tag, "trace", None)
            if apply_replacements(fgraph, node, pairs, name):
                done += 1
        return done


inplace = InplaceRewriter()

__all__ = ["DestroyHandler", "InplaceRewriter", "inplace", "can_destroy"]
