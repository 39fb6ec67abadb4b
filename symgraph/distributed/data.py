"""Data-parallel training helpers: ``shard``, ``local_batch``, ``broadcast_shared``,
``average_gradients``, ``check_identical``.
"""
from __future__ import annotations

import numpy as np

from . import comm
from .ops import AllReduce


def shard(n, seed=None, pad=False):
    """This rank's part of ``n`` examples, as an int64 index array; every rank gets the same count.

    The examples (``np.random.RandomState(seed).permutation(n)`` when ``seed`` is given, else
    ``0 .. n-1``; the seed must be the same on every rank) are cut into ``size()`` contiguous,
    equal parts.  The remainder ``n % size()`` is dropped (the last examples of the order), or,
    with ``pad=True``, each part gets ``ceil(n / size())`` examples, the last ones wrapping
    around to the first examples of the order (so a few are seen twice per epoch).
    """
    n = int(n)
    if n < 0:
        raise ValueError(f"shard: n must be >= 0, got {n}")
    order = np.random.RandomState(seed).permutation(n) if seed is not None else np.arange(n)
    order = order.astype(np.int64)
    size, rank = comm.size(), comm.rank()
    if pad:
        per = -(-n // size)
        order = np.resize(order, per * size) if n else order     # np.resize repeats cyclically
    else:
        per = n // size
    return order[rank * per:(rank + 1) * per]


def local_batch(global_batch):
    """The per-rank minibatch size for a global minibatch of ``global_batch`` examples.

    Raises ValueError unless the global batch divides evenly (so that the averaged gradient is
    exactly the gradient of the global batch's mean cost).
    """
    size = comm.size()
    if global_batch % size:
        raise ValueError(f"a global batch of {global_batch} does not split evenly over {size} ranks")
    return global_batch // size


def batch_slice(index, global_batch):
    """(start, stop) of this rank's part of minibatch ``index`` (rows ``index * global_batch ...``).

    Works for ints and symbolic scalars alike (``givens={x: data[start:stop]}``).
    """
    b = local_batch(global_batch)
    start = index * global_batch
    if comm.rank():
        start = start + comm.rank() * b
    return start, start + b


def broadcast_shared(shared_vars, root=0):
    """Set every rank's shared variables to rank ``root``'s values (call once after building).

    Variables holding something other than an ndarray (random states) are left alone: each rank
    keeps its own stream.  Returns the list of variables set.
    """
    done = []
    for i, var in enumerate(shared_vars):
        value = var.get_value(borrow=True)
        if not isinstance(value, np.ndarray):
            continue
        new = comm.broadcast_array(value, root, name=var.name or f"shared variable {i}")
        if comm.size() > 1:
            var.set_value(new, borrow=True)
        done.append(var)
    return done


def average_gradients(grads, bucket_bytes=comm.DEFAULT_BUCKET_BYTES, always=False):
    """The gradients averaged over ranks: one ``AllReduce{mean}`` node for all of them.

    At run time the node packs the gradients (in order, by dtype) into flat buckets of at most
    ``bucket_bytes`` (25 MiB, as PyTorch DDP; a larger gradient is a bucket on its own), runs one
    MPI allreduce per bucket and returns views of the received buckets in the gradients' shapes.
    In one process (``size() == 1``) the gradients are returned unchanged unless ``always``.
    """
    grads = list(grads)
    if not grads or (comm.size() == 1 and not always):
        return grads
    out = AllReduce("mean", bucket_bytes)(*grads)
    out = out if isinstance(out, (list, tuple)) else [out]
    for g, o in zip(grads, out):
        if g.name and not o.name:
            o.name = f"mean({g.name})"
    return list(out)


def check_identical(shared_vars, what="parameters", atol=0.0):
    """Raise RuntimeError on every rank unless every rank holds the same values (root's).

    Compares each ndarray-valued shared variable with rank 0's (bit for bit by default); the
    message names the variables that differ and by how much.
    """
    arrays = [(i, var) for i, var in enumerate(shared_vars)
              if isinstance(var.get_value(borrow=True), np.ndarray)]
    diffs = []
    for i, var in arrays:
        value = var.get_value(borrow=True)
        ref = comm.broadcast_array(value, 0, name=var.name or f"shared variable {i}")
        diffs.append(float(np.max(np.abs(ref.astype(np.float64) - value))) if value.size else 0.0)
    if not diffs:
        return
    worst = comm.allreduce_arrays([np.array(diffs, np.float64)], "max", names=[what])[0]
    bad = [(var.name or f"#{i}", d) for (i, var), d in zip(arrays, worst) if not d <= atol]
    if bad:
        shown = ", ".join(f"{n} (max |diff| {d:.3g})" for n, d in bad[:10])
        raise RuntimeError(f"{what} diverged across the {comm.size()} ranks: {shown}")
