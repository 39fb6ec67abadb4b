"""The CUDA backend without a GPU: generated sources compile with ``nvcc -ptx``, their
parameters (64-bit for every count, size, stride and offset) match their launch formats,
the CUDA dialect shares the C renderer, and ``device=cuda`` fails clearly when CUDA is
missing.

The bounds checks of device indices are also run for real: :class:`CpuCuda` stands in for
pycuda (device memory is host memory, the generated CUDA C is built by the host C++
compiler), so whole compiled functions, the CUDA linker's error word and its update
commit included, run on the CPU.
"""
from __future__ import annotations

import importlib.util
import inspect
import pathlib
import re
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

import symgraph
from symgraph.backends.cuda import CudaUnavailable, dialect
from symgraph.backends.cuda.linker import CudaLinker
from symgraph.backends.cuda.lowering import DEVICE, HOST, KernelHandle, render_module
from symgraph.graph.fgraph import FunctionGraph


def _sibling(name):
    """A helper module next to this file, imported once per process whatever pytest's
    import mode (by file, as test_cuda_gpu.py loads test_cuda_cases)."""
    mod = sys.modules.get(name)
    if mod is None:
        path = pathlib.Path(__file__).with_name(name + ".py")
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return mod


all_cases = _sibling("test_cuda_cases").all_cases
cpu_cuda = _sibling("cuda_emulator").cpu_cuda

NVCC = shutil.which("nvcc")


def _extra_kernels():
    """Kernels no case of test_cuda_cases renders: the scatter of set_subtensor on an advanced
    index, and the guarded write-backs of graph updates (they need GPU shared variables)."""
    from symgraph.backends.cuda.lower.subtensor import render_guarded_copy
    from symgraph.backends.cuda.lowering import BuildContext
    T = symgraph.tensor
    x, v, y = T.fmatrix("x"), T.fvector("v"), T.lvector("y")
    fg = FunctionGraph([x, v, y], [T.set_subtensor(x[y], v.dimshuffle("x", 0))])
    _, _, _, ctx = CudaLinker().plan(fg)
    extra = BuildContext({})
    for size in (1, 2, 4, 8):
        extra.kernel(f"guarded_copy_{size}", render_guarded_copy(size), "qPPP")
    return {**ctx.handles, **extra.handles}


def _module_source():
    """Every case's kernels, deduplicated by name, as one module."""
    handles = {}
    linker = CudaLinker()
    for name, inputs, outputs, _ in all_cases(np.random.RandomState(0)):
        fg = FunctionGraph(inputs, outputs)
        _, places, steps, ctx = linker.plan(fg)
        handles.update(ctx.handles)
    handles.update(_extra_kernels())
    return render_module(handles.values()), handles


