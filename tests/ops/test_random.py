"""Tests of symgraph/ops/random.py and the streams built on it.

RandomStreams draws are checked against numpy's RandomState directly (the
seeding scheme is Theano's), MRG draws against a scalar Python-int
implementation of the MRG31k3p recurrence written independently here.
"""
import numpy as np
import pytest

import symgraph as theano
import symgraph.tensor as T
from symgraph import function, shared
from symgraph.ops.random import RandomFunction, mrg_to_float
from symgraph.sandbox.rng_mrg import MRG_RandomStreams, guess_n_streams
from symgraph.tensor import raw_random
from symgraph.tensor.shared_randomstreams import RandomStreams


# ------------------------------------------------------------------ RandomStreams

def fx(a):
    """A float64 numpy reference rounded to floatX, as the draws are."""
    return np.asarray(a, dtype=theano.config.floatX)


def test_tutorial_snippet():
    srng = RandomStreams(seed=234)
    rv_u = srng.uniform((2, 2))
    rv_n = srng.normal((2, 2))
    f = function([], rv_u)
    g = function([], rv_n, no_default_updates=True)
    nearly_zeros = function([], rv_u + rv_u - 2 * rv_u)
    a, b = f(), f()
    assert a.shape == (2, 2) and not np.allclose(a, b)
    np.testing.assert_array_equal(g(), g())
    np.testing.assert_allclose(nearly_zeros(), np.zeros((2, 2)), atol=1e-12)


def test_draws_follow_theano_seeding():
    """Draw k gets RandomState(RandomState(seed).randint(2**30) as the k-th value)."""
    srng = RandomStreams(seed=234)
    rv_u = srng.uniform((2, 2))
    rv_n = srng.normal((3,))
    seedgen = np.random.RandomState(234)
    ref_u = np.random.RandomState(seedgen.randint(2 ** 30))
    ref_n = np.random.RandomState(seedgen.randint(2 ** 30))
    f = function([], [rv_u, rv_n])
    for _ in range(2):  # the state advances exactly as numpy's
        u, n = f()
        np.testing.assert_array_equal(u, fx(ref_u.uniform(size=(2, 2))))
        np.testing.assert_array_equal(n, fx(ref_n.normal(size=(3,))))


def test_reseed_one_draw():
    srng = RandomStreams(seed=234)
    rv_u = srng.uniform((2, 2))
    f = function([], rv_u)
    f()
    rng_val = rv_u.rng.get_value(borrow=True)
    rng_val.seed(89234)
    rv_u.rng.set_value(rng_val, borrow=True)
    first = f()
    np.testing.assert_array_equal(first, fx(np.random.RandomState(89234).uniform(size=(2, 2))))
    rv_u.rng.get_value(borrow=True).seed(89234)
    np.testing.assert_array_equal(f(), first)


def test_srng_seed_reseeds_all_draws():
    srng = RandomStreams(seed=234)
    rv_u = srng.uniform((2, 2))
    rv_n = srng.normal((2, 2))
    f = function([], [rv_u, rv_n])
    srng.seed(902340)
    u1, n1 = f()
    f()
    srng.seed(902340)
    u2, n2 = f()
    np.testing.assert_array_equal(u1, u2)
    np.testing.assert_array_equal(n1, n2)
    seedgen = np.random.RandomState(902340)
    np.testing.assert_array_equal(
        u1, fx(np.random.RandomState(seedgen.randint(2 ** 30)).uniform(size=(2, 2))))


def test_copy_random_state_between_graphs():
    class Graph:
        def __init__(self, seed):
            self.rng = RandomStreams(seed)
            self.y = self.rng.uniform(size=(1,))

    g1, g2 = Graph(123), Graph(987)
    f1, f2 = function([], g1.y), function([], g2.y)
    assert f1()[0] != f2()[0]
    for su1, su2 in zip(g1.rng.state_updates, g2.rng.state_updates):
        su2[0].set_value(su1[0].get_value())
    np.testing.assert_array_equal(f1(), f2())


def test_perform_does_not_mutate_input_state():
    srng = RandomStreams(seed=3)
    rv = srng.uniform((4,))
    before = rv.rng.get_value(borrow=True)
    saved = before.get_state()[1].copy()
    f = function([], rv)
    f()
    assert rv.rng.get_value(borrow=True) is not before
    np.testing.assert_array_equal(before.get_state()[1], saved)


