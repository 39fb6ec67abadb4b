"""Tests for symgraph/ops/subtensor.py: basic and advanced indexing and their inc/set forms."""
import functools

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph import function, shared
from symgraph.ops import subtensor as st

# Gradient graphs are backend-independent: check them on the reference backend (each
# verify_grad compiles several functions). The forward tests use the default backend.
verify_grad = functools.partial(symgraph.verify_grad, mode="py")

A = np.arange(60.0).reshape(5, 4, 3)

BASIC = [
    lambda x: x[1], lambda x: x[-1], lambda x: x[1:3], lambda x: x[::2],
    lambda x: x[::-1], lambda x: x[3:0:-2], lambda x: x[:, 1], lambda x: x[:, :, -1],
    lambda x: x[1, 2], lambda x: x[1, 2, 0], lambda x: x[-2:, 1:, ::2], lambda x: x[10:],
    lambda x: x[..., 1:], lambda x: x[1, ...],
]


@pytest.mark.parametrize("k", range(len(BASIC)))
def test_basic_indexing_forward_and_grad(k, rng):
    fn = BASIC[k]
    x = T.dtensor3("x")
    out = function([x], fn(x))(A)
    np.testing.assert_array_equal(out, fn(A))
    if np.asarray(fn(A)).size:
        verify_grad(fn, [rng.rand(5, 4, 3)], rng=rng)


def test_symbolic_bounds_minibatch_slice():
    """The tutorials' ``data[index * batch_size:(index + 1) * batch_size]``."""
    data = shared(np.arange(40.0).reshape(20, 2), name="data")
    labels = shared(np.arange(20, dtype="int32"), name="labels")
    index = T.lscalar("index")
    batch_size = 6
    x = data[index * batch_size:(index + 1) * batch_size]
    y = labels[index * batch_size:(index + 1) * batch_size]
    f = function([index], [x, y])
    for i in range(4):       # the last batch is short, as with numpy
        bx, by = f(i)
        np.testing.assert_array_equal(bx, np.arange(40.0).reshape(20, 2)[i * 6:(i + 1) * 6])
        np.testing.assert_array_equal(by, np.arange(20)[i * 6:(i + 1) * 6])
        assert by.dtype == np.int32


def test_symbolic_indices_of_every_kind(rng):
    x = T.dtensor3("x")
    i, j = T.iscalars("i", "j")
    k = T.bscalar("k")
    n = T.lscalar("n")
    exprs = [(x[i], A[2]), (x[i, j], A[2, 1]), (x[i:j], A[2:1]), (x[j:i], A[1:2]),
             (x[:, ::k], A[:, ::-1]), (x[n:], A[3:]), (x[:n, j], A[:3, 1]), (x[-n], A[-3]),
             (x[i, :, k], A[2, :, -1])]
    f = function([x, i, j, k, n], [e[0] for e in exprs])
    for out, (_, ref) in zip(f(A, 2, 1, -1, 3), exprs):
        np.testing.assert_array_equal(out, ref)
    g = symgraph.grad(T.sum(x[i:n, j] ** 2), x)
    ref = np.zeros_like(A)
    ref[2:3, 1] = 2 * A[2:3, 1]
    np.testing.assert_array_equal(function([x, i, j, n], g)(A, 2, 1, 3), ref)


def test_grad_with_symbolic_bounds(rng):
    i = shared(np.int64(1), name="i")          # symbolic (shared) bounds and index
    bs = 2
    verify_grad(lambda v: v[i * bs:(i + 1) * bs], [rng.rand(6, 3)], rng=rng)
    verify_grad(lambda v: v[i, i:], [rng.rand(4, 3)], rng=rng)
    verify_grad(lambda v, y: T.inc_subtensor(v[i:i + 2, i], y), [rng.rand(4, 3), rng.rand(2)],
                rng=rng)


def test_index_errors():
    x = T.dvector("x")
    i = T.lscalar("i")
    f = function([x, i], x[i], mode="py")      # the reference backend's message
    with pytest.raises(IndexError, match="out of bounds"):
        f(np.zeros(3), 5)
    with pytest.raises(IndexError, match="too many indices"):
        x[1, 2]


