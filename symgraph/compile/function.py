"""function(): compile a graph into a callable, with updates, givens and defaults."""
from __future__ import annotations

import atexit
import operator
import sys
import threading
import warnings
from itertools import repeat
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..config import config
from ..graph import (Constant, FunctionGraph, SharedVariable, Variable, aliasing, ancestors,
                     clone_replace, graph_inputs, register_compiler)
from ..backends.profiling import ProfileStats
from ..ops.elemwise import as_tensor_variable, patternbroadcast
from ..ops.type import TensorType
from ..rewrite import optimize
from .io import In, Out
from .mode import Mode, get_mode


class MissingInputError(ValueError):
    """An output depends on a symbolic input that was not given to function()."""


class UnusedInputError(ValueError):
    """An input of function() is not used by any output (on_unused_input='raise')."""


def _pairs(obj, what):
    if obj is None:
        return []
    if isinstance(obj, dict):
        return list(obj.items())
    pairs = list(obj)
    for p in pairs:
        if not isinstance(p, (tuple, list)) or len(p) != 2:
            raise TypeError(f"{what} must be a dict or a list of (variable, expression) pairs, "
                            f"got an item {p!r}")
    return [tuple(p) for p in pairs]


def _check_same_type(lhs, rhs, what):
    """Return ``rhs`` converted to lhs's type, or raise TypeError naming both."""
    if not isinstance(lhs.type, TensorType):
        if not isinstance(rhs, Variable) or rhs.type != lhs.type:
            raise TypeError(f"{what}: {lhs} has type {lhs.type} but the expression has type "
                            f"{getattr(rhs, 'type', type(rhs).__name__)}")
        return rhs
    try:
        rhs = as_tensor_variable(rhs)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what}: the new value of {lhs} ({lhs.type}) must be a symbolic expression "
                        f"or a constant, got {type(rhs).__name__} {rhs!r:.80} ({exc})") from None
    if rhs.type == lhs.type:
        return rhs
    if rhs.dtype == lhs.dtype and rhs.ndim == lhs.ndim:
        return patternbroadcast(rhs, lhs.broadcastable)
    where = f" (expression built at {rhs.where()})" if getattr(rhs.tag, "trace", None) else ""
    raise TypeError(
        f"{what}: {lhs} has type {lhs.type} but the new expression has type {rhs.type}{where}. "
        f"The types must match: cast the expression (e.g. T.cast(expr, '{lhs.dtype}')) or "
        f"set config.floatX consistently.")


