"""Replaying a compiled function's kernels as one CUDA graph.

A call of a CUDA thunk runs two kinds of nodes:

- the *prologue*: nodes that launch nothing (shape arithmetic, views, host
  fallbacks) and read only inputs, constants and other prologue values. They
  run in Python on every call; they are cheap.
- the *body*: everything else, in order. The second time a call arrives with
  the same *signature*, the body is captured as a CUDA graph; from then on a
  call with that signature replays it with one launch instead of running each
  node's Python code (which costs far more than most kernels on the GPU).

The signature holds what the body's kernel arguments depend on besides its
own buffers: the shape and strides of every device value it reads from outside,
the pointer of those that live in a stable place (GPU shared variables, device
constants), and the bytes of the small host values it reads (shapes, scalars
passed by value). Other device values (slices of a dataset chosen by an index,
uploaded inputs) are copied into *staging* buffers before the replay, so the
graph always reads the same addresses; each call of ``train_model(index)``
therefore replays the same graph whatever the index.

Updates of GPU shared variables are written back into the variables' own
buffers at the end of the graph, so their addresses never change; a function
output that is (a view of) such a variable is copied inside the graph before
the write-backs, so it holds the value from before the update, as when the
nodes run one by one. For a
function whose kernels check indices, the linker passes a write-back ``copy``
that does nothing when the function's error word is set: a replay that met a
bad index leaves every shared variable as it was (the linker reads the word
after the replay and raises). The body's buffers stay reserved for the graph
(``DevicePool.capture``). A function whose body would move data between host
and device, or whose capture fails, simply keeps running node by node.
"""
from __future__ import annotations

import numpy as np
from .memory import DeviceArray
from .lower.elemwise import copy_into
from . import graphs, memory
from .memory import empty

MAX_GRAPHS = 4          # per function: graphs pin their buffers


