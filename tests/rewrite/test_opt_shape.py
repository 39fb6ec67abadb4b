"""Tests for symgraph/opt/shape.py (named test_opt_shape: tests/ops has a test_shape): shape inference and the shape rewrites."""
import numpy as np

import symgraph as th
import symgraph.tensor as T
from symgraph.compile.mode import Mode
from symgraph.ops.shape import Shape_i
from symgraph.graph.fgraph import FunctionGraph
from symgraph.rewrite.shape import shape_of

from opt_models import assert_same_values, compile_both, op_names

RNG = np.random.RandomState(0)


def test_shape_of_follows_infer_shape_to_the_inputs():
    x, w = T.dmatrix("x"), T.dmatrix("w")
    y = T.tanh(T.dot(x, w)).dimshuffle(1, "x", 0)
    fg = FunctionGraph([x, w], [y])
    dims = shape_of(fg, fg.outputs[0])
    assert dims[1].data == 1
    for d, (var, axis) in zip((dims[0], dims[2]), ((w, 1), (x, 0))):
        assert isinstance(d.owner.op, Shape_i) and d.owner.op.i == axis and d.owner.inputs[0] is var


def test_x_shape_0_becomes_shape_i_of_an_input():
    x, w = T.dmatrix("x"), T.dmatrix("w")
    h = T.exp(T.dot(x, w))
    f, ref = compile_both([x, w], h.shape[0] * 2 + h.shape[1])
    names = op_names(f)
    assert "Dot" not in names and "exp" not in names and "Shape" not in names
    assert "Shape_i" in names
    assert_same_values(f, ref, RNG.rand(3, 4), RNG.rand(4, 5))


def test_shape_vector_of_intermediate():
    x = T.dmatrix("x")
    h = T.exp(x).T
    f, ref = compile_both([x], h.shape)
    assert "exp" not in op_names(f) and "Shape" not in op_names(f)
    assert list(f(RNG.rand(2, 5))) == [5, 2]


def test_mean_gradient_does_not_recompute_intermediates_for_their_shape():
    x = T.dmatrix("x")
    h = T.tanh(x) * 3
    g = T.grad(T.mean(h), x)
    f, ref = compile_both([x], g)
    fg = f.maker.fgraph
    # h (tanh(x) * 3) is not needed by the gradient: only x's shape is
    for node in fg.apply_nodes:
        if type(node.op).__name__ == "Shape_i":
            assert node.inputs[0] is x
    assert "Shape" not in op_names(f) and "Alloc" not in op_names(f)
    assert_same_values(f, ref, RNG.rand(3, 4))


def test_shape_of_reshape_and_broadcastable_dims():
    x = T.dvector("x")
    m = T.reshape(x, (2, -1))
    f, ref = compile_both([x], m.shape[1] + T.shape_padleft(x).shape[0])
    assert "Reshape" not in op_names(f)
    assert f(np.arange(6.0)) == ref(np.arange(6.0)) == 4


def test_shape_without_rewrites_keeps_working():
    x = T.dmatrix("x")
    f = th.function([x], T.exp(x).shape[0], mode=Mode(linker="py").excluding("shape"))
    assert "Shape" in op_names(f)
    assert f(np.ones((3, 2))) == 3
