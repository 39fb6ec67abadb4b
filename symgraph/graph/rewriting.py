"""The rewrite engine: named node rewriters, whole-graph passes and a worklist driver.

A *node rewriter* looks at one Apply node and either declines (returns None
or False) or returns replacements for its outputs: a list aligned with
``node.outputs`` (None keeps an output) or a dict ``{old_var: new_var}``::

    @node_rewriter([Elemwise])
    def local_double_neg(fgraph, node):
        '''-(-x) -> x'''
        inner = elemwise_node(node.inputs[0], ps.neg)      # from symgraph.opt.utils
        if node.op.scalar_op == ps.neg and inner is not None:
            return [inner.inputs[0]]

The decorator returns a :class:`NodeRewriter` named after the function.
:class:`EquilibriumRewriter` applies a set of them until nothing changes:
it keeps a worklist of nodes (every node once, then each node that is new or
whose inputs changed), so the cost grows with the number of edits, not with
graph size times the number of sweeps. A cap on the number of edits stops
rewrites that undo each other.

A *graph rewriter* (:class:`GraphRewriter`, ``@graph_rewriter``) is a
whole-graph pass such as merge, fusion or inplace.
"""
from __future__ import annotations

import warnings
from collections import Counter, deque

from ..config import config
from .basic import Constant
from .fgraph import Feature, InconsistencyError


class Rewriter:
    """Something with a ``name`` and ``tags`` that a mode can include or exclude."""

    name = "?"
    tags = frozenset()

    def excluded_by(self, excluded):
        return self.name in excluded or bool(self.tags & excluded)

    def __repr__(self):
        return f"<{type(self).__name__} {self.name}>"


class NodeRewriter(Rewriter):
    """A rewrite of single Apply nodes, applied to nodes whose op is one of ``tracks``.

    ``tracks`` holds Op classes (any instance matches) or Op instances (equal
    ops match); None means every node.
    """

    def __init__(self, fn, tracks=None, name=None, tags=()):
        self.fn = fn
        self.name = name or fn.__name__
        self.tags = frozenset(tags)
        self.__doc__ = fn.__doc__
        self.track_classes = None      # classes whose every instance is tracked
        self.track_ops = None          # individual op instances tracked
        self._dispatch = None          # every class that may match (for the driver)
        if tracks is not None:
            self.track_classes = tuple(t for t in tracks if isinstance(t, type))
            ops = tuple(t for t in tracks if not isinstance(t, type))
            self.track_ops = ops or None
            self._dispatch = self.track_classes + tuple(type(o) for o in ops)

    def tracks_class(self, cls):
        return self._dispatch is None or issubclass(cls, self._dispatch)

    def transform(self, fgraph, node):
        if self.track_ops is not None and node.op not in self.track_ops \
                and not isinstance(node.op, self.track_classes):
            return None
        return self.fn(fgraph, node)

    def __call__(self, fgraph, node):
        return self.transform(fgraph, node)


def node_rewriter(tracks=None, name=None, tags=()):
    """Decorator: turn ``fn(fgraph, node) -> replacements`` into a :class:`NodeRewriter`.

    >>> @node_rewriter([DimShuffle])
    ... def local_useless_dimshuffle(fgraph, node): ...
    """
    def deco(fn):
        return NodeRewriter(fn, tracks, name, tags)
    return deco


class GraphRewriter(Rewriter):
    """A whole-graph pass: ``apply(fgraph)`` edits the graph in place."""

    def __init__(self, fn=None, name=None, tags=()):
        self.fn = fn
        self.name = name or (fn.__name__ if fn is not None else type(self).__name__)
        self.tags = frozenset(tags)
        if fn is not None:
            self.__doc__ = fn.__doc__

    def apply(self, fgraph, excluded=frozenset()):
        return self.fn(fgraph)


def graph_rewriter(name=None, tags=()):
    """Decorator: turn ``fn(fgraph)`` into a :class:`GraphRewriter`."""
    def deco(fn):
        return GraphRewriter(fn, name, tags)
    return deco


# ---------------------------------------------------------------- applying results