class Function:
    """A compiled function. Call it with positional or keyword arguments."""

    def __init__(self, maker):
        self.maker = maker
        self.name = maker.name
        self.trust_input = maker.trust_input
        self.profile = maker.profile        # ProfileStats when compiled with profile=True
        self._ins = maker.in_specs
        self._n_explicit = len(self._ins)
        self._shared_boxes = [aliasing.storage(sv) for sv in maker.shared_inputs]
        self._run = maker.thunk
        self._n_out = maker.n_outputs
        self._update_vars = maker.update_vars
        self._update_boxes = [aliasing.storage(sv) for sv in maker.update_vars]
        self._single = maker.single_output
        self._copy_out = maker.copy_outputs
        self._copy_upd = maker.copy_updates
        self._defaults = [spec.value for spec in self._ins]
        self._index = {}
        for k, spec in enumerate(self._ins):
            if spec.name is not None:
                self._index.setdefault(spec.name, k)
        # Threads: one call at a time per Function (its thunk's buffers persist across calls);
        # a function with updates also holds each updated variable's lock from its read of the
        # old values to the write of the new ones, so two functions updating the same variable
        # in two threads do not lose updates. Locks are taken in one global order (id).
        self._lock = threading.Lock()
        locks = {id(sv.update_lock): sv.update_lock for sv in maker.update_vars}
        self._upd_locks = [locks[k] for k in sorted(locks)]
        self._filters = [(spec.variable.type.filter, spec.strict,
                          maker.allow_downcast if spec.allow_downcast is None else spec.allow_downcast,
                          spec.name or str(spec.variable)) for spec in self._ins]
        # the fast check of each input (see __call__): its exact numpy dtype and ndim, or a
        # dtype no array has (None) when the type is not a tensor or has broadcastable dims
        self._exact = [(spec.variable.type.numpy_dtype, spec.variable.type.ndim)
                       if isinstance(spec.variable.type, TensorType)
                       and not any(spec.variable.type.broadcastable) else (None, -1)
                       for spec in self._ins]
        # one output, nothing to copy: the call returns the thunk's result as is
        self._plain = self._single and not self._copy_out and self._n_out == 1

    # ------------------------------------------------------------------ call
    def __call__(self, *args, **kwargs):
        if kwargs or len(args) != self._n_explicit:
            args = self._bind(args, kwargs)
        if self.trust_input:
            values = list(args)
        else:
            # an ndarray of exactly the input's dtype and ndim (no broadcastable dims) is taken
            # as is; anything else goes through the type's filter (conversion, clear errors)
            values = list(args)
            for k, (dt, nd) in enumerate(self._exact):
                a = values[k]
                if a.__class__ is not _ndarray or a.dtype is not dt or a.ndim != nd:
                    values[k] = self._filter(k, a, args)
        if self._upd_locks:
            return self._call_updating(values)
        lock = self._lock
        lock.acquire()      # (acquire/release: half the cost of a with block, ~70 ns)
        try:
            for box in self._shared_boxes:
                values.append(box[0])
            if self._plain:
                return self._run(values)[0]
            return self._results(self._run(values))
        finally:
            lock.release()

    def _filter(self, k, a, args):
        flt, strict, down, nm = self._filters[k]
        try:
            return flt(a, strict, down, nm)
        except (TypeError, ValueError) as exc:
            raise self._input_error(exc, args) from None

    def _call_updating(self, values):
        """A call with updates: the updated variables' locks held from reading to writing them."""
        locks = self._upd_locks
        with self._lock:
            for lk in locks:
                lk.acquire()
            try:
                for box in self._shared_boxes:
                    values.append(box[0])
                outs = self._run(values)
                # all outputs computed: apply every update together
                new = outs[self._n_out:]
                for i in self._copy_upd:
                    new[i] = np.array(new[i], copy=True)
                # one pass of C calls (no bytecode between assignments, so a KeyboardInterrupt
                # cannot land between them): every shared variable changes, or none does
                list(map(operator.setitem, self._update_boxes, repeat(0), new))
                # copies of results in the thunk's memory are made before another call may run
                return self._results(outs)
            finally:
                for lk in locks:
                    lk.release()

    def _results(self, outs):
        result = outs[:self._n_out]
        for i in self._copy_out:
            result[i] = np.array(result[i], copy=True)
        if self._single:
            return result[0]
        return result

    def _bind(self, args, kwargs):
        n = self._n_explicit
        if len(args) > n:
            raise TypeError(f"{self._label()} takes {n} argument(s) but {len(args)} were given")
        vals = list(args) + [_MISSING] * (self._n_explicit - len(args))
        for key, val in kwargs.items():
            k = self._index.get(key)
            if k is None:
                raise TypeError(f"{self._label()} got an unexpected keyword argument {key!r} "
                                f"(inputs: {[s.name for s in self._ins]})")
            if vals[k] is not _MISSING:
                raise TypeError(f"{self._label()} got multiple values for input {key!r}")
            vals[k] = val
        for k, v in enumerate(vals):
            if v is _MISSING:
                spec = self._ins[k]
                if not spec.has_default:
                    raise TypeError(f"{self._label()}: missing required input "
                                    f"{spec.name or spec.variable} ({spec.variable.type}, "
                                    f"argument {k})")
                vals[k] = self._defaults[k]
        return vals

    def _input_error(self, exc, args):
        """``exc`` from filtering ``args``, naming the argument and the line that declared it."""
        for k, ((flt, strict, down, nm), a) in enumerate(zip(self._filters, args)):
            try:
                flt(a, strict, down, nm)
            except (TypeError, ValueError) as err:
                var = self._ins[k].variable
                return type(err)(f"{self._label()}, argument {k}: {err}\n"
                                 f"Input {var} ({var.type}) was declared at: {var.where()}")
        return exc

    def _label(self):
        return f"function {self.name!r}" if self.name else "function"

    # ------------------------------------------------------------------ misc
    def __setitem__(self, name, value):
        """Change an input's default: ``f['step'] = 2``."""
        k = self._index[name] if isinstance(name, str) else name
        self._defaults[k] = value

    def __getitem__(self, name):
        k = self._index[name] if isinstance(name, str) else name
        return self._defaults[k]

    @property
    def fgraph(self):
        return self.maker.fgraph

    def __reduce__(self):
        return (_rebuild_function, (self.maker.spec,))

    def __repr__(self):
        return f"<symgraph.Function {self.name or ''} {len(self.maker.fgraph.apply_nodes)} nodes>"


_MISSING = object()
_ndarray = np.ndarray


def _rebuild_function(spec):
    return function(**spec)