def test_subtensor_structure():
    x = T.dmatrix("x")
    i = T.lscalar("i")
    y = x[i, 1:]
    op = y.owner.op
    assert isinstance(op, st.Subtensor)
    assert op.idx_list == (("int", "s"), ("slice", 1, None, None))
    assert str(op) == "Subtensor[i, 1:]"
    assert op.view_map == {0: [0]}
    assert st.Subtensor(((("int", 1)),)) == st.Subtensor((("int", 1),))
    assert st.describe_index((("slice", "s", None, 2), ("int", 3), ("adv",))) == "[s::2, 3, idx]"
    assert st.build_index((("slice", "s", None, 2), ("int", 3), ("int", "s")), [1, 4]) == \
        (slice(1, None, 2), 3, 4)
    r = T.drow("r")
    assert r[:, 1:].broadcastable == (True, False)
    assert r[1:, :].broadcastable == (False, False)
    assert r[0].broadcastable == (False,)
    storage = [[None]]
    a = np.arange(6.0).reshape(2, 3)
    x[:, 1:].owner.op.perform(x[:, 1:].owner, [a], storage)
    assert np.shares_memory(storage[0][0], a)


@pytest.mark.parametrize("set_instead", [False, True])
def test_inc_set_subtensor_forward(set_instead, rng):
    x = T.dmatrix("x")
    y = T.dvector("y")
    i = T.lscalar("i")
    fn = T.set_subtensor if set_instead else T.inc_subtensor
    a = rng.rand(4, 3)
    v = rng.rand(3)
    exprs = [fn(x[1], y), fn(x[i:], y), fn(x[:, 0], 2.0), fn(x[::2, 1:], 1), fn(x[-1, i], 7)]
    outs = function([x, y, i], exprs)(a, v, 2)
    refs = []
    for region, val in [((1,), v), ((slice(2, None),), v), ((slice(None), 0), 2.0),
                        ((slice(None, None, 2), slice(1, None)), 1), ((-1, 2), 7)]:
        r = a.copy()
        if set_instead:
            r[region] = val
        else:
            r[region] += val
        refs.append(r)
    for out, ref in zip(outs, refs):
        np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("set_instead", [False, True])
def test_inc_set_subtensor_grad(set_instead, rng):
    fn = T.set_subtensor if set_instead else T.inc_subtensor
    a = rng.rand(4, 3)
    verify_grad(lambda x, y: fn(x[1:3], y), [a, rng.rand(2, 3)], rng=rng)
    verify_grad(lambda x, y: fn(x[:, 1], y), [a, rng.rand(4)], rng=rng)
    verify_grad(lambda x, y: fn(x[1:3], y), [a, rng.rand(3)], rng=rng)     # y broadcast
    verify_grad(lambda x, y: fn(x[2, 1], y), [a, rng.rand()], rng=rng)
    verify_grad(lambda x, y: fn(x[::2], y * 2) * x, [a, rng.rand(2, 3)], rng=rng)


