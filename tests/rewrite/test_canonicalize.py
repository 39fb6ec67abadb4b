"""Tests for symgraph/opt/canonicalize.py: each rewrite changes the graph as documented and
leaves the values unchanged (compared with optimizer=None)."""
import numpy as np
import pytest

import symgraph as th
import symgraph.tensor as T
from symgraph.compile.mode import Mode
from symgraph.ops import scalar as ps
from symgraph.ops.elemwise import Elemwise
from symgraph.ops.shape import Rebroadcast

from opt_models import assert_same_values, op_names, py_modes

RNG = np.random.RandomState(1)
NO_FUSION = Mode(linker="py").excluding("fusion", "inplace")


def both(inputs, outputs, mode=NO_FUSION):
    """(rewritten without fusion, reference) functions."""
    return (th.function(inputs, outputs, mode=mode),
            th.function(inputs, outputs, mode=py_modes()[1]))


def check(inputs, outputs, *args, mode=NO_FUSION):
    f, ref = both(inputs, outputs, mode)
    assert_same_values(f, ref, *args)
    full = th.function(inputs, outputs, mode=Mode(linker="py"))
    assert_same_values(full, ref, *args)
    return op_names(f)


@pytest.mark.parametrize("build", [
    lambda x: x * 1, lambda x: 1 * x, lambda x: x + 0, lambda x: 0 + x,
    lambda x: x - 0, lambda x: x / 1, lambda x: x ** 1,
])
def test_local_useless_elemwise(build):
    x = T.dmatrix("x")
    names = check([x], T.exp(build(x)), RNG.rand(2, 3))
    assert names == ["exp"]


def test_useless_elemwise_keeps_broadcasting_ops():
    x = T.drow("x")
    ones = T.constant(np.ones((3, 4)))
    names = check([x], x * ones, RNG.rand(1, 4))
    assert names == ["mul"]        # x * ones broadcasts x: not useless


def test_local_sub_self():
    x = T.dmatrix("x")
    names = check([x], T.exp(x) - T.exp(x) + 1, RNG.rand(2, 3))
    assert "sub" not in names and "exp" not in names


def test_local_double_neg():
    x = T.dvector("x")
    assert check([x], T.exp(-(-x)), RNG.rand(3)) == ["exp"]


def test_local_useless_cast():
    x = T.dvector("x")
    y = Elemwise(ps.cast_op("float64"))(x)
    assert check([x], T.exp(y), RNG.rand(3)) == ["exp"]


def test_local_useless_dimshuffle_and_transpose_of_transpose():
    x = T.dmatrix("x")
    assert check([x], T.exp(x.dimshuffle(0, 1)), RNG.rand(2, 3)) == ["exp"]
    assert check([x], T.exp(x.T.T), RNG.rand(2, 3)) == ["exp"]


def test_local_dimshuffle_compose():
    v = T.dvector("v")
    y = v.dimshuffle("x", 0).dimshuffle(1, 0)
    f, ref = both([v], y)
    nodes = f.maker.fgraph.toposort()
    assert len(nodes) == 1 and nodes[0].op.new_order == (0, "x")
    assert_same_values(f, ref, RNG.rand(3))


def test_local_dimshuffle_lift():
    v, m = T.dvector("v"), T.dmatrix("m")
    y = T.exp(v).dimshuffle(0, "x") * m
    f, _ = both([v, m], y)
    ds = [n for n in f.maker.fgraph.toposort() if type(n.op).__name__ == "DimShuffle"]
    assert ds and ds[0].inputs[0] is v          # the DimShuffle moved below exp
    check([v, m], y, RNG.rand(3), RNG.rand(3, 2), mode=Mode(linker="py"))


def test_local_subtensor_lift():
    """The seeds' T.cast(shared_labels, 'int32') sliced by givens: only the slice is cast."""
    labels = th.shared(np.arange(10.0), name="labels")
    i = T.lscalar("i")
    y = T.cast(labels, "int32")[i * 3:(i + 1) * 3]
    f, ref = both([i], y)
    cast = f.maker.fgraph.outputs[0].owner
    assert cast.op.scalar_op.name == "cast_int32"
    assert type(cast.inputs[0].owner.op).__name__ == "Subtensor"
    assert cast.inputs[0].owner.inputs[0] is labels
    assert_same_values(f, ref, 1)
    x = T.dvector("x")
    g, gref = both([x], [T.exp(x)[1:], T.exp(x)])     # exp(x) used twice: not lifted
    assert op_names(g).count("exp") == 1
    assert_same_values(g, gref, RNG.rand(4))


def test_local_useless_reshape():
    x = T.dmatrix("x")
    assert check([x], T.exp(x.reshape(x.shape)), RNG.rand(2, 3)) == ["exp"]
    assert check([x], T.exp(x.reshape((x.shape[0], -1))), RNG.rand(2, 3)) == ["exp"]
    assert "Reshape" in check([x], T.exp(x.reshape((x.shape[1], -1))), RNG.rand(2, 3))


def test_local_reshape_chain():
    x = T.dmatrix("x")
    names = check([x], x.reshape((6,)).reshape((3, 2)), RNG.rand(2, 3))
    assert names.count("Reshape") == 1


def test_local_useless_rebroadcast():
    x = T.dmatrix("x")
    y = Rebroadcast((False, False))(x)
    assert check([x], T.exp(y), RNG.rand(2, 3)) == ["exp"]


def test_local_sum_sum():
    x = T.dtensor3("x")
    y = x.sum(axis=0).sum(axis=1)
    f, ref = both([x], y)
    nodes = f.maker.fgraph.toposort()
    assert len(nodes) == 1 and nodes[0].op.axis == (0, 2)
    assert_same_values(f, ref, RNG.rand(2, 3, 4))


def test_local_fill_to_alloc_drops_the_shape_source():
    x = T.dmatrix("x")
    names = check([x], T.fill(T.exp(x), 2.0), RNG.rand(2, 3))
    assert "exp" not in names and "second" not in names and "Alloc" in names
    y = T.dmatrix("y")
    names = check([x, y], T.fill(x, y * 2), RNG.rand(2, 3), RNG.rand(2, 3))
    assert "second" in names      # shapes of x and y*2 unknown to be equal: fill stays
    names = check([x], T.fill(x, x * 2), RNG.rand(2, 3))
    assert names == ["mul"]


def test_local_useless_alloc():
    v = T.dvector("v")
    names = check([v], T.exp(T.alloc(v, v.shape[0])), RNG.rand(3))
    assert names == ["exp"]


def test_local_elemwise_alloc():
    x = T.dmatrix("x")
    s = T.dscalar("s")
    names = check([x, s], T.alloc(s, x.shape[0], x.shape[1]) * x, RNG.rand(2, 3), 1.5)
    assert "Alloc" not in names and "mul" in names


def test_local_alloc_lift():
    s = T.dscalar("s")
    n = T.lscalar("n")
    f, ref = both([s, n], T.exp(T.alloc(s, n, 3)) * 2)
    order = op_names(f)
    assert order[-1] == "Alloc"          # exp and * 2 run on the scalar, then one Alloc
    assert_same_values(f, ref, 0.5, 4)


@pytest.mark.parametrize("power, name", [(2, "sqr"), (0.5, "sqrt"), (-1, "inv")])
def test_local_pow_specialize(power, name):
    x = T.dvector("x")
    names = check([x], x ** power, RNG.rand(3) + 0.5)
    assert names == [name]


def test_local_mul_neg_one():
    x = T.dvector("x")
    assert check([x], x * -1, RNG.rand(3)) == ["neg"]
