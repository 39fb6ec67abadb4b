"""Differential fuzzing: random graphs run by the Python reference and by the C backend must agree.

Each example draws a small graph from a grammar of elementwise, reduction, shape
(dimshuffle/reshape/flatten), indexing (basic slices, integers, ``x[ivec]``,
``set_subtensor``/``inc_subtensor``), ``dot``, ``conv2d`` and ``pool_2d`` ops over
concrete shapes (0 and 1 sizes included, broadcasting by type) and dtypes, then
evaluates it with ``Mode(linker='py', optimizer=None)`` (the reference) and with
``Mode(linker='c')`` (FAST_RUN rewrites). The C backend gets the same values in
other memory layouts (transposed, step-sliced, reversed, zero-stride broadcast,
read-only); outputs must match in dtype, shape, NaN/Inf positions and values
within the dtype's tolerance, both must raise the same exception class when one
raises, and no input may be written to.

Compiling dominates the cost, so CI runs few examples (derandomized, so a
second run finds every library in the compile cache) and each compiled function
is called on several layouts. For a long run::

    SYMGRAPH_FUZZ_EXAMPLES=10000 pytest tests/test_fuzz.py

(with the variable set, examples are random rather than derandomized).
"""
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_threads import run_in_threads

import symgraph
import symgraph.tensor as T
from symgraph.backends import c_available
from symgraph.compile.mode import Mode
from symgraph.tensor.nnet import conv2d
from symgraph.tensor.signal.pool import pool_2d

pytestmark = pytest.mark.skipif(not c_available(), reason="C backend unavailable (no working C compiler "
                                "or symgraph.backends.c.linker failed to import)")

