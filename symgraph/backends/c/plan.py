"""Planning a graph for the C backend: which nodes run in C, where every value lives.

Decided once at compile time:

- ``val``: a descriptor slot (``V[k]``) for every tensor value C code touches;
- ``ext``: a slot for each array Python hands to C (graph inputs, constants,
  outputs of nodes that run in Python);
- storage: each value's *roots* (the buffers or external arrays its memory may
  belong to). Views share their input's roots; in-place outputs reuse the
  destroyed input's, but only when that is provably safe (the input lives in a
  planned buffer and nothing aliasing it is read later), otherwise the node
  writes a fresh buffer;
- buffers: fresh outputs and workspaces get buffer ids by interval allocation
  over the topological order, so values whose lifetimes do not overlap share
  memory. Buffers persist across calls and only grow. Graph outputs get
  buffers of their own; an output whose memory would be an input's (a view of
  an input) is copied into its own buffer by the epilogue;
- segments: maximal runs of C nodes; a Python node sits between two segments;
- sub-plans: a C node whose lowering runs inner graphs (``Lowering.subgraphs``: Scan's body)
  gets one nested :class:`Plan` per inner graph. A sub-plan numbers its values, external
  slots, buffers and nodes after everything its parent numbered (:class:`Base`), so the whole
  tree shares one context (``V``, ``ext``, buffers) and one module; its inputs are *bound*
  (the parent's code sets their descriptors, no load), its external arrays are constants.
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple, Optional

import numpy as np

from ...graph import Constant, aliasing
from .lowering import is_c_value, lookup

INF = 1 << 30


# -- the memory a value may live in (its roots)
@dataclasses.dataclass(frozen=True)
class ExtRoot:
    """An array Python hands to C: a graph input, a constant, a shared variable's value or the
    output of a node that runs in Python."""
    var: object


@dataclasses.dataclass(frozen=True)
class BufRoot:
    """A planned buffer, numbered in order of creation (``buf_of_root`` maps it to a buffer id)."""
    id: int


# -- the steps of a call
class CSegment(NamedTuple):
    """A maximal run of C nodes, one ``case`` of the generated ``sg_run``."""
    id: int
    nodes: list


class PyNode(NamedTuple):
    """A node that runs its ``perform`` between two segments."""
    node: int


# -- how each graph output is produced
class FromInput(NamedTuple):
    index: int


class FromConstant(NamedTuple):
    data: object


class FromPython(NamedTuple):
    """A shared variable's value or a Python node's result."""
    var: object


class FromC(NamedTuple):
    """Descriptor ``slot``; ``copy`` is (source slot, buffer) when the epilogue copies the value
    into a buffer of its own (it would alias an input)."""
    slot: int
    copy: Optional[tuple]


class Base(NamedTuple):
    """Where a plan's numbering starts: values (V slots), external slots, buffers, nodes."""
    vals: int = 0
    exts: int = 0
    bufs: int = 0
    nodes: int = 0