def test_state_objects_reused_only_when_nobody_holds_them():
    # The op copies the state into spare RandomState objects it keeps; over many calls the
    # draws must still be numpy's (including the cached second gaussian of an odd-sized
    # normal draw), and a state a caller holds must never change under them.
    srng = RandomStreams(seed=11)
    rv = srng.normal((3,))
    ref = np.random.RandomState(np.random.RandomState(11).randint(2 ** 30))
    f = function([], rv)
    held = {}
    for k in range(8):
        np.testing.assert_array_equal(f(), fx(ref.normal(size=(3,))))
        state = rv.rng.get_value(borrow=True)
        if k in (2, 5):
            held[k] = (state, state.get_state()[1].copy(), state.get_state()[4])
    for state, key, gauss in held.values():
        np.testing.assert_array_equal(state.get_state()[1], key)
        assert state.get_state()[4] == gauss
    assert len({id(s) for s, _, _ in held.values()}) == 2
    nodes = [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, RandomFunction)]
    spares = getattr(nodes[0].tag, "rng_spares", [])
    assert any(s is rv.rng.get_value(borrow=True) for s in spares), \
        "the state is not one of the node's reused spares (each call deep-copied)"


def test_no_default_updates_list_and_explicit_update():
    srng = RandomStreams(seed=5)
    a, b = srng.uniform((3,)), srng.uniform((3,))
    f = function([], [a, b], no_default_updates=[a.rng])
    a1, b1 = f()
    a2, b2 = f()
    np.testing.assert_array_equal(a1, a2)
    assert not np.allclose(b1, b2)
    rng = shared(np.random.RandomState(42))
    new_rng, u = raw_random.uniform(rng, size=(2,), low=-1.0, high=1.0)
    g = function([], u, updates=[(rng, new_rng)])
    ref = np.random.RandomState(42)
    np.testing.assert_array_equal(g(), fx(ref.uniform(-1.0, 1.0, size=(2,))))
    np.testing.assert_array_equal(g(), fx(ref.uniform(-1.0, 1.0, size=(2,))))


def test_uniform_normal_distributions_with_symbolic_params():
    srng = RandomStreams(seed=11)
    lo, hi = T.dscalar("lo"), T.dscalar("hi")
    mu, sd = T.dscalar("mu"), T.dscalar("sd")
    u = srng.uniform((100000,), low=lo, high=hi)
    n = srng.normal((100000,), avg=mu, std=sd)
    uv, nv = function([lo, hi, mu, sd], [u, n])(-2.0, 3.0, 1.5, 0.5)
    assert uv.min() >= -2.0 and uv.max() < 3.0
    assert abs(uv.mean() - 0.5) < 0.03
    assert abs(nv.mean() - 1.5) < 0.01 and abs(nv.std() - 0.5) < 0.01


def test_binomial_random_integers_choice_permutation():
    srng = RandomStreams(seed=12)
    p = T.dscalar("p")
    b = srng.binomial((100000,), p=p)
    k = srng.random_integers((5000,), low=1, high=3)
    c = srng.choice((6,), a=10, replace=False)
    cp = srng.choice((2000,), a=3, p=[0.1, 0.0, 0.9])
    perm = srng.permutation((4,), n=7)
    bv, kv, cv, cpv, pv = function([p], [b, k, c, cp, perm])(0.3)
    assert b.dtype == "int64" and set(np.unique(bv)) <= {0, 1}
    assert abs(bv.mean() - 0.3) < 0.01
    assert set(np.unique(kv)) == {1, 2, 3}
    assert cv.shape == (6,) and len(set(cv.tolist())) == 6 and cv.min() >= 0 and cv.max() <= 9
    assert 1 not in cpv and abs((cpv == 2).mean() - 0.9) < 0.03
    assert pv.shape == (4, 7)
    for row in pv:
        np.testing.assert_array_equal(np.sort(row), np.arange(7))


def test_dtypes_and_symbolic_sizes():
    srng = RandomStreams(seed=13)
    X = T.dmatrix("X")
    n = T.lscalar("n")
    m = srng.binomial(X.shape, p=0.5, dtype="float32")
    u = srng.uniform((n, 3))
    u32 = srng.uniform((2,), dtype="float32")
    assert m.dtype == "float32" and m.ndim == 2
    assert u.dtype == theano.config.floatX and u32.dtype == "float32"
    mv, uv, u32v = function([X, n], [m, u, u32])(np.zeros((5, 4)), 6)
    assert mv.shape == (5, 4) and mv.dtype == np.float32
    assert uv.shape == (6, 3) and u32v.dtype == np.float32


def test_size_from_broadcast_params():
    srng = RandomStreams(seed=14)
    low = T.dvector("low")
    u = srng.uniform(low=low, high=low + 1.0)
    assert u.ndim == 1
    v = function([low], u)(np.array([0.0, 10.0, 20.0]))
    assert v.shape == (3,) and np.all((v >= [0, 10, 20]) & (v < [1, 11, 21]))