def test_every_op_kind_has_a_kernel():
    _, handles = _module_source()
    stems = {re.sub(r"_[0-9a-f]{10}$", "", n) for n in handles}
    for prefix in ("E_", "R_add", "R_max", "argmax", "argmin", "softmax_", "logsoftmax_",
                   "softmax_grad", "softmax_xent_", "softmax_xent_grad", "gather_", "scatter_inc",
                   "inc_subtensor", "set_subtensor", "im2col", "col2im", "pool_max", "pool_sum",
                   "pool_average_inc_pad", "max_pool_grad", "avg_pool_grad", "mrg_uniform_float32",
                   "mrg_uniform_float64", "copy_", "scatter_set", "scatter_winner",
                   "guarded_copy_4"):
        assert any(s.startswith(prefix) for s in stems), (prefix, sorted(stems))


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
def test_generated_module_compiles_with_nvcc(tmp_path):
    source, handles = _module_source()
    path = tmp_path / "symgraph_all.cu"
    path.write_text(source)
    out = subprocess.run([NVCC, "-ptx", "-arch=sm_90", "-O3", str(path), "-o",
                          str(tmp_path / "all.ptx")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-4000:]
    ptx = (tmp_path / "all.ptx").read_text()
    for name, h in handles.items():     # every kernel is an extern "C" entry point ...
        entry = re.search(r"\.entry %s\(([^)]*)\)" % name, ptx)
        assert entry, name
        # ... whose parameters have the sizes its launch format packs (a 64-bit count
        # passed as "i", or an int as "q", would be read wrongly by the GPU)
        widths = [int(w) // 8 for w in re.findall(r"\.param \.[a-z]+?(\d+)", entry.group(1))]
        assert widths == [struct.calcsize(c) for c in h.arg_format], (name, h.arg_format)


# launch-format letter of each C parameter type of a kernel
_FORMAT_OF = {"long long": "q", "unsigned long long": "Q", "int": "i", "unsigned int": "I",
              "short": "h", "unsigned short": "H", "signed char": "b", "unsigned char": "B",
              "float": "f", "double": "d"}
# int parameters allowed: flags, the error site, dimension counts, and one image's sides
# (convolution, pooling); every element count, size, stride or offset is 64-bit
_INT_PARAMS = {"site", "path", "phase", "nk", "nr", "C", "H", "W", "kh", "kw", "oh", "ow",
               "ph_", "pw_"}


def _kernel_params(source, name):
    """[(C type, name)] of the parameters of kernel ``name`` in ``source``."""
    m = re.search(r'extern "C" __global__ void %s\(([^)]*)\)' % name, source)
    out = []
    for p in m.group(1).split(","):
        p = p.replace("__restrict__", "").replace("const ", "").strip()
        if "*" in p:
            out.append(("pointer", p.split("*")[-1].strip()))
        else:
            ctype, pname = p.rsplit(" ", 1)
            out.append((ctype.strip(), pname))
    return out


def test_kernel_parameters_are_64_bit_and_match_their_launch_formats():
    _, handles = _module_source()
    for name, h in handles.items():
        params = _kernel_params(h.source, name)
        fmt = "".join("P" if t == "pointer" else _FORMAT_OF[t] for t, _ in params)
        assert fmt == h.arg_format, (name, fmt, h.arg_format)
        narrow = [p for t, p in params if t == "int" and p not in _INT_PARAMS]
        assert not narrow, (name, narrow)


def test_grid_stride_loops_count_in_64_bits():
    """Every loop over a launch's threads (started at the thread's global index) counts in
    ``long long``, and no ``int`` takes the flat index or a quotient of it (coordinates
    computed as ints are remainders below one image's side), except in the elementwise
    kernels' ``path == 2`` branch, which launches take only when everything fits."""
    _, handles = _module_source()
    n_int_path = 0
    for name, h in handles.items():
        loops = re.findall(r"for \(([\w ]+?) (\w+) = (?:\(long long\))?\(?blockIdx", h.source)
        assert loops and {t for t, _ in loops} == {"long long"}, (name, loops)
        lines = h.source.splitlines()
        for k, line in enumerate(lines):
            for _, var in loops:
                if re.search(r"\bint \w+ = \(?(?:int\))?\(?%s\b(?! - )" % var, line):
                    assert lines[k - 1].strip() == "if (path == 2) {", (name, lines[k - 1:k + 1])
                    n_int_path += 1
            assert not re.search(r"\bint (r|row) = (?!\(int\)i,)", line), (name, line)
    assert n_int_path > 0


def test_launch_formats_of_each_kernel_family():
    """The prepared formats: element counts, sizes and strides are ``q`` (64-bit)."""
    from symgraph.backends.cuda.lower.conv import GEOM_FORMAT as CONV
    from symgraph.backends.cuda.lower.elemwise import arg_format
    from symgraph.backends.cuda.lower.pool import GEOM_FORMAT as POOL
    from symgraph.backends.cuda.lower.reduce import arg_format as reduce_format
    assert arg_format(["float32", "float32"], ["array", "scalar"], 1, 2) == "qiqqPqqPqqf"
    assert reduce_format(2) == "qqii" + "q" * 8 + "PP"
    assert CONV == "qiiiiiiiii" and POOL == "qiiii"
    _, handles = _module_source()
    by_stem = {re.sub(r"_[0-9a-f]{10}$", "", n): h.arg_format for n, h in handles.items()}
    assert by_stem["gather_float32_2"] == "qqqqPPPPPi"
    assert by_stem["scatter_inc_float32_1"] == "qqqPPqqPPi"
    assert by_stem["scatter_set_float32_1"] == "qqqPPqqPPPi"
    assert by_stem["scatter_winner_1"] == "qqPPi"
    for stem in ("softmax_float32", "logsoftmax_float32", "softmax_grad_float32",
                 "softmax_xent_float32_int32", "softmax_xent_grad_float32_int32",
                 "mrg_uniform_float32"):
        assert by_stem[stem].startswith("qq"), (stem, by_stem[stem])


def test_kernel_names_say_what_they_compute():
    _, handles = _module_source()
    assert any(re.match(r"E_mul_tanh_\w+_2d_[0-9a-f]{10}$", n) for n in handles), sorted(handles)
    h = next(iter(handles.values()))
    assert isinstance(h, KernelHandle) and 'extern "C" __global__ void ' + h.name in h.source


def test_cuda_dialect_is_the_c_renderer():
    c_render = pytest.importorskip("symgraph.backends.c.render")
    assert issubclass(dialect.CudaDialect, c_render.Dialect)
    assert dialect.SCALAR_TABLE is c_render.SCALAR_RULES
    assert dialect.DIALECT.kernel_prefix.startswith('extern "C" __global__')


def test_placement_keeps_shape_arithmetic_on_host():
    x = symgraph.tensor.fmatrix("x")
    k = symgraph.tensor.lscalar("k")
    fg = FunctionGraph([x, k], [x[k * 2:] * 3])
    _, places, steps, _ = CudaLinker().plan(fg)
    mul_k = [n for n, _ in steps if n.inputs and n.inputs[0] is k][0]
    assert places[mul_k.outputs[0]] == HOST
    assert places[fg.outputs[0]] == DEVICE


@pytest.mark.skipif(importlib.util.find_spec("pycuda") is not None, reason="pycuda is installed")
def test_device_cuda_without_pycuda_raises_clearly():
    old = symgraph.config.device
    with pytest.raises(CudaUnavailable, match="pycuda"):
        symgraph.config.device = "cuda"
    assert symgraph.config.device == old


def test_kernel_names_are_a_parameter_not_a_placeholder():
    """Kernels are rendered as templates naming themselves by the field ``${name}``
    (dialect.name_kernel): no registered source keeps the old ``KERNEL`` placeholder or a
    field, and a source still spelling its name ``KERNEL`` is refused."""
    from symgraph.backends.cuda.lowering import BuildContext
    _, handles = _module_source()
    for name, h in handles.items():
        assert not re.search(r"\bKERNEL", h.source), name
        assert "$" not in h.source, name
        assert f'extern "C" __global__ void {name}(' in h.source, name
    old = 'extern "C" __global__ void KERNEL(long long n) { }'
    with pytest.raises(ValueError):
        BuildContext({}).kernel("old", old, "q")
    with pytest.raises(ValueError):
        dialect.name_kernel(dialect.render_kernel(["long long n"], []), "not an identifier")
    with pytest.raises(KeyError):
        dialect.name_kernel(dialect.render_kernel(["long long n"], ["  ${other};"]), "k")
    assert dialect.name_kernel(dialect.render_kernel(["long long n"], []), "k").startswith(
        'extern "C" __global__ void k(long long n)')


def test_index_reading_kernels_check_their_indices():
    """Every kernel that reads an index takes the error word and compares the index with
    the size of its axis before using it."""
    from symgraph.backends.cuda.lower.subtensor import render_gather
    from symgraph.backends.cuda.lower.nnet import render_xent, render_xent_grad
    for src, checks in [
            (render_gather("float32", ["int64", "int32"]), ["v < 0 || v >= d0", "v < 0 || v >= d1",
                                                            "out[i] = ok ? x[off]"]),
            (render_gather("float32", ["int64"], "inc"), ["v < 0 || v >= d0", "if (ok) atomicAdd"]),
            (render_gather("float64", ["uint8"], "set"), ["v < 0 || v >= d0", "if (ok) x[off]",
                                                          "win[off] != row"]),
            (render_xent("float32", "int32"), ["c >= 0 && c < K"]),
            (render_xent_grad("float32", "int64"), ["c < 0 || c >= K"])]:
        assert "long long* err, const int site)" in src, src
        assert "${name}_bad_index(err, site," in src and "atomicCAS" in src, src
        for c in checks:
            assert c in src, (c, src)


# ---------------------------------------------------------------- the CUDA backend on the CPU
# (the emulator, CpuCuda and its fixture cpu_cuda, lives in cuda_emulator.py)


def _here():
    return inspect.currentframe().f_back.f_lineno


def _built_at(line):
    return f'File "{__file__}", line {line}'


def _cuda(graphs=True, optimizer="fast_run", **kw):
    from symgraph.compile.mode import CudaMode
    return CudaMode(graphs=graphs, optimizer=optimizer, **kw)


PY = symgraph.compile.mode.Mode("py")


def test_cpu_cuda_runs_the_backend(cpu_cuda):
    """The emulation itself: a function with a reduction, a softmax and a dot matches the
    reference, node by node and as a replayed graph."""
    T = symgraph.tensor
    x, w = T.fmatrix("x"), T.fmatrix("w")
    out = [T.nnet.softmax(T.dot(x, w)).sum(axis=0), T.tanh(x).max(axis=1)]
    X, Wv = np.random.RandomState(0).rand(2, 6, 6).astype("float32")
    ref = symgraph.function([x, w], out, mode=PY)(X, Wv)
    f = symgraph.function([x, w], out, mode=_cuda())
    for _ in range(3):
        for r, g in zip(ref, f(X, Wv)):
            np.testing.assert_allclose(g, r, rtol=1e-5)
    assert f.maker.thunk.graph_runner.n_replays == 2 and cpu_cuda.n_launches > 0


@pytest.mark.parametrize("optimizer", [None, "fast_run"])
def test_cpu_bad_label_in_advanced_index_raises(cpu_cuda, optimizer):
    T = symgraph.tensor
    p, y = T.fmatrix("p"), T.lvector("y")
    picked = p[T.arange(y.shape[0]), y]; line = _here()  # noqa: E702
    f = symgraph.function([p, y], picked * 2, mode=_cuda(optimizer=optimizer))
    P = np.random.RandomState(1).rand(4, 10).astype("float32")
    good = np.array([0, 9, 3, 1])
    for labels in (good, good, np.array([0, 9, 10, 1]), good, np.array([-11, 0, 0, 0]), good):
        if labels.min() >= -10 and labels.max() < 10:
            np.testing.assert_array_equal(f(P, labels), P[np.arange(4), labels] * 2)
            continue
        with pytest.raises(IndexError) as info:
            f(P, labels)
        msg = str(info.value)
        bad = labels[(labels < -10) | (labels >= 10)][0]
        for fragment in ("AdvancedSubtensor", "(4, 10)", _built_at(line),
                         f"index {bad} is out of bounds for axis 1 with size 10"):
            assert fragment in msg, (fragment, msg)
    assert f.maker.thunk.index_errors.read() is None        # left clear


def test_cpu_negative_indices_follow_the_reference(cpu_cuda):
    _sibling("test_cuda_cases").check_negative_indices(_cuda, PY)


def test_cpu_index_checked_when_nothing_is_moved(cpu_cuda):
    T = symgraph.tensor
    x, idx = T.fmatrix("x"), T.lvector("idx")
    f = symgraph.function([x, idx], x[idx], mode=_cuda())
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 0 with size 2"):
        f(np.ones((2, 0), "float32"), np.array([5]))
    assert f(np.ones((2, 0), "float32"), np.array([1, -2])).shape == (2, 0)


def _logreg(graphs, mode=None, **kw):
    """test_cuda_cases' softmax regression step, on the emulated CUDA backend unless ``mode``."""
    return _sibling("test_cuda_cases").logistic_regression(mode or _cuda(graphs=graphs, **kw))


@pytest.mark.parametrize("graphs", [False, True])
def test_cpu_bad_class_label_leaves_shared_variables_unchanged(cpu_cuda, graphs):
    from symgraph.backends.cuda.shared import CudaSharedVariable
    f, shared, built_at = _logreg(graphs)
    ref, ref_shared, _ = _logreg(graphs, mode=PY)
    assert all(isinstance(v, CudaSharedVariable) for v in shared)
    fg = f.maker.fgraph
    destroyed = {n.inputs[i] for n in fg.apply_nodes for ins in n.op.destroy_map.values()
                 for i in ins}
    assert shared[2] in destroyed, \
        "the test wants an update the inplace pass writes into the shared variable's buffer"
    _sibling("test_cuda_cases").check_bad_labels_commit_nothing(f, ref, shared, ref_shared, built_at)
    if graphs:
        runner = f.maker.thunk.graph_runner
        assert len(runner.graphs) == 1 and runner.n_replays >= 4, (runner.graphs, runner.n_replays)


def test_cpu_index_error_wins_over_the_nan_it_causes(cpu_cuda):
    f, shared, _ = _logreg(False, nan_guard=True)
    X = np.ones((2, 6), "float32")
    with pytest.raises(IndexError, match="class index 12 is out of range for 10 classes"):
        f(X, np.array([0, 12], "int32"))
    f(X, np.array([0, 1], "int32"))


def test_cpu_every_index_reading_node_reports(cpu_cuda):
    """The scatter (inc and set) and the cross-entropy gradient alone, and rows of 0 classes."""
    from symgraph.ops.nnet import softmax_cross_entropy, softmax_cross_entropy_grad
    T = symgraph.tensor
    x, v, idx = T.fmatrix("x"), T.fvector("v"), T.lvector("idx")
    z, g, y = T.fmatrix("z"), T.fvector("g"), T.ivector("y")
    X, V = np.zeros((4, 3), "float32"), np.ones(3, "float32")
    Z, G = np.zeros((2, 4), "float32"), np.ones(2, "float32")
    row = v.dimshuffle("x", 0)
    labels = lambda *c: np.array(c, "int32")  # noqa: E731
    cases = [   # inputs, output, good arguments, bad arguments, op, message
        ([x, v, idx], T.inc_subtensor(x[idx], row), (X, V, np.array([1, -4])),
         (X, V, np.array([1, 4])), "AdvancedIncSubtensor",
         "index 4 is out of bounds for axis 0 with size 4"),
        ([x, v, idx], T.set_subtensor(x[idx], row), (X, V, np.array([0, 3])),
         (X, V, np.array([-5, 3])), "AdvancedSetSubtensor",
         "index -5 is out of bounds for axis 0 with size 4"),
        ([z, g, y], softmax_cross_entropy_grad(g, T.nnet.softmax(z), y), (Z, G, labels(3, 0)),
         (Z, G, labels(0, 4)), "SoftmaxCrossEntropyGrad",
         "class index 4 is out of range for 4 classes"),
        ([z, y], softmax_cross_entropy(z, y)[0], (Z, labels(3, 0)),
         (np.zeros((2, 0), "float32"), labels(0, 0)), "SoftmaxCrossEntropy",
         "class index 0 is out of range for 0 classes"),
    ]
    for inputs, out, good, bad, op, fragment in cases:
        ref = symgraph.function(inputs, out, mode=PY)
        f = symgraph.function(inputs, out, mode=_cuda())
        for _ in range(3):
            np.testing.assert_allclose(f(*good), ref(*good), rtol=1e-6)
        for fn in (ref, f):
            with pytest.raises(IndexError) as info:
                fn(*bad)
            assert op in str(info.value) and fragment in str(info.value), str(info.value)
        np.testing.assert_allclose(f(*good), ref(*good), rtol=1e-6)


def test_node_destroying_a_graph_input_is_lowered_without_destroying():
    """An inplace update of a shared variable runs out of place (its non-inplace op, or on a
    copy of the input for an op without one): the variable is unchanged until the commit."""
    from symgraph.backends.cuda.linker import _copying_inputs, _keeping_graph_inputs
    from symgraph.graph import Apply, Op
    from symgraph.ops.elemwise import Elemwise
    from symgraph.ops import scalar as ps
    T = symgraph.tensor
    s = symgraph.shared(np.zeros(3), name="s")
    node = Elemwise(ps.add, {0: 0}).make_node(s, T.as_tensor_variable(np.ones(3)))
    lowered, copy_first = _keeping_graph_inputs(node)
    assert not lowered.op.destroy_map and not copy_first and lowered.inputs == node.inputs

    class Bump(Op):         # no non-destroying form
        destroy_map = {0: [0]}

    odd = Apply(Bump(), [s], [s.type()])
    lowered, copy_first = _keeping_graph_inputs(odd)
    assert lowered is odd and list(copy_first) == [0]
    from symgraph.backends.cuda.lowering import Step

    def bump(ins):
        ins[0] += 1
        return [ins[0]]
    value = np.zeros(3)
    out = _copying_inputs(Step(bump, ["host"], ["host"]), [0]).run([value])
    assert out[0].tolist() == [1, 1, 1] and value.tolist() == [0, 0, 0]
