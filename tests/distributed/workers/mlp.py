"""A small MLP trained data-parallel for --steps steps; writes each rank's parameters to OUT/rank<r>.npz.

    mpiexec -n 2 python tests/distributed/workers/mlp.py OUT [--mode FAST_RUN] [--steps 20]

Run without mpiexec it trains one process on the whole global batch (the reference).
"""
import argparse
import os

import numpy as np

import _boot  # noqa: F401
import symgraph as theano
import symgraph.tensor as T
import symgraph.distributed as dist

GLOBAL_BATCH = 16


def data(steps):
    rng = np.random.RandomState(7)
    x = rng.standard_normal((steps * GLOBAL_BATCH, 5))
    y = (x[:, 0] * x[:, 1] > 0).astype("int32") + (x[:, 2] > 0.5)
    return x, y.astype("int32")


def init():
    rng = np.random.RandomState(3 + dist.rank())        # different on purpose: broadcast_shared fixes it
    return dict(W1=rng.standard_normal((5, 7)) * 0.5, b1=np.zeros(7),
                W2=rng.standard_normal((7, 3)) * 0.5, b2=np.zeros(3))


def train(steps, mode, lr=0.3, bucket_bytes=dist.DEFAULT_BUCKET_BYTES):
    xs, ys = data(steps)
    params = {k: theano.shared(v, name=k) for k, v in init().items()}
    plist = [params[k] for k in ("W1", "b1", "W2", "b2")]
    dist.broadcast_shared(plist)
    X = theano.shared(xs, name="X")
    Y = theano.shared(ys, name="Y")
    index = T.lscalar("index")
    x, y = T.dmatrix("x"), T.ivector("y")
    h = T.tanh(T.dot(x, params["W1"]) + params["b1"])
    p = T.nnet.softmax(T.dot(h, params["W2"]) + params["b2"])
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    grads = dist.average_gradients(T.grad(cost, plist), bucket_bytes=bucket_bytes)
    start, stop = dist.batch_slice(index, GLOBAL_BATCH)
    step = theano.function([index], cost, mode=mode,
                           updates=[(q, q - lr * g) for q, g in zip(plist, grads)],
                           givens={x: X[start:stop], y: Y[start:stop]})
    costs = [float(step(i)) for i in range(steps)]
    dist.check_identical(plist)
    return {q.name: q.get_value() for q in plist}, costs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--mode", default="FAST_RUN")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--bucket-bytes", type=int, default=dist.DEFAULT_BUCKET_BYTES)
    a = ap.parse_args()
    values, costs = train(a.steps, a.mode, bucket_bytes=a.bucket_bytes)
    os.makedirs(a.out, exist_ok=True)
    np.savez(os.path.join(a.out, f"rank{dist.rank()}.npz"), costs=np.array(costs), **values)
    print(f"rank {dist.rank()} of {dist.size()}: done, last cost {costs[-1]:.6f}", flush=True)


if __name__ == "__main__":
    main()
