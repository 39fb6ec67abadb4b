"""Reliability: NanGuard, atomic updates (errors and KeyboardInterrupt), the compile cache end to end.

Each check runs under the Python reference backend and the C backend where both apply.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.backends import c_available
from symgraph.backends.errors import NanGuardError
from symgraph.compile.mode import Mode, NanGuardMode
from symgraph.graph import Apply, Op

REPO_ROOT = str(Path(symgraph.__file__).resolve().parents[1])
LINKERS = ["py", pytest.param("c", marks=pytest.mark.skipif(not c_available(), reason="no working C compiler"))]
needs_c = pytest.mark.skipif(not c_available(), reason="no working C compiler")


class Trap(Op):
    """Identity with a Python ``perform`` only (so it runs between C segments) that raises
    ``Trap.armed`` when set."""

    armed = None

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        if Trap.armed is not None:
            raise Trap.armed
        output_storage[0][0] = inputs[0].copy()


@pytest.fixture
def trap():
    Trap.armed = None
    yield Trap()
    Trap.armed = None


# ---------------------------------------------------------------- NanGuard

@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize("make_mode", [lambda linker: NanGuardMode(linker=linker),
                                       lambda linker: Mode(linker=linker, nan_guard=True)],
                         ids=["NanGuardMode", "Mode(nan_guard=True)"])
def test_nan_guard_raises_at_first_bad_node(linker, make_mode, lineno):
    x = T.dvector("x")
    w = symgraph.shared(np.ones(2), name="w")
    y = T.log(x); line = lineno()  # noqa: E702
    z = T.exp(y * 3) + w
    f = symgraph.function([x], z.sum(), updates=[(w, w + 1)], mode=make_mode(linker))
    assert f(np.array([1.0, 2.0])) == pytest.approx(1 + 8 + 2)
    assert w.get_value().tolist() == [2.0, 2.0]
    for bad, what in ((np.array([1.0, -1.0]), "NaN"), (np.array([0.0, 1.0]), "Inf")):
        with pytest.raises(NanGuardError) as info:
            f(bad)
        message = str(info.value)
        assert f"{what} produced by" in message and "log" in message
        assert f'{__file__}", line {line}' in message
        assert w.get_value().tolist() == [2.0, 2.0]        # no update after the guard fired
    with pytest.raises(FloatingPointError, match="Inf produced by"):   # NanGuardError is one
        f(np.array([1.0, 1e300]))


@pytest.mark.parametrize("linker", LINKERS)
def test_nan_guard_names_the_first_of_several_nodes(linker, lineno):
    """An Inf from a dot (not fused with the elementwise ops around it) is reported at the dot."""
    a, b = T.dmatrices("a", "b")
    d = T.dot(a, b); line = lineno()  # noqa: E702
    out = T.log(d) * 2
    f = symgraph.function([a, b], out, mode=NanGuardMode(linker=linker))
    with pytest.raises(NanGuardError) as info:
        f(np.array([[1e300, 1e300]]), np.array([[1e300], [1e300]]))
    assert "Inf produced by Dot" in str(info.value) and f"line {line}" in str(info.value)


@pytest.mark.parametrize("linker", LINKERS)
def test_nan_guard_ignores_finite_values_and_integers(linker):
    i = T.lvector("i")
    x = T.fvector("x")
    f = symgraph.function([i, x], [i // 2, T.tanh(x)], mode=NanGuardMode(linker=linker))
    r = f(np.array([4, -4]), np.array([50.0, -50.0], dtype="float32"))
    assert r[0].tolist() == [2, -2] and r[1].tolist() == [1.0, -1.0]


# ---------------------------------------------------------------- atomic updates

def _updates_then_failure(linker, trap):
    """A function whose updates of w (in place where allowed) and n come before a failing node."""
    x = T.dvector("x")
    w = symgraph.shared(np.arange(3.0), name="w")
    v = symgraph.shared(np.ones(3), name="v")
    n = symgraph.shared(np.int64(0), name="n")
    f = symgraph.function([x], T.exp(x).sum(),
                          updates=[(w, w * 2 + 1), (n, n + 1), (v, trap(v + x))], mode=Mode(linker=linker))
    order = [type(node.op) for node in f.maker.fgraph.toposort()]
    assert order.index(Trap) > 0            # something (the update of w) runs before the trap
    return f, (w, v, n)


@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize("exc", [ValueError("boom"), KeyboardInterrupt()], ids=["ValueError", "KeyboardInterrupt"])
def test_failed_call_leaves_every_shared_variable_unchanged(linker, exc, trap):
    f, shared = _updates_then_failure(linker, trap)
    f(np.zeros(3))
    before = [s.get_value() for s in shared]
    assert before[0].tolist() == [1.0, 3.0, 5.0] and before[2] == 1
    Trap.armed = exc
    with pytest.raises(type(exc)):
        f(np.zeros(3))
    for s, old in zip(shared, before):
        np.testing.assert_array_equal(s.get_value(), old, err_msg=f"{s} changed by a failed call")
    Trap.armed = None
    f(np.ones(3))                                         # and the function still works
    assert shared[0].get_value().tolist() == [3.0, 7.0, 11.0]
    assert shared[1].get_value().tolist() == [2.0, 2.0, 2.0] and shared[2].get_value() == 2


@pytest.mark.parametrize("linker", LINKERS)
def test_index_error_in_late_output_leaves_updates_unapplied(linker):
    """No custom op: an IndexError from the last node, after an in-place update was computed."""
    x = T.dvector("x")
    i = T.lvector("i")
    w = symgraph.shared(np.ones(3), name="w")
    v = symgraph.shared(np.ones(3), name="v")
    f = symgraph.function([x, i], [], updates=[(w, w * 2 + 1), (v, v + x[i].sum())], mode=Mode(linker=linker))
    f(np.ones(3), np.array([0]))
    with pytest.raises(IndexError, match="out of bounds"):
        f(np.ones(3), np.array([7]))
    assert w.get_value().tolist() == [3.0] * 3 and v.get_value().tolist() == [2.0] * 3


@pytest.mark.parametrize("linker", LINKERS)
def test_read_only_shared_value_is_not_written(linker):
    w = symgraph.shared(np.zeros(3), name="w")
    frozen = np.arange(3.0)
    frozen.setflags(write=False)
    w.set_value(frozen, borrow=True)
    x = T.dvector("x")
    f = symgraph.function([x], [], updates=[(w, w * 2 + x)], mode=Mode(linker=linker))
    f(np.ones(3))
    assert frozen.tolist() == [0.0, 1.0, 2.0]
    assert w.get_value().tolist() == [1.0, 3.0, 5.0]


@needs_c
def test_c_python_fallback_node_does_not_half_update():
    xs = [T.dvector(f"x{k}") for k in range(34)]
    i = T.lvector("i")
    w = symgraph.shared(np.ones(3), name="w")
    v = symgraph.shared(np.ones(3), name="v")
    e = w
    for k, x in enumerate(xs):
        e = e * x + T.sin(x) if k % 2 else e + T.exp(x)
    f = symgraph.function(xs + [i], [], updates=[(w, e), (v, v + xs[0][i].sum())], mode=Mode(linker="c"))
    args = [np.ones(3)] * len(xs)
    f(*args, np.array([0]))
    before = w.get_value()
    with pytest.raises(IndexError):
        f(*args, np.array([5]))
    np.testing.assert_array_equal(w.get_value(), before)


def _interrupt_during(call, seconds):
    """Run ``call()`` with a SIGALRM due after ``seconds`` whose handler raises KeyboardInterrupt (as
    SIGINT's does) while the call runs. Returns (whether the handler raised, whether
    KeyboardInterrupt came out of the call)."""
    state = {"armed": True, "raised": False}

    def handler(signum, frame):
        if state["armed"]:
            state["raised"] = True
            raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            call()
            interrupted = False
        except KeyboardInterrupt:
            interrupted = True
        state["armed"] = False
        return state["raised"], interrupted
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _long_c_function(shared_updates):
    """A C function of a few dots (about 50 ms for 500x500 inputs), with updates or without
    (then it takes the C backend's single-call fast path)."""
    x = T.dmatrix("x")
    y = x
    for _ in range(6):
        y = T.dot(y, x) * 1e-3
    if not shared_updates:
        return symgraph.function([x], y, mode=Mode(linker="c")), ()
    w = symgraph.shared(np.zeros((3, 3)), name="w")
    mirror = symgraph.shared(np.zeros((3, 3)), name="mirror")
    n = symgraph.shared(np.int64(0), name="n")
    f = symgraph.function([x], y.sum(), updates=[(w, w + y[:3, :3]), (n, n + 1), (mirror, mirror + y[:3, :3])],
                          mode=Mode(linker="c"))
    return f, (w, mirror, n)


def _timed(call):
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


@needs_c
def test_sigint_during_c_call_propagates_and_leaves_shared_unchanged():
    f, (w, mirror, n) = _long_c_function(shared_updates=True)
    rng = np.random.RandomState(0)
    f(rng.rand(300, 300))
    interrupted = 0
    for k in range(6):                 # new shapes (buffers grow inside the call) and repeated ones
        a = rng.rand(500 - 40 * (k // 2), 500 - 40 * (k // 2))
        duration = _timed(lambda: f(a))
        before = (w.get_value(), n.get_value())
        raised, came_out = _interrupt_during(lambda: f(a if k % 2 else a[:-5, :-5]), duration * (0.1 + 0.15 * k))
        assert raised == came_out, "a KeyboardInterrupt raised during the call was swallowed"
        # all updates or none (a signal in the very last instant of a call may follow the updates)
        np.testing.assert_array_equal(w.get_value(), mirror.get_value())
        if came_out:
            interrupted += 1
            if n.get_value() == before[1]:
                np.testing.assert_array_equal(w.get_value(), before[0])
            else:
                assert n.get_value() == before[1] + 1
        count = n.get_value()
        f(a)                                                   # the function still works
        assert n.get_value() == count + 1
        np.testing.assert_array_equal(w.get_value(), mirror.get_value())
    if not interrupted:
        pytest.skip("the C calls always finished before the signal")


@needs_c
def test_sigint_during_fast_c_call_propagates_and_next_call_is_fresh():
    f, _ = _long_c_function(shared_updates=False)
    reference = symgraph.function(f.maker.fgraph.inputs, f.maker.fgraph.outputs[0], mode=Mode(linker="py"))
    rng = np.random.RandomState(0)
    f(rng.rand(300, 300))
    fired_any = False
    for k in range(6):
        a = rng.rand(500 - 20 * k, 500 - 20 * k)                # a new shape each time
        duration = _timed(lambda: reference(a)) / 3              # C is faster than the reference
        raised, came_out = _interrupt_during(lambda: f(a), duration * (0.1 + 0.15 * k))
        fired_any |= raised
        assert raised == came_out, "a KeyboardInterrupt raised during the call was swallowed"
        got = f(a)
        assert got.shape == a.shape
        np.testing.assert_allclose(got, reference(a), rtol=1e-10)
    if not fired_any:
        pytest.skip("the C calls always finished before the signal")


# ---------------------------------------------------------------- compile cache, end to end

CHILD = r"""
import json, os, sys, time, warnings
import numpy as np
args = json.loads(sys.argv[1])
import symgraph, symgraph.tensor as T
from symgraph.backends.c.cache import default_cache
from symgraph.compile.mode import Mode
cache = default_cache()
module_keys = []
get_library = cache.get_library
def spy(source, cdef, extra_flags=(), **kw):
    if "int sg_run(" in source:                   # a function's module (not the runtime or a probe)
        module_keys.append(cache.key(source, extra_flags))
    return get_library(source, cdef, extra_flags, **kw)
cache.get_library = spy
barrier = args.get("barrier")
if barrier:
    from symgraph.backends import c_available
    c_available()                                  # probe the compiler before the barrier
    open(os.path.join(barrier, "ready-%d" % args["index"]), "w").close()
    deadline = time.time() + 120
    while len(os.listdir(barrier)) < args["parties"] and time.time() < deadline:
        time.sleep(0.005)
x = T.dmatrix("x")
w = symgraph.shared(np.full((3, 3), 0.5), name="w")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    f = symgraph.function([x], T.tanh(T.dot(x, w)).sum(axis=1) * 3 + 0.25, mode=Mode(linker="c"))
    out = f(np.arange(6.0).reshape(2, 3))
print(json.dumps({"stats": cache.stats, "out": out.tolist(), "module": module_keys,
                  "warnings": [str(m.message) for m in caught]}))
"""


def _child_env(compiledir):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO_ROOT, env.get("PYTHONPATH")) if p)
    env["SYMGRAPH_FLAGS"] = f"compiledir={compiledir}"
    env["SYMGRAPH_LOG_COMPILES"] = "1"
    return env


def _start(compiledir, **args):
    return subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(args)], env=_child_env(compiledir),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc):
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    report = json.loads(out.strip().splitlines()[-1])
    report["compiled"] = [line.split()[2] for line in err.splitlines() if line.startswith("symgraph: compiled ")]
    return report