def test_random_function_validates_inputs():
    with pytest.raises(TypeError):
        RandomFunction("uniform", "float64", 1)(T.dvector(), [3], 0.0, 1.0)
    with pytest.raises(ValueError):
        RandomFunction("nope", "float64", 1)
    srng = RandomStreams(seed=1)
    with pytest.raises(ValueError):
        srng.uniform((2, 3), ndim=3)


@pytest.mark.parametrize("make_streams", [lambda: RandomStreams(7), lambda: MRG_RandomStreams(7)])
def test_grad_through_dropout_mask(make_streams):
    srng = make_streams()
    X = T.dmatrix("X")
    W = shared(np.arange(6.0).reshape(3, 2), name="W")
    h = T.dot(X, W)
    mask = srng.binomial(h.shape, p=0.5, dtype="float64")
    cost = (h * mask / 0.5).sum()
    gW = T.grad(cost, W)
    f = function([X], [gW, mask], no_default_updates=True)
    x = np.random.RandomState(0).randn(4, 3)
    g, m = f(x)
    np.testing.assert_allclose(g, x.T @ (m / 0.5))


# ------------------------------------------------------------------ MRG31k3p

M1, M2 = 2147483647, 2147462579


def mrg_reference(state, n):
    """n steps of one MRG31k3p stream, from the recurrence in its plain form (Python ints).

    x1[k] = (2**22 x1[k-2] + (2**7 + 1) x1[k-3]) mod M1
    x2[k] = (2**15 x2[k-1] + (2**15 + 1) x2[k-3]) mod M2
    """
    x1 = [state[2], state[1], state[0]]   # oldest first
    x2 = [state[5], state[4], state[3]]
    ints = []
    for _ in range(n):
        x1.append((2 ** 22 * x1[-2] + 129 * x1[-3]) % M1)
        x2.append((2 ** 15 * x2[-1] + 32769 * x2[-3]) % M2)
        d = x1[-1] - x2[-1]
        ints.append(d + M1 if d <= 0 else d)
    return ints, [x1[-1], x1[-2], x1[-3], x2[-1], x2[-2], x2[-3]]


def jump_reference(state, a1, a2):
    v1 = [sum(a1[i][j] * state[j] for j in range(3)) % M1 for i in range(3)]
    v2 = [sum(a2[i][j] * state[3 + j] for j in range(3)) % M2 for i in range(3)]
    return v1 + v2


# Theano's published jump matrices (2**72 and 2**134 steps).
THEANO_A1P72 = [[1516919229, 758510237, 499121365], [1884998244, 1516919229, 335398200],
                [601897748, 1884998244, 358115744]]
THEANO_A2P72 = [[1228857673, 1496414766, 954677935], [1133297478, 1407477216, 1496414766],
                [2002613992, 1639496704, 1407477216]]
THEANO_A1P134 = [[1702500920, 1849582496, 1656874625], [828554832, 1702500920, 1512419905],
                 [1143731069, 828554832, 102237247]]
THEANO_A2P134 = [[796789021, 1464208080, 607337906], [1241679051, 1431130166, 1464208080],
                 [1401213391, 1178684362, 1431130166]]


def test_mrg_single_stream_matches_scalar_reference():
    srng = MRG_RandomStreams(seed=4321)
    u64 = srng.uniform((9,), nstreams=1, dtype="float64")
    state0 = u64.rstate.get_value().tolist()[0]
    assert state0 == [4321] * 6
    ints, after = mrg_reference(state0, 18)
    f = function([], u64)
    np.testing.assert_array_equal(f(), np.array(ints[:9]) * 2.0 ** -31)
    np.testing.assert_array_equal(f(), np.array(ints[9:]) * 2.0 ** -31)
    assert u64.rstate.get_value().tolist()[0] == after

    srng32 = MRG_RandomStreams(seed=4321)
    u32 = srng32.uniform((3, 3), nstreams=1, dtype="float32")
    v = function([], u32)()
    assert v.dtype == np.float32
    ref = np.array(ints[:9], dtype=np.float32) * np.float32(4.6566126e-10)
    np.testing.assert_array_equal(v.ravel(), ref)
    assert v.max() < 1.0 and v.min() > 0.0
    extremes = mrg_to_float(np.array([1, M1]), "float32")     # k's range is [1, M1]
    assert 0.0 < extremes[0] and extremes[1] < 1.0


def test_mrg_jump_matrices_and_substreams():
    from symgraph.ops import rng_mrg
    assert [list(r) for r in rng_mrg.A1P72] == THEANO_A1P72
    assert [list(r) for r in rng_mrg.A2P72] == THEANO_A2P72
    assert [list(r) for r in rng_mrg.A1P134] == THEANO_A1P134
    assert [list(r) for r in rng_mrg.A2P134] == THEANO_A2P134
    srng = MRG_RandomStreams(seed=99)
    rows = srng.get_substream_rstates(11).tolist()
    expect = [[99] * 6]
    for _ in range(10):
        expect.append(jump_reference(expect[-1], THEANO_A1P72, THEANO_A2P72))
    assert rows == expect
    assert srng.rstate.tolist() == jump_reference([99] * 6, THEANO_A1P134, THEANO_A2P134)