class FunctionMaker:
    """The stages of ``function()``, in order, each a method:

    1. ``_collect_inputs`` / ``_collect_outputs``: the In/Out specs, checked;
    2. ``_collect_updates``: explicit updates and givens, type-checked, then the shared
       variables' default updates (random-stream states) that the graph reaches;
    3. ``_collect_shared``: the shared variables the graph reads (implicit inputs), and the
       check that every free input was given (and, per ``on_unused_input``, used);
    4. the FunctionGraph (explicit inputs + shared variables -> outputs + new shared values),
       rewritten by the mode's pipeline, then linked by the mode's backend into a thunk;
    5. which results must be copied before they reach the user (graph/aliasing.py);
    6. ``create()`` wraps it all in a :class:`Function`.
    """

    def __init__(self, inputs, outputs=None, mode=None, updates=None, givens=None,
                 no_default_updates=False, name=None, allow_input_downcast=None,
                 on_unused_input=None, trust_input=False, profile=None):
        self.spec = dict(inputs=inputs, outputs=outputs, mode=mode, updates=updates,
                         givens=givens, no_default_updates=no_default_updates, name=name,
                         allow_input_downcast=allow_input_downcast,
                         on_unused_input=on_unused_input, trust_input=trust_input,
                         profile=profile)
        self.name = name
        self.trust_input = bool(trust_input)
        self.allow_downcast = allow_input_downcast
        self.mode = get_mode(mode)
        self.in_specs = self._collect_inputs(inputs)
        self.out_specs, self.single_output = self._collect_outputs(outputs)
        upd, exprs = self._collect_updates(updates, givens, no_default_updates)
        self.shared_inputs = self._collect_shared(exprs, upd)
        self._check_unused(exprs, on_unused_input or config.on_unused_input or "raise")
        self.n_outputs = len(self.out_specs)
        self.update_vars = [sv for sv, _ in upd]
        explicit = [s.variable for s in self.in_specs]
        self.fgraph = FunctionGraph(explicit + self.shared_inputs, exprs)
        # output index -> shared variable it updates (the inplace pass may then reuse its buffer)
        self.fgraph.update_mapping = {self.n_outputs + j: sv for j, sv in enumerate(self.update_vars)}
        # the nodes rewrites build get test values only when asked (Theano's compute_test_value_opt)
        with config.change_flags(compute_test_value=config.compute_test_value_opt):
            optimize(self.fgraph, self.mode)
        if profile is None:
            profile = config.profile
        self.profile = _profile_for(profile, name)
        self.linker = self.mode.make_linker(profile=self.profile)
        self.thunk = self.linker.make_thunk(self.fgraph)
        if self.profile is not None and getattr(self.linker, "profile", None) is None:
            self.thunk = self.profile.timed_call(self.thunk)      # a backend without per-node times
        self.copy_outputs, self.copy_updates = aliasing.outputs_to_copy(
            self.fgraph, self.n_outputs, [o.borrow for o in self.out_specs],
            set(getattr(self.thunk, "internal_outputs", ())), self.update_vars)

    def create(self):
        return Function(self)

    # ------------------------------------------------------------------ stages
    @staticmethod
    def _collect_inputs(inputs):
        if not isinstance(inputs, (list, tuple)):
            raise TypeError("function: inputs must be a list (e.g. [x, y]); got "
                            f"{type(inputs).__name__}")
        in_specs = [i if isinstance(i, In) else In(i) for i in inputs]
        seen = set()
        for spec_i in in_specs:
            v = spec_i.variable
            if not isinstance(v, Variable):
                raise TypeError(f"function: inputs must be symbolic variables, got {v!r}")
            if isinstance(v, Constant):
                raise TypeError(f"function: constant {v} cannot be an input")
            if isinstance(v, SharedVariable):
                raise TypeError(f"function: cannot use shared variable {v} as an explicit input; "
                                f"it is an implicit input of any function that uses it (use "
                                f"givens to substitute it)")
            if v.owner is not None:
                raise TypeError(f"function: input {v} is computed by {v.owner.op}; inputs must "
                                f"be free variables such as T.matrix() (use givens to "
                                f"substitute an expression)")
            if v in seen:
                raise ValueError(f"function: input {v} is given more than once")
            seen.add(v)
            if spec_i.update is not None:
                raise NotImplementedError("In(update=...) is not supported; use a shared variable")
        return in_specs

    @staticmethod
    def _collect_outputs(outputs):
        single = False
        if outputs is None:
            out_specs = []
        elif isinstance(outputs, (list, tuple)):
            out_specs = [o if isinstance(o, Out) else Out(o) for o in outputs]
        else:
            single = True
            out_specs = [outputs if isinstance(outputs, Out) else Out(outputs)]
        for o in out_specs:
            if not isinstance(o.variable, Variable):
                o.variable = as_tensor_variable(o.variable)
        return out_specs, single

    def _collect_updates(self, updates, givens, no_default_updates):
        """(shared variable, new value) pairs and the expressions to compute (outputs first)."""
        upd = []
        upd_seen = set()
        for lhs, rhs in _pairs(updates, "updates"):
            if not isinstance(lhs, SharedVariable):
                raise TypeError(f"updates: the left side {lhs} must be a shared variable")
            if lhs in upd_seen:
                raise ValueError(f"updates: shared variable {lhs} is updated more than once")
            upd_seen.add(lhs)
            upd.append((lhs, _check_same_type(lhs, rhs, "updates")))
        giv = []
        for lhs, rhs in _pairs(givens, "givens"):
            if not isinstance(lhs, Variable):
                raise TypeError(f"givens: keys must be symbolic variables, got {lhs!r}")
            giv.append((lhs, _check_same_type(lhs, rhs, "givens")))
        giv_map = dict(giv)

        exprs = [o.variable for o in self.out_specs] + [r for _, r in upd]
        exprs = clone_replace(exprs, giv_map) if giv_map else exprs
        if no_default_updates is True:
            return upd, exprs
        # default updates (e.g. random-stream states), following new shared variables
        excluded = (set(no_default_updates) if isinstance(no_default_updates, (list, tuple))
                    else None)
        for _ in range(100):
            added = False
            for v in graph_inputs(exprs):
                if isinstance(v, SharedVariable) and v not in upd_seen \
                        and getattr(v, "default_update", None) is not None \
                        and (excluded is None or v not in excluded):
                    rhs = _check_same_type(v, v.default_update, "default_update")
                    rhs = clone_replace([rhs], giv_map)[0] if giv_map else rhs
                    upd.append((v, rhs))
                    upd_seen.add(v)
                    exprs.append(rhs)
                    added = True
            if not added:
                break
        return upd, exprs

    def _collect_shared(self, exprs, upd):
        explicit = [s.variable for s in self.in_specs]
        explicit_set = set(explicit)
        shared_vars = []
        for v in graph_inputs(exprs, blockers=explicit_set):
            if v in explicit_set or isinstance(v, Constant):
                continue
            if isinstance(v, SharedVariable):
                shared_vars.append(v)
                continue
            raise MissingInputError(
                f"function: output depends on input variable {v} ({v.type}, built at "
                f"{v.where()}) which is not in the inputs list {explicit}; add it to inputs or "
                f"use givens")
        for sv, _ in upd:
            if sv not in shared_vars:
                shared_vars.append(sv)
        return shared_vars

    def _check_unused(self, exprs, policy):
        used = set(ancestors(exprs))
        for k, spec_i in enumerate(self.in_specs):
            if spec_i.variable not in used:
                msg = (f"function: input {spec_i.variable} (argument {k}) is not used by any "
                       f"output; pass on_unused_input='ignore' if this is intended")
                if policy == "raise":
                    raise UnusedInputError(msg)
                if policy == "warn":
                    warnings.warn(msg, stacklevel=4)


