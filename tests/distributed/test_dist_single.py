"""symgraph.distributed in one process (size 1): every API point, no MPI needed."""
import subprocess
import sys

import numpy as np
import pytest

import symgraph as theano
import symgraph.tensor as T
import symgraph.distributed as dist
from symgraph.distributed import comm

MODES = ["PY", "FAST_RUN"]


@pytest.fixture(autouse=True)
def one_process(monkeypatch):
    """Make sure the tests see one process even under a launcher's environment."""
    for var in comm._SIZE_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(comm, "_world", None)
    yield
    comm.set_timeout(None)


def test_rank_size_root_barrier():
    assert dist.size() == 1 and dist.rank() == 0 and dist.is_root()
    dist.barrier()


def test_mpi4py_not_imported_in_one_process():
    code = ("import sys, numpy as np, symgraph as th, symgraph.tensor as T, symgraph.distributed as d;"
            "x = T.dvector('x'); f = th.function([x], d.allreduce(x)); f(np.ones(2)); d.barrier();"
            "print('mpi4py' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={k: v for k, v in __import__("os").environ.items()
                              if k not in comm._SIZE_VARS})
    assert out.stdout.strip() == "False", out.stderr


def test_launch_detection(monkeypatch):
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    assert comm.launched_size() == 4
    monkeypatch.setenv("SYMGRAPH_DIST", "0")
    assert comm.launched_size() == 1
    monkeypatch.delenv("SYMGRAPH_DIST")
    monkeypatch.delenv("OMPI_COMM_WORLD_SIZE")
    monkeypatch.setenv("PMI_SIZE", "3")
    assert comm.launched_size() == 3


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op", ["sum", "mean", "max", "min"])
def test_allreduce_is_identity(mode, op):
    x = T.dmatrix("x")
    f = theano.function([x], dist.allreduce(x, op), mode=mode)
    v = np.arange(6.0).reshape(2, 3)
    out = f(v)
    assert np.array_equal(out, v) and out is not v


def test_allreduce_dtypes():
    assert dist.allreduce(T.ivector(), "mean").dtype == "float64"
    assert dist.allreduce(T.ivector(), "sum").dtype == "int32"
    assert dist.allreduce(T.fvector(), "mean").dtype == "float32"
    with pytest.raises(TypeError, match="complex"):
        dist.allreduce(T.TensorType("complex128", (False,))(), "max")
    with pytest.raises(ValueError, match="op must be"):
        dist.allreduce(T.dvector(), "prod")


@pytest.mark.parametrize("mode", MODES)
def test_allgather_broadcast_identity_and_shapes(mode):
    x = T.dmatrix("x")
    g0, g1, b = dist.allgather(x, 0), dist.allgather(x, 1), dist.broadcast(x, 0)
    f = theano.function([x], [g0, g1, b, g0.shape, b.shape], mode=mode)
    v = np.arange(6.0).reshape(2, 3)
    a0, a1, bb, s0, sb = f(v)
    assert np.array_equal(a0, v) and np.array_equal(a1, v) and np.array_equal(bb, v)
    assert tuple(s0) == (2, 3) and tuple(sb) == (2, 3)
    with pytest.raises(ValueError, match="axis"):
        dist.allgather(x, 2)
    with pytest.raises(ValueError, match="root"):
        dist.broadcast_array(v, root=1)


@pytest.mark.parametrize("mode", MODES)
def test_gradients(mode):
    x = T.dmatrix("x")
    v = np.random.RandomState(0).standard_normal((2, 3))
    for y in (dist.allreduce(x, "sum"), dist.allreduce(x, "mean"), dist.allreduce(x, "max"),
              dist.allgather(x, 1), dist.broadcast(x)):
        g = T.grad((y ** 2).sum(), x)
        assert np.allclose(theano.function([x], g, mode=mode)(v), 2 * v)
    theano.verify_grad(lambda a: dist.allreduce(a, "mean") * 3, [v])


def test_gradient_is_the_same_collective():
    x = T.dvector("x")
    for op in ("sum", "mean"):
        g = T.grad(dist.allreduce(x, op).sum(), x)
        f = theano.function([x], g)
        ops = [n.op for n in f.fgraph.toposort() if isinstance(n.op, dist.Collective)]
        assert ops == [dist.AllReduce(op)], ops
    g = T.grad(dist.broadcast(x).sum(), x)
    assert any(isinstance(n.op, dist.ReduceToRoot) for n in theano.function([x], g).fgraph.toposort())


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE", "PY"])
def test_never_folded_nor_merged(mode):
    c = dist.allreduce(T.constant(np.ones(3)))
    f = theano.function([], [c, dist.allreduce(T.constant(np.ones(3)))], mode=mode)
    colls = [n for n in f.fgraph.toposort() if isinstance(n.op, dist.Collective)]
    assert len(colls) == 2
    y = T.dvector("y")
    f = theano.function([y], [dist.allreduce(y), dist.allreduce(y), dist.broadcast(y), dist.broadcast(y)],
                        mode=mode)
    assert sum(isinstance(n.op, dist.Collective) for n in f.fgraph.toposort()) == 4
    assert dist.AllReduce._no_constant_fold and dist.AllReduce._no_merge


