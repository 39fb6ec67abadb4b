"""The CUDA backend without a GPU: generated sources compile with ``nvcc -ptx``, the CUDA
dialect shares the C renderer, and ``device=cuda`` fails clearly when CUDA is missing."""
from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess

import numpy as np
import pytest

import symgraph
from symgraph.backends.cuda import CudaUnavailable, dialect
from symgraph.backends.cuda.linker import CudaLinker
from symgraph.backends.cuda.lowering import KernelHandle, render_module
from symgraph.opt.fgraph import FunctionGraph


def _load_cases():
    """The sibling module of graphs (tests are imported with --import-mode=importlib)."""
    import pathlib
    path = pathlib.Path(__file__).with_name("test_cuda_cases.py")
    spec = importlib.util.spec_from_file_location("symgraph_test_cuda_cases", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


all_cases = _load_cases().all_cases

NVCC = shutil.which("nvcc")


def _module_source():
    """Every case's kernels, deduplicated by name, as one module."""
    handles = {}
    linker = CudaLinker()
    for name, inputs, outputs, _ in all_cases(np.random.RandomState(0)):
        fg = FunctionGraph(inputs, outputs)
        _, places, steps, ctx = linker.plan(fg)
        handles.update(ctx.handles)
    return render_module(handles.values()), handles


def test_every_op_kind_has_a_kernel():
    _, handles = _module_source()
    stems = {re.sub(r"_[0-9a-f]{10}$", "", n) for n in handles}
    for prefix in ("E_", "R_add", "R_max", "argmax", "argmin", "softmax_", "logsoftmax_",
                   "softmax_grad", "softmax_xent_", "softmax_xent_grad", "gather_", "scatter_inc",
                   "inc_subtensor", "set_subtensor", "im2col", "col2im", "pool_max", "pool_sum",
                   "pool_average_inc_pad", "max_pool_grad", "avg_pool_grad", "mrg_uniform_float32",
                   "mrg_uniform_float64", "copy_"):
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
    for name in handles:           # every kernel is an extern "C" entry point
        assert f".entry {name}(" in ptx


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
    assert places[mul_k.outputs[0]] == "host"
    assert places[fg.outputs[0]] == "device"


@pytest.mark.skipif(importlib.util.find_spec("pycuda") is not None, reason="pycuda is installed")
def test_device_cuda_without_pycuda_raises_clearly():
    old = symgraph.config.device
    with pytest.raises(CudaUnavailable, match="pycuda"):
        symgraph.config.device = "cuda"
    assert symgraph.config.device == old