def _short(obj, limit=160):
    text = str(obj)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def result_pairs(node, result):
    """Normalize a node rewriter's result into ``[(old, new), ...]`` (empty when declined)."""
    if result is None or result is False:
        return []
    if isinstance(result, dict):
        return [(o, n) for o, n in result.items() if n is not None and n is not o]
    if len(result) != len(node.outputs):
        raise ValueError(f"a node rewriter returned {len(result)} replacements for "
                         f"{len(node.outputs)} outputs of {node.op}")
    return [(o, n) for o, n in zip(node.outputs, result) if n is not None and n is not o]


def apply_replacements(fgraph, node, pairs, rewriter_name):
    """Replace each pair (with validation); report and count. Returns True on success."""
    for old, new in pairs:
        ot, nt = old.type, new.type
        if ot != nt and (getattr(ot, "dtype", None) != getattr(nt, "dtype", None)
                         or getattr(ot, "ndim", None) != getattr(nt, "ndim", None)):
            warnings.warn(f"rewrite {rewriter_name} proposed {new} of type {nt} for {old} of "
                          f"type {ot}; skipped (this is a bug in the rewrite)", stacklevel=2)
            return False
    text = None
    if config.print_rewrites:
        text = f"rewrite {rewriter_name}: {_short(node)} -> " + \
            ", ".join(_short(n.owner if n.owner is not None else n) for _, n in pairs)
    try:
        fgraph.replace_validate(pairs, reason=rewriter_name)
    except InconsistencyError:
        return False
    if text is not None:
        print(text)
    counts = getattr(fgraph, "rewrite_counts", None)
    if counts is None:
        counts = fgraph.rewrite_counts = Counter()
    counts[rewriter_name] += 1
    return True


# ---------------------------------------------------------------- the worklist driver

class _Worklist(Feature):
    """Queues nodes that are new or whose inputs changed."""

    def __init__(self):
        self.queue = deque()
        self.queued = set()

    def push(self, node):
        if node not in self.queued:
            self.queued.add(node)
            self.queue.append(node)

    def pop(self):
        node = self.queue.popleft()
        self.queued.discard(node)
        return node

    def on_import(self, fgraph, node):
        self.push(node)

    def on_change_input(self, fgraph, node, i, old, new):
        if node != "output":
            self.push(node)


class EquilibriumRewriter(GraphRewriter):
    """Apply node rewriters until none applies (or the edit cap is reached).

    ``max_edits_per_node``: the cap is this times the initial node count
    (at least ``min_edits``). With ``merge=True`` equal nodes created along
    the way are merged as they appear.
    """

    def __init__(self, rewriters, name, tags=(), merge=True, max_edits_per_node=20, min_edits=2000):
        super().__init__(None, name, tags)
        self.rewriters = list(rewriters)
        self.merge = merge
        self.max_edits_per_node = max_edits_per_node
        self.min_edits = min_edits

    def apply(self, fgraph, excluded=frozenset()):
        rewriters = [r for r in self.rewriters if not r.excluded_by(excluded)]
        if not rewriters:
            return 0
        by_class = {}

        def for_node(node):
            cls = type(node.op)
            lst = by_class.get(cls)
            if lst is None:
                lst = by_class[cls] = [r for r in rewriters if r.tracks_class(cls)]
            return lst

        work = _Worklist()
        for node in fgraph.toposort():
            work.push(node)
        merger = None
        if self.merge:
            merger = fgraph.get_feature(MergeFeature)
            if merger is None:
                merger = MergeFeature()
                fgraph.attach_feature(merger)
        fgraph.attach_feature(work)
        cap = max(self.min_edits, self.max_edits_per_node * len(fgraph.apply_nodes))
        edits = 0
        nodes = fgraph.apply_nodes
        try:
            while work.queue:
                if merger is not None and merger.pending:
                    edits += merger.flush(fgraph)
                node = work.pop()
                if node not in nodes:
                    continue
                for rw in for_node(node):
                    try:
                        pairs = result_pairs(node, rw.transform(fgraph, node))
                    except InconsistencyError:
                        continue
                    except Exception as exc:     # a broken rewrite must not stop compiling
                        warnings.warn(f"rewrite {rw.name} failed on {_short(node)}: "
                                      f"{type(exc).__name__}: {exc}", stacklevel=2)
                        continue
                    if pairs and apply_replacements(fgraph, node, pairs, rw.name):
                        edits += 1
                        if node in nodes:       # only some outputs were replaced
                            work.push(node)
                        break
                if edits > cap:
                    warnings.warn(f"{self.name}: stopped after {edits} rewrites (cap {cap}); "
                                  f"some rewrites may be undoing each other", stacklevel=2)
                    break
            if merger is not None and merger.pending:
                edits += merger.flush(fgraph)
        finally:
            fgraph.remove_feature(work)
        return edits


