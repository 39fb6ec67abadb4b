"""Save and load: shared variables, graphs and compiled functions pickle; training resumes exactly.

An unpickled function is rebuilt from its spec (``Function.__reduce__``), uses the
unpickled shared variables' storage, and loads its C library from the compile cache
(no compiler run, checked in a fresh process). Parameters saved mid-training (by
pickle or as ``.npz`` of ``get_value()``) resume to bit-identical results.
"""
import io
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.backends import c_available
from symgraph.compile.mode import Mode
from symgraph.ops import scalar as ps
from symgraph.sandbox.rng_mrg import MRG_RandomStreams
from symgraph.tensor.shared_randomstreams import RandomStreams

REPO_ROOT = str(Path(symgraph.__file__).resolve().parents[1])
LINKERS = ["py", pytest.param("c", marks=pytest.mark.skipif(not c_available(), reason="no working C compiler"))]
needs_c = pytest.mark.skipif(not c_available(), reason="no working C compiler")


def roundtrip(obj):
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def free_inputs(outputs):
    return [v for v in symgraph.graph.graph_inputs(outputs) if not isinstance(v, symgraph.Constant)]


def test_shared_variable_roundtrip_keeps_value_type_and_name():
    w = symgraph.shared(np.arange(6, dtype="float32").reshape(2, 3), name="W", strict=True)
    w2 = roundtrip(w)
    assert w2 is not w and w2.name == "W" and w2.type == w.type
    np.testing.assert_array_equal(w2.get_value(), w.get_value())
    assert w2.get_value().dtype == np.float32
    w2.set_value(np.zeros((2, 3), "float32"))                # independent storage
    assert w.get_value()[1, 2] == 5.0
    with pytest.raises(TypeError):                            # still strict
        w2.set_value(np.zeros((2, 3)))


def test_graph_objects_pickle():
    x = T.dmatrix("x")
    y = T.tanh(x * 2 + 1).sum(axis=0)[1:] ** 2
    y.tag.note = "kept"
    y2 = roundtrip(y)
    assert y2.tag.note == "kept" and y2.tag.trace == y.tag.trace
    assert str(y2.owner.op) == str(y.owner.op)
    f = symgraph.function([x], y, mode=Mode(linker="py"))
    (x2,) = free_inputs([y2])
    assert x2.name == "x" and x2 is not x
    g = symgraph.function([x2], y2, mode=Mode(linker="py"))
    a = np.arange(6.0).reshape(3, 2) / 10
    np.testing.assert_array_equal(f(a), g(a))


def test_variables_pickle_after_eval():
    """eval() caches a compiled function on the variable; it must not go into the pickle (it
    would be rebuilt before the variable it refers to)."""
    x = T.dscalar("x")
    y = x * 2 + 1
    w = symgraph.shared(np.ones(2), name="w")
    assert y.eval({x: 1.0}) == 3.0 and w.eval().tolist() == [1.0, 1.0]
    y2, w2 = roundtrip((y, w))
    (x2,) = free_inputs([y2])
    assert y2.eval({x2: 2.0}) == 5.0 and w2.eval().tolist() == [1.0, 1.0]


def test_scalar_ops_unpickle_to_the_same_objects():
    """ops/scalar.py makes its op classes with type(): they pickle by name."""
    for op in (ps.add, ps.mul, ps.exp, ps.tanh, ps.sqr, ps.maximum, ps.true_div, ps.switch, ps.cast_op("int32")):
        again = roundtrip(op)
        assert again == op and hash(again) == hash(op)
    assert roundtrip(ps.exp) is ps.exp


@needs_c
def test_optimized_graph_with_composite_pickles():
    x = T.dvector("x")
    f = symgraph.function([x], T.exp(x) * 2 + T.tanh(x), mode=Mode(linker="c"))
    ops = [node.op for node in f.maker.fgraph.toposort()]
    composite = [op for op in ops if isinstance(getattr(op, "scalar_op", None), ps.Composite)]
    assert composite, ops
    assert roundtrip(ops) == ops
    outputs = roundtrip(f.maker.fgraph.outputs)
    (x2,) = free_inputs(outputs)
    g = symgraph.function([x2], outputs[0], mode=Mode(linker="c"))
    a = np.linspace(-2, 2, 5)
    np.testing.assert_allclose(g(a), np.exp(a) * 2 + np.tanh(a), rtol=1e-12)


@pytest.mark.parametrize("linker", LINKERS)
def test_function_roundtrip_uses_the_unpickled_shared_storage(linker):
    x = T.dmatrix("x")
    lr = T.dscalar("lr")
    w = symgraph.shared(np.full((3, 2), 0.5), name="w")
    b = symgraph.shared(np.zeros(2), name="b")
    steps = symgraph.shared(np.int64(0), name="steps")
    cost = T.nnet.sigmoid(T.dot(x, w) + b).sum()
    gw, gb = T.grad(cost, [w, b])
    f = symgraph.function([x, symgraph.In(lr, value=0.1)], cost,
                          updates=[(w, w - lr * gw), (b, b - lr * gb), (steps, steps + 1)],
                          mode=Mode(linker=linker), name="train")
    a = np.arange(12.0).reshape(4, 3) / 10
    f(a)
    f2, w2, b2, steps2 = roundtrip((f, w, b, steps))
    assert f2.name == "train" and f2.maker.shared_inputs[0] is w2
    assert f2(a) == f(a)                                       # same state, same results
    np.testing.assert_array_equal(w2.get_value(), w.get_value())
    assert steps.get_value() == steps2.get_value() == 2
    f2(a, 0.5)                                                 # updates go to the unpickled variables ...
    assert steps2.get_value() == 3 and steps.get_value() == 2
    w2.set_value(np.zeros((3, 2)))                             # ... and it reads them
    expected = np.sum(1 / (1 + np.exp(-b2.get_value()))) * 4
    assert f2(a) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("stream", ["RandomStreams", "MRG_RandomStreams"])