def test_inc_subtensor_does_not_modify_input():
    x = T.dvector("x")
    f = function([x], T.inc_subtensor(x[1:], 1.0))
    a = np.zeros(3)
    np.testing.assert_array_equal(f(a), [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(a, [0.0, 0.0, 0.0])


def test_inc_subtensor_casts_and_checks():
    x = T.fvector("x")
    out = T.set_subtensor(x[1:], T.dvector())
    assert out.dtype == "float32"
    f = function([x], T.set_subtensor(x[1:], np.ones(5)), mode="py")
    with pytest.raises(ValueError, match="cannot set region"):
        f(np.zeros(3, dtype="float32"))
    op = st.IncSubtensor((("int", 0),), set_instead_of_inc=True, inplace=True)
    assert op.destroy_map == {0: [0]} and str(op) == "SetSubtensor[0][inplace]"
    assert str(st.IncSubtensor((("int", 0),))) == "IncSubtensor[0]"


def test_advanced_indexing_nll_pattern(rng):
    """``p[T.arange(n), y]`` as in the logistic-regression tutorial."""
    p = T.dmatrix("p")
    y = T.lvector("y")
    probs = rng.rand(5, 3)
    labels = np.array([0, 2, 1, 2, 0])
    picked = p[T.arange(y.shape[0]), y]
    assert picked.ndim == 1
    nll = -T.mean(T.log(picked))
    out, g = function([p, y], [nll, symgraph.grad(nll, p)])(probs, labels)
    np.testing.assert_allclose(out, -np.mean(np.log(probs[np.arange(5), labels])))
    ref = np.zeros_like(probs)
    ref[np.arange(5), labels] = -1.0 / (5 * probs[np.arange(5), labels])
    np.testing.assert_allclose(g, ref)
    verify_grad(lambda q: q[T.arange(5), T.constant(labels)], [probs], rng=rng)


ADVANCED = [
    (lambda x, i: x[i], lambda a, i: a[i]),
    (lambda x, i: x[i, 1], lambda a, i: a[i, 1]),
    (lambda x, i: x[1:, i], lambda a, i: a[1:, i]),
    (lambda x, i: x[i, :, 0], lambda a, i: a[i, :, 0]),
    (lambda x, i: x[0, :, i], lambda a, i: a[0, :, i]),      # separated: advanced dims first
    (lambda x, i: x[i, i], lambda a, i: a[i, i]),
    (lambda x, i: x[i.dimshuffle(0, "x"), i], lambda a, i: a[i[:, None], i]),
]


@pytest.mark.parametrize("k", range(len(ADVANCED)))
def test_advanced_indexing_forward_and_grad(k, rng):
    fn, ref = ADVANCED[k]
    a = rng.rand(3, 3, 3)
    idx = np.array([2, 0, 2])                 # a repeated index: gradients accumulate
    x = T.dtensor3("x")
    i = T.lvector("i")
    y = fn(x, i)
    out = function([x, i], y)(a, idx)
    expected = ref(a, idx)
    np.testing.assert_array_equal(out, expected)
    assert y.ndim == expected.ndim
    verify_grad(lambda v: fn(v, T.constant(idx)), [a], rng=rng)


def test_advanced_indexing_with_list_and_matrix_index():
    x = T.dvector("x")
    m = T.lmatrix("m")
    a = np.arange(5.0) * 10
    out = function([x, m], [x[[4, 0]], x[m]])(a, np.array([[0, 1], [2, 2]]))
    np.testing.assert_array_equal(out[0], [40.0, 0.0])
    np.testing.assert_array_equal(out[1], [[0.0, 10.0], [20.0, 20.0]])
    f = function([x, m], x[m], mode="py")
    with pytest.raises(IndexError, match="index 7 is out of bounds for axis 0 with size 5"):
        f(a, np.array([[7]]))
    with pytest.raises(IndexError, match="out of bounds"):
        f(a, np.array([[-6]]))
    assert str(x[m].owner.op) == "AdvancedSubtensor[idx]"


@pytest.mark.parametrize("set_instead", [False, True])
def test_advanced_inc_set_forward_and_grad(set_instead, rng):
    fn = T.set_subtensor if set_instead else T.inc_subtensor
    x = T.dmatrix("x")
    i = T.lvector("i")
    y = T.dvector("y")
    a = rng.rand(4, 3)
    idx = np.array([1, 3, 1]) if not set_instead else np.array([1, 3])
    vals = rng.rand(3)
    out = function([x, i, y], fn(x[i, 2], y[:len(idx)]))(a, idx, vals)
    ref = a.copy()
    if set_instead:
        ref[idx, 2] = vals[:len(idx)]
    else:
        np.add.at(ref, (idx, 2), vals[:len(idx)])       # repeated indices accumulate
    np.testing.assert_array_equal(out, ref)
    c = T.constant(idx)
    verify_grad(lambda p, q: fn(p[c], q), [a, rng.rand(len(idx), 3)], rng=rng)
    verify_grad(lambda p, q: fn(p[c, 1:], q), [a, rng.rand(2)], rng=rng)   # q broadcast
    assert str(fn(x[i], 1.0).owner.op) == ("AdvancedSetSubtensor[idx]" if set_instead
                                           else "AdvancedIncSubtensor[idx]")


def test_advanced_broadcastable_patterns():
    x = T.dtensor3("x")
    i = T.lvector("i")
    m = T.lmatrix("m")
    assert x[i].broadcastable == (False, False, False)
    assert x[m].broadcastable == (False,) * 4
    assert x[i, 0].broadcastable == (False, False)
    assert x[0, :, i].broadcastable == (False, False)
    assert x[:, i, i].broadcastable == (False, False)
    assert T.dvector()[T.lrow()].broadcastable == (True, False)
