"""The ordered, tagged rewrite pipeline and how a Mode selects from it.

Phases, in order::

    merge1 -> scan_loop -> canonicalize -> stabilize -> specialize -> scan_inner -> fusion
        -> inplace -> merge2

with, after the first merge, the ``scan_loop`` pass (tags ``fast_run``, ``scan``: loop
invariants and per-step sequence computations moved out of Scan loops, unused loop inputs
dropped) and, between specialize and fusion, the ``scan_inner`` pass (tags ``fast_run``, ``scan``),
which runs this pipeline, less ``inplace``, on the inner graphs of Scan and IfElse nodes
(:mod:`symgraph.rewrite.scan`).

``canonicalize``, ``stabilize`` and ``specialize`` are equilibrium phases of
node rewriters (see :mod:`symgraph.opt.engine`); the others are whole-graph
passes. Each rewrite has a name and tags; a mode is a query over them:

- ``optimizer='fast_run'``: everything;
- ``optimizer='fast_compile'``: only rewrites tagged ``fast_compile``
  (merge and constant folding), and the whole ``stabilize`` phase (numerical stability
  must not depend on the mode);
- ``optimizer=None``: nothing;
- ``Mode(...).excluding('fusion')`` or ``SYMGRAPH_FLAGS=optimizer_excluding=fusion``
  leaves out every phase or rewrite with that name or tag.

:func:`register` adds a node rewriter to phases::

    register(local_my_rewrite, "canonicalize", "specialize")
"""
from __future__ import annotations

import gc
import inspect

from ..graph import (EquilibriumRewriter, GraphRewriter, MergeFeature, MergeRewriter,
                     NodeRewriter, Op)
from . import basic, canonicalize, fusion, inplace, scan, shape, stabilize

PHASES = ("merge1", "canonicalize", "stabilize", "specialize", "fusion", "inplace", "merge2")

_registry = {"canonicalize": [], "stabilize": [], "specialize": []}


def register(rewriter, *phases, replace=False):
    """Add ``rewriter`` to the named equilibrium phases (registering it again is a no-op).

    A different rewriter under a name a phase already holds is refused (KeyError) unless
    ``replace=True``, which puts it in the old one's place.
    """
    for phase in phases:
        lst = _registry[phase]
        if rewriter in lst:
            continue
        same = [k for k, r in enumerate(lst) if r.name == rewriter.name]
        if same and not replace:
            raise KeyError(f"phase {phase!r} already has a rewriter named {rewriter.name!r}; "
                           f"pass replace=True to replace it")
        if same:
            lst[same[0]] = rewriter
        else:
            lst.append(rewriter)
    return rewriter


def local_rewriter(fn, tracks=None, name=None, tags=()):
    """A :class:`NodeRewriter` from ``fn``: symgraph's ``fn(fgraph, node)`` or Theano's
    ``fn(node)`` (one parameter). Entries of ``tracks`` that are neither Op classes nor Op
    instances (``T.exp`` is a function here) track every node."""
    if isinstance(fn, NodeRewriter):
        return fn
    try:
        n_params = len([p for p in inspect.signature(fn).parameters.values()
                        if p.default is inspect.Parameter.empty
                        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)])
    except (TypeError, ValueError):
        n_params = 2
    body = fn
    if n_params == 1:
        def body(fgraph, node):
            return fn(node)
        body.__name__, body.__doc__ = fn.__name__, fn.__doc__
    if tracks is not None and not all(isinstance(t, (type, Op)) for t in tracks):
        tracks = None
    return NodeRewriter(body, tracks, name or getattr(fn, "__name__", None), tags)


def _theano_register(*phases):
    def register_to(lopt=None, *tags, **kwargs):
        if isinstance(lopt, str) or lopt is None:      # @register_canonicalize('tag', name=..)
            extra = ((lopt,) if lopt else ()) + tags

            def deco(inner):
                return register_to(inner, *extra, **kwargs)
            return deco
        rw = local_rewriter(lopt, name=kwargs.get("name"))
        if kwargs.get("name"):
            rw.name = kwargs["name"]
        rw.tags = frozenset(rw.tags) | {"fast_run", *tags}
        register(rw, *phases, replace=True)
        return lopt
    register_to.__doc__ = (f"Theano's ``register_{phases[0]}``: add a local rewrite (a "
                           f"``gof.local_optimizer``) to symgraph's {' and '.join(phases)} "
                           f"phase(s); usable as ``@register_...`` or ``@register_...('tag', "
                           f"name=...)``. Returns its argument.")
    return register_to