def test_mrg_multi_stream_layout():
    srng = MRG_RandomStreams(seed=77)
    u = srng.uniform((2, 5), nstreams=3, dtype="float64")
    states = u.rstate.get_value().tolist()
    f = function([], u)
    got = f().ravel()
    per_stream = [mrg_reference(s, 4) for s in states]
    expect = [per_stream[i % 3][0][i // 3] * 2.0 ** -31 for i in range(10)]
    np.testing.assert_array_equal(got, expect)
    # stream s advanced once per element it produced: 4, 3, 3 steps
    new_states = u.rstate.get_value().tolist()
    assert new_states == [mrg_reference(s, c)[1] for s, c in zip(states, (4, 3, 3))]

    few = srng.uniform((2,), nstreams=5, dtype="float64")   # streams 2..4 stay put
    st = few.rstate.get_value().tolist()
    function([], few)()
    assert few.rstate.get_value().tolist()[2:] == st[2:]


def test_mrg_same_seed_same_numbers_and_state_advances():
    a = MRG_RandomStreams(seed=2024).uniform((50,))
    b = MRG_RandomStreams(seed=2024).uniform((50,))
    fa, fb = function([], a), function([], b)
    x1 = fa()
    np.testing.assert_array_equal(x1, fb())
    x2 = fa()
    assert not np.array_equal(x1, x2)
    np.testing.assert_array_equal(x2, fb())


def test_mrg_seed_resets_draws():
    srng = MRG_RandomStreams(seed=5)
    u = srng.uniform((4, 4))
    f = function([], u)
    first = f()
    f()
    srng.seed()
    np.testing.assert_array_equal(f(), first)
    srng.seed(6)
    other = f()
    assert not np.allclose(first, other)
    srng.seed(6)
    np.testing.assert_array_equal(f(), other)


def test_mrg_symbolic_size_dropout_mask():
    srng = MRG_RandomStreams()
    X = T.matrix("X")
    retain_prob = 0.8
    Y = X * srng.binomial(X.shape, p=retain_prob, dtype=theano.config.floatX)
    Y /= retain_prob
    f = function([X], Y)
    x = np.ones((128, 625), dtype=theano.config.floatX)
    y1, y2 = f(x), f(x)
    assert y1.shape == (128, 625) and y1.dtype == theano.config.floatX
    assert set(np.unique(y1).tolist()) == {0.0, 1.0 / retain_prob}
    assert abs((y1 > 0).mean() - retain_prob) < 0.01
    assert not np.array_equal(y1, y2)


def test_mrg_uniform_normal_distributions():
    srng = MRG_RandomStreams(seed=31)
    u = srng.uniform((300, 301), low=-1.0, high=3.0)
    n = srng.normal((1001, 99), avg=2.0, std=0.5)
    z = T.tensor("float32", (False, False, False))
    n32 = srng.normal(z.shape, dtype="float32")
    uv, nv, n32v = function([z], [u, n, n32])(np.zeros((3, 5, 7), dtype="float32"))
    assert uv.min() > -1.0 and uv.max() < 3.0 and abs(uv.mean() - 1.0) < 0.02
    assert nv.shape == (1001, 99)
    assert abs(nv.mean() - 2.0) < 0.01 and abs(nv.std() - 0.5) < 0.01
    assert n32v.shape == (3, 5, 7) and n32v.dtype == np.float32 and np.isfinite(n32v).all()


def test_mrg_multinomial_and_errors():
    srng = MRG_RandomStreams(seed=8)
    pvals = T.dmatrix("pvals")
    m = srng.multinomial(pvals=pvals)
    p = np.tile([[0.2, 0.0, 0.8]], (4000, 1))
    v = function([pvals], m)(p)
    assert v.shape == (4000, 3) and (v.sum(axis=1) == 1).all() and v[:, 1].sum() == 0
    assert abs(v[:, 2].mean() - 0.8) < 0.03
    with pytest.raises(ValueError):
        MRG_RandomStreams(seed=0)
    with pytest.raises(ValueError):
        srng.uniform((3, 0))
    with pytest.raises(NotImplementedError):
        srng.binomial((3,), n=2)
    with pytest.raises(TypeError):
        srng.uniform(3)
    assert guess_n_streams((128, 625)) == 80000 // 6 and guess_n_streams((2, 3)) == 6
    assert guess_n_streams((1000, 1000)) == guess_n_streams(T.lvector()) == 60 * 256