def function(inputs: Sequence[Variable | In], outputs: Any = None, mode: str | Mode | None = None,
             updates: Iterable[tuple[SharedVariable, Any]] | Mapping[Any, Any] | None = None,
             givens: Iterable[tuple[Variable, Any]] | Mapping[Any, Any] | None = None,
             no_default_updates: bool | Sequence[SharedVariable] = False, accept_inplace: bool = False,
             name: str | None = None, rebuild_strict: bool = True, allow_input_downcast: bool | None = None,
             profile: Any = None, on_unused_input: str | None = None, trust_input: bool = False) -> Function:
    """Compile ``outputs`` as a function of ``inputs``.

    >>> x, y = T.dscalars('x', 'y')
    >>> f = function([x, In(y, value=1)], x + y)
    >>> f(2.0), f(2.0, 3.0), f(2.0, y=5.0)

    ``updates``: list of (shared_variable, expression) pairs or a dict; each
    shared variable takes the expression's value after the outputs are
    computed (all updates read the old values). ``givens``: pairs
    (variable, expression) substituted in the graph before compiling.
    ``trust_input=True`` skips the conversion and checking of arguments (kept on pickling).
    ``profile=True`` (or the ``profile`` flag) times every node: ``f.profile.summary()``, and
    the summary is printed at exit.
    """
    return FunctionMaker(inputs, outputs, mode=mode, updates=updates, givens=givens,
                         no_default_updates=no_default_updates, name=name,
                         allow_input_downcast=allow_input_downcast,
                         on_unused_input=on_unused_input, trust_input=trust_input,
                         profile=profile).create()


_PROFILED = []      # ProfileStats of the functions compiled with profiling, printed at exit


def _profile_for(profile, name):
    """A new ProfileStats for ``profile=True`` (or the given one); None when not profiling."""
    if isinstance(profile, ProfileStats):
        stats = profile
    elif profile:
        stats = ProfileStats(name)
    else:
        return None
    if not _PROFILED:
        atexit.register(_print_profiles)
    _PROFILED.append(stats)
    return stats


def _print_profiles():
    for stats in _PROFILED:
        if stats.calls:
            print(stats.summary(), file=sys.stderr)


register_compiler(function)