# ---------------------------------------------------------------- merge
# Equal constants (same Constant.signature) become one variable, and Apply nodes with equal ops
# on the same inputs become one node; MergeFeature does it incrementally while rewrites run.

def _mergeable(op):
    return not op.destroy_map and not getattr(op, "_no_merge", False)


class MergeFeature(Feature):
    """Notices equal constants and equal nodes as they enter the graph; ``flush`` merges them.

    The first-registered of two equal nodes is kept.
    """

    def __init__(self):
        self.nodes = {}
        self.consts = {}
        self.pending = []

    def on_attach(self, fgraph):
        for node in fgraph.toposort():
            self.register(fgraph, node)

    def on_import(self, fgraph, node):
        self.register(fgraph, node)

    def on_change_input(self, fgraph, node, i, old, new):
        if node != "output":
            self.register(fgraph, node)

    def register(self, fgraph, node):
        for inp in node.inputs:
            if isinstance(inp, Constant):
                sig = inp.signature()
                canon = self.consts.get(sig)
                if canon is None or canon not in fgraph.variables:
                    self.consts[sig] = inp
                elif canon is not inp:
                    self.pending.append((inp, canon))
        if not _mergeable(node.op):
            return
        # keyed by the inputs only: hashing ops (with their props) is slow, and
        # nodes on the same inputs are few, so ops are compared in the bucket
        key = tuple(node.inputs)
        bucket = self.nodes.get(key)
        if bucket is None:
            self.nodes[key] = [node]
            return
        live = [n for n in bucket if n in fgraph.apply_nodes and tuple(n.inputs) == key]
        for other in live:
            if other is not node and other.op == node.op:
                self.pending.append((node, other))
                break
        if node not in live:
            live.append(node)
        self.nodes[key] = live

    def flush(self, fgraph):
        """Carry out the pending merges (and those they cause); returns how many."""
        done = 0
        while self.pending:
            a, b = self.pending.pop()
            if isinstance(a, Constant):
                if a in fgraph.variables and b in fgraph.variables and a.type == b.type:
                    pairs = [(a, b)]
                else:
                    continue
            else:
                if a not in fgraph.apply_nodes or b not in fgraph.apply_nodes \
                        or a.op != b.op or a.inputs != b.inputs:
                    continue
                pairs = [(o, k) for o, k in zip(a.outputs, b.outputs) if o.type == k.type]
                if len(pairs) != len(a.outputs):
                    continue
                if apply_replacements(fgraph, a, pairs, "merge"):
                    done += 1
                continue
            try:
                fgraph.replace_validate(pairs, reason="merge")
            except InconsistencyError:
                continue
            done += 1
        return done


class MergeRewriter(GraphRewriter):
    """Whole-graph merge of equal constants and equal nodes."""

    def __init__(self, name="merge", tags=("fast_run", "fast_compile", "merge")):
        super().__init__(None, name, tags)

    def apply(self, fgraph, excluded=frozenset()):
        feature = fgraph.get_feature(MergeFeature)
        own = feature is None
        if own:
            feature = MergeFeature()
            fgraph.attach_feature(feature)
        try:
            return feature.flush(fgraph)
        finally:
            if own:
                fgraph.remove_feature(feature)


merge = MergeRewriter()


__all__ = ["Rewriter", "NodeRewriter", "node_rewriter", "GraphRewriter", "graph_rewriter",
           "EquilibriumRewriter", "apply_replacements", "result_pairs",
           "MergeFeature", "MergeRewriter", "merge"]