register_canonicalize = _theano_register("canonicalize")
register_stabilize = _theano_register("stabilize")
register_specialize = _theano_register("specialize")
# Theano's uncanonicalize ran after specialize; here it is the last equilibrium phase
register_uncanonicalize = _theano_register("specialize")
register_specialize_device = _theano_register("specialize")


def registered(phase):
    """The node rewriters of ``phase``, in registration order."""
    return list(_registry[phase])


def _register_defaults():
    register(basic.constant_folding, "canonicalize", "stabilize", "specialize")
    for rw in shape.SHAPE_REWRITES:
        register(rw, "canonicalize", "specialize")
    for rw in canonicalize.CANONICALIZE:
        register(rw, "canonicalize", "specialize")
    for rw in canonicalize.SPECIALIZE:
        register(rw, "specialize")
    for rw in stabilize.STABILIZE:
        register(rw, "stabilize", "specialize")


_register_defaults()


class _Phase(GraphRewriter):
    """An equilibrium phase over the node rewriters registered to it (looked up when run)."""

    def __init__(self, name, tags):
        super().__init__(None, name, tags)

    def apply(self, fgraph, excluded=frozenset(), only_tag=None):
        rewriters = registered(self.name)
        if only_tag is not None:
            rewriters = [r for r in rewriters if only_tag in r.tags]
        return EquilibriumRewriter(rewriters, self.name).apply(fgraph, excluded)


def _phases():
    return [
        MergeRewriter("merge1", ("fast_run", "fast_compile", "merge")),
        scan.ScanLoopRewriter(None, "scan_loop", ("fast_run", "scan")),
        _Phase("canonicalize", ("fast_run", "fast_compile", "canonicalize")),
        # in FAST_COMPILE too (in full): users debug there, and must see the same finite values
        _Phase("stabilize", ("fast_run", "fast_compile", "stabilize")),
        _Phase("specialize", ("fast_run", "specialize")),
        scan.InnerGraphRewriter("scan_inner", ("fast_run", "scan"), run_pipeline),
        fusion.FusionRewriter("fusion", ("fast_run", "fusion")),
        inplace.InplaceRewriter("inplace", ("fast_run", "inplace")),
        MergeRewriter("merge2", ("fast_run", "fast_compile", "merge")),
    ]


# Theano's optimizer names -> the level that runs here
LEVELS = {"fast_run": "fast_run", "o4": "fast_run", "o3": "fast_run", "o2": "fast_run",
          "unsafe": "fast_run", "stabilize": "fast_run", "fast_compile": "fast_compile",
          "o1": "fast_compile", "merge": "merge"}


def run_pipeline(fgraph, mode):
    """Rewrite ``fgraph`` in place as ``mode`` asks; returns the fgraph.

    ``mode.optimizer`` picks the level (``fast_run``: every phase; ``fast_compile``: merge,
    constant folding and the canonicalizations tagged for it; ``merge``: merging only; None: no
    rewrite); phases tagged with a name in ``mode.included`` run too, and ``mode.excluded``
    names (rewrites or tags) are left out.
    """
    level = getattr(mode, "optimizer", "fast_run")
    if level is None or str(level).lower() == "none":
        return fgraph
    name = str(level).lower()
    if name not in LEVELS:
        raise ValueError(f"unknown optimizer {level!r}; expected one of {sorted(LEVELS)} or None")
    level = LEVELS[name]
    excluded = frozenset(getattr(mode, "excluded", ()) or ())
    included = frozenset(getattr(mode, "included", ()) or ())
    # rewriting allocates many small objects that live until the end: the cyclic
    # collector would rescan them again and again (about 40% of the time on big graphs)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        _run_phases(fgraph, level, excluded, included)
    finally:
        if gc_was_enabled:
            gc.enable()
    return fgraph


def _run_phases(fgraph, level, excluded, included=frozenset()):
    for phase in _phases():
        wanted = level in phase.tags or included & set(phase.tags) or phase.name in included
        if not wanted or phase.excluded_by(excluded):
            continue
        if isinstance(phase, _Phase):
            full = level == "fast_run" or phase.name == "stabilize" or included & set(phase.tags) \
                or phase.name in included
            phase.apply(fgraph, excluded, only_tag=None if full else level)
        else:
            phase.apply(fgraph, excluded)
    for f in list(fgraph.features):
        if isinstance(f, shape.ShapeFeature) or isinstance(f, MergeFeature):
            fgraph.remove_feature(f)


__all__ = ["PHASES", "LEVELS", "register", "registered", "run_pipeline", "local_rewriter",
           "register_canonicalize", "register_stabilize", "register_specialize",
           "register_uncanonicalize", "register_specialize_device"]