def test_random_stream_state_pickles(stream):
    srng = RandomStreams(seed=3) if stream == "RandomStreams" else MRG_RandomStreams(seed=3)
    u = srng.uniform((2, 3))
    n = srng.normal((4,))
    f = symgraph.function([], [u, n])
    f()
    f2, srng2 = roundtrip((f, srng))
    for _ in range(3):                                          # both continue the same sequence
        for a, b in zip(f(), f2()):
            np.testing.assert_array_equal(a, b)


SAVE = r"""
import pickle, sys, numpy as np, symgraph, symgraph.tensor as T
from symgraph.compile.mode import Mode
x = T.dmatrix("x")
w = symgraph.shared(np.linspace(-1, 1, 6).reshape(3, 2), name="w")
y = T.nnet.softmax(T.dot(x, w) * 1.5 + 0.25)
f = symgraph.function([x], y, updates=[(w, w * 0.5)], mode=Mode(linker="c"))
f(np.ones((2, 3)))
with open(sys.argv[1], "wb") as fh:
    pickle.dump((f, w), fh)
"""

LOAD = r"""
import json, pickle, sys, numpy as np
from symgraph.backends.c.cache import default_cache
with open(sys.argv[1], "rb") as fh:
    f, w = pickle.load(fh)
out = f(np.ones((2, 3)))
print(json.dumps({"stats": default_cache().stats, "out": out.tolist(), "w": w.get_value().tolist()}))
"""


@needs_c
def test_unpickled_function_loads_from_the_compile_cache(tmp_path):
    path = tmp_path / "f.pkl"
    proc = subprocess.run([sys.executable, "-c", SAVE, str(path)], env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = subprocess.run([sys.executable, "-c", LOAD, str(path)], env=_env(log=True), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["stats"]["compiles"] == 0, report
    assert "symgraph: compiled" not in proc.stderr
    w = np.linspace(-1, 1, 6).reshape(3, 2) * 0.5                  # saved after one update
    z = np.ones((2, 3)) @ w * 1.5 + 0.25
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(report["out"], e / e.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_array_equal(report["w"], w * 0.5)


def _env(log=False):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO_ROOT, env.get("PYTHONPATH")) if p)
    env.pop("SYMGRAPH_LOG_COMPILES", None)
    if log:
        env["SYMGRAPH_LOG_COMPILES"] = "1"
    return env


# ---------------------------------------------------------------- resuming training

def _mlp(dtype, seed=0):
    rng = np.random.RandomState(seed)
    params = [symgraph.shared((rng.standard_normal((8, 16)) * 0.3).astype(dtype), name="W1"),
              symgraph.shared(np.zeros(16, dtype), name="b1"),
              symgraph.shared((rng.standard_normal((16, 3)) * 0.3).astype(dtype), name="W2"),
              symgraph.shared(np.zeros(3, dtype), name="b2")]
    return params


def _train_fn(params, dtype):
    x = T.matrix("x", dtype=dtype)
    y = T.lvector("y")
    w1, b1, w2, b2 = params
    p = T.nnet.softmax(T.dot(T.tanh(T.dot(x, w1) + b1), w2) + b2)
    cost = T.nnet.categorical_crossentropy(p, y).mean()
    lr = np.asarray(0.1, dtype=dtype)
    grads = T.grad(cost, params)
    return symgraph.function([x, y], cost, updates=[(q, q - lr * g) for q, g in zip(params, grads)])


def _batches(dtype, n=8):
    rng = np.random.RandomState(42)
    return [(rng.standard_normal((10, 8)).astype(dtype), rng.randint(0, 3, size=10)) for _ in range(n)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("how", ["pickle", "npz"])
def test_resumed_training_is_bit_identical(dtype, how, tmp_path):
    batches = _batches(dtype)
    params = _mlp(dtype)
    train = _train_fn(params, dtype)
    straight = [float(train(*b)) for b in batches]
    final = [q.get_value() for q in params]

    params = _mlp(dtype)
    train = _train_fn(params, dtype)
    costs = [float(train(*b)) for b in batches[:3]]
    if how == "pickle":                                 # the training function and its parameters
        buf = io.BytesIO()
        pickle.dump((train, params), buf)
        del train, params
        train, params = pickle.loads(buf.getvalue())
    else:                                               # parameter values only; a new model loads them
        path = tmp_path / "params.npz"
        np.savez(path, **{q.name: q.get_value() for q in params})
        params = _mlp(dtype, seed=1)
        with np.load(path) as saved:
            for q in params:
                q.set_value(saved[q.name])
        train = _train_fn(params, dtype)
    costs += [float(train(*b)) for b in batches[3:]]
    assert costs == straight
    for q, want in zip(params, final):
        assert q.get_value().dtype == np.dtype(dtype)
        np.testing.assert_array_equal(q.get_value(), want, err_msg=q.name)