class GraphRunner:
    """Prologue/body partition of a thunk's program and its captured graphs."""

    def __init__(self, program, launch_free, stable_cells, update_writebacks, copy=None, output_cells=()):
        produced, prologue, body = set(), [], []
        for entry, free in zip(program, launch_free):
            _, _, ins, outs, convs = entry
            if free and not any(id(c) in produced for c in ins):
                prologue.append(entry)
            else:
                body.append(entry)
                produced.update(id(c) for c in outs)
                produced.update(id(dst) for _, dst, _ in convs)
        self.prologue, self.body = prologue, body
        self.ok = bool(body) and not any(convs for *_, convs in body)
        ext, seen = [], set()
        for _, _, ins, _, _ in body:
            for c in ins:
                if id(c) not in produced and id(c) not in seen:
                    seen.add(id(c))
                    ext.append(c)
        self.ext = ext
        self.body_cells = [c for _, _, _, outs, _ in body for c in outs]
        self.stable_cells = stable_cells          # cells of GPU shared variables, device constants
        self.writebacks = [(out, sv) for out, sv in update_writebacks if id(out) in produced]
        self.copy = copy          # copy(dst, src) of the write-backs; None: copy_into
        self.output_cells = list(output_cells)    # the function's outputs (not its updates)
        self.snapshots = {}       # id(output cell) -> its value copied before the write-backs
        self.graphs = {}
        self.seen = set()
        self.n_replays = 0

    # ------------------------------------------------------------------ per call
    def signature(self):
        """``(exact, relative)``: the exact signature keys the graphs; the relative one names
        stable buffers by which variable holds them, not by address, and decides when a
        signature has repeated (before the first capture, updates move the shared variables
        to new buffers on every call; captured graphs write them back in place)."""
        stable = self._stable()
        exact, rel = [], []
        for c in self.ext:
            v = c[0]
            if isinstance(v, DeviceArray):
                k = stable.get((v.ptr, v.size))
                if k is not None:
                    exact.append((1, v.ptr, v.shape, v.strides, v.dtype.num))
                    rel.append((1, k, v.shape, v.strides, v.dtype.num))
                else:
                    part = (2, v.shape, v.strides, v.dtype.num)
                    exact.append(part)
                    rel.append(part)
            elif isinstance(v, np.ndarray):
                if v.size > 64:
                    return None, None
                part = (3, v.dtype.num, v.shape, v.tobytes())
                exact.append(part)
                rel.append(part)
            else:
                return None, None
        return tuple(exact), tuple(rel)

    def run(self, run_nodes):
        """Run the prologue, then the body: replayed, captured, or node by node."""
        self.snapshots = {}
        run_nodes(self.prologue)
        sig, rel = self.signature() if self.ok else (None, None)
        entry = self.graphs.get(sig) if sig is not None else None
        if entry is not None:
            self._replay(entry)
            return
        if sig is not None and rel in self.seen:
            self._evict_stale()
        if sig is not None and rel in self.seen and len(self.graphs) < MAX_GRAPHS:
            try:
                self.graphs[sig] = self._capture(run_nodes)
                return
            except Exception:
                self.ok = False      # capture is not possible here: run node by node
        if rel is not None:
            self.seen.add(rel)
        run_nodes(self.body)

    def _evict_stale(self):
        """Drop graphs that read a buffer no stable variable holds any more (after a
        ``set_value``): they cannot match again, and they pin their memory."""
        current = {p for p, _ in self._stable()}
        for key in [k for k in self.graphs
                    if not all(part[1] in current for part in k if part[0] == 1)]:
            del self.graphs[key]

    def _stable(self):
        """(pointer, size) -> index of the stable cell: its buffer, or a view of all of it
        (a transpose, a dimshuffle); a part of it (a slice) is staged instead."""
        stable = {}
        for k, c in enumerate(self.stable_cells):
            if isinstance(c[0], DeviceArray):
                stable.setdefault((c[0].ptr, c[0].size), k)
        return stable

    def _replay(self, entry):
        for cell, staged in entry.staging:
            copy_into(staged, cell[0])
        entry.graph.launch()
        for cell, v in entry.values:
            cell[0] = v
        self.snapshots = {id(cell): snap for cell, snap in entry.snapshots}
        self.n_replays += 1

    def _capture(self, run_nodes):
        stable = self._stable()
        staging, originals = [], []
        for c in self.ext:
            v = c[0]
            if isinstance(v, DeviceArray) and (v.ptr, v.size) not in stable:
                s = empty(v.shape, v.dtype)
                copy_into(s, v)
                staging.append((c, s))
                originals.append((c, v))
                c[0] = s
        pool = memory.pool()
        blocks = pool.capture = []
        copy = self.copy or copy_into
        snapshots = []

        def record():
            run_nodes(self.body)
            # an output that is (a view of) a variable written back below must keep the value
            # it had before the update, as node by node: copy it first, inside the graph
            targets = [_extent(sv[0]) for _, sv in self.writebacks if isinstance(sv[0], DeviceArray)]
            for cell in self.output_cells:
                v = cell[0]
                if isinstance(v, DeviceArray) and v.size and any(_overlap(_extent(v), t) for t in targets):
                    snapshots.append((cell, v.copy()))
            for out, sv_cell in self.writebacks:
                new, cur = out[0], sv_cell[0]
                if new is cur or new.ptr == cur.ptr:
                    continue
                if new.shape != cur.shape or new.dtype != cur.dtype or not cur.is_c_contiguous:
                    raise ValueError("update changes the shared variable's shape")
                copy(cur, new)
                out[0] = cur

        try:
            graph = graphs.capture(record)
        finally:
            pool.capture = None
            for c, v in originals:
                c[0] = v
        entry = _Entry(graph, staging, [(c, c[0]) for c in self.body_cells], blocks, snapshots)
        self._replay(entry)
        return entry


class _Entry:
    __slots__ = ("graph", "staging", "values", "blocks", "snapshots")

    def __init__(self, graph, staging, values, blocks, snapshots):
        self.graph, self.staging, self.values, self.blocks = graph, staging, values, blocks
        self.snapshots = snapshots


def _extent(v):
    """[first, last) byte addresses a device array's elements occupy."""
    lo = v.ptr + sum(min(0, st * (n - 1)) for n, st in zip(v.shape, v.strides))
    hi = v.ptr + sum(max(0, st * (n - 1)) for n, st in zip(v.shape, v.strides)) + v.itemsize
    return lo, hi


def _overlap(a, b):
    return a[0] < b[1] and b[0] < a[1]