class Plan:
    """The storage and execution plan of ``fgraph`` (``per_node``: one segment per C node).

    ``base``: where this plan's numbering starts (a sub-plan's, after its parent's);
    ``bound_inputs``: the graph inputs are descriptors set by the caller (a sub-plan), not
    arrays loaded from Python. :attr:`end` is the numbering after this plan and its sub-plans.
    """

    def __init__(self, fgraph, per_node=False, base=None, bound_inputs=False):
        self.fgraph = fgraph
        self.base = base or Base()
        self.bound = frozenset(fgraph.inputs) if bound_inputs else frozenset()
        self.nodes = list(fgraph.toposort())
        self.lowerings = [lookup(n) for n in self.nodes]
        self.is_c = [low is not None for low in self.lowerings]
        self.index = {n: i for i, n in enumerate(self.nodes)}
        self.val = {}
        self.ext = {}
        self.ext_vars = []
        self.out_buf = {}
        self.ws_buf = {}
        self.inplace = {}
        self.n_buffers = 0
        self._assign_values()
        self._storage()
        self._segments(per_node)
        self._outputs()
        self._subplans()

    # ------------------------------------------------------------------ values
    def _needs(self, i):
        """Inputs of C node i that its code reads from V."""
        node, low = self.nodes[i], self.lowerings[i]
        lits = low.literal_inputs(node) if low.literal_inputs else ()
        return [v for k, v in enumerate(node.inputs) if k not in lits]

    def _slot(self, var):
        if var not in self.val:
            self.val[var] = self.base.vals + len(self.val)

    def _ext(self, var):
        if var not in self.ext:
            self.ext[var] = self.base.exts + len(self.ext_vars)
            self.ext_vars.append(var)

    def _assign_values(self):
        for v in self.fgraph.inputs:                    # inputs take ext slots 0..n-1, in order
            if v not in self.bound:
                self._ext(v)
        produced_by_py = set()
        for i, node in enumerate(self.nodes):
            if not self.is_c[i]:
                produced_by_py.update(node.outputs)
        for i, node in enumerate(self.nodes):
            if not self.is_c[i]:
                continue
            for v in self._needs(i):
                self._slot(v)
                if (v.owner is None and v not in self.bound) or v in produced_by_py:
                    self._ext(v)
            for v in node.outputs:
                self._slot(v)

    # ------------------------------------------------------------------ storage
    def _storage(self):
        nodes, fg = self.nodes, self.fgraph
        last = {}
        for i, node in enumerate(nodes):
            for v in node.inputs:
                last[v] = i
        for v in fg.outputs:
            last[v] = INF
        roots = {}
        for v in fg.inputs:
            roots[v] = frozenset([ExtRoot(v)])
        alias = {}                                      # root -> variables whose memory it may be
        own = {}                                        # buffer root -> (node index, kind, j)
        n_roots = 0

        def new_root(i, kind, j):
            nonlocal n_roots
            r = BufRoot(n_roots)
            n_roots += 1
            own[r] = (i, kind, j)
            return r

        def roots_of(v):
            if v not in roots:                          # constants, shared-variable boxes
                roots[v] = frozenset([ExtRoot(v)])
                alias.setdefault(ExtRoot(v), []).append(v)
            return roots[v]

        def define(v, rs):
            roots[v] = rs
            for r in rs:
                alias.setdefault(r, []).append(v)

        for v in fg.inputs:
            alias.setdefault(ExtRoot(v), []).append(v)
        for i, node in enumerate(nodes):
            op, low = node.op, self.lowerings[i]
            for k in range(low.n_workspace(node) if low else 0):
                new_root(i, "ws", k)
            for j, out in enumerate(node.outputs):
                if not self.is_c[i]:
                    rs = {ExtRoot(out)}
                    for src in aliasing.view_sources(node, j):
                        rs |= roots_of(src)
                    define(out, frozenset(rs))
                    continue
                viewed = op.view_map.get(j)
                destroyed = op.destroy_map.get(j)
                if viewed:
                    rs = set()
                    for k in viewed:
                        rs |= roots_of(node.inputs[k])
                    if low.own_buffer:
                        rs.add(new_root(i, "out", j))
                    define(out, frozenset(rs))
                elif destroyed and self._inplace_ok(i, node, destroyed[0], roots_of, alias, last):
                    self.inplace[(i, j)] = destroyed[0]
                    define(out, roots_of(node.inputs[destroyed[0]]))
                else:
                    define(out, frozenset([new_root(i, "out", j)]))
        self.roots = roots
        # lifetimes of buffer roots, then interval allocation
        end = {r: own[r][0] for r in own}
        for r, vs in alias.items():
            if r in end:
                for v in vs:
                    end[r] = max(end[r], last.get(v, own[r][0]))
        starts = {}
        for r, (i, kind, j) in own.items():
            starts.setdefault(i, []).append(r)
        ends = {}
        for r, e in end.items():
            ends.setdefault(e, []).append(r)
        free, buf_of = [], {}
        self.output_buffers = set()
        for i in range(len(nodes)):
            for r in sorted(starts.get(i, ()), key=lambda r: r.id):
                if end[r] >= INF:           # memory of a graph output: a buffer of its own
                    buf_of[r] = self._new_buffer()
                    self.output_buffers.add(buf_of[r])
                else:
                    buf_of[r] = free.pop() if free else self._new_buffer()
            for r in sorted(ends.get(i, ()), key=lambda r: r.id):
                free.append(buf_of[r])
        for r, (i, kind, j) in own.items():
            (self.ws_buf if kind == "ws" else self.out_buf)[(i, j)] = buf_of[r]
        self.buf_of_root = buf_of

    def _new_buffer(self):
        self.n_buffers += 1
        return self.base.bufs + self.n_buffers - 1

    def _inplace_ok(self, i, node, k, roots_of, alias, last):
        """Whether output of node i may overwrite input k's memory."""
        u = node.inputs[k]
        rs = roots_of(u)
        if not self.is_c[i] or any(not isinstance(r, BufRoot) for r in rs):
            return False
        if last.get(u, i) > i:
            return False
        for r in rs:
            for w in alias.get(r, ()):
                if w is not u and last.get(w, -1) >= i:
                    return False
        return sum(1 for v in node.inputs if v is u) == 1 or \
            all(v is u or not (roots_of(v) & rs) for v in node.inputs)

    # ------------------------------------------------------------------ segments
    def _segments(self, per_node):
        self.steps = []                                 # CSegment | PyNode, in order
        seg = None
        n_segments = 0
        for i in range(len(self.nodes)):
            if self.is_c[i]:
                if seg is None or per_node:
                    seg = CSegment(n_segments, [])
                    n_segments += 1
                    self.steps.append(seg)
                seg.nodes.append(i)
            else:
                self.steps.append(PyNode(i))
                seg = None
        self.n_segments = n_segments
        # external arrays each segment reads
        self.seg_loads = []
        for step in self.segments():
            loads, seen = [], set()
            for i in step.nodes:
                for v in self._needs(i):
                    if v in self.ext and v not in seen:
                        seen.add(v)
                        loads.append(v)
            self.seg_loads.append(loads)

    # ------------------------------------------------------------------ outputs
    def _outputs(self):
        """How each graph output is produced: FromInput | FromConstant | FromPython | FromC."""
        fg = self.fgraph
        self.out_specs = []
        self.copy_slots = {}
        produced_c = {o for i, n in enumerate(self.nodes) if self.is_c[i] for o in n.outputs}
        for v in fg.outputs:
            if v in fg.inputs:
                self.out_specs.append(FromInput(fg.inputs.index(v)))
            elif isinstance(v, Constant):
                self.out_specs.append(FromConstant(v.data))
            elif v.owner is None:                        # a shared variable's value
                self.out_specs.append(FromPython(v))
            elif v not in produced_c:
                self.out_specs.append(FromPython(v))
            elif all(isinstance(r, BufRoot) for r in self.roots[v]):
                self.out_specs.append(FromC(self.val[v], None))
            else:
                if v not in self.copy_slots:
                    slot = self.base.vals + len(self.val) + len(self.copy_slots)
                    self.copy_slots[v] = (slot, self._new_buffer())
                    self.output_buffers.add(self.copy_slots[v][1])
                slot, b = self.copy_slots[v]
                self.out_specs.append(FromC(slot, (self.val[v], b)))
        self.n_vals = len(self.val) + len(self.copy_slots)

    # ------------------------------------------------------------------ sub-plans
    def _subplans(self):
        """One nested plan per inner graph of each C node whose lowering declares some."""
        b = self.base
        nxt = Base(b.vals + self.n_vals, b.exts + len(self.ext_vars), b.bufs + self.n_buffers,
                   b.nodes + len(self.nodes))
        self.subplans = {}
        for i, (node, low) in enumerate(zip(self.nodes, self.lowerings)):
            if low is None or low.subgraphs is None:
                continue
            subs = []
            for fg in low.subgraphs(node):
                sub = Plan(fg, base=nxt, bound_inputs=True)
                subs.append(sub)
                nxt = sub.end
            self.subplans[i] = subs
        self.end = nxt

    def node_id(self, i):
        """The module-wide number of node i (error reports, C names)."""
        return self.base.nodes + i

    def all_plans(self):
        """This plan and its sub-plans, depth first, inner plans before the plan that runs them."""
        for subs in self.subplans.values():
            for sub in subs:
                yield from sub.all_plans()
        yield self

    def node_at(self, gid):
        """The node numbered ``gid`` in this plan or a sub-plan."""
        for p in self.all_plans():
            if p.base.nodes <= gid < p.base.nodes + len(p.nodes):
                return p.nodes[gid - p.base.nodes]
        raise KeyError(gid)

    def ext_var_at(self, slot):
        """The variable of external slot ``slot`` (this plan or a sub-plan)."""
        for p in self.all_plans():
            if p.base.exts <= slot < p.base.exts + len(p.ext_vars):
                return p.ext_vars[slot - p.base.exts]
        raise KeyError(slot)

    # ------------------------------------------------------------------ helpers for the runner
    def output_buffer_of(self, j):
        """Buffer ids the memory of graph output j may be in (for C-computed outputs)."""
        spec = self.out_specs[j]
        if spec.copy is not None:
            return [spec.copy[1]]
        return self.candidate_owners(self.fgraph.outputs[j])[0]

    def candidate_owners(self, var):
        """Buffer ids and external variables whose memory ``var`` may live in."""
        bufs, exts = [], []
        for r in self.roots.get(var, ()):
            if isinstance(r, BufRoot):
                bufs.append(self.buf_of_root[r])
            else:
                exts.append(r.var)
        return bufs, exts

    def segments(self):
        """The C segments of :attr:`steps`, in order."""
        return [s for s in self.steps if isinstance(s, CSegment)]

    def describe(self):
        """Text summary (debugging): node -> C/Python, buffers."""
        lines = []
        for i, n in enumerate(self.nodes):
            where = "C " if self.is_c[i] else "PY"
            lines.append(f"{i:3d} {where} {n.op}")
        lines.append(f"{self.n_buffers} buffers, {len(self.val)} values, {len(self.ext_vars)} external")
        return "\n".join(lines)


def dtype_codes(dtype):
    """(itemsize, type char, alternate type char) that sg_load accepts for ``dtype``."""
    dt = np.dtype(dtype)
    alt = {"l": "q", "q": "l", "L": "Q", "Q": "L", "i": "i", "I": "I"}.get(dt.char, dt.char)
    return dt.itemsize, dt.char, alt


def load_specs(plan, loads):
    """``sg_load_t`` initializers (C text) loading external values ``loads`` of ``plan``."""
    specs = []
    for v in loads:
        isz, t1, t2 = dtype_codes(v.type.dtype)
        specs.append(f"{{{plan.ext[v]}, {plan.val[v]}, {v.type.ndim}, {isz}, '{t1}', '{t2}'}}")
    return specs


__all__ = ["Plan", "Base", "dtype_codes", "load_specs", "is_c_value", "ExtRoot", "BufRoot", "CSegment", "PyNode",
           "FromInput", "FromConstant", "FromPython", "FromC"]
