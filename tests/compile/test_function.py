"""Tests for symgraph/compile/function.py, io.py and mode.py: function(), In, Out, modes."""
import pickle
import warnings

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph import In, Mode, Out, function, shared
from symgraph.compile.function import MissingInputError, UnusedInputError
from symgraph.compile.mode import get_mode


# ---------------------------------------------------------------- outputs

def test_single_list_and_empty_outputs():
    x = T.dvector("x")
    a = np.array([1.0, 2.0])
    single = function([x], x * 2)(a)
    assert isinstance(single, np.ndarray)
    np.testing.assert_array_equal(single, [2.0, 4.0])
    lst = function([x], [x * 2])(a)
    assert isinstance(lst, list) and len(lst) == 1
    two = function([x], (x + 1, x - 1))(a)
    assert isinstance(two, list) and len(two) == 2
    assert function([x], [], on_unused_input="ignore")(a) == []
    assert function([], T.constant(3.0) * 2)() == 6.0


def test_the_same_output_twice_gives_two_arrays():
    x = T.dvector("x")
    y = x * 2
    a, b = function([x], [y, y])(np.ones(2))
    assert a is not b and not np.shares_memory(a, b)
    c, d = function([x], [y, y.T])(np.ones(2))
    assert not np.shares_memory(c, d)


def test_output_that_is_an_input_or_constant_is_copied():
    x = T.dvector("x")
    a = np.arange(3.0)
    out = function([x], x)(a)
    np.testing.assert_array_equal(out, a)
    assert not np.shares_memory(out, a)
    view = function([x], x[1:])(a)
    assert not np.shares_memory(view, a)
    c = T.constant(np.array([1.0, 2.0]))
    f = function([], c)
    r = f()
    r[0] = 100.0
    np.testing.assert_array_equal(f(), [1.0, 2.0])


def test_out_borrow():
    s = shared(np.arange(3.0), name="s")
    f = function([], Out(s, borrow=False))
    r = f()
    r[0] = 50.0
    assert s.get_value()[0] == 0.0
    g = function([], Out(s * 2, borrow=True))
    np.testing.assert_array_equal(g(), [0.0, 2.0, 4.0])
    assert repr(Out(s, borrow=True)) == "Out(s, borrow=True)"


def test_output_is_not_aliased_with_an_updated_shared_value():
    x = T.dvector("x")
    s = shared(np.zeros(3), name="s")
    y = x * 2
    f = function([x], y, updates=[(s, y)])
    r = f(np.ones(3))
    r[0] = 99.0
    np.testing.assert_array_equal(s.get_value(), [2.0, 2.0, 2.0])


def test_two_updates_with_one_value_get_separate_buffers():
    x = T.dvector("x")
    a = shared(np.zeros(2), name="a")
    b = shared(np.zeros(2), name="b")
    y = x + 1
    function([x], [], updates=[(a, y), (b, y)])(np.ones(2))
    a.get_value(borrow=True)[0] = 7.0
    np.testing.assert_array_equal(b.get_value(), [2.0, 2.0])


# ---------------------------------------------------------------- updates

def test_updates_list_and_dict():
    state = shared(0, name="state")
    inc = T.iscalar("inc")
    acc = function([inc], state, updates=[(state, state + inc)])
    assert acc(1) == 0 and state.get_value() == 1
    assert acc(300) == 1 and state.get_value() == 301
    dec = function([inc], state, updates={state: state - inc})
    assert dec(2) == 301 and state.get_value() == 299


def test_updates_read_pre_update_values_swap():
    a = shared(np.array(1.0), name="a")
    b = shared(np.array(2.0), name="b")
    swap = function([], [a, b], updates=[(a, b), (b, a)])
    assert swap() == [1.0, 2.0]
    assert (a.get_value(), b.get_value()) == (2.0, 1.0)
    swap()
    assert (a.get_value(), b.get_value()) == (1.0, 2.0)
    # after the swap the two shared values are distinct arrays
    a.get_value(borrow=True)[...] = 5.0
    assert b.get_value() == 2.0


def test_outputs_see_values_before_updates():
    w = shared(np.array([1.0, 2.0]), name="w")
    f = function([], [w * 10, T.sum(w)], updates=[(w, w + 1)])
    out, total = f()
    np.testing.assert_array_equal(out, [10.0, 20.0])
    assert total == 3.0
    np.testing.assert_array_equal(w.get_value(), [2.0, 3.0])