EXAMPLES = int(os.environ.get("SYMGRAPH_FUZZ_EXAMPLES", "25"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                derandomize="SYMGRAPH_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])

REFERENCE = Mode(linker="py", optimizer=None)
C_MODE = Mode(linker="c")
# With NaN/Inf in the data, leave out the one FAST_RUN rewrite that is deliberately not
# NaN-preserving (Theano's too): x - x -> 0.
C_MODE_SPECIALS = C_MODE.excluding("local_sub_self")
TOL = {"float32": 1e-4, "float64": 1e-7}
FLOATS = ("float32", "float64")
INTS = ("int32", "int64")
LAYOUTS = ("c", "f", "step", "reversed", "broadcast", "readonly")


# ---------------------------------------------------------------- graph grammar

class Expr:
    """A symbolic value with the concrete shape it will have at run time."""

    def __init__(self, var, shape):
        self.var, self.shape = var, tuple(int(s) for s in shape)

    @property
    def dtype(self):
        return self.var.dtype

    @property
    def ndim(self):
        return len(self.shape)


class GraphBuilder:
    """Draws a random graph: leaves are fresh inputs with recorded shapes and value kinds."""

    def __init__(self, data):
        self.draw = data.draw
        self.leaves = []         # (variable, shape, kind): kind 'float' / 'int' / ('index', n)
        self.pool = []

    def bool(self):
        return self.draw(st.booleans())

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def leaf(self, shape, dtype, kind=None, bcast=None):
        if bcast is None:
            bcast = tuple(s == 1 and self.bool() for s in shape)
        var = T.tensor(dtype, bcast, name=f"in{len(self.leaves)}")
        self.leaves.append((var, tuple(shape), kind or ("float" if dtype in FLOATS else "int")))
        return Expr(var, shape)

    def shape(self, ndim, sizes=(0, 1, 1, 2, 3, 4)):
        return tuple(self.pick(sizes) for _ in range(ndim))

    def start(self, ndims=(0, 1, 2, 3), dtypes=FLOATS + INTS):
        e = self.leaf(self.shape(self.pick(ndims)), self.pick(dtypes))
        self.pool.append(e)
        return e

    def operand(self):
        return self.pick(self.pool)

    # -- elementwise
    def unary(self, a):
        if a.dtype in FLOATS:
            name = self.pick(["exp", "log", "sqrt", "tanh", "sigmoid", "abs_", "neg", "sqr", "inv", "floor",
                              "sin", "log1p", "expm1", "softplus", "cast", "clip", "softmax", "log_softmax"])
        else:
            name = self.pick(["neg", "abs_", "sqr", "cast", "clip"])
        if name == "cast":
            return Expr(T.cast(a.var, self.pick(FLOATS + INTS)), a.shape)
        if name == "clip":
            return Expr(T.clip(a.var, -1.5, 2), a.shape)
        if name in ("softmax", "log_softmax"):
            if a.ndim != 2:
                return Expr(T.nnet.relu(a.var), a.shape)
            return Expr(getattr(T.nnet, name)(a.var), a.shape)
        fn = {"sigmoid": T.nnet.sigmoid, "softplus": T.nnet.softplus}.get(name) or getattr(T, name)
        return Expr(fn(a.var), a.shape)

    def partner(self, a):
        """An operand that broadcasts against ``a`` (same rank or fewer dims, by type)."""
        candidates = [b for b in self.pool if b.ndim <= a.ndim and all(
            x == y or bx or by for x, y, bx, by in zip(a.shape[::-1], b.shape[::-1],
                                                      a.var.broadcastable[::-1], b.var.broadcastable[::-1]))]
        if candidates and self.bool():
            return self.pick(candidates)
        ndim = self.draw(st.integers(0, a.ndim))
        shape = list(a.shape[a.ndim - ndim:])
        bcast = []
        for d in range(ndim):
            if self.bool() and self.bool():
                shape[d] = 1
                bcast.append(True)
            else:
                bcast.append(shape[d] == 1 and a.var.broadcastable[a.ndim - ndim + d] and self.bool())
        dtype = a.dtype if self.bool() else self.pick(FLOATS + INTS)
        return self.leaf(shape, dtype, bcast=tuple(bcast))

    def join(self, a):
        if a.ndim == 0:
            return None
        axis = self.draw(st.integers(0, a.ndim - 1))
        shape = list(a.shape)
        shape[axis] = self.pick([0, 1, 2])
        b = self.leaf(shape, a.dtype, bcast=(False,) * a.ndim)
        parts = [a.var, b.var] if self.bool() else [b.var, a.var]
        shape[axis] += a.shape[axis]
        return Expr(T.concatenate([T.unbroadcast(p, *range(a.ndim)) for p in parts], axis=axis), shape)

    def binary(self, a):
        b = self.partner(a)
        if self.bool():
            a, b = b, a
        nd = max(a.ndim, b.ndim)
        sa = (1,) * (nd - a.ndim) + a.shape
        sb = (1,) * (nd - b.ndim) + b.shape
        shape = np.broadcast_shapes(sa, sb)
        ints = a.dtype in INTS and b.dtype in INTS
        names = ["add", "sub", "mul", "true_div", "maximum", "minimum", "switch"]
        names += ["int_div", "mod"] if ints else ["pow"]
        name = self.pick(names)
        if name == "switch":
            return Expr(T.switch(T.gt(a.var, b.var), a.var, b.var), shape)
        return Expr(getattr(T, name)(a.var, b.var), shape)

    # -- reductions
    def reduce(self, a):
        name = self.pick(["sum", "prod", "max", "min", "mean", "argmax"])
        if a.ndim == 0:
            axis = None
        else:
            axes = sorted(self.draw(st.sets(st.integers(0, a.ndim - 1), min_size=1)))
            axis = None if len(axes) == a.ndim and self.bool() else (axes[0] if len(axes) == 1 and self.bool()
                                                                      else tuple(axes))
        if name == "argmax" and isinstance(axis, tuple):
            axis = axis[0]
        keepdims = self.bool()
        gone = set(range(a.ndim)) if axis is None else ({axis} if isinstance(axis, int) else set(axis))
        shape = tuple(1 if d in gone else s for d, s in enumerate(a.shape) if keepdims or d not in gone)
        fn = T.argmax if name == "argmax" else getattr(T, name)
        return Expr(fn(a.var, axis=axis, keepdims=keepdims), shape)

    # -- shapes
    def reshape(self, a):
        kind = self.pick(["transpose", "dimshuffle", "flatten", "reshape"])
        if kind == "transpose" or (kind == "dimshuffle" and a.ndim > 0):
            order = list(self.draw(st.permutations(range(a.ndim))))
            if kind == "dimshuffle":
                order = [d for d in order if not (a.var.broadcastable[d] and self.bool())]
                for _ in range(self.draw(st.integers(0, 2))):
                    order.insert(self.draw(st.integers(0, len(order))), "x")
            return Expr(a.var.dimshuffle(*order), [1 if d == "x" else a.shape[d] for d in order])
        if kind == "flatten" and a.ndim >= 1:
            outdim = self.draw(st.integers(1, a.ndim))
            shape = a.shape[:outdim - 1] + (int(np.prod(a.shape[outdim - 1:])),)
            return Expr(T.flatten(a.var, outdim), shape)
        size = int(np.prod(a.shape))
        if size == 0:
            shape = [0] + [self.pick([1, 2, 3]) for _ in range(self.draw(st.integers(0, 2)))]
        else:
            shape, rest = [], size
            while rest > 1 and len(shape) < 3:
                f = self.pick([d for d in range(1, rest + 1) if rest % d == 0])
                shape.append(f)
                rest //= f
            shape.append(rest)
        given_shape = list(shape)
        if size and self.bool():
            given_shape[self.draw(st.integers(0, len(shape) - 1))] = -1
        return Expr(a.var.reshape(given_shape), shape)

    # -- indexing
    def basic_index(self, a, allow_int=True):
        key, shape = [], []
        for d in range(self.draw(st.integers(1, a.ndim))):
            n = a.shape[d]
            if allow_int and n > 0 and self.draw(st.integers(0, 3)) == 0:
                i = self.draw(st.integers(-n, n - 1))
                if self.bool() and self.bool():
                    sym = T.lscalar(f"i{len(self.leaves)}")
                    self.leaves.append((sym, (), ("value", i)))
                    key.append(sym)
                else:
                    key.append(i)
                continue
            bounds = st.none() | st.integers(-n - 2, n + 2)
            s = slice(self.draw(bounds), self.draw(bounds), self.draw(st.sampled_from([None, 1, 2, 3, -1, -2])))
            shape.append(len(range(n)[s]))
            if s.start is not None and self.bool():          # a symbolic bound
                sym = T.lscalar(f"i{len(self.leaves)}")
                self.leaves.append((sym, (), ("value", s.start)))
                s = slice(sym, s.stop, s.step)
            key.append(s)
        shape.extend(a.shape[len(key):])
        return tuple(key), shape

    def subtensor(self, a):
        if a.ndim == 0:
            return None
        kind = self.pick(["basic", "advanced", "set", "inc", "adv_set", "adv_inc"])
        if kind in ("advanced", "adv_set", "adv_inc"):
            axis = 1 if a.ndim >= 2 and self.bool() else 0
            n = a.shape[axis]
            length = self.draw(st.integers(0, 4)) if n else 0
            idx = self.leaf((length,), self.pick(INTS), kind=("index", n), bcast=(False,))
            key = (slice(None),) * axis + (idx.var,)
            region = a.shape[:axis] + (length,) + a.shape[axis + 1:]
        else:
            key, region = self.basic_index(a)
        sub = a.var[key]
        if kind in ("basic", "advanced"):
            return Expr(sub, region)
        value = self.leaf(region, a.dtype) if self.bool() or not region else \
            self.leaf((1,) * len(region), a.dtype, bcast=(True,) * len(region))
        fn = T.set_subtensor if kind in ("set", "adv_set") else T.inc_subtensor
        return Expr(fn(sub, value.var), a.shape)

    def dot(self, a):
        if a.dtype not in FLOATS or a.ndim not in (1, 2):
            return None
        m = self.pick([0, 1, 2, 3, 5])
        dtype = a.dtype if self.bool() else self.pick(FLOATS)
        if self.bool():                              # a . b
            b = self.leaf((a.shape[-1], m) if self.bool() else (a.shape[-1],), dtype)
            return Expr(T.dot(a.var, b.var), a.shape[:-1] + b.shape[1:])
        b = self.leaf((m, a.shape[0]) if self.bool() else (a.shape[0],), dtype)
        return Expr(T.dot(b.var, a.var), b.shape[:-1] + a.shape[1:])

    def step(self):
        a = self.operand()
        rule = self.pick(["unary", "binary", "binary", "reduce", "reshape", "subtensor", "dot", "join"])
        e = getattr(self, rule)(a)
        if e is not None:
            event(f"{rule} {type(e.var.owner.op).__name__ if e.var.owner else 'input'}")
            assert e.var.ndim == len(e.shape), (rule, e.var.type, e.shape)
            self.pool.append(e)


# ---------------------------------------------------------------- values and layouts

def leaf_value(rng, shape, dtype, kind, specials):
    if isinstance(kind, tuple) and kind[0] == "value":
        return np.asarray(kind[1], dtype=dtype)
    if isinstance(kind, tuple):                      # an index vector into a dimension of length n
        n = kind[1]
        return rng.randint(-n, n, size=shape).astype(dtype) if n else np.zeros(shape, dtype)
    if dtype in INTS:
        return rng.randint(-4, 5, size=shape).astype(dtype)
    value = (rng.standard_normal(shape) * 1.5).astype(dtype)
    if specials and value.size:
        flat = value.reshape(-1)
        for k in rng.choice(flat.size, size=min(flat.size, 3), replace=False):
            flat[k] = rng.choice([np.nan, np.inf, -np.inf, 0.0, -1.0])
    return value


def in_layout(value, layout):
    """``value`` with the same contents in another memory layout (a view where possible)."""
    value = np.asarray(value)
    if value.ndim == 0 or layout == "c":
        return value.copy()
    if layout == "f":
        return np.asfortranarray(value)
    if layout == "step":
        big = np.zeros(tuple(2 * s for s in value.shape), value.dtype)
        view = big[tuple(slice(None, None, 2) for _ in value.shape)]
        view[...] = value
        return view
    if layout == "reversed":
        flipped = np.ascontiguousarray(value[(slice(None, None, -1),) * value.ndim])
        return flipped[(slice(None, None, -1),) * value.ndim]
    if layout == "broadcast":                        # zero strides where all rows are equal
        if value.shape[0] > 1 and np.array_equal(value, np.broadcast_to(value[:1], value.shape), equal_nan=True):
            return np.broadcast_to(value[:1], value.shape)
        layout = "readonly"
    copy = value.copy()
    copy.setflags(write=False)
    return copy


def broadcastish(rng, value):
    """Sometimes make the rows of ``value`` equal, so the 'broadcast' layout applies."""
    if value.ndim and value.shape[0] > 1 and rng.rand() < 0.3:
        value = np.broadcast_to(value[:1], value.shape).copy()
    return value


def assert_same(ref, out, var, what):
    dtype = var.type.dtype
    assert isinstance(out, np.ndarray), f"{what}: C returned {type(out).__name__}"
    assert out.dtype == np.dtype(dtype), f"{what}: C dtype {out.dtype}, expected {dtype}"
    ref = np.asarray(ref)
    assert out.shape == ref.shape, f"{what}: C shape {out.shape}, reference {ref.shape}"
    if dtype not in TOL:
        np.testing.assert_array_equal(out, ref, err_msg=what)
        return
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref), err_msg=f"{what}: NaN positions differ")
    np.testing.assert_array_equal(np.isposinf(out), np.isposinf(ref), err_msg=f"{what}: +Inf positions differ")
    np.testing.assert_array_equal(np.isneginf(out), np.isneginf(ref), err_msg=f"{what}: -Inf positions differ")
    finite = np.isfinite(ref)
    scale = max(1.0, float(np.abs(ref[finite]).max())) if finite.any() else 1.0
    np.testing.assert_allclose(out[finite], ref[finite], rtol=TOL[dtype], atol=TOL[dtype] * scale,
                               err_msg=what)


