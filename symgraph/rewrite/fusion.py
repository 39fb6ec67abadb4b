"""Elementwise fusion: maximal groups of Elemwise nodes become one ``Elemwise(Composite)``.

A group grows from a node (visited from the outputs back) through the
producers of its inputs. A producer joins when it is a plain Elemwise with
the same output broadcastable pattern (so nothing is recomputed per
broadcast element), and every client it has outside the group comes later
in the topological order than the group's root -- that keeps the fused
graph acyclic. A member whose result is also used outside the group becomes
an extra output of the composite.

Inputs of the composite are the group's external inputs (a DimShuffle of
an input is just a broadcast input); size-1 constants become
``ScalarConstant`` nodes inside it; member composites are inlined. There is
no limit on the number of operands: a chain of 10,000 elementwise ops
becomes one node.
"""
from __future__ import annotations

import numpy as np

from ..graph import Constant
from ..ops import scalar as ps
from ..ops.elemwise import Elemwise
from ..graph import GraphRewriter, InconsistencyError, apply_replacements


def _fusable(node):
    op = node.op
    if not isinstance(op, Elemwise) or op.inplace_pattern:
        return False
    bc = node.outputs[0].broadcastable
    return all(o.broadcastable == bc for o in node.outputs)


def _is_scalar_constant(v):
    return isinstance(v, Constant) and np.size(v.data) == 1 and all(v.broadcastable)


def find_groups(fgraph):
    """Lists of nodes (each in topological order) to fuse, each with at least two nodes."""
    order = fgraph.toposort()
    index = {node: k for k, node in enumerate(order)}
    clients = fgraph.clients
    assigned = set()
    groups = []
    for root in reversed(order):
        if root in assigned or not _fusable(root):
            continue
        limit = index[root]
        pattern = root.outputs[0].broadcastable
        group = {root}
        frontier = [root]
        while frontier:
            n = frontier.pop()
            for inp in n.inputs:
                p = inp.owner
                if p is None or p in group or p in assigned or not _fusable(p) \
                        or p.outputs[0].broadcastable != pattern:
                    continue
                ok = True
                for o in p.outputs:
                    for c, _ in clients[o]:
                        if c != "output" and c not in group and index.get(c, -1) <= limit:
                            ok = False
                            break
                    if not ok:
                        break
                if ok:
                    group.add(p)
                    frontier.append(p)
        if len(group) > 1:
            assigned |= group
            groups.append(sorted(group, key=index.__getitem__))
    return groups


def build_composite(fgraph, group):
    """(Elemwise(Composite) node inputs, composite, [(old_var, output_position)])."""
    members = set(group)
    ext_inputs, ext_pos = [], {}
    for node in group:
        for v in node.inputs:
            if (v.owner is None or v.owner not in members) and not _is_scalar_constant(v) \
                    and v not in ext_pos:
                ext_pos[v] = len(ext_inputs)
                ext_inputs.append(v)
    nin = len(ext_inputs)
    nodes = []
    ref = dict(ext_pos)
    consts = {}

    def ref_of(v):
        r = ref.get(v)
        if r is None:           # a scalar constant
            key = (np.asarray(v.data).item(), v.dtype)
            r = consts.get(key)
            if r is None:
                nodes.append((ps.ScalarConstant(key[0], v.dtype), ()))
                r = consts[key] = nin + len(nodes) - 1
        return r

    for node in group:
        args = [ref_of(v) for v in node.inputs]
        sop = node.op.scalar_op
        if isinstance(sop, ps.Composite):
            inner = list(args)
            for op, refs in sop.nodes:
                nodes.append((op, tuple(inner[r] for r in refs)))
                inner.append(nin + len(nodes) - 1)
            for o, r in zip(node.outputs, sop.outputs):
                ref[o] = inner[r]
        else:
            nodes.append((sop, tuple(args)))
            ref[node.outputs[0]] = nin + len(nodes) - 1
    outputs = []
    for node in group:
        for o in node.outputs:
            if any(c == "output" or c not in members for c, _ in fgraph.clients[o]):
                outputs.append(o)
    comp = ps.Composite([v.dtype for v in ext_inputs], nodes, [ref[o] for o in outputs])
    return ext_inputs, comp, outputs


class FusionRewriter(GraphRewriter):
    """The fusion pass (see the module docstring)."""

    def __init__(self, name="fusion", tags=("fast_run", "fusion")):
        super().__init__(None, name, tags)

    def apply(self, fgraph, excluded=frozenset()):
        fused = 0
        for group in find_groups(fgraph):
            if any(n not in fgraph.apply_nodes for n in group):
                continue
            ext_inputs, comp, outputs = build_composite(fgraph, group)
            if not ext_inputs or not outputs:
                continue
            try:
                new_node = Elemwise(comp).make_node(*ext_inputs)
            except (TypeError, ValueError):
                continue
            pairs = list(zip(outputs, new_node.outputs))
            if any(o.type != n.type for o, n in pairs):
                continue
            traces = [getattr(o.tag, "trace", None) for o in outputs]
            try:
                if not apply_replacements(fgraph, group[-1], pairs, self.name):
                    continue
            except InconsistencyError:
                continue
            for n, tr in zip(new_node.outputs, traces):
                n.tag.trace = tr
            # every user line the fused expressions came from, for error reports
            lines = {}
            for member in group:
                for o in member.outputs:
                    tr = getattr(o.tag, "trace", None)
                    if tr is not None:
                        lines.setdefault(tr, None)
            new_node.tag.fused_traces = list(lines)
            fused += 1
        return fused


fusion = FusionRewriter()

__all__ = ["FusionRewriter", "fusion", "find_groups", "build_composite"]
