"""C backend as a whole: one module per function, errors, Python fallback, cache, DebugMode.

Covers what is not one lowering: the default linker choice, planned buffers
across calls (changing shapes, outputs not clobbered), in-place updates of
shared variables, input conversion, error reporting (exception type, op, user
line), ops without a C lowering running in Python between C segments, the
compile cache being hit by a new process without invoking the compiler, and
DebugMode catching a wrong lowering.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.backends import c_available
from symgraph.backends.c import lowering, render
from symgraph.backends.c.linker import CLinker
from symgraph.backends.debug import BadThunkOutput
from symgraph.compile.mode import DebugMode, Mode, NanGuardMode
from symgraph.graph import Apply, Op
from symgraph.ops import scalar as ps

pytestmark = pytest.mark.skipif(not c_available(), reason="no working C compiler")

C = Mode(linker="c")
REPO_ROOT = str(Path(__file__).resolve().parents[2])


def test_c_is_the_default_linker_and_py_mode_is_not():
    x = T.dvector("x")
    assert isinstance(symgraph.function([x], x + 1).maker.linker, CLinker)
    assert not isinstance(symgraph.function([x], x + 1, mode="py").maker.linker, CLinker)
    assert not isinstance(symgraph.function([x], x + 1, mode="FAST_COMPILE").maker.linker, CLinker)


def test_one_call_runs_every_node_and_outputs_survive_later_calls():
    x = T.dmatrix("x")
    w = T.dmatrix("w")
    h = T.tanh(T.dot(x, w))
    outs = [h, h.sum(axis=0), h.T, (h * 2).max()]
    f = symgraph.function([x, w], outs, mode=C)
    run = f._run
    assert run.runtime.fast and len(run.runtime.plan.steps) == 1
    rng = np.random.RandomState(0)
    first = f(rng.rand(3, 4), rng.rand(4, 2))
    kept = [np.array(o, copy=True) for o in first]
    for n in (5, 3, 1, 7, 2):                      # the batch size changes: buffers grow and shrink
        xv, wv = rng.rand(n, 4), rng.rand(4, 2)
        got = f(xv, wv)
        ref = np.tanh(xv @ wv)
        np.testing.assert_allclose(got[0], ref, rtol=1e-12)
        np.testing.assert_allclose(got[2], ref.T, rtol=1e-12)
        assert got[3].shape == () and np.isclose(got[3], (ref * 2).max())
    for a, b in zip(first, kept):                   # results returned earlier are unchanged
        np.testing.assert_array_equal(a, b)


def test_outputs_aliasing_inputs_are_copies():
    x = T.dmatrix("x")
    f = symgraph.function([x], [x.T, x[1:], x], mode=C)
    xv = np.arange(6.0).reshape(2, 3)
    a, b, c = f(xv)
    a[0, 0] = b[0, 0] = c[0, 0] = -1
    assert xv[0, 0] == 0 and xv[1, 0] == 3


def test_shared_variables_updates_and_default_mode_training_step():
    rng = np.random.RandomState(1)
    W = symgraph.shared(rng.rand(4, 3), name="W")
    b = symgraph.shared(np.zeros(3), name="b")
    x = T.dmatrix("x")
    y = T.lvector("y")
    p = T.nnet.softmax(T.dot(x, W) + b) if hasattr(T.nnet, "softmax") else T.exp(T.dot(x, W) + b)
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    gW, gb = symgraph.grad(cost, [W, b])
    step = symgraph.function([x, y], cost, updates=[(W, W - 0.1 * gW), (b, b - 0.1 * gb)])
    W2 = symgraph.shared(W.get_value(), name="W")
    b2 = symgraph.shared(b.get_value(), name="b")
    p2 = T.nnet.softmax(T.dot(x, W2) + b2) if hasattr(T.nnet, "softmax") else T.exp(T.dot(x, W2) + b2)
    cost2 = -T.mean(T.log(p2)[T.arange(y.shape[0]), y])
    g2 = symgraph.grad(cost2, [W2, b2])
    ref = symgraph.function([x, y], cost2, updates=[(W2, W2 - 0.1 * g2[0]), (b2, b2 - 0.1 * g2[1])], mode="py")
    xv, yv = rng.rand(8, 4), rng.randint(0, 3, 8)
    for _ in range(3):
        np.testing.assert_allclose(step(xv, yv), ref(xv, yv), rtol=1e-10)
    np.testing.assert_allclose(W.get_value(), W2.get_value(), rtol=1e-10)
    np.testing.assert_allclose(b.get_value(), b2.get_value(), rtol=1e-10, atol=1e-14)


def test_inputs_are_converted_when_trusted_or_unusual():
    x = T.dmatrix("x")
    f = symgraph.function([x], x * 2, mode=C)
    f.trust_input = True
    np.testing.assert_array_equal(f([[1, 2], [3, 4]]), [[2, 4], [6, 8]])    # a list, not an array
    big_endian = np.arange(4.0).reshape(2, 2).astype(">f8")
    np.testing.assert_array_equal(f(big_endian), np.arange(4.0).reshape(2, 2) * 2)
    raw = np.zeros(33, np.uint8)[1:].view(np.float64).reshape(2, 2)      # unaligned
    raw[...] = 1.5
    np.testing.assert_array_equal(f(raw), np.full((2, 2), 3.0))
    with pytest.raises(TypeError, match="input 0"):
        f(np.ones(3))                                                       # wrong rank


def test_runtime_errors_name_op_and_user_line():
    x = T.dvector("x")
    i = T.lscalar("i")
    y = x[i]                                                                # <- reported line
    f = symgraph.function([x, i], y * 2, mode=C)
    with pytest.raises(IndexError) as info:
        f(np.ones(3), 7)
    msg = str(info.value)
    assert "Subtensor" in msg and "index 7 is out of bounds" in msg
    assert f"test_c_linker.py\", line {test_runtime_errors_name_op_and_user_line.__code__.co_firstlineno + 3}" in msg
    np.testing.assert_array_equal(f(np.arange(3.0), -1), 4.0)             # usable after an error


class TimesPlusOne(Op):
    """A test-only op with no C lowering: ``x * k + 1`` in Python."""

    __props__ = ("k",)

    def __init__(self, k):
        self.k = k

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] * self.k + 1


def test_op_without_lowering_runs_in_python_between_c_segments():
    x = T.dmatrix("x")
    h = T.exp(x).T                                   # C, then a view handed to Python
    z = TimesPlusOne(3)(h)                           # Python
    out = T.sum(z * 2, axis=1) + TimesPlusOne(2)(x).sum()       # C again, and Python twice
    f = symgraph.function([x], [out, z], mode=C)
    rt = f._run.runtime
    from symgraph.backends.c.plan import CSegment, PyNode
    kinds = [type(s) for s in rt.plan.steps]
    assert PyNode in kinds and CSegment in kinds and not rt.fast
    xv = np.random.RandomState(2).rand(3, 4)
    zr = np.exp(xv).T * 3 + 1
    for _ in range(2):
        got = f(xv)
        np.testing.assert_allclose(got[1], zr, rtol=1e-12)
        np.testing.assert_allclose(got[0], (zr * 2).sum(axis=1) + (xv * 2 + 1).sum(), rtol=1e-12)


def test_nan_guard_names_the_node():
    x = T.dvector("x")
    f = symgraph.function([x], T.log(x) * 2, mode=NanGuardMode(linker="c"))
    np.testing.assert_allclose(f(np.ones(2)), [0.0, 0.0])
    with pytest.raises(FloatingPointError, match="log"):
        f(np.array([1.0, -1.0]))


def test_debug_mode_catches_a_wrong_lowering(monkeypatch):
    x, y = T.dvectors("x", "y")
    z = (x + y) * 2
    good = symgraph.function([x, y], z, mode=DebugMode())
    np.testing.assert_array_equal(good(np.ones(3), np.ones(3)), np.full(3, 4.0))
    monkeypatch.setitem(render.SCALAR_RULES, render.ps.add, lambda d, a, cd: f"({a[0]} - {a[1]})")
    bad = symgraph.function([x, y], z, mode=DebugMode())
    with pytest.raises(BadThunkOutput) as info:
        bad(np.ones(3), np.ones(3))
    msg = str(info.value)
    assert "(i0 + i1)" in msg and "output 0 of node 0" in msg and "test_c_linker.py" in msg, msg
    assert "add" in info.value.node.op.scalar_op.name


def test_debug_mode_runs_python_nodes_and_passes_on_agreement():
    x = T.dmatrix("x")
    f = symgraph.function([x], [TimesPlusOne(2)(T.tanh(x)).sum(axis=0), x[::2].T], mode=DebugMode())
    xv = np.random.rand(4, 3)
    got = f(xv)
    np.testing.assert_allclose(got[0], (np.tanh(xv) * 2 + 1).sum(axis=0))
    np.testing.assert_array_equal(got[1], xv[::2].T)


def test_lowering_table_is_outside_the_ops():
    from symgraph.ops.elemwise import Elemwise
    from symgraph.ops.blas import Dot
    assert Elemwise in lowering.LOWERINGS and Dot in lowering.LOWERINGS
    assert not any(hasattr(cls, "c_code") for cls in lowering.LOWERINGS.op_types())


def test_lowering_registry_refuses_a_second_lowering_of_an_op_type():
    from symgraph.backends.registry import LoweringRegistry
    from symgraph.ops.elemwise import Elemwise
    from symgraph.ops.nnet import Softmax

    reg = LoweringRegistry("test")
    reg.add(Elemwise, "first")
    with pytest.raises(KeyError, match="Elemwise already has a test lowering"):
        reg.add(Elemwise, "second")
    assert reg.lookup(Elemwise(ps.add)) == "first"
    reg.add(Elemwise, "second", replace=True)
    assert reg.lookup(Elemwise(ps.add)) == "second"

    class MySoftmax(Softmax):
        pass
    reg.add(Softmax, "softmax")
    assert reg.lookup(MySoftmax()) == "softmax"            # found along the MRO
    with pytest.raises(TypeError, match="keyed by Op type"):
        reg.add("Softmax", "by name")
    # the C backend's own table refuses a duplicate too
    with pytest.raises(KeyError):
        lowering.register(Elemwise)(lambda e: None)


_CHILD = r"""
import json, sys
import numpy as np
import symgraph, symgraph.tensor as T
from symgraph.backends.c.cache import default_cache
x = T.fmatrix('x'); b = T.fvector('b')
f = symgraph.function([x, b], [T.tanh(x * 2 + b).sum(axis=1), T.dot(x, x.T)], mode='c')
out = f(np.ones((2, 3), 'float32'), np.zeros(3, 'float32'))
print(json.dumps({"stats": default_cache().stats, "out": out[0].tolist()}))
"""


def test_second_process_hits_the_cache_without_compiling(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO_ROOT, os.environ.get("PYTHONPATH", "")]),
               SYMGRAPH_FLAGS=f"compiledir={tmp_path / 'cache'}", PYTHONHASHSEED="1")
    runs = []
    for seed in ("1", "2"):
        env["PYTHONHASHSEED"] = seed               # ids and hashes differ between processes
        proc = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert runs[0]["stats"]["compiles"] >= 1
    assert runs[1]["stats"]["compiles"] == 0 and runs[1]["stats"]["disk_hits"] >= 1
    assert runs[0]["out"] == runs[1]["out"]


def test_thread_policy_probe_and_contended_mode_give_the_same_results(monkeypatch):
    """The team probe (``openmp_adaptive``) runs at most every 50 ms and only ever picks between the
    idle thresholds (par_scale 1) and the contended ones; either way a conv/pool/gemm/elementwise
    training graph computes the same values bit for bit (chunking depends on shapes only, partial
    sums are added in a fixed order), so a run is reproducible whatever the machine's load."""
    from symgraph.tensor.nnet import conv2d
    from symgraph.tensor.signal.pool import pool_2d
    x, w, v = T.ftensor4("x"), T.ftensor4("w"), T.fmatrix("v")
    h = T.tanh(pool_2d(conv2d(x, w), (2, 2), ignore_border=True))
    out = T.dot(h.flatten(2), v)
    cost = (out ** 2).sum()
    f = symgraph.function([x, w, v], [out, T.grad(cost, w), T.grad(cost, x)])
    rng = np.random.RandomState(0)
    args = [rng.rand(128, 3, 20, 20).astype("float32"), rng.rand(8, 3, 5, 5).astype("float32") - 0.5,
            rng.rand(8 * 8 * 8, 64).astype("float32") - 0.5]       # the dot (4.2 MFLOP) splits too
    ctx = f._run.runtime.ctx
    assert ctx.adaptive == 1
    first = f(*args)
    assert ctx.probe_t > 0 and ctx.par_scale in (1.0, 256.0)
    ctx.adaptive = 0
    results = {}
    for scale in (1.0, 256.0, 1e30):              # idle thresholds, contended, never parallel
        ctx.par_scale = scale
        results[scale] = f(*args)
    for scale, got in results.items():
        for a, b in zip(got, first):
            np.testing.assert_array_equal(a, b, err_msg=str(scale))
    monkeypatch.setattr(symgraph.config, "openmp_adaptive", False)
    g = symgraph.function([x, w, v], out)
    assert g._run.runtime.ctx.adaptive == 0
    g(*args)
    assert g._run.runtime.ctx.probe_t == -1.0 and g._run.runtime.ctx.par_scale == 1.0
