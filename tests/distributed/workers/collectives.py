"""Every collective, dtype and op against NumPy, inside compiled functions (C and Python backends)."""
import sys

import numpy as np

import _boot  # noqa: F401
import symgraph as theano
import symgraph.tensor as T
import symgraph.distributed as dist

N, R = dist.size(), dist.rank()
DTYPES = ["float16", "float32", "float64", "complex64", "complex128", "int8", "int16", "int32",
          "int64", "uint8", "uint16", "uint32", "uint64", "bool"]


def value(r, dtype, shape=(3, 4)):
    rng = np.random.RandomState(100 + r)
    if dtype == "bool":
        return rng.rand(*shape) > 0.5
    if dtype.startswith("complex"):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    if dtype.startswith(("int", "uint")):
        return rng.randint(0, 50, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def expected(op, dtype):
    stack = np.stack([value(r, dtype) for r in range(N)])
    if dtype == "bool":
        return {"sum": stack.any(0), "max": stack.any(0), "min": stack.all(0),
                "mean": stack.mean(0)}[op]
    return {"sum": stack.sum(0, dtype=dtype), "mean": stack.mean(0), "max": stack.max(0),
            "min": stack.min(0)}[op].astype(dist.comm.result_dtype(op, dtype))


checked = 0
for mode in sys.argv[1:] or ["FAST_RUN", "PY"]:
    for dtype in DTYPES:
        x = T.TensorType(dtype, (False, False))("x")
        ops = ["sum", "mean"] + ([] if dtype.startswith("complex") else ["max", "min"])
        f = theano.function([x], [dist.allreduce(x, op) for op in ops], mode=mode)
        for op, got in zip(ops, f(value(R, dtype))):
            want = expected(op, dtype)
            assert got.dtype == want.dtype, (mode, dtype, op, got.dtype, want.dtype)
            tol = 1e-3 if dtype == "float16" else 1e-6 if dtype in ("float32", "complex64") else 1e-12
            assert np.allclose(got, want, rtol=tol, atol=tol), (mode, dtype, op, got, want)
            checked += 1
    # allgather along each axis, broadcast from every root, and their gradients
    x = T.dmatrix("x")
    mine = value(R, "float64")
    for axis in (0, 1):
        g = dist.allgather(x, axis)
        w = T.dmatrix("w")
        grad = T.grad((g * w).sum(), x)
        f = theano.function([x, w], [g, grad], mode=mode)
        weights = [value(50 + r, "float64", (3 * N, 4) if axis == 0 else (3, 4 * N)) for r in range(N)]
        out, gx = f(mine, weights[R])
        assert np.array_equal(out, np.concatenate([value(r, "float64") for r in range(N)], axis))
        total = sum(weights)
        want = total[3 * R:3 * R + 3] if axis == 0 else total[:, 4 * R:4 * R + 4]
        assert np.allclose(gx, want), (axis, gx, want)
    for root in range(N):
        b = dist.broadcast(x, root)
        grad = T.grad((b * (R + 1)).sum(), x)
        f = theano.function([x], [b, grad], mode=mode)
        out, gx = f(mine)
        assert np.array_equal(out, value(root, "float64"))
        want = np.full((3, 4), float(sum(r + 1 for r in range(N)))) if R == root else np.zeros((3, 4))
        assert np.array_equal(gx, want), (root, gx)
    # gradient of allreduce(mean/sum) is the same collective of the output gradient
    for op in ("sum", "mean"):
        gx = theano.function([x], T.grad((dist.allreduce(x, op) * (R + 1)).sum(), x), mode=mode)(mine)
        s = float(sum(r + 1 for r in range(N)))
        assert np.allclose(gx, s if op == "sum" else s / N), (op, gx)
    # a collective of constants is not folded away: it still communicates
    c = dist.allreduce(T.constant(np.full(3, R + 1.0)))
    assert np.array_equal(theano.function([], c, mode=mode)(), np.full(3, N * (N + 1) / 2))
    # two equal collectives on one input are not merged: both run, with the same result
    y = T.dvector("y")
    f = theano.function([y], [dist.allreduce(y), dist.allreduce(y)], mode=mode)
    n_coll = sum(isinstance(n.op, dist.Collective) for n in f.fgraph.toposort())
    a, b = f(np.full(2, R + 1.0))
    assert np.array_equal(a, b) and a[0] == N * (N + 1) / 2 and n_coll == 2, (a, b, n_coll)
# average_gradients with tiny buckets (several per call) and mixed dtypes
gs = [T.dmatrix("g0"), T.fvector("g1"), T.dvector("g2"), T.fmatrix("g3")]
vals = [value(R, "float64", (5, 3)), value(R, "float32", (7,)), value(R, "float64", (2,)),
        value(R, "float32", (4, 4))]
f = theano.function(gs, dist.average_gradients(gs, bucket_bytes=64, always=True))
for i, got in enumerate(f(*vals)):
    want = np.mean([[value(r, "float64", (5, 3)), value(r, "float32", (7,)), value(r, "float64", (2,)),
                     value(r, "float32", (4, 4))][i] for r in range(N)], axis=0)
    assert got.shape == want.shape and got.dtype == vals[i].dtype
    assert np.allclose(got, want, rtol=1e-6), (i, got, want)
# shared variables, shard, barrier
s = theano.shared(np.full(4, float(R)), name="s")
dist.broadcast_shared([s], root=N - 1)
assert np.array_equal(s.get_value(), np.full(4, N - 1.0))
dist.check_identical([s])
parts = dist.allgather_array(dist.shard(11, seed=5))
assert len(parts) == N * (11 // N) and len(set(parts.tolist())) == len(parts)
dist.barrier()
print(f"rank {R} of {N}: OK ({checked} allreduce checks)", flush=True)