def test_c_backend_runs_it_as_a_python_step():
    from symgraph.compile.mode import get_mode
    if get_mode("FAST_RUN").resolve_linker() != "c":
        pytest.skip("FAST_RUN does not use the C backend here")
    x = T.dmatrix("x")
    y = T.tanh(dist.allreduce(T.exp(x) * 2)) + 1
    f = theano.function([x], y)
    v = np.random.RandomState(1).standard_normal((4, 5))
    assert np.allclose(f(v), np.tanh(np.exp(v) * 2) + 1)


@pytest.mark.parametrize("mode", MODES)
def test_average_gradients_buckets(mode, monkeypatch):
    gs = [T.dmatrix("a"), T.fvector("b"), T.dvector("c"), T.lvector("d")]
    assert dist.average_gradients(gs) == gs                # one process: unchanged
    out = dist.average_gradients(gs, bucket_bytes=40, always=True)
    assert len(out) == 4 and [o.dtype for o in out] == ["float64", "float32", "float64", "float64"]
    f = theano.function(gs, out, mode=mode)
    vals = [np.arange(12.0).reshape(3, 4), np.ones(5, "float32"), np.arange(3.0), np.arange(4)]
    for got, want in zip(f(*vals), vals):
        assert np.array_equal(got, want) and got.shape == want.shape


def test_bucketing_packs_by_dtype_and_size(monkeypatch):
    """allreduce_arrays' plan, observed through a fake 2-rank world that records the calls."""
    sent = []

    class FakeReq:
        pass

    class FakeMPI:
        SUM, MAX, MIN, LOR, LAND = "SUM", "MAX", "MIN", "LOR", "LAND"

        class Request:
            @staticmethod
            def Testall(reqs):
                return True

    class FakeComm:
        def Iallgather(self, mine, every):
            every[...] = mine
            return FakeReq()

        def Iallreduce(self, send, recv, op):
            sent.append((send.dtype.name, send.size, op))
            recv[...] = send * 2
            return FakeReq()

    w = comm._World()
    w.size, w.rank, w.comm, w.MPI = 2, 0, FakeComm(), FakeMPI
    monkeypatch.setattr(comm, "_world", w)
    arrays = [np.ones((3, 4)), np.ones(5, "float32"), np.ones(3), np.ones(100), np.ones(2, "float32")]
    out = comm.allreduce_arrays(arrays, "mean", bucket_bytes=16 * 8)
    # float64: 12 + 3 elements fit in 16; 100 alone; float32: 5 + 2 in one bucket
    assert sent == [("float64", 15, "SUM"), ("float64", 100, "SUM"), ("float32", 7, "SUM")]
    for a, o in zip(arrays, out):
        assert o.shape == a.shape and o.dtype == a.dtype and np.all(o == 1)
    c = np.ones(6)
    out = comm.allreduce_arrays([c], "sum")
    assert np.all(out[0] == 2)


def test_mismatch_message():
    msg = comm._mismatch_message("allreduce(sum) of 'W'", ["W:<f8(3, 4);b:<f8(4,)", "W:<f8(3, 5);b:<f8(4,)"])
    assert "'W' (rank 0: float64 (3, 4), rank 1: float64 (3, 5))" in msg and "'b'" not in msg


def test_broadcast_shared_shard_local_batch_check_identical():
    s = theano.shared(np.arange(3.0), name="s")
    r = theano.shared(np.random.RandomState(0), name="rng")
    assert dist.broadcast_shared([s, r]) == [s]
    dist.check_identical([s, r])
    assert np.array_equal(dist.shard(5), np.arange(5))
    idx = dist.shard(10, seed=3)
    assert sorted(idx.tolist()) == list(range(10)) and idx.dtype == np.int64
    assert np.array_equal(dist.shard(10, seed=3), idx)
    assert dist.local_batch(500) == 500 and dist.batch_slice(2, 500) == (1000, 1500)


def test_shard_drop_and_pad(monkeypatch):
    w = comm._World()
    w.size = 3
    monkeypatch.setattr(comm, "_world", w)
    parts = []
    for r in range(3):
        w.rank = r
        parts.append(dist.shard(10))
    assert [p.tolist() for p in parts] == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]    # 9 dropped
    padded = []
    for r in range(3):
        w.rank = r
        padded.append(dist.shard(10, pad=True))
    assert [p.tolist() for p in padded] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1]]
    with pytest.raises(ValueError, match="evenly"):
        dist.local_batch(500)
    w.rank = 1
    assert dist.batch_slice(1, 300) == (400, 500)


def test_timeout_setting(monkeypatch):
    assert dist.timeout() == comm.DEFAULT_TIMEOUT
    monkeypatch.setenv("SYMGRAPH_DIST_TIMEOUT", "12.5")
    assert dist.timeout() == 12.5
    dist.set_timeout(3)
    assert dist.timeout() == 3.0
    with pytest.raises(ValueError):
        dist.set_timeout(0)
    dist.set_timeout(None)
    assert dist.timeout() == 12.5


def test_timeout_raises_and_breaks_the_group(monkeypatch):
    class NeverMPI:
        class Request:
            @staticmethod
            def Testall(reqs):
                return False

    w = comm._World()
    w.size, w.MPI = 2, NeverMPI
    monkeypatch.setattr(comm, "_world", w)
    dist.set_timeout(0.05)
    with pytest.raises(dist.CollectiveTimeout, match="did not complete within 0.05 s"):
        w.wait([object()], "allreduce(sum) of 'x'")
    with pytest.raises(dist.CollectiveError, match="unusable"):
        w.check()