def run_both(inputs, outputs, value_sets, describe, specials=True):
    """Compile with both backends; for each set of input values, compare results or errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_fn = symgraph.function(inputs, outputs, mode=REFERENCE, on_unused_input="ignore")
        c_fn = symgraph.function(inputs, outputs, mode=C_MODE_SPECIALS if specials else C_MODE,
                                 on_unused_input="ignore")
        for ref_values, c_values in value_sets:
            before = [np.array(v, copy=True) for v in c_values]
            try:
                ref = ref_fn(*ref_values)
            except (ValueError, IndexError, TypeError, ZeroDivisionError, OverflowError) as exc:
                try:
                    c_fn(*c_values)
                except type(exc):
                    continue
                pytest.fail(f"the reference raised {type(exc).__name__} ({exc}) but C did not, "
                            f"for {describe()}")
            got = c_fn(*c_values)
            for k, (r, g, var) in enumerate(zip(ref, got, outputs)):
                assert_same(r, g, var, f"output {k} of {describe()}")
            for v, b, var in zip(c_values, before, inputs):
                np.testing.assert_array_equal(v, b, err_msg=f"the C backend wrote to input {var}")


def graph_text(outputs):
    return "\n".join(symgraph.debugprint(o, file="str") for o in outputs)


def values_for(data, leaves, specials):
    """Two sets of (reference values, the same values in random layouts for C)."""
    rng = np.random.RandomState(data.draw(st.integers(0, 2**31 - 1), label="seed"))
    ref = [broadcastish(rng, leaf_value(rng, shape, var.dtype, kind, specials)) for var, shape, kind in leaves]
    sets = []
    for _ in range(2):
        layouts = [data.draw(st.sampled_from(LAYOUTS)) for _ in leaves]
        sets.append((ref, [in_layout(v, lay) for v, lay in zip(ref, layouts)]))
    return sets


# ---------------------------------------------------------------- tests

@FUZZ
@given(st.data())
def test_random_graphs_agree(data):
    """Elementwise, reductions, shape ops, indexing and dot, chained at random."""
    specials = data.draw(st.booleans(), label="NaN/Inf in the data")
    g = GraphBuilder(data)
    g.start()
    if g.bool():
        g.start()
    for _ in range(data.draw(st.integers(1, 6), label="steps")):
        g.step()
    outputs = [g.pool[-1].var] + [e.var for e in data.draw(st.lists(st.sampled_from(g.pool), max_size=2))]
    inputs = [var for var, _, _ in g.leaves]
    run_both(inputs, outputs, values_for(data, g.leaves, specials), lambda: graph_text(outputs), specials)


THREADED_FUZZ = settings(FUZZ, max_examples=max(3, EXAMPLES // 5))


@THREADED_FUZZ
@given(st.data())
def test_random_graphs_agree_in_threads(data):
    """A random graph's C function called from 4 threads at once, each value set many times:
    every result equals the reference's (issue #15: one Function shared by threads)."""
    g = GraphBuilder(data)
    g.start()
    for _ in range(data.draw(st.integers(1, 4), label="steps")):
        g.step()
    outputs = [g.pool[-1].var]
    inputs = [var for var, _, _ in g.leaves]
    sets = values_for(data, g.leaves, False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_fn = symgraph.function(inputs, outputs, mode=REFERENCE, on_unused_input="ignore")
        c_fn = symgraph.function(inputs, outputs, mode=C_MODE, on_unused_input="ignore")
        cases = []
        for ref_values, c_values in sets:
            try:
                cases.append((c_values, ref_fn(*ref_values)))
            except (ValueError, IndexError, TypeError, ZeroDivisionError, OverflowError):
                continue
    if not cases:
        return
    failures = []

    def work(t):
        for k in range(20):
            c_values, ref = cases[(t + k) % len(cases)]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    got = c_fn(*c_values)
                for r, o, var in zip(ref, got, outputs):
                    assert_same(r, o, var, f"thread {t}, call {k}")
            except Exception as exc:        # noqa: BLE001  (reported below)
                failures.append(exc)
                return
    run_in_threads(work, 4)
    assert not failures, f"{failures[0]} for {graph_text(outputs)}"


@FUZZ
@given(st.data())
def test_indexing_agrees(data):
    """Basic and advanced indexing, set/inc_subtensor, out-of-range indices raising alike."""
    specials = data.draw(st.booleans(), label="NaN/Inf in the data")
    g = GraphBuilder(data)
    a = g.start(ndims=(1, 2, 3))
    outputs = []
    for _ in range(data.draw(st.integers(1, 3))):
        e = g.subtensor(a) if g.bool() else g.subtensor(g.operand())
        if e is not None:
            g.pool.append(e)
            outputs.append(e.var)
            if g.bool():
                outputs.append((e.var * 2) if e.dtype in FLOATS else e.var + 1)
    if not outputs:
        outputs = [a.var.sum()]
    inputs = [var for var, _, _ in g.leaves]
    sets = values_for(data, g.leaves, specials)
    if data.draw(st.booleans(), label="out of range"):
        ref_vals, _ = sets[0]
        bad = [v.copy() for v in ref_vals]
        for k, (var, shape, kind) in enumerate(g.leaves):
            if isinstance(kind, tuple) and bad[k].size:
                n = kind[1] if kind[0] == "index" else 0
                bad[k].reshape(-1)[0] = data.draw(st.sampled_from([n, n + 5, -n - 1, -2**31]))
        sets.append((bad, [v.copy() for v in bad]))
    run_both(inputs, outputs, sets, lambda: graph_text(outputs), specials)


@FUZZ
@given(st.data())
def test_conv_and_pool_agree(data):
    """conv2d (border modes, strides, dilation, flip) then pooling (all modes), with an elementwise tail."""
    specials = data.draw(st.booleans(), label="NaN/Inf in the data")
    g = GraphBuilder(data)
    dtype = g.pick(FLOATS)
    n, c, o = g.pick([0, 1, 2]), g.pick([1, 2, 3]), g.pick([1, 2])
    kh, kw = g.pick([1, 2, 3]), g.pick([1, 2, 3])
    h, w = g.pick([1, 3, 4, 6]), g.pick([1, 3, 5])
    img = g.leaf((n, c, h, w), dtype, bcast=(False,) * 4)
    kern = g.leaf((o, c, kh, kw), dtype, bcast=(False,) * 4)
    border = g.pick(["valid", "full", "half", (0, 1), (2, 1)])
    subsample = (g.pick([1, 2]), g.pick([1, 2]))
    dilation = (g.pick([1, 2]), 1)
    flip = g.bool()
    y = conv2d(img.var, kern.var, border_mode=border, subsample=subsample, filter_dilation=dilation,
               filter_flip=flip)
    outputs = [y]
    if g.bool():
        y = T.nnet.relu(y + g.leaf((o,), dtype, bcast=(False,)).var.dimshuffle("x", 0, "x", "x"))
        outputs.append(y)
    if g.bool():
        ws = (g.pick([1, 2, 3]), g.pick([1, 2]))
        stride = (g.pick([1, 2]), g.pick([1, 2, 3])) if g.bool() else None
        ignore_border = g.bool()
        pad = (g.pick([0, 1]), g.pick([0, 1])) if ignore_border else (0, 0)
        pad = tuple(min(p, w_ - 1) for p, w_ in zip(pad, ws))
        mode = g.pick(["max", "sum", "average_inc_pad", "average_exc_pad"])
        outputs.append(pool_2d(y, ws=ws, stride=stride, pad=pad, ignore_border=ignore_border, mode=mode))
    inputs = [var for var, _, _ in g.leaves]
    run_both(inputs, outputs, values_for(data, g.leaves, specials), lambda: graph_text(outputs), specials)


@FUZZ
@given(st.data())
def test_small_scans_agree(data):
    """Random small scans (taps, several states, nit-sot, go_backwards, until, 0 steps): the C
    backend lowers the loop (backends/c/lower/scan.py); the reference runs Scan.perform."""
    r = np.random.RandomState(data.draw(st.integers(0, 2**31 - 1), label="seed"))
    dtype = data.draw(st.sampled_from(FLOATS), label="dtype")
    elem = data.draw(st.sampled_from([(), (2,), (2, 3)]), label="element shape")
    seq_taps = data.draw(st.lists(st.sampled_from([-2, -1, 0, 1]), min_size=1, max_size=3, unique=True),
                         label="sequence taps")
    n_states = data.draw(st.integers(1, 2), label="states")
    state_taps = [data.draw(st.lists(st.sampled_from([-3, -2, -1]), min_size=1, max_size=2, unique=True),
                            label="state taps") for _ in range(n_states)]
    nitsot, backwards, stop = data.draw(st.booleans()), data.draw(st.booleans()), data.draw(st.booleans())
    keep_last = data.draw(st.booleans(), label="reduce (last values only)")
    n_steps = data.draw(st.integers(0, 5), label="n_steps")
    bc = (False,) * (1 + len(elem))
    x = T.TensorType(dtype, bc)("x")
    inits = [T.TensorType(dtype, bc)(f"h{i}") for i in range(n_states)]
    w = T.TensorType(dtype, ())("w")

    def step(*args):
        xs, rest = args[:len(seq_taps)], list(args[len(seq_taps):])
        hs = []
        for taps in state_taps:
            hs.append(rest[:len(taps)])
            rest = rest[len(taps):]
        (wv,) = rest
        xsum = sum(xs[1:], xs[0])
        new = [T.tanh(sum(h[1:], h[0]) * wv + xsum * (i + 1)) for i, h in enumerate(hs)]
        outs = new + ([T.sqr(xsum) - new[0]] if nitsot else [])
        return (outs, symgraph.until(T.sum(new[0]) > 0.5)) if stop else outs

    span = max(0, max(seq_taps)) - min(0, min(seq_taps))
    info = [dict(initial=h, taps=t) for h, t in zip(inits, state_taps)] + ([None] if nitsot else [])
    outs, _ = symgraph.scan(step, sequences=dict(input=x, taps=seq_taps), outputs_info=info,
                            non_sequences=w, n_steps=n_steps, go_backwards=backwards)
    outs = outs if isinstance(outs, list) else [outs]
    if keep_last:
        outs = [o[-1] for o in outs[:n_states]] + outs[n_states:] if n_steps and not stop else outs
    seq_len = n_steps + span + data.draw(st.integers(-1, 1), label="sequence length slack")
    vals = [r.uniform(-1, 1, (max(seq_len, 0),) + elem).astype(dtype)]
    vals += [r.uniform(-1, 1, (-min(t),) + elem).astype(dtype) for t in state_taps]
    vals.append(np.asarray(r.uniform(-1, 1), dtype=dtype))
    layouts = [data.draw(st.sampled_from(LAYOUTS)) for _ in vals]
    sets = [(vals, [in_layout(v, lay) for v, lay in zip(vals, layouts)])]
    run_both([x, *inits, w], outs, sets, lambda: f"{graph_text(outs)}\nn_steps={n_steps}, seq len "
             f"{seq_len}, taps {seq_taps} / {state_taps}", specials=False)


# ---------------------------------------------------------------- every integer dtype pair, every cast pair

ALL_INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
INT_BINOPS = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
              "truediv": lambda a, b: a / b, "floordiv": lambda a, b: a // b, "mod": lambda a, b: a % b,
              "pow": lambda a, b: a ** b}