EXPECTED = (np.tanh(np.arange(6.0).reshape(2, 3) @ np.full((3, 3), 0.5)).sum(axis=1) * 3 + 0.25).tolist()


@needs_c
def test_eight_processes_compile_a_function_once_and_corruption_is_rebuilt(tmp_path):
    compiledir = tmp_path / "compiledir"
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = [_start(compiledir, barrier=str(barrier), index=k, parties=8) for k in range(8)]
    reports = [_finish(p) for p in procs]
    for r in reports:
        np.testing.assert_allclose(r["out"], EXPECTED, rtol=1e-12)
    (module,) = {k for r in reports for k in r["module"]}
    compiled = [key for r in reports for key in r["compiled"]]
    # every library (the function's module, and the runtime it links) built by exactly one process
    assert len(compiled) == len(set(compiled)) == sum(r["stats"]["compiles"] for r in reports)
    assert [key for key in compiled if module.startswith(key)] == [module[:16]]
    assert len(list(compiledir.glob("*.so"))) == len(compiled)

    # a corrupted library for the function is detected, removed and rebuilt
    so = compiledir / f"{module}.so"
    size = so.stat().st_size
    with open(so, "r+b") as fh:
        fh.seek(size // 2)
        fh.write(b"\0garbage\0" * 64)
    report = _finish(_start(compiledir))
    np.testing.assert_allclose(report["out"], EXPECTED, rtol=1e-12)
    assert report["compiled"] == [module[:16]] and report["stats"]["compiles"] == 1
    assert any("corrupt" in m and str(so) in m for m in report["warnings"]), report["warnings"]
    report = _finish(_start(compiledir))
    assert report["compiled"] == [] and report["stats"]["compiles"] == 0
