"""The CUDA backend's logic on CI, without a GPU: the emulator of ``cuda_emulator.py``
(pycuda, cuBLAS and the graph API on the host; the generated CUDA C built with g++, blocks
of threads with real barriers) runs

- every op case of ``test_cuda_cases.py`` against the Python reference, with the GPU test's
  tolerances, node by node, captured and replayed as a graph, without and with rewrites;
  and again with inputs stacked 128 times, so that kernels take several grid-stride passes;
- the GPU tests of ``test_cuda_gpu.py`` that make sense at small sizes: GPU shared variables
  and their updates, givens slices, the memory pool, MRG draws, SGD with graph replay on
  and off, bad labels, and a LeNet (conv, pool, softmax) trained at a batch of 3;
- the reliability checks of ``tests/test_reliability.py`` that matter for CUDA (NanGuard
  names the first bad node, a failing call commits no update, also with GPU shared
  variables and replayed graphs) and the bad-input table of ``tests/test_bad_input.py``
  (op or variable, shapes, the user's line), with its empty / read-only / NaN tables;
- launches of more than 2**31 elements (their launch dimensions and 64-bit arguments, as
  far as that can be checked without the memory), the elementwise kernels' 64-bit strided
  branch, and ``set_subtensor`` with repeated indices with threads run in both orders;
- the emulator's own checks (barriers, guard bytes, cuBLAS's argument checks).

The test functions of those files are called as they are, on ``device=cuda``.
"""
from __future__ import annotations

import importlib.util
import pathlib
import sys

import numpy as np
import pytest

import symgraph
from symgraph.backends.cuda.lowering import DEVICE


def _sibling(name, folder=None):
    """A module of the test tree (``folder`` relative to this one), imported once per process
    whatever pytest's import mode: the module pytest imported, when it has."""
    mod = sys.modules.get(name)
    if mod is None:
        path = pathlib.Path(__file__).parent.joinpath(folder or ".", name + ".py").resolve()
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return mod


cpu_cuda = _sibling("cuda_emulator").cpu_cuda
CASES = _sibling("test_cuda_cases").all_cases(np.random.RandomState(42))   # test_cuda_gpu's


def gpu():
    """test_cuda_gpu (imported when first needed, so that pytest's import comes first)."""
    return _sibling("test_cuda_gpu")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("optimizer", [None, "fast_run"])
def test_op_matches_reference(cpu_cuda, case, optimizer):
    gpu().test_op_matches_reference(case, optimizer)


# the emulated device has one multiprocessor: a launch has at most 16 blocks (elementwise) or
# 32 (reductions) of 256 threads, so inputs stacked 128 times take several grid-stride passes
STACKED = [c for c in CASES if not c[0].startswith(("mrg_", "dot", "shape_ops"))]


def _stacked(values, times=128):
    return [np.concatenate([v] * times) if np.ndim(v) and v.shape[0] > 1 else v for v in values]


@pytest.mark.parametrize("case", STACKED, ids=[c[0] for c in STACKED])
def test_op_matches_reference_beyond_one_grid(cpu_cuda, case):
    name, inputs, outputs, values = case
    gpu().test_op_matches_reference((name, inputs, outputs, _stacked(values)), "fast_run")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_op_matches_reference_on_the_64_bit_strided_path(cpu_cuda, monkeypatch, case):
    """Strided elementwise launches of arrays larger than 2**31 elements (or spanning more)
    take the kernels' 64-bit branch (``path`` 0); here every strided launch does, at small
    sizes, with inputs stacked as above."""
    from symgraph.backends.cuda.lower import elemwise
    monkeypatch.setattr(elemwise, "INDEX32_MAX", 0)
    monkeypatch.setattr(elemwise, "_COPIES", {})        # their launch plans are cached
    monkeypatch.setattr(elemwise, "_FILLS", {})
    name, inputs, outputs, values = case
    gpu().test_op_matches_reference((name, inputs, outputs, _stacked(values) if case in STACKED
                                     else values), "fast_run")


# ---------------------------------------------------------------- more than 2**31 elements
# (too large for the emulator's memory: the launch arithmetic and arguments are checked)

N_BIG = 3 * 2 ** 31