def _int_edge_values(dtype, n=12):
    """Extremes, their neighbours, 0, ±1, ±2 and small values: overflow wraps, division and
    modulo of negatives, division by zero (NumPy: 0)."""
    info = np.iinfo(dtype)
    vals = [0, 1, 2, 3, 7, info.max, info.max - 1, info.min, info.min + 1]
    vals += [-1, -2, -7] if info.min < 0 else [100, 200, 5]
    return np.array(vals[:n], dtype=dtype)


@pytest.mark.parametrize("left", ALL_INTS)
def test_integer_arithmetic_of_every_dtype_pair_agrees_with_numpy(left):
    """a (left dtype) op b for b of every integer dtype: the dtype NumPy's promotion gives and
    its values (wrapping overflow, true division, floor division and modulo of negatives, powers),
    under the reference and under C."""
    a = T.vector("a", dtype=left)
    bs = [T.vector("b_" + d, dtype=d) for d in ALL_INTS]
    es = [T.vector("e_" + d, dtype=d) for d in ALL_INTS]        # exponents 0..3
    keys, outs = [], []
    for d, b, e in zip(ALL_INTS, bs, es):
        for name, fn in INT_BINOPS.items():
            keys.append((d, name))
            outs.append(fn(a, e if name == "pow" else b))
    av = _int_edge_values(left)
    bv = [np.roll(_int_edge_values(d), 3) for d in ALL_INTS]
    ev = [(np.arange(12) % 4).astype(d) for d in ALL_INTS]
    results = {}
    for mode_name, mode in (("reference", REFERENCE), ("c", C_MODE)):
        f = symgraph.function([a] + bs + es, outs, mode=mode)
        results[mode_name] = f(av, *bv, *ev)
    with np.errstate(all="ignore"):
        for k, (d, name) in enumerate(keys):
            j = ALL_INTS.index(d)
            want = INT_BINOPS[name](av, ev[j] if name == "pow" else bv[j])
            for mode_name, res in results.items():
                got = res[k]
                assert got.dtype == want.dtype, (mode_name, left, d, name, got.dtype, want.dtype)
                np.testing.assert_array_equal(got, want, err_msg=f"{mode_name}: {left} {name} {d}")