def test_update_errors():
    s = shared(np.zeros(2), name="s")
    x = T.dvector("x")
    with pytest.raises(TypeError, match="must be a shared variable"):
        function([x], x, updates=[(x, x + 1)])
    with pytest.raises(ValueError, match="updated more than once"):
        function([], s, updates=[(s, s + 1), (s, s * 2)])
    with pytest.raises(TypeError, match="has type TensorVector\\(float64\\) but the new "
                                        "expression has type TensorVector\\(float32\\)"):
        function([], s, updates=[(s, T.cast(s, "float32"))])
    with pytest.raises(TypeError, match="list of"):
        function([], s, updates=[(s,)])
    with pytest.raises(TypeError):
        function([], s, updates=[(s, T.sum(s))])        # wrong ndim
    # a broadcastable pattern difference alone is reconciled
    r = shared(np.zeros((1, 3)), name="r")
    f = function([], [], updates=[(r, T.addbroadcast(r, 0) + 1)])
    f()
    np.testing.assert_array_equal(r.get_value(), np.ones((1, 3)))


def test_in_update_not_supported():
    x = T.dscalar("x")
    with pytest.raises(NotImplementedError, match="shared variable"):
        function([In(x, value=0.0, update=x + 1)], x)


# ---------------------------------------------------------------- givens

def test_givens_minibatch_of_shared_dataset():
    data = np.arange(20.0).reshape(10, 2)
    data_x = shared(data, name="data_x")
    data_y = shared(np.arange(10.0), name="data_y")
    labels = T.cast(data_y, "int32")
    x = T.dmatrix("x")
    y = T.ivector("y")
    index = T.lscalar("index")
    bs = 4
    cost = T.sum(x) + T.sum(y)
    f = function([index], cost, givens={x: data_x[index * bs:(index + 1) * bs],
                                        y: labels[index * bs:(index + 1) * bs]})
    assert f(0) == data[:4].sum() + 6
    assert f(2) == data[8:].sum() + 17
    g = function(inputs=[], outputs=T.sum(x), givens=[(x, data_x[:2])])
    assert g() == data[:2].sum()


def test_givens_replace_shared_variable():
    state = shared(0, name="state")
    inc = T.iscalar("inc")
    fn_of_state = state * 2 + inc
    foo = T.scalar(dtype=state.dtype)
    skip_shared = function([inc, foo], fn_of_state, givens=[(state, foo)])
    assert skip_shared(1, 3) == 7
    assert state.get_value() == 0


def test_givens_errors():
    x = T.dmatrix("x")
    with pytest.raises(TypeError, match="TensorMatrix\\(float64\\).*TensorMatrix\\(float32\\)"):
        function([], T.sum(x), givens={x: T.fmatrix()})
    with pytest.raises(TypeError, match="keys must be symbolic"):
        function([], T.sum(x), givens={"x": x})
    with pytest.raises(TypeError):
        function([], T.sum(x), givens={x: T.dvector()})


# ---------------------------------------------------------------- In / defaults / keywords

def test_in_defaults_and_keywords():
    x, y, w = T.dscalars("x", "y", "w")
    z = (x + y) * w
    f = function([x, In(y, value=1), In(w, value=2, name="w_by_name")], z)
    assert f(33) == 68
    assert f(33, 2) == 70
    assert f(33, 0, 1) == 33
    assert f(33, w_by_name=1) == 34
    assert f(33, w_by_name=1, y=0) == 33
    assert f(x=1, y=2, w_by_name=3) == 9
    assert f["w_by_name"] == 2
    f["w_by_name"] = 10
    assert f(1) == 20
    f[1] = 0.5
    assert f(1) == 15
    assert repr(In(x, name="q")) == "In(x, name='q')"
    assert symgraph.Param is In


