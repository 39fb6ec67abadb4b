"""Every Theano 1.0 module path of issue 17 built so far imports and exposes its names;
pkl_utils and unittest_tools work."""
import importlib
import io

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T

PATHS = {
    "symgraph.tensor.nnet.abstract_conv": ["conv2d"],
    "symgraph.tensor.nnet.sigm": ["sigmoid", "softplus", "ultra_fast_sigmoid", "hard_sigmoid"],
    "symgraph.tensor.nnet.nnet": ["softmax", "categorical_crossentropy", "sigmoid", "relu"],
    "symgraph.tensor.nnet.conv": ["conv2d"],
    "symgraph.tensor.signal.pool": ["pool_2d"],
    "symgraph.tensor.signal.conv": ["conv2d"],
    "symgraph.tensor.signal.downsample": ["max_pool_2d"],
    "symgraph.tensor.extra_ops": ["cumsum", "cumprod", "diff", "repeat", "bincount", "squeeze",
                                  "to_one_hot", "fill_diagonal", "fill_diagonal_offset",
                                  "unravel_index", "ravel_multi_index", "searchsorted",
                                  "CumOp"],
    "symgraph.tensor.nlinalg": ["matrix_inverse", "det", "eig", "eigh", "svd", "trace", "pinv",
                                "qr", "matrix_dot", "extract_diag", "alloc_diag",
                                "MatrixInverse"],
    "symgraph.tensor.slinalg": ["cholesky", "solve", "solve_triangular", "expm", "Cholesky",
                                "Solve"],
    "symgraph.tensor.xlogx": ["xlogx", "xlogy0"],
    "symgraph.tensor.sort": ["sort", "argsort", "SortOp", "ArgSortOp"],
    "symgraph.tensor.shared_randomstreams": ["RandomStreams"],
    "symgraph.tensor.elemwise": ["Elemwise", "DimShuffle", "CAReduce"],
    "symgraph.tensor.var": ["TensorVariable", "TensorConstant"],
    "symgraph.tensor.type": ["TensorType"],
    "symgraph.tensor.basic": ["tile", "roll", "diag", "diagonal", "any", "all", "batched_dot",
                              "batched_tensordot", "tensordot", "trace", "sort", "argsort",
                              "cumsum"],
    "symgraph.scalar": ["upcast", "add", "mul", "exp", "ScalarOp", "Composite"],
    "symgraph.gof": ["Op", "Apply", "Variable", "Constant", "FunctionGraph", "graph", "inputs",
                     "toposort", "ancestors"],
    "symgraph.gof.graph": ["Apply", "Variable", "Constant", "inputs", "io_toposort",
                           "ancestors"],
    "symgraph.gof.op": ["Op"],
    "symgraph.gof.fg": ["FunctionGraph"],
    "symgraph.misc.pkl_utils": ["dump", "load"],
    "symgraph.tests.unittest_tools": ["verify_grad", "seed_rng", "fetch_seed"],
    "symgraph.compile.function": ["function"],
    "symgraph.compile.mode": ["Mode", "get_mode"],
    "symgraph.compile.io": ["In", "Out"],
    "symgraph.compile.sharedvalue": ["shared", "SharedVariable"],
}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_module_path_exposes_names(path):
    mod = importlib.import_module(path)
    missing = [n for n in PATHS[path] if not hasattr(mod, n)]
    assert not missing, f"{path} lacks {missing}"
    for name in getattr(mod, "__all__", []):
        assert hasattr(mod, name), f"{path}.__all__ names {name}, which is missing"


def test_tensor_namespace_as_theano():
    assert callable(T.sort) and callable(T.argsort)          # functions, as in Theano
    assert T.xlogx.__name__ == "symgraph.tensor.xlogx"       # a module, as in Theano
    for mod in ("extra_ops", "nlinalg", "slinalg", "elemwise", "nnet", "signal"):
        assert hasattr(T, mod)
    assert T.Elemwise is T.elemwise.Elemwise and T.CAReduce is T.elemwise.CAReduce
    for name in ("tile", "roll", "diag", "diagonal", "any", "all", "batched_dot",
                 "batched_tensordot", "cumsum", "cumprod", "repeat", "bincount",
                 "fill_diagonal", "to_one_hot", "trace"):
        assert callable(getattr(T, name)), name
    assert T.nnet.sigm.sigmoid is T.nnet.sigmoid


def test_scalar_upcast():
    import symgraph.scalar as scal
    assert scal.upcast("int8", "float32") == "float32"
    assert scal.upcast("int32", "int64") == "int64"


def test_gof_graph_utilities():
    from symgraph import gof
    x, y = T.dvectors("x", "y")
    z = T.exp(x) + y
    assert set(gof.graph.inputs([z])) == {x, y}
    nodes = gof.graph.io_toposort([x, y], [z])
    assert nodes[-1] is z.owner
    fg = gof.FunctionGraph([x, y], [z])
    assert len(fg.toposort()) == 2
    assert isinstance(z.owner, gof.Apply) and isinstance(z.owner.op, gof.Op)


def test_pkl_utils_roundtrip(tmp_path):
    from symgraph.misc import pkl_utils
    w = symgraph.shared(np.arange(6.0).reshape(2, 3), name="W")
    obj = {"W": w, "arr": np.ones(4, dtype="int32"), "n": 3}
    path = tmp_path / "model.zip"
    pkl_utils.dump(obj, str(path))
    back = pkl_utils.load(str(path))
    assert back["n"] == 3 and back["W"].name == "W"
    np.testing.assert_array_equal(back["W"].get_value(), w.get_value())
    np.testing.assert_array_equal(back["arr"], obj["arr"])
    import zipfile
    with zipfile.ZipFile(path) as zf:        # arrays are plain .npy members
        npys = [n for n in zf.namelist() if n.endswith(".npy")]
        assert len(npys) == 2
        loaded = [np.load(io.BytesIO(zf.read(n))) for n in npys]
    assert any(a.shape == (2, 3) for a in loaded)
    buf = io.BytesIO()
    pkl_utils.dump([np.zeros(2)], buf)
    buf.seek(0)
    np.testing.assert_array_equal(pkl_utils.load(buf)[0], np.zeros(2))


def test_unittest_tools():
    from symgraph.tests import unittest_tools as utt
    assert utt.fetch_seed() == int(symgraph.config.unittests.rseed)
    assert utt.fetch_seed(5) == 5
    utt.seed_rng()
    a = np.random.rand()
    utt.seed_rng()
    assert np.random.rand() == a
    utt.verify_grad(lambda v: T.tanh(v).sum(), [np.array([0.1, 0.2])], mode="py")
    with pytest.raises(symgraph.gradient.GradientError):
        utt.verify_grad(lambda v: _WrongGrad()(v), [np.array([0.3])], mode="py")
    utt.assert_allclose(np.float32(1.0), np.float32(1.0001))


class _WrongGrad(symgraph.Op):
    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return symgraph.Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] * 2

    def grad(self, inputs, output_grads):
        return [output_grads[0] * 3]