def test_launch_dims_cover_more_than_2_31_items(monkeypatch):
    """A grid-stride launch over any count: the grid is capped, its thread count (the
    kernels' 32-bit ``blockDim.x * gridDim.x``) stays below 2**31, and its passes cover
    every item once."""
    from symgraph.backends.cuda import driver
    monkeypatch.setattr(driver, "multiprocessor_count", lambda: 132)       # an H100
    for n in (1, 255, 257, 2 ** 31 - 1, 2 ** 31, N_BIG, 2 ** 40):
        for threads in (128, 256, 1024):
            (gx, gy, gz), (bx, by, bz) = driver.launch_dims(n, threads)
            stride = gx * bx
            assert bx == threads and gy == gz == by == bz == 1
            assert 1 <= gx <= 132 * driver.BLOCKS_PER_SM and stride < 2 ** 31
            passes = -(-n // stride)      # thread t handles t, t + stride, ... below n
            assert (passes - 1) * stride < n <= passes * stride
            assert n + stride < 2 ** 63   # the 64-bit counter's last value
    assert driver.launch_dims(0) == ((1, 1, 1), (256, 1, 1))
    assert driver.launch_dims(10 ** 6, max_blocks=2 ** 40)[0][0] < 2 ** 31 // 256
    with pytest.raises(ValueError):
        driver.launch_dims(-1)


class _Recorder:
    """Stands in for a prepared kernel: packs the arguments as pycuda does."""

    def __init__(self, fmt):
        self.fmt, self.calls = fmt, []

    def prepared_call(self, grid, block, *args, shared_size=0):
        import struct
        struct.pack(self.fmt, *args)          # struct.error when a value does not fit
        self.calls.append((grid, block, args))


def test_more_than_2_31_elements_are_launched_with_64_bit_arguments(cpu_cuda, monkeypatch):
    """Elementwise launches (contiguous, and strided with an element stride of 2**31), and
    the lowered gather ``x[idx]`` and scatter ``set_subtensor(x[idx], y)`` moving 3 * 2**31
    elements, pack their counts, sizes and strides into 64-bit parameters as pycuda would.
    Nothing that large is allocated: the arrays are views of a small buffer, the kernels
    recorders."""
    import types
    from symgraph.backends.cuda import driver, memory
    from symgraph.backends.cuda.lower.elemwise import ElemwiseLaunch, arg_format
    from symgraph.backends.cuda.linker import CudaLinker
    from symgraph.backends.cuda.memory import DeviceArray
    from symgraph.graph.fgraph import FunctionGraph
    base = DeviceArray((4,), "float32")
    fmt = arg_format(["float32", "float32"], ["array", "array"], 1, 2)
    launch = ElemwiseLaunch(types.SimpleNamespace(fn=_Recorder(fmt)), 2, ["array", "array"])
    big = base.view((N_BIG // 3, 3), (12, 4))
    launch(big.shape, [big], [big, big])                                # contiguous
    wide = base.view((3, 2 ** 31), (2 ** 31 * 4, 4))
    launch((2 ** 31, 3), [wide.T], [wide.T, base.view((1, 3), (0, 4))])  # strided
    small = base.view((2, 2), (4, 8))                        # strided, small: the int path
    launch((2, 2), [small], [small, small])
    far = base.view((2, 2), (4, 2 ** 31 * 4))                # 4 elements 2**31 apart: 64-bit
    launch((2, 2), [far], [far, far])
    (g1, _, a1), (g2, _, a2), (_, _, a3), (_, _, a4) = launch.handle.fn.calls
    assert [a[:2] for a in (a1, a2, a3, a4)] == [(N_BIG, 1), (N_BIG, 0), (4, 2), (4, 0)]
    assert 2 ** 31 in a2 and g1 == g2 == driver.launch_dims(N_BIG)[0]

    pool = memory.pool()
    small_alloc = pool.alloc
    monkeypatch.setattr(pool, "alloc", lambda nbytes: types.SimpleNamespace(ptr=base.ptr)
                        if nbytes > 2 ** 20 else small_alloc(nbytes))
    T = symgraph.tensor
    x, y, idx = T.fmatrix("x"), T.fmatrix("y"), T.lvector("idx")
    _, _, steps, ctx = CudaLinker().plan(FunctionGraph([x, y, idx],
                                                       [x[idx], T.set_subtensor(x[idx], y)]))
    for h in ctx.handles.values():
        h.fn = _Recorder(h.arg_format)
    L, R = 2 ** 31, 3
    xv = DeviceArray.from_host(np.zeros((5, R), "float32"))
    yv = base.view((L, R), (0, 4))
    iv = DeviceArray((1,), "int64").view((L,), (8,))     # C-contiguous: not copied
    ran = set()
    for node, step in steps:
        kind = type(node.op).__name__
        if kind in ("AdvancedSubtensor", "AdvancedIncSubtensor"):
            step.run([xv, iv] if kind == "AdvancedSubtensor" else [xv, yv, iv])
            ran.add(kind)
    assert ran == {"AdvancedSubtensor", "AdvancedIncSubtensor"}
    calls = {n.rsplit("_", 1)[0]: h.fn.calls for n, h in ctx.handles.items() if h.fn.calls}
    ((grid, _, args),) = calls["gather_float32_1"]
    assert args[:3] == (L, R, 5) and grid == driver.launch_dims(L * R)[0]
    ((_, _, args),) = calls["scatter_set_float32_1"]
    assert args[:3] == (L, R, 5) and args[4:7] == (yv.ptr, 0, 1)     # y's element strides
    winner = calls["scatter_winner_1"]
    assert [c[2][0] for c in winner] == [L, L] and [c[2][-1] for c in winner] == [0, 1]


# ---------------------------------------------------------------- set_subtensor, repeated indices

@pytest.mark.parametrize("reverse", [False, True], ids=["threads_in_order", "threads_reversed"])
def test_set_subtensor_with_repeated_indices_matches_numpy(cpu_cuda, monkeypatch, reverse):
    """test_cuda_gpu's check of ``x[idx] = y`` with 1e5 positions into 10 rows, with the
    emulated threads (and blocks) run in order and reversed: the last position of a target
    wins either way. (A scatter without the winner pass fails both: in order, a thread's
    later grid-stride passes come after the next threads' first ones; see also
    test_emulator_reversed_threads_expose_a_racy_scatter.)"""
    monkeypatch.setattr(_sibling("cuda_emulator"), "REVERSE_THREADS", reverse)
    gpu().test_set_subtensor_with_repeated_indices_matches_numpy()


# ---------------------------------------------------------------- test_cuda_gpu at small sizes

def test_every_case_node_runs_on_the_gpu():
    gpu().test_every_case_node_runs_on_the_gpu()


def test_shared_variable_lives_on_gpu_and_updates_stay_there(cpu_cuda):
    gpu().test_shared_variable_lives_on_gpu_and_updates_stay_there(None)


def test_givens_slice_of_gpu_dataset(cpu_cuda):
    gpu().test_givens_slice_of_gpu_dataset(None)


def test_keep_outputs_on_gpu(cpu_cuda):
    gpu().test_keep_outputs_on_gpu()


def test_memory_pool_reuses_blocks(cpu_cuda):
    gpu().test_memory_pool_reuses_blocks()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mrg_draws_match_cpu(cpu_cuda, dtype):
    gpu().test_mrg_draws_match_cpu(dtype)


def test_graph_replay_matches_node_by_node(cpu_cuda):
    """SGD on minibatches of a GPU dataset (givens slices, updates), graphs on and off."""
    gpu().test_graph_replay_matches_node_by_node(None)


def test_runtime_error_names_the_node(cpu_cuda):
    gpu().test_runtime_error_names_the_node()


@pytest.mark.parametrize("graphs", [False, True])
def test_bad_label_in_advanced_index_raises_index_error(cpu_cuda, graphs):
    gpu().test_bad_label_in_advanced_index_raises_index_error(graphs)


@pytest.mark.parametrize("graphs", [False, True])
def test_bad_class_label_leaves_shared_weights_unchanged(cpu_cuda, graphs):
    gpu().test_bad_class_label_leaves_shared_weights_unchanged(None, graphs)


def test_negative_indices_follow_the_reference(cpu_cuda):
    gpu().test_negative_indices_follow_the_reference()


@pytest.mark.parametrize("graphs", [False, True])
def test_lenet_trains_like_the_reference(cpu_cuda, monkeypatch, graphs):
    """The LeNet of test_lenet_trains_like_cpu (conv, max pool, tanh, softmax, SGD updates of
    GPU shared variables, givens slices of a GPU dataset) at a batch of 3 images: twelve
    steps over four batches give the costs and weights of the CPU backend, and lower the
    cost."""
    from symgraph.compile.mode import CudaMode
    from symgraph.compile.mode import Mode
    rng = np.random.RandomState(7)
    n, batch = 12, 3
    data = (rng.rand(n, 784) * 0.3).astype("float32")
    labels = rng.randint(0, 10, n).astype("float32")
    monkeypatch.setattr(symgraph.config, "floatX", "float32")
    symgraph.config.device = "cpu"
    ref = gpu()._lenet(data, labels, batch, mode=Mode("c" if gpu()._has_c() else "py"))
    ref_costs = [float(ref.train_model(i % 4)) for i in range(12)]
    symgraph.config.device = "cuda"
    net = gpu()._lenet(data, labels, batch, mode=CudaMode(graphs=graphs))
    costs = [float(net.train_model(i % 4)) for i in range(12)]
    np.testing.assert_allclose(costs, ref_costs, rtol=1e-4)
    got = net.get_params()
    for name, value in ref.get_params().items():
        np.testing.assert_allclose(got[name], value, rtol=1e-3, atol=1e-5, err_msg=name)
    assert np.mean(costs[-4:]) < np.mean(costs[:4]), costs
    runner = net.train_model.maker.thunk.graph_runner
    if graphs:       # captured at the 2nd call, one graph for every batch (slices are staged)
        assert runner.n_replays == 11 and len(runner.graphs) == 1, (runner.n_replays, runner.graphs)
    else:
        assert runner is None


# ---------------------------------------------------------------- tests/test_reliability.py

def reliability():
    return _sibling("test_reliability", "..")


@pytest.mark.parametrize("make_mode", ["NanGuardMode", "Mode(nan_guard=True)"])
def test_nan_guard_raises_at_first_bad_node(cpu_cuda, make_mode, lineno):
    from symgraph.compile.mode import Mode, NanGuardMode
    make = (lambda linker: NanGuardMode(linker=linker)) if make_mode == "NanGuardMode" \
        else (lambda linker: Mode(linker=linker, nan_guard=True))
    reliability().test_nan_guard_raises_at_first_bad_node("cuda", make, lineno)


def test_nan_guard_names_the_first_of_several_nodes(cpu_cuda, lineno):
    reliability().test_nan_guard_names_the_first_of_several_nodes("cuda", lineno)


def test_nan_guard_ignores_finite_values_and_integers(cpu_cuda):
    reliability().test_nan_guard_ignores_finite_values_and_integers("cuda")


@pytest.mark.parametrize("exc", [ValueError("boom"), KeyboardInterrupt()],
                         ids=["ValueError", "KeyboardInterrupt"])
def test_failed_call_leaves_every_shared_variable_unchanged(cpu_cuda, exc):
    rel = reliability()
    rel.Trap.armed = None
    try:
        rel.test_failed_call_leaves_every_shared_variable_unchanged("cuda", exc, rel.Trap())
    finally:
        rel.Trap.armed = None


def test_index_error_in_late_output_leaves_updates_unapplied(cpu_cuda):
    reliability().test_index_error_in_late_output_leaves_updates_unapplied("cuda")


def test_read_only_shared_value_is_not_written(cpu_cuda):
    reliability().test_read_only_shared_value_is_not_written("cuda")


# ---------------------------------------------------------------- tests/test_bad_input.py

def bad_input():
    return _sibling("test_bad_input", "..")


BAD_CALLS = ["wrong ndim", "wrong dtype", "elemwise shapes", "dot shapes", "reshape size",
             "reshape negative", "conv channels", "conv filter too big", "pool wrong ndim",
             "constant index", "negative index", "slice step 0", "advanced index",
             "advanced negative", "advanced int32 column", "advanced two indices",
             "advanced mismatched", "set_subtensor index", "set_subtensor negative",
             "set_subtensor advanced", "inc_subtensor advanced negative",
             "set_subtensor value shape", "inc_subtensor value shape", "max of empty",
             "argmax of empty", "class index", "negative class index", "class vector length",
             "negative allocation"]


@pytest.mark.parametrize("case", BAD_CALLS)
def test_bad_call_raises_a_clear_error(cpu_cuda, case):
    (row,) = [c for c in bad_input().CASES if c[0] == case]
    bad_input().test_bad_call_raises_a_clear_error("cuda", *row[1:])


def test_process_survives_a_sequence_of_bad_calls(cpu_cuda):
    bad_input().test_process_survives_a_sequence_of_bad_calls("cuda")


def test_nan_and_inf_propagate_like_numpy(cpu_cuda):
    bad_input().test_nan_and_inf_propagate_like_numpy("cuda")


def test_empty_arrays(cpu_cuda):
    bad_input().test_empty_arrays("cuda")


def test_read_only_and_non_contiguous_inputs_are_never_written(cpu_cuda):
    bad_input().test_read_only_and_non_contiguous_inputs_are_never_written("cuda")


def test_read_only_constant_is_not_written(cpu_cuda):
    bad_input().test_read_only_constant_is_not_written("cuda")


# ---------------------------------------------------------------- the same, GPU shared variables

def test_failed_call_leaves_gpu_shared_variables_unchanged(cpu_cuda):
    """test_failed_call_leaves_every_shared_variable_unchanged with float32 (GPU-resident)
    variables: the node that raises runs on the host after the updates were computed."""
    from symgraph.backends.cuda.shared import CudaSharedVariable
    rel = reliability()
    T = symgraph.tensor
    x = T.fvector("x")
    w = symgraph.shared(np.arange(3, dtype="float32"), name="w")
    v = symgraph.shared(np.ones(3, dtype="float32"), name="v")
    n = symgraph.shared(np.int64(0), name="n")
    assert isinstance(w, CudaSharedVariable) and isinstance(v, CudaSharedVariable)
    rel.Trap.armed = None
    f = symgraph.function([x], T.exp(x).sum(), updates=[(w, w * 2 + 1), (n, n + 1),
                                                        (v, rel.Trap()(v + x))])
    assert f.maker.thunk.places[f.maker.fgraph.outputs[1]] == DEVICE
    try:
        for exc in (ValueError("boom"), KeyboardInterrupt()):
            f(np.zeros(3, "float32"))
            before = [s.get_value() for s in (w, v, n)]
            rel.Trap.armed = exc
            with pytest.raises(type(exc)):
                f(np.zeros(3, "float32"))
            rel.Trap.armed = None
            for s, old in zip((w, v, n), before):
                np.testing.assert_array_equal(s.get_value(), old)
    finally:
        rel.Trap.armed = None
    f(np.ones(3, "float32"))
    assert w.get_value().tolist() == [7, 15, 23] and v.get_value().tolist() == [2, 2, 2]
    assert n.get_value() == 3


@pytest.mark.parametrize("graphs", [False, True])
def test_index_error_leaves_gpu_updates_unapplied(cpu_cuda, graphs):
    """test_index_error_in_late_output_leaves_updates_unapplied with GPU shared variables,
    node by node and in replayed graphs (whose write-backs the error word guards)."""
    from symgraph.compile.mode import CudaMode
    T = symgraph.tensor
    x, i = T.fvector("x"), T.lvector("i")
    w = symgraph.shared(np.ones(3, dtype="float32"), name="w")
    v = symgraph.shared(np.ones(3, dtype="float32"), name="v")
    f = symgraph.function([x, i], [], updates=[(w, w * 2 + 1), (v, v + x[i].sum())],
                          mode=CudaMode(graphs=graphs))
    expect_w, expect_v = np.ones(3), np.ones(3)
    for k, idx in enumerate([[0], [1], [2], [7], [1], [-4], [0, 2]]):
        if max(idx) >= 3 or min(idx) < -3:
            with pytest.raises(IndexError, match="out of bounds"):
                f(np.arange(3, dtype="float32"), np.array(idx))
        else:
            f(np.arange(3, dtype="float32"), np.array(idx))
            expect_w, expect_v = expect_w * 2 + 1, expect_v + np.arange(3.0)[idx].sum()
        np.testing.assert_array_equal(w.get_value(), expect_w)
        np.testing.assert_array_equal(v.get_value(), expect_v)
    if graphs:
        assert f.maker.thunk.graph_runner.n_replays >= 4


def test_nan_guard_names_the_first_bad_node_on_gpu_values(cpu_cuda, lineno):
    """test_nan_guard_raises_at_first_bad_node in float32, with a GPU shared variable."""
    from symgraph.backends.errors import NanGuardError
    from symgraph.compile.mode import NanGuardMode
    T = symgraph.tensor
    x = T.fvector("x")
    w = symgraph.shared(np.ones(2, dtype="float32"), name="w")
    y = T.log(x); line = lineno()  # noqa: E702
    z = T.exp(y * 3) + w
    f = symgraph.function([x], z.sum(), updates=[(w, w + 1)], mode=NanGuardMode(linker="cuda"))
    assert f(np.array([1.0, 2.0], "float32")) == pytest.approx(1 + 8 + 2)
    for bad, what in ((np.array([1.0, -1.0], "float32"), "NaN"),
                      (np.array([0.0, 1.0], "float32"), "Inf")):
        with pytest.raises(NanGuardError) as info:
            f(bad)
        message = str(info.value)
        assert f"{what} produced by" in message and "log" in message, message
        assert f'{__file__}", line {line}' in message, message
        assert w.get_value().tolist() == [2.0, 2.0]


@pytest.mark.parametrize("graphs", [False, True])
def test_output_that_is_an_updated_shared_variable_holds_its_old_value(cpu_cuda, graphs):
    """As in the reference: ``function([x], [a, a.T], updates=[(a, a + x)])`` returns ``a``
    before the update, also when the call is a replayed CUDA graph (which writes the update
    back into ``a``'s own buffer: the outputs are copied inside the graph first)."""
    from symgraph.compile.mode import CudaMode
    T = symgraph.tensor
    a = symgraph.shared(np.array([[1.0, 2.0]], "float32"), name="a")
    x = T.fvector("x")
    f = symgraph.function([x], [a, a.T, a + x], updates=[(a, a + x)], mode=CudaMode(graphs=graphs))
    for _ in range(4):
        before = a.get_value()
        out = f(np.ones(2, "float32"))
        np.testing.assert_array_equal(out[0], before)
        np.testing.assert_array_equal(out[1], before.T)
        np.testing.assert_array_equal(out[2], before + 1)
        np.testing.assert_array_equal(a.get_value(), before + 1)


# ---------------------------------------------------------------- the emulator's own checks

def _kernel(source, name, fmt):
    from symgraph.backends.cuda import driver
    return driver.kernel(driver.compile_module(source), name, fmt)


def test_emulator_runs_blocks_of_threads_with_barriers(cpu_cuda):
    """A tree reduction in shared memory over 256-thread blocks (fibers switch at
    ``__syncthreads``), and the errors of a barrier only some threads reach."""
    from symgraph.backends.cuda.memory import DeviceArray, empty
    src = r'''
extern "C" __global__ void block_sums(const int n, const float* x, float* out)
{
  __shared__ float buf[256];
  const int t = threadIdx.x;
  float acc = 0;
  for (int i = blockIdx.x * blockDim.x + t; i < n; i += blockDim.x * gridDim.x) acc += x[i];
  buf[t] = acc;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (t < s) buf[t] += buf[t + s];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = buf[0];
}
extern "C" __global__ void divergent(const int n, float* out)
{
  if (threadIdx.x < n) __syncthreads();
  out[threadIdx.x] = 1;
}
'''
    k = _kernel(src, "block_sums", "iPP")
    x = np.arange(5000, dtype="float32") % 7
    xd, out = DeviceArray.from_host(x), empty((4,), np.dtype("float32"))
    k.prepared_call((4, 1, 1), (256, 1, 1), x.size, xd.ptr, out.ptr)
    sums = out.get()
    np.testing.assert_array_equal(sums, np.bincount(np.arange(x.size) // 256 % 4, weights=x))
    bad = _kernel(src, "divergent", "iP")
    out = empty((64,), np.dtype("float32"))
    with pytest.raises(AssertionError, match="skipped a __syncthreads"):
        bad.prepared_call((1, 1, 1), (64, 1, 1), 10, out.ptr)
    bad.prepared_call((1, 1, 1), (64, 1, 1), 64, out.ptr)        # uniform: fine
    with pytest.raises(RuntimeError, match="invalid argument"):
        bad.prepared_call((1, 1, 1), (2048, 1, 1), 64, out.ptr)


def test_emulator_catches_writes_outside_an_allocation(cpu_cuda):
    from symgraph.backends.cuda.memory import empty
    k = _kernel(r'''
extern "C" __global__ void fill_n(const int n, float* out)
{
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
    out[i] = 2;
}
''', "fill_n", "iP")
    out = empty((10,), np.dtype("float32"))
    k.prepared_call((1, 1, 1), (32, 1, 1), 10, out.ptr)
    np.testing.assert_array_equal(out.get(), 2)
    with pytest.raises(AssertionError, match="write outside an allocation.*fill_n"):
        k.prepared_call((1, 1, 1), (32, 1, 1), 11, out.ptr)
    with pytest.raises(struct_error()):         # as pycuda packs the arguments
        k.prepared_call((1, 1, 1), (32, 1, 1), 2 ** 31, out.ptr)


def struct_error():
    import struct
    return struct.error


def test_emulator_reversed_threads_expose_a_racy_scatter(cpu_cuda, monkeypatch):
    """A scatter whose threads simply store ``x[idx[i]] = y[i]`` (set_subtensor's kernel
    before its winner pass), in one pass of its grid, gives NumPy's "last position wins"
    when the emulator runs threads in index order and the first position when it runs them
    reversed: runs in both orders expose a result that depends on thread order."""
    from symgraph.backends.cuda.memory import DeviceArray
    k = _kernel(r'''
extern "C" __global__ void racy_set(const long long n, const long long* idx, const float* y,
                                    float* x)
{
  for (long long i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
    x[idx[i]] = y[i];
}
''', "racy_set", "qPPP")
    idx, y = np.array([1, 0, 1, 1, 0, 2]), np.arange(6, dtype="float32")
    expect = np.zeros(3, "float32")
    expect[idx] = y
    emulator = _sibling("cuda_emulator")
    idx_d, y_d = DeviceArray.from_host(idx), DeviceArray.from_host(y)
    got = {}
    for reverse in (False, True):
        monkeypatch.setattr(emulator, "REVERSE_THREADS", reverse)
        x = DeviceArray.from_host(np.zeros(3, "float32"))
        k.prepared_call((2, 1, 1), (4, 1, 1), idx.size, idx_d.ptr, y_d.ptr, x.ptr)
        got[reverse] = x.get()
    np.testing.assert_array_equal(got[False], expect)
    assert got[True].tolist() == [1, 0, 5] != expect.tolist()


def test_emulated_cublas_checks_its_arguments(cpu_cuda):
    from symgraph.backends.cuda import cublas
    from symgraph.backends.cuda.memory import DeviceArray, empty
    rng = np.random.RandomState(0)
    a, b = rng.rand(5, 4).astype("float32"), rng.rand(3, 4).astype("float32")
    ad, bd = DeviceArray.from_host(a), DeviceArray.from_host(b)
    out = empty((5, 3), np.dtype("float32"))
    cublas.gemm(ad, bd.T, out)                                  # b read transposed (OP_T)
    np.testing.assert_allclose(out.get(), a @ b.T, rtol=1e-6)
    with pytest.raises(cublas.CublasError, match="status 7"):      # lda < rows
        cublas.gemm_cm(cublas.OP_N, cublas.OP_N, 3, 5, 4, bd.ptr, 2, ad.ptr, 4, out.ptr, 3)
    with pytest.raises(AssertionError, match="not inside one allocation"):
        cublas.gemm_cm(cublas.OP_N, cublas.OP_N, 3, 6, 4, bd.ptr, 3, ad.ptr, 4, out.ptr, 3)
    with pytest.raises(AssertionError, match="overlaps"):
        cublas.gemm_cm(cublas.OP_N, cublas.OP_N, 3, 5, 4, bd.ptr, 3, ad.ptr, 4, ad.ptr, 3)
