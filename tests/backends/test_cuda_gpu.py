"""The CUDA backend on a GPU: every lowered op against the Python reference, GPU-resident
shared variables and updates, the memory pool, MRG draws, and a short LeNet training run.

All tests carry the ``gpu`` marker and skip where pycuda or a GPU is missing (CI).
"""
from __future__ import annotations

import importlib.util
import inspect
import pathlib

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.compile.mode import Mode
from symgraph.backends.cuda.lowering import DEVICE, HOST


def _gpu_available():
    if importlib.util.find_spec("pycuda") is None:
        return False
    try:
        from symgraph.backends.cuda import check_available
        check_available()
        return True
    except Exception:
        return False


pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not _gpu_available(), reason="needs pycuda and an NVIDIA GPU")]


def _load_cases():
    path = pathlib.Path(__file__).with_name("test_cuda_cases.py")
    spec = importlib.util.spec_from_file_location("symgraph_test_cuda_cases", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_CASES_MODULE = _load_cases()
CASES = _CASES_MODULE.all_cases(np.random.RandomState(42))
PY = Mode("py", optimizer=None)


def _cuda_mode(optimizer=None, graphs=True):
    from symgraph.compile.mode import CudaMode
    return CudaMode(optimizer=optimizer, graphs=graphs)


def _tolerance(dtype):
    return {"float32": 2e-5, "float64": 1e-12}.get(np.dtype(dtype).name, 0)


@pytest.fixture
def on_cuda():
    old = symgraph.config.device
    symgraph.config.device = "cuda"
    yield
    symgraph.config.device = old


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("optimizer", [None, "fast_run"])
def test_op_matches_reference(case, optimizer):
    name, inputs, outputs, values = case
    ref = symgraph.function(inputs, outputs, mode=PY, on_unused_input="ignore")(*values)
    f = symgraph.function(inputs, outputs, mode=_cuda_mode(optimizer), on_unused_input="ignore")
    # call 1 runs node by node, call 2 captures a CUDA graph, call 3 replays it
    for got in [f(*values) for _ in range(3)]:
        _check_outputs(name, ref, got)
    assert any(p == DEVICE for p in f.maker.thunk.places.values())


def _check_outputs(name, ref, got):
    for r, g in zip(ref, got):
        assert isinstance(g, np.ndarray) and g.dtype == r.dtype and g.shape == r.shape, (g, r)
        tol = _tolerance(r.dtype)
        if tol and r.size:
            err = np.max(np.abs(g.astype("float64") - r)) / max(1.0, np.max(np.abs(r)))
            assert err < 10 * tol, (name, err)
        else:
            np.testing.assert_array_equal(g, r)


def test_every_case_node_runs_on_the_gpu():
    from symgraph.backends.cuda.linker import CudaLinker
    from symgraph.graph.fgraph import FunctionGraph
    host_ops = set()
    for name, inputs, outputs, _ in CASES:
        _, places, steps, _ = CudaLinker().plan(FunctionGraph(inputs, outputs))
        for node, step in steps:
            if step.out_places and all(p == HOST for p in step.out_places) and \
                    any(places[v] == DEVICE for v in node.inputs):
                host_ops.add(type(node.op).__name__)
    assert not host_ops - {"Shape", "Shape_i"}, host_ops


def test_shared_variable_lives_on_gpu_and_updates_stay_there(on_cuda):
    from symgraph.backends.cuda.memory import DeviceArray
    from symgraph.backends.cuda.shared import CudaSharedVariable
    w0 = np.arange(12, dtype="float32").reshape(3, 4)
    W = symgraph.shared(w0, name="W")
    assert isinstance(W, CudaSharedVariable) and isinstance(W._box[0], DeviceArray)
    np.testing.assert_array_equal(W.get_value(), w0)
    x = T.fvector("x")
    f = symgraph.function([x], T.dot(W, x), updates=[(W, W * 2)])
    out = f(np.ones(4, dtype="float32"))
    np.testing.assert_allclose(out, w0.sum(axis=1))
    assert isinstance(W._box[0], DeviceArray)           # the update never left the device
    np.testing.assert_array_equal(W.get_value(), w0 * 2)
    W.set_value(np.ones((3, 4), dtype="float32"))
    np.testing.assert_allclose(f(np.ones(4, dtype="float32")), [4, 4, 4])
    # an int shared variable stays a host variable
    n = symgraph.shared(np.int64(3))
    assert not isinstance(n, CudaSharedVariable)


def test_givens_slice_of_gpu_dataset(on_cuda):
    data = np.random.RandomState(0).rand(100, 5).astype("float32")
    D = symgraph.shared(data, name="D")
    i = T.lscalar("i")
    x = T.fmatrix("x")
    f = symgraph.function([i], (x ** 2).sum(), givens={x: D[i * 10:(i + 1) * 10]})
    for k in (0, 3, 9):
        np.testing.assert_allclose(f(k), (data[k * 10:(k + 1) * 10] ** 2).sum(), rtol=1e-5)


def test_keep_outputs_on_gpu():
    from symgraph.compile.mode import CudaMode
    from symgraph.backends.cuda.memory import DeviceArray
    x = T.fmatrix("x")
    f = symgraph.function([x], T.exp(x), mode=CudaMode(keep_outputs_on_gpu=True))
    out = f(np.zeros((2, 3), dtype="float32"))
    assert isinstance(out, DeviceArray)
    np.testing.assert_allclose(out.get(), np.ones((2, 3)))


def test_memory_pool_reuses_blocks():
    from symgraph.backends.cuda import memory
    x = T.fmatrix("x")
    f = symgraph.function([x], T.tanh(T.dot(x, x.T)).sum(axis=0),
                          mode=_cuda_mode("fast_run", graphs=False))
    v = np.random.rand(64, 64).astype("float32")
    f(v), f(v)
    before = memory.pool().stats()["driver_allocs"]
    for _ in range(5):
        f(v)
    assert memory.pool().stats()["driver_allocs"] == before


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mrg_draws_match_cpu(dtype):
    """Uniform and binomial draws are bit for bit the reference's; normal draws go through
    log/cos/sin, whose GPU and NumPy versions may differ in the last bit."""
    from symgraph.sandbox.rng_mrg import MRG_RandomStreams
    outs = []
    for mode in (PY, _cuda_mode("fast_run")):
        srng = MRG_RandomStreams(seed=1234)
        u = srng.uniform((40, 33), dtype=dtype)
        b = srng.binomial((8, 100), p=0.3, dtype=dtype)
        n = srng.normal((17, 5), avg=1.0, std=2.0, dtype=dtype)
        f = symgraph.function([], [u, b, n], mode=mode)
        outs.append([f(), f()])
    for cpu, gpu in zip(outs[0], outs[1]):
        np.testing.assert_array_equal(cpu[0], gpu[0])
        np.testing.assert_array_equal(cpu[1], gpu[1])
        np.testing.assert_allclose(cpu[2], gpu[2], rtol=1e-5 if dtype == "float32" else 1e-13)
    assert not np.array_equal(outs[1][0][0], outs[1][1][0])      # the state advanced


def _sgd_function(graphs, data, labels):
    """Softmax regression trained by SGD on minibatches of a GPU dataset (givens + updates)."""
    from symgraph.compile.mode import CudaMode
    from symgraph.tensor.nnet import softmax
    X = symgraph.shared(data, name="X")
    Y = symgraph.shared(labels, name="Y")
    W = symgraph.shared(np.zeros((data.shape[1], 10), dtype="float32"), name="W")
    b = symgraph.shared(np.zeros(10, dtype="float32"), name="b")
    i = T.lscalar("i")
    x, y = T.fmatrix("x"), T.ivector("y")
    p = softmax(T.dot(x, W) + b)
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    gW, gb = T.grad(cost, [W, b])
    f = symgraph.function([i], cost, updates=[(W, W - 0.5 * gW), (b, b - 0.5 * gb)],
                          givens={x: X[i * 50:(i + 1) * 50], y: T.cast(Y, "int32")[i * 50:(i + 1) * 50]},
                          mode=CudaMode(graphs=graphs))
    return f, W, b


def test_graph_replay_matches_node_by_node(on_cuda):
    rng = np.random.RandomState(3)
    data = rng.rand(400, 30).astype("float32")
    labels = rng.randint(0, 10, 400).astype("float32")
    runs = {}
    for graphs in (False, True):
        f, W, b = _sgd_function(graphs, data, labels)
        costs = [float(f(k % 8)) for k in range(20)]
        runs[graphs] = (costs, W.get_value(), b.get_value(), f)
    np.testing.assert_allclose(runs[True][0], runs[False][0], rtol=1e-6)
    np.testing.assert_allclose(runs[True][1], runs[False][1], rtol=1e-5, atol=1e-7)
    f = runs[True][3]
    runner = f.maker.thunk.graph_runner
    assert len(runner.graphs) == 1 and runner.n_replays >= 18      # one graph for every index
    # a new value (a new buffer) is seen by the next call; the old graph is then dropped
    sv = [v for v in f.maker.fgraph.inputs if getattr(v, "name", None) == "W"][0]
    sv.set_value(np.zeros((30, 10), dtype="float32"))
    b_now = [v for v in f.maker.fgraph.inputs if getattr(v, "name", None) == "b"][0].get_value()
    z = b_now - b_now.max()
    expect = np.mean(np.log(np.exp(z).sum()) - z[labels[:50].astype(int)])
    np.testing.assert_allclose(float(f(0)), expect, rtol=1e-5)
    for k in range(3):
        f(k)
    assert len(runner.graphs) == 1


def test_runtime_error_names_the_node():
    x, y = T.fmatrix("x"), T.fmatrix("y")
    f = symgraph.function([x, y], x + y, mode=_cuda_mode())
    with pytest.raises(ValueError, match="Apply node that caused the error"):
        f(np.zeros((2, 3), "float32"), np.zeros((3, 2), "float32"))


# ---------------------------------------------------------------- bad indices (the error word)

def _line():
    """The line this is called on (put it on the line that builds the expression)."""
    return inspect.currentframe().f_back.f_lineno


def _built_at(line):
    return f'File "{__file__}", line {line}'


@pytest.mark.parametrize("graphs", [False, True])
def test_bad_label_in_advanced_index_raises_index_error(graphs):
    """``p[T.arange(n), y]`` with a label 10 for 10 classes: IndexError naming the op, the
    value, the axis size and the user's line (not a silent 0); the next good call works."""
    p, y = T.fmatrix("p"), T.lvector("y")
    picked = p[T.arange(y.shape[0]), y]; line = _line()  # noqa: E702
    f = symgraph.function([p, y], -T.log(picked).mean(), mode=_cuda_mode("fast_run", graphs))
    P = np.random.RandomState(0).uniform(0.1, 1, (4, 10)).astype("float32")
    good, bad = np.array([0, 9, 3, 1]), np.array([0, 9, 10, 1])
    expect = -np.log(P[np.arange(4), good]).mean()
    for _ in range(3):          # node by node, capture, replay
        np.testing.assert_allclose(f(P, good), expect, rtol=1e-6)
    for _ in range(2):
        with pytest.raises(IndexError) as info:
            f(P, bad)
        msg = str(info.value)
        for fragment in ("AdvancedSubtensor", "index 10 is out of bounds for axis 1 with size 10",
                         "(4, 10)", _built_at(line)):
            assert fragment in msg, (fragment, msg)
        np.testing.assert_allclose(f(P, good), expect, rtol=1e-6)      # the word was reset


@pytest.mark.parametrize("graphs", [False, True])
def test_bad_class_label_leaves_shared_weights_unchanged(on_cuda, graphs):
    """A bad label in a training step raises IndexError and commits no update (the weights
    stay as they were, the in-place-able one too); good steps before and after match the
    reference, so the function keeps working."""
    from symgraph.backends.cuda.shared import CudaSharedVariable
    f, shared, built_at = _CASES_MODULE.logistic_regression(_cuda_mode("fast_run", graphs))
    assert all(isinstance(v, CudaSharedVariable) for v in shared)
    symgraph.config.device = "cpu"
    ref, ref_shared, _ = _CASES_MODULE.logistic_regression(PY)
    symgraph.config.device = "cuda"
    _CASES_MODULE.check_bad_labels_commit_nothing(f, ref, shared, ref_shared, built_at)
    if graphs:
        runner = f.maker.thunk.graph_runner
        assert len(runner.graphs) == 1 and runner.n_replays >= 4     # the bad calls replayed


def test_negative_indices_follow_the_reference():
    _CASES_MODULE.check_negative_indices(lambda: _cuda_mode("fast_run"), PY)


def test_set_subtensor_with_repeated_indices_matches_numpy(n=100_000):
    """``x[idx] = y`` where idx repeats its targets (``n`` positions into 10 rows, negative
    ones among them): of the positions with one target, the last one wins, as in NumPy,
    bit for bit, whatever order the GPU's threads run in; also with two index vectors
    (``x[i, j] = v``, whose rows are single elements) and a row broadcast to every position."""
    x, y, v = T.fmatrix("x"), T.fmatrix("y"), T.fvector("v")
    i, j = T.lvector("i"), T.lvector("j")
    outs = [T.set_subtensor(x[i], y), T.set_subtensor(x[i, j], v),
            T.set_subtensor(x[i], y[-1])]
    rng = np.random.RandomState(11)
    X = rng.rand(10, 33).astype("float32")
    Y = rng.rand(n, 33).astype("float32")        # distinct values: the winner shows
    V = rng.rand(n).astype("float32")
    I, J = rng.randint(-10, 10, n), rng.randint(0, 33, n)
    expect = [X.copy() for _ in outs]
    expect[0][I] = Y
    expect[1][I, J] = V
    expect[2][I] = Y[-1]
    f = symgraph.function([x, y, v, i, j], outs, mode=_cuda_mode("fast_run"))
    for _ in range(3):          # node by node, capture, replay
        for got, want in zip(f(X, Y, V, I, J), expect):
            np.testing.assert_array_equal(got, want)
    # the positions reversed: other winners (C-contiguous copies: NumPy assigns in memory
    # order, so "last wins" is NumPy's rule for contiguous index arrays only)
    Y, V, I, J = (np.ascontiguousarray(a[::-1]) for a in (Y, V, I, J))
    expect = [X.copy(), X.copy()]
    expect[0][I] = Y
    expect[1][I, J] = V
    for got, want in zip(f(X, Y, V, I, J)[:2], expect):
        np.testing.assert_array_equal(got, want)


def _lenet(x, y, batch_size, mode=None):
    import sys
    repo = str(pathlib.Path(__file__).resolve().parents[2])
    if repo not in sys.path:      # `bench` is a namespace package at the repository root
        sys.path.insert(0, repo)
    from bench.sg_models import LeNetSG
    params = LeNetSG.random_params(seed=0, scale=0.05)
    return LeNetSG(params, x, y, batch_size=batch_size, mode=mode)


@pytest.mark.slow
def test_lenet_trains_like_cpu():
    """The seed's LeNet on an MNIST subset: the first steps' costs equal the CPU backend's,
    and a few hundred GPU steps bring the validation error down as training on the CPU does."""
    from symgraph.datasets.mnist import load_mnist
    (tx, ty), (vx, vy), _ = load_mnist()
    tx, ty = tx[:10000], ty[:10000].astype("float32")
    old_floatx, old_dev = symgraph.config.floatX, symgraph.config.device
    symgraph.config.floatX = "float32"
    try:
        cpu = _lenet(tx, ty, 500, mode=Mode("c" if _has_c() else "py"))
        cpu_costs = [float(cpu.train_model(i)) for i in range(4)]
        symgraph.config.device = "cuda"
        gpu = _lenet(tx, ty, 500)
        gpu_costs = [float(gpu.train_model(i % 20)) for i in range(300)]
    finally:
        symgraph.config.floatX, symgraph.config.device = old_floatx, old_dev
    np.testing.assert_allclose(gpu_costs[:4], cpu_costs, rtol=2e-4)
    assert np.mean(gpu_costs[-20:]) < 0.5 * np.mean(gpu_costs[:20])
    # validation error of the trained GPU model, computed on the host from its parameters
    err = _lenet_error(gpu.get_params(), vx[:2000], vy[:2000])
    assert err < 0.10, err


def _has_c():
    from symgraph.backends import c_available
    try:
        return importlib.util.find_spec("scipy_openblas32") is not None and c_available()
    except Exception:
        return False


def _lenet_error(p, x, y):
    """Error rate of LeNet with parameters ``p`` (NumPy, for an independent check)."""
    from symgraph.ops.conv import Conv2d, corr2d
    op = Conv2d()
    h = x.reshape(-1, 1, 28, 28)
    for w, b in (("W0", "b0"), ("W1", "b1")):
        c = corr2d(h, p[w], op)
        n, k, hh, ww = c.shape
        c = c.reshape(n, k, hh // 2, 2, ww // 2, 2).max(axis=(3, 5))
        h = np.tanh(c + p[b][None, :, None, None])
    h = np.tanh(h.reshape(len(x), -1) @ p["W2"] + p["b2"])
    z = h @ p["W3"] + p["b3"]
    return float(np.mean(np.argmax(z, axis=1) != y))