CAST_DTYPES = ALL_INTS + ("bool", "float32", "float64")


@pytest.mark.parametrize("src", CAST_DTYPES)
def test_every_cast_pair_agrees(src):
    """Casting from ``src`` to every dtype: reference, C and NumPy's scalar loop give the same bits
    (docs/DESIGN.md, "Casts"), for extremes, NaN, ±Inf and out-of-range values."""
    if src in ("float32", "float64"):
        with np.errstate(all="ignore"):
            values = np.array([np.nan, np.inf, -np.inf, -0.0, 0.5, -1.5, 255.5, -129.0, 65536.0, 2.0 ** 31,
                               -3e9, 5e18, 2.0 ** 63, 1e19, 2.0 ** 64, -1e30, 3.0e38], dtype=src)
    elif src == "bool":
        values = np.array([True, False, True])
    else:
        values = _int_edge_values(src)
    x = T.vector("x", dtype=src)
    outs = [T.cast(x, d) for d in CAST_DTYPES]
    results = [symgraph.function([x], outs, mode=m)(values) for m in (REFERENCE, C_MODE)]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for k, d in enumerate(CAST_DTYPES):
            want = np.array([np.array([v]).astype(d)[0] for v in values], dtype=d)
            for got in (results[0][k], results[1][k]):
                assert got.dtype == want.dtype
                assert got.tobytes() == want.tobytes(), (src, d, values, got, want)