def test_argument_errors_name_the_input():
    x, y = T.dscalars("x", "y")
    f = function([x, y], x + y, name="adder")
    with pytest.raises(TypeError, match="function 'adder': missing required input y"):
        f(1.0)
    with pytest.raises(TypeError, match="takes 2 argument\\(s\\) but 3 were given"):
        f(1.0, 2.0, 3.0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        f(1.0, z=2.0)
    with pytest.raises(TypeError, match="multiple values for input 'x'"):
        f(1.0, x=2.0)
    assert f(y=1.0, x=2.0) == 3.0


def test_input_type_checking():
    x = T.dmatrix("x")
    fv = T.fvector("fv")
    fs = T.fscalar("fs")
    f = function([x], x * 2)
    with pytest.raises(TypeError, match="input 'x': wrong number of dimensions: expected 2"):
        f(np.zeros(3))
    g = function([fv], fv * 2)
    with pytest.raises(TypeError, match="input 'fv'.*allow_input_downcast=True"):
        g(np.array([0.1, 0.2]))                         # float64 array into fvector
    out = function([fv], fv * 2, allow_input_downcast=True)(np.array([0.1, 0.2]))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0.2, 0.4], rtol=1e-6)
    h = function([fs], fs * 2)
    assert h(0.1).dtype == np.float32                  # a Python float into fscalar is allowed
    assert h(2).dtype == np.float32
    np.testing.assert_array_equal(g([1.0, 2.0]), [2.0, 4.0])
    np.testing.assert_array_equal(g(np.array([1, 2], dtype="int8")), [2.0, 4.0])
    with pytest.raises(TypeError, match="input 'fv'"):
        g(np.array([1, 2], dtype="int64"))             # int64 -> float32 is lossy
    i = T.ivector("i")
    with pytest.raises(TypeError, match="input 'i'"):
        function([i], i)(np.array([1.5]))


def test_strict_and_per_input_downcast():
    x = T.dvector("x")
    f = function([In(x, strict=True)], x * 2)
    np.testing.assert_array_equal(f(np.ones(2)), [2.0, 2.0])
    with pytest.raises(TypeError, match="input 'x': expected dtype float64, got float32"):
        f(np.ones(2, dtype="float32"))
    with pytest.raises(TypeError, match="numpy.ndarray"):
        f([1.0, 2.0])
    fv = T.fvector("fv")
    g = function([In(fv, allow_downcast=True)], fv)
    assert g(np.array([0.1])).dtype == np.float32
    h = function([In(fv, allow_downcast=False)], fv, allow_input_downcast=True)
    with pytest.raises(TypeError):
        h(np.array([0.1]))


def test_unnamed_input_errors_use_its_str():
    x = T.dvector()
    with pytest.raises(TypeError, match="<TensorVector\\(float64\\)>"):
        function([x], x)(np.zeros((2, 2)))


# ---------------------------------------------------------------- inputs list validation

def test_invalid_inputs():
    x = T.dvector("x")
    s = shared(np.zeros(2), name="s")
    with pytest.raises(TypeError, match="must be a list"):
        function(x, x)
    with pytest.raises(TypeError, match="symbolic variables"):
        function([3.0], x)
    with pytest.raises(TypeError, match="constant"):
        function([T.constant(1.0)], x)
    with pytest.raises(TypeError, match="shared variable s"):
        function([s], s)
    with pytest.raises(TypeError, match="computed by"):
        function([x * 2], x)
    with pytest.raises(ValueError, match="more than once"):
        function([x, x], x)


def test_missing_input_names_variable_and_line(lineno):
    x = T.dvector("x")
    y = T.dvector("y"); line = lineno()  # noqa: E702
    with pytest.raises(MissingInputError) as info:
        function([x], x + y)
    msg = str(info.value)
    assert "input variable y" in msg and f"line {line}" in msg and __file__ in msg


def test_on_unused_input():
    x, y = T.dscalars("x", "y")
    with pytest.raises(UnusedInputError, match="input y \\(argument 1\\) is not used"):
        function([x, y], x * 2)
    with pytest.raises(UnusedInputError):
        function([x, y], x * 2, on_unused_input="raise")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        f = function([x, y], x * 2, on_unused_input="warn")
    assert any("not used" in str(m.message) for m in w)
    assert f(1.0, 5.0) == 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = function([x, y], x * 2, on_unused_input="ignore")
    assert g(2.0, 5.0) == 4.0


# ---------------------------------------------------------------- default updates

