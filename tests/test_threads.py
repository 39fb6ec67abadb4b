"""One compiled Function called from many Python threads at once (issue #15).

The stress variant (8 threads x 1,000 calls) runs only with ``--stress`` or SYMGRAPH_STRESS=1.

Each result is checked against NumPy; shared variables updated by concurrent calls keep
their dtype and lose no update."""
import pickle
import threading

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T

MODES = ("c", "py")


def elemwise_function(mode):
    """f(x, y) = [tanh(x) * y + 1, sum(x * y)] with its NumPy reference."""
    x, y = T.dvector("x"), T.dvector("y")
    f = symgraph.function([x, y], [T.tanh(x) * y + 1, T.sum(x * y)], mode=mode)

    def reference(a, b):
        return [np.tanh(a) * b + 1, np.sum(a * b)]
    return f, reference


def hammer(f, reference, n_threads, n_calls, seed=0):
    """Call ``f`` from ``n_threads`` threads ``n_calls`` times each, with inputs of varying
    sizes (so the planned buffers grow and move); return the list of failures."""
    failures = []

    def work(t):
        rng = np.random.RandomState(seed + t)
        for k in range(n_calls):
            n = int(rng.randint(1, 200))
            a, b = rng.randn(n), rng.randn(n)
            try:
                got = f(a, b)
                want = reference(a, b)
                for g, w in zip(got, want):
                    np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
            except Exception as exc:        # noqa: BLE001  (reported below)
                failures.append(f"thread {t}, call {k}, n={n}: {type(exc).__name__}: {exc}")
                return
    run_in_threads(work, n_threads)
    return failures


def run_in_threads(fn, n_threads):
    """Run ``fn(t)`` in ``n_threads`` threads started together; re-raise the first error."""
    start = threading.Barrier(n_threads)
    errors = []

    def work(t):
        start.wait()
        try:
            fn(t)
        except Exception as exc:            # noqa: BLE001
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]


@pytest.mark.parametrize("mode", MODES)
def test_one_function_many_threads(mode):
    f, reference = elemwise_function(mode)
    assert hammer(f, reference, n_threads=8, n_calls=50) == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["int64", "float32"])
def test_counter_update_is_exact(mode, dtype):
    """8 threads x 200 calls of a function incrementing a counter: it ends at exactly 1600."""
    c = symgraph.shared(np.zeros((), dtype), name="c")
    x = T.scalar("x", dtype=dtype)
    f = symgraph.function([x], c * 1, updates=[(c, c + x)], mode=mode)
    one = np.ones((), dtype)
    seen = [[] for _ in range(8)]

    def work(t):
        for _ in range(200):
            seen[t].append(int(f(one)))
    run_in_threads(work, 8)
    value = c.get_value()
    assert value.dtype == np.dtype(dtype)
    assert int(value) == 1600
    # every call saw a distinct old value: 0 .. 1599, each exactly once
    assert sorted(v for s in seen for v in s) == list(range(1600))


@pytest.mark.parametrize("mode", MODES)
def test_two_functions_update_one_variable(mode):
    """f adds 1 and g adds 2 to the same shared variable, from 4 threads each."""
    c = symgraph.shared(np.zeros((), "int64"), name="c")
    f = symgraph.function([], [], updates=[(c, c + 1)], mode=mode)
    g = symgraph.function([], [], updates=[(c, c + 2)], mode=mode)

    def work(t):
        for _ in range(100):
            (f if t % 2 else g)()
    run_in_threads(work, 8)
    assert c.get_value().dtype == np.int64
    assert int(c.get_value()) == 4 * 100 * 1 + 4 * 100 * 2


def test_vector_updates_stay_consistent():
    """Two shared vectors updated together: a reader never sees one updated without the other."""
    a = symgraph.shared(np.zeros(50), name="a")
    b = symgraph.shared(np.zeros(50), name="b")
    step = symgraph.function([], [], updates=[(a, a + 1.0), (b, b - 1.0)], mode="c")
    total = symgraph.function([], a + b, mode="c")
    bad = []

    def work(t):
        for _ in range(100):
            if t % 2:
                step()
            else:
                s = total()
                if not np.all(s == 0.0):
                    bad.append(s)
    run_in_threads(work, 4)
    assert bad == []
    np.testing.assert_array_equal(a.get_value(), np.full(50, 200.0))
    assert a.get_value().dtype == np.float64


def test_bad_input_in_threads_still_raises():
    """Errors in one thread leave the function usable by the others."""
    f, reference = elemwise_function("c")
    good = np.arange(5.0)
    errors = []

    def work(t):
        for k in range(30):
            if t == 0 and k % 3 == 0:
                try:
                    f(good, np.arange(4.0))
                except ValueError as exc:
                    errors.append(str(exc))
                continue
            got = f(good, good)
            np.testing.assert_allclose(got[0], reference(good, good)[0])
    run_in_threads(work, 4)
    assert len(errors) == 10


def test_pickled_shared_variable_gets_a_lock():
    c = symgraph.shared(np.zeros(()), name="c")
    c2 = pickle.loads(pickle.dumps(c))
    assert c2.update_lock is not c.update_lock
    with c2.update_lock:
        pass
    assert c.clone().update_lock is c.update_lock


@pytest.mark.stress
@pytest.mark.parametrize("mode", MODES)
def test_stress_8_threads_1000_calls(mode):
    f, reference = elemwise_function(mode)
    assert hammer(f, reference, n_threads=8, n_calls=1000, seed=100) == []