WIDE_KINDS = ("matrix", "col", "row", "scalar")
WIDE_LAYOUTS = ("c", "f", "step", "reversed")


@settings(FUZZ, max_examples=max(3, EXAMPLES // 3))
@given(st.data())
def test_wide_fused_graphs_agree(data):
    """Elementwise graphs over 30-100 inputs (fusion makes one kernel of them, or splits it),
    each input a matrix, column, row or scalar in a random memory layout: the broadcast and
    strided operands at positions 32 and above are where a 32-bit operand mask went wrong."""
    n = data.draw(st.integers(30, 100), label="inputs")
    dtype = data.draw(st.sampled_from(["float32", "float64"]), label="dtype")
    kinds = data.draw(st.lists(st.sampled_from(WIDE_KINDS), min_size=n, max_size=n), label="kinds")
    layouts = data.draw(st.lists(st.sampled_from(WIDE_LAYOUTS), min_size=n, max_size=n),
                        label="layouts")
    ops = data.draw(st.lists(st.sampled_from(["add", "mul", "sub", "maximum", "tanh_add"]),
                             min_size=n - 1, max_size=n - 1), label="ops")
    rng = np.random.RandomState(data.draw(st.integers(0, 2**31 - 1), label="seed"))
    shapes = {"matrix": (4, 5), "col": (4, 1), "row": (1, 5), "scalar": ()}
    make = {"matrix": T.matrix, "col": T.col, "row": T.row, "scalar": T.scalar}
    inputs = [make[k](f"x{i}", dtype=dtype) for i, k in enumerate(kinds)]
    values = [(rng.uniform(0.5, 1.5, size=shapes[k])).astype(dtype) for k in kinds]
    out = inputs[0]
    for op, x in zip(ops, inputs[1:]):
        if op == "add":
            out = out + x
        elif op == "mul":
            out = out * x
        elif op == "sub":
            out = out - x
        elif op == "maximum":
            out = T.maximum(out, x)
        else:
            out = T.tanh(out) + x
    c_values = [in_layout(v, lay) for v, lay in zip(values, layouts)]
    run_both(inputs, [out], [(values, c_values)],
             lambda: f"{n} inputs {list(zip(kinds, layouts))}, ops {ops}", specials=False)
