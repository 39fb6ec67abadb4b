"""The ``dist`` rows of bench/run.py: data-parallel LeNet and allreduce over MPI.

    python bench/run.py dist                     # launches mpiexec itself
    mpiexec -n 2 python bench/dist_bench.py --json out.json   # the worker, by hand

The worker (this file run under ``mpiexec -n N``) measures:

* LeNet's training step (SGD, float32, ``average_gradients``) at a fixed *global* batch, each
  rank computing its ``batch / N`` share: seconds per step and images/s (global batch / step);
* ``allreduce_arrays`` of float32 messages from 1 KiB to 64 MiB: median seconds, the
  algorithm bandwidth (bytes / s) and the bus bandwidth (``2 (N-1) / N * bytes / s``, what
  each link carried in a ring allreduce), as NCCL's tests report them.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _lenet_step(global_batch, seed=0):
    import symgraph as theano
    import symgraph.tensor as T
    import symgraph.distributed as dist
    from symgraph.tensor.nnet import conv2d
    from symgraph.tensor.signal import pool

    theano.config.floatX = "float32"
    b = dist.local_batch(global_batch)
    rng = np.random.RandomState(seed)
    shapes = dict(W0=(20, 1, 5, 5), b0=(20,), W1=(50, 20, 5, 5), b1=(50,), W2=(800, 500), b2=(500,),
                  W3=(500, 10), b3=(10,))
    p = {k: theano.shared((rng.standard_normal(s) * 0.05).astype("float32"), name=k)
         for k, s in shapes.items()}
    params = list(p.values())
    dist.broadcast_shared(params)
    xs = theano.shared(rng.rand(global_batch, 784).astype("float32"), name="xs")
    ys = theano.shared(rng.randint(0, 10, global_batch).astype("int32"), name="ys")
    x, y = T.matrix("x"), T.ivector("y")

    def layer(inp, W, bias, fshape, ishape):
        c = conv2d(input=inp, filters=W, filter_shape=fshape, input_shape=ishape)
        return T.tanh(pool.pool_2d(c, ds=(2, 2), ignore_border=True) + bias.dimshuffle("x", 0, "x", "x"))

    l0 = layer(x.reshape((b, 1, 28, 28)), p["W0"], p["b0"], (20, 1, 5, 5), (b, 1, 28, 28))
    l1 = layer(l0, p["W1"], p["b1"], (50, 20, 5, 5), (b, 20, 12, 12))
    h = T.tanh(T.dot(l1.flatten(2), p["W2"]) + p["b2"])
    pyx = T.nnet.softmax(T.dot(h, p["W3"]) + p["b3"])
    cost = -T.mean(T.log(pyx)[T.arange(y.shape[0]), y])
    grads = dist.average_gradients(T.grad(cost, params))
    lo, hi = dist.batch_slice(0, global_batch)
    f = theano.function([], cost, updates=[(q, q - 0.01 * g) for q, g in zip(params, grads)],
                        givens={x: xs[lo:hi], y: ys[lo:hi]})
    grad_bytes = sum(int(np.prod(s)) * 4 for s in shapes.values())
    return f, grad_bytes


def _median_time(fn, repeats, number):
    import symgraph.distributed as dist
    times = []
    for _ in range(repeats):
        dist.barrier()
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    # the slowest rank sets the pace: the max over ranks of each sample, then the median
    times = dist.allreduce_arrays([np.array(times)], "max")[0]
    return float(np.median(times)), float(np.subtract(*np.percentile(times, [75, 25])))


def worker(args):
    import symgraph.distributed as dist
    n = dist.size()
    out = dict(ranks=n, lenet={}, allreduce=[])
    f, grad_bytes = _lenet_step(args.batch)
    for _ in range(args.warmup):
        f()
    t, iqr = _median_time(f, args.repeats, args.steps)
    out["lenet"] = dict(global_batch=args.batch, step_s=t, iqr_s=iqr, images_per_s=args.batch / t,
                        grad_bytes=grad_bytes)
    size = args.min_bytes
    while size <= args.max_bytes:
        a = np.ones(size // 4, np.float32)
        def fn(a=a):
            return dist.allreduce_arrays([a], "sum")

        number = max(1, min(200, int(2e6 // max(size, 1))))
        for _ in range(2):
            fn()
        t, iqr = _median_time(fn, args.repeats, number)
        raw_t = None
        if n > 1:        # the bare MPI call on the same buffers: no header exchange, no checks
            w = dist.comm.world()
            recv = np.empty_like(a)

            def raw(a=a, recv=recv):
                return w.wait([w.comm.Iallreduce(a, recv)], "raw allreduce")

            raw_t, _ = _median_time(raw, args.repeats, number)
        out["allreduce"].append(dict(bytes=size, s=t, iqr_s=iqr, raw_s=raw_t, algbw=size / t,
                                     busbw=2 * (n - 1) / n * size / t if n > 1 else None))
        size *= 4
    if dist.is_root():
        text = json.dumps(out)
        if args.json:
            with open(args.json, "w") as fh:
                fh.write(text)
        print(text, flush=True)


def run_ranks(n, *, batch, steps, repeats, warmup, min_bytes, max_bytes, timeout=400):
    """Launch the worker on ``n`` ranks (``mpiexec``); returns its JSON document."""
    import tempfile
    mpiexec = shutil.which("mpiexec")
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    cmd = [mpiexec, "--allow-run-as-root", "--oversubscribe", "-n", str(n), sys.executable,
           os.path.abspath(__file__), "--json", path, "--batch", str(batch), "--steps", str(steps),
           "--repeats", str(repeats), "--warmup", str(warmup), "--min-bytes", str(min_bytes),
           "--max-bytes", str(max_bytes)]
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // n)))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    try:
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:6])} ... exited {proc.returncode}: "
                               f"{(proc.stdout + proc.stderr)[-1500:]}")
        with open(path) as fh:
            return json.load(fh)
    finally:
        os.unlink(path)


def unavailable():
    import importlib.util
    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed (pip install 'symgraph[distributed]')"
    if shutil.which("mpiexec") is None:
        return "no mpiexec on PATH (pip install 'symgraph[distributed]')"
    return None


def fmt_bytes(n):
    for unit, k in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= k:
            return f"{n / k:g} {unit}"
    return f"{n} B"


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--steps", type=int, default=3, help="steps per timed sample")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--min-bytes", type=int, default=1 << 10)
    ap.add_argument("--max-bytes", type=int, default=64 << 20)
    return ap.parse_args(argv)


if __name__ == "__main__":
    worker(parse())