def test_default_updates_and_no_default_updates():
    counter = shared(0, name="counter")
    counter.default_update = counter + 1
    other = shared(0, name="other")
    other.default_update = other + 10
    f = function([], counter + other)
    assert f() == 0 and f() == 11
    assert counter.get_value() == 2 and other.get_value() == 20
    g = function([], counter + other, no_default_updates=True)
    g()
    assert counter.get_value() == 2 and other.get_value() == 20
    h = function([], counter + other, no_default_updates=[counter])
    h()
    assert counter.get_value() == 2 and other.get_value() == 30
    # an explicit update wins over the default one
    k = function([], counter, updates=[(counter, counter - 1)])
    k()
    assert counter.get_value() == 1


def test_default_update_of_shared_not_in_outputs_is_ignored():
    counter = shared(0, name="counter")
    counter.default_update = counter + 1
    x = T.dscalar("x")
    function([x], x * 2)(1.0)
    assert counter.get_value() == 0


# ---------------------------------------------------------------- misc

def test_eval_and_clone_through_function():
    x = T.dscalar("x")
    y = x ** 2
    assert y.eval({x: 3.0}) == 9.0
    z = symgraph.clone(y, replace={x: x + 1})
    assert function([x], z)(3.0) == 16.0


def test_modes():
    x = T.dvector("x")
    a = np.array([1.0, -2.0])
    for mode in [None, "py", "FAST_RUN", "FAST_COMPILE", "PY", Mode(linker="py"),
                 Mode(linker="py").excluding("fusion"), Mode(optimizer=None)]:
        np.testing.assert_array_equal(function([x], abs(x) * 2, mode=mode)(a), [2.0, 4.0])
    with pytest.raises(ValueError, match="unknown mode"):
        get_mode("TURBO")
    m = Mode(linker="py").excluding("fusion", "inplace").including("x")
    assert m.excluded >= {"fusion", "inplace"} and m.linker == "py"
    assert get_mode("fast_compile").resolve_linker() == "py"
    assert "linker='py'" in repr(m)


def test_function_attributes():
    x = T.dvector("x")
    f = function([x], x * 2, name="double")
    assert f.name == "double"
    assert f.fgraph.outputs and "double" in repr(f)
    f.trust_input = True
    np.testing.assert_array_equal(f(np.ones(2)), [2.0, 2.0])


def test_shared_value_changes_are_seen_by_compiled_function():
    w = shared(np.array([1.0, 2.0]), name="w")
    f = function([], w * 2)
    w.set_value(np.array([5.0, 6.0]))
    np.testing.assert_array_equal(f(), [10.0, 12.0])


def test_pickle_function_roundtrip():
    x = T.dvector("x")
    w = shared(np.array([1.0, 2.0]), name="w")
    f = function([x], T.tanh(x * w).sum(), updates=[(w, w * 2)])
    g = pickle.loads(pickle.dumps(f))
    a = np.array([0.1, 0.2])
    assert g(a) == pytest.approx(np.tanh(a * [1.0, 2.0]).sum())


def test_trust_input_is_honoured_and_kept_on_pickle():
    import pickle
    x = T.dvector("x")
    f = symgraph.function([x], x * 2, trust_input=True)
    assert f.trust_input
    # trusted: the per-argument filters are never consulted
    f._filters = None
    np.testing.assert_array_equal(f(np.array([1.0, 2.0])), [2.0, 4.0])
    g = pickle.loads(pickle.dumps(f))
    assert g.trust_input
    np.testing.assert_array_equal(g(np.array([3.0])), [6.0])
    h = symgraph.function([x], x * 2)
    assert not h.trust_input
    h._filters = None
    with pytest.raises(TypeError):      # not an exact float64 vector: the filter is consulted
        h([1.0])
    np.testing.assert_array_equal(h(np.array([1.0])), [2.0])   # exact arrays skip the filter


def test_on_unused_input_flag_is_the_default_policy():
    x, y = T.dscalars("x", "y")
    with pytest.raises(UnusedInputError):
        function([x, y], x * 2)
    with symgraph.change_flags(on_unused_input="ignore"):
        f = function([x, y], x * 2)
    assert f(3.0, 4.0) == 6.0
    with symgraph.change_flags(on_unused_input="ignore"):
        with pytest.raises(UnusedInputError):        # an explicit argument still wins
            function([x, y], x * 2, on_unused_input="raise")


def _n_elemwise(f):
    return sum(type(n.op).__name__ == "Elemwise" for n in f.maker.fgraph.apply_nodes)


def test_optimizer_flag_sets_the_default_modes_rewrites():
    x = T.dvector("x")
    y = T.exp(x) * 2 + 1                        # fused into one Composite under fast_run
    assert _n_elemwise(function([x], y)) == 1
    with symgraph.change_flags(optimizer="None"):
        assert _n_elemwise(function([x], y)) == 3
    with symgraph.change_flags(optimizer="fast_compile"):
        assert _n_elemwise(function([x], y, mode="MODE")) == 3
    with symgraph.change_flags(optimizer="fast_run"):   # set, to its default value
        assert _n_elemwise(function([x], y)) == 1
    # merge only: two equal subexpressions become one, nothing is fused
    with symgraph.change_flags(optimizer="merge"):
        f = function([x], T.exp(x) + T.exp(x))
        assert sorted(n.op.scalar_op.name for n in f.maker.fgraph.apply_nodes) == ["add", "exp"]
    np.testing.assert_allclose(f(np.array([0.0, 1.0])), 2 * np.exp([0.0, 1.0]))


def test_optimizer_including_adds_a_phase_to_a_lower_level():
    x = T.dvector("x")
    y = T.exp(x) * 2 + 1
    base = Mode("py", "fast_compile")
    assert _n_elemwise(function([x], y, mode=base)) == 3
    assert _n_elemwise(function([x], y, mode=base.including("fusion"))) == 1
    with symgraph.change_flags(optimizer_including=("fusion",)):
        assert _n_elemwise(function([x], y, mode=base)) == 1
        # exclusion wins over inclusion
        f = function([x], y, mode=base.excluding("fusion"))
        assert _n_elemwise(f) == 3


def test_warn_float64_flag():
    from symgraph.ops.type import Float64Warning
    with symgraph.change_flags(warn_float64="warn"):
        with pytest.warns(Float64Warning, match="float64 variable w"):
            T.dmatrix("w")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            T.fmatrix("v")                       # float32: no warning
    with symgraph.change_flags(warn_float64="raise"):
        with pytest.raises(TypeError, match="float64 variable"):
            T.dvector("w")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        T.dvector("w")                           # default 'ignore'


def test_exception_verbosity_high_adds_the_graph():
    x = T.dmatrix("x")
    idx = T.lvector("idx")
    y = (T.exp(x) + 1)[idx]
    f = function([x, idx], y, mode="PY")
    with pytest.raises(IndexError) as low:
        f(np.ones((2, 2)), np.array([5]))
    assert "exception_verbosity='high'" not in str(low.value)
    with symgraph.change_flags(exception_verbosity="high"):
        with pytest.raises(IndexError) as high:
            f(np.ones((2, 2)), np.array([5]))
    text = str(high.value)
    assert "exception_verbosity='high'" in text and "Elemwise" in text and "-> AdvancedSubtensor" in text


@pytest.mark.parametrize("mode", ["PY", "FAST_RUN"])
def test_profile_times_every_node(mode):
    x = T.dmatrix("x")
    W = shared(np.ones((3, 2)), name="W")
    y = T.nnet.softmax(T.dot(x, W)).sum()
    f = function([x], y, mode=mode, profile=True, name="prof")
    for _ in range(3):
        f(np.random.rand(4, 3))
    stats = f.profile
    nodes = f.maker.fgraph.toposort()
    assert stats.calls == 3 and set(stats.order) == set(nodes)
    assert all(stats.node_calls[n] == 3 for n in nodes)
    assert 0 < sum(stats.node_time.values()) <= stats.call_time
    text = stats.summary()
    assert "Function profile of 'prof'" in text and "3 calls" in text
    for n in nodes:
        assert type(n.op).__name__ in text
    # the profiled function computes the same values
    g = function([x], y, mode=mode)
    xv = np.random.rand(5, 3)
    np.testing.assert_allclose(f(xv), g(xv))
    assert function([x], y, mode=mode).profile is None


def test_profile_flag_profiles_every_function():
    x = T.dvector("x")
    with symgraph.change_flags(profile=True):
        f = function([x], x * 2)
    f(np.ones(3))
    assert f.profile is not None and f.profile.calls == 1
