"""The process group: who we are, and the eager (NumPy-level) collectives the Ops call.

Detection: a process started by ``mpiexec`` (OpenMPI: ``OMPI_COMM_WORLD_SIZE``; MPICH, Intel MPI
and Slurm's PMI: ``PMI_SIZE``; MVAPICH: ``MV2_COMM_WORLD_SIZE``) with a size above 1 is a rank of
a group; anything else is one process on its own (``size() == 1``, collectives are identities).
mpi4py is imported, and MPI initialised, only when a group of more than one process is found, at
the first call that needs it.  ``SYMGRAPH_DIST=0`` forces one process.

Every collective here:

1. exchanges a small header (one ``Iallgather`` of 4 int64 per rank: the kind of collective, the
   length and CRC32 of a text describing every array's dtype and shape).  When the headers
   differ, the descriptions themselves are exchanged and every rank raises the same
   :class:`CollectiveMismatch`, naming the variable and each rank's dtype and shape, before any
   data moves;
2. moves the data with non-blocking MPI calls (``Iallreduce`` ...) on the arrays' own memory
   (mpi4py's buffer interface: no copy of a C-contiguous array);
3. waits by polling the requests (``Test``) until a deadline: ``timeout()`` seconds (default 300,
   ``SYMGRAPH_DIST_TIMEOUT`` or :func:`set_timeout`).  Past it a :class:`CollectiveTimeout` is
   raised; the group is then unusable (an MPI collective cannot be cancelled), so later
   collectives raise at once and, if the process exits, ``MPI_Abort`` tears the job down instead
   of letting ``MPI_Finalize`` wait for the missing rank.
"""
from __future__ import annotations

import atexit
import os
import pickle
import sys
import time
import zlib

import numpy as np

DEFAULT_TIMEOUT = 300.0
_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE")
_RANK_VARS = ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "MV2_COMM_WORLD_RANK")


class CollectiveError(RuntimeError):
    """A collective could not run (mismatch across ranks, timeout, a broken group)."""


class CollectiveMismatch(CollectiveError, ValueError):
    """Ranks gave a collective arrays of different dtypes or shapes (raised on every rank)."""


class CollectiveTimeout(CollectiveError, TimeoutError):
    """A collective did not complete before the deadline: a rank is dead, hung or elsewhere."""


def launched_size():
    """The group size that the launcher's environment announces (1 when not launched)."""
    if os.environ.get("SYMGRAPH_DIST", "1").strip() in ("0", "false", "False", "no"):
        return 1
    for var in _SIZE_VARS:
        value = os.environ.get(var)
        if value:
            try:
                return max(int(value), 1)
            except ValueError:
                pass
    return 1


def launched_rank():
    for var in _RANK_VARS:
        value = os.environ.get(var)
        if value:
            try:
                return int(value)
            except ValueError:
                pass
    return 0


_timeout = None


def timeout():
    """Seconds a collective may wait for the other ranks before :class:`CollectiveTimeout`."""
    if _timeout is not None:
        return _timeout
    value = os.environ.get("SYMGRAPH_DIST_TIMEOUT")
    if value:
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"SYMGRAPH_DIST_TIMEOUT={value!r} is not a number of seconds") from None
    return DEFAULT_TIMEOUT


def set_timeout(seconds):
    """Set the deadline of every later collective (``None``: back to the default / environment).

    There is no "wait forever": pass a large number if a rank legitimately lags for long
    (a first compile on a slow machine, a checkpoint written while the others wait).
    """
    global _timeout
    if seconds is not None:
        seconds = float(seconds)
        if not seconds > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {seconds}")
    _timeout = seconds


class _World:
    """The MPI group (or a one-process stand-in)."""

    def __init__(self):
        self.size = launched_size()
        self.rank = launched_rank() if self.size > 1 else 0
        self.comm = None
        self.MPI = None
        self.broken = None          # the message of the failure that broke the group

    def mpi(self):
        if self.comm is None:
            try:
                from mpi4py import MPI
            except ImportError as exc:
                raise CollectiveError(
                    f"launched as {self.size} processes but mpi4py is missing: "
                    f"pip install 'symgraph[distributed]' ({exc})") from None
            self.MPI = MPI
            self.comm = MPI.COMM_WORLD
            if self.comm.Get_size() != self.size or self.comm.Get_rank() != self.rank:
                self.size, self.rank = self.comm.Get_size(), self.comm.Get_rank()
            atexit.register(self._at_exit)
        return self.comm

    def _at_exit(self):
        if self.broken is not None and self.MPI is not None and self.MPI.Is_initialized() \
                and not self.MPI.Is_finalized():
            sys.stderr.write(f"[symgraph.distributed rank {self.rank}] aborting the MPI job: "
                             f"{self.broken}\n")
            sys.stderr.flush()
            self.comm.Abort(1)

    # -- waiting ---------------------------------------------------------------------------------
    def wait(self, requests, what):
        """Complete ``requests`` or raise :class:`CollectiveTimeout` after ``timeout()`` seconds."""
        MPI = self.MPI
        if MPI.Request.Testall(requests):
            return
        limit = timeout()
        t0 = time.perf_counter()
        spins = 0
        while True:
            if MPI.Request.Testall(requests):
                return
            elapsed = time.perf_counter() - t0
            if elapsed > limit:
                msg = (f"rank {self.rank} of {self.size}: {what} did not complete within {limit:g} s "
                       f"(symgraph.distributed timeout; set SYMGRAPH_DIST_TIMEOUT or "
                       f"symgraph.distributed.set_timeout): another rank is dead, hung, or did not "
                       f"call this collective")
                self.broken = msg
                raise CollectiveTimeout(msg)
            spins += 1
            if spins > 200:            # after ~200 quick polls, sleep a little (other ranks need the cores)
                time.sleep(min(1e-3, max(2e-5, elapsed * 0.02)))

    def check(self):
        if self.broken is not None:
            raise CollectiveError(f"the process group is unusable after an earlier failure: {self.broken}")


_world = None


def world():
    global _world
    if _world is None:
        _world = _World()
    return _world


def size():
    """Number of processes in the group (1 when not launched by ``mpiexec``)."""
    return world().size


def rank():
    """This process's index in the group, 0 .. size() - 1."""
    return world().rank


def is_root(root=0):
    """True on the rank that prints and writes files (rank ``root``, default 0)."""
    return world().rank == root


def barrier():
    """Wait until every rank gets here (with the collective timeout)."""
    w = world()
    if w.size == 1:
        return
    w.check()
    comm = w.mpi()
    w.wait([comm.Ibarrier()], "barrier()")


# ------------------------------------------------------------------------------------- headers

def describe(arrays, names):
    return ";".join(f"{n}:{a.dtype.str}{tuple(a.shape)}" for a, n in zip(arrays, names))


def _exchange_header(w, kind, desc, what):
    """Check that every rank calls the same collective on the same dtypes and shapes."""
    comm = w.comm
    raw = desc.encode()
    kind_code = zlib.crc32(kind.encode()) & 0x7FFFFFFF
    mine = np.array([kind_code, len(raw), zlib.crc32(raw), 0x5347], np.int64)
    every = np.empty((w.size, 4), np.int64)
    w.wait([comm.Iallgather(mine, every)], f"{what} (header exchange)")
    if (every == mine).all():
        return
    # they differ: exchange the descriptions themselves (padded to the longest)
    longest = int(every[:, 1].max())
    pad = np.zeros(max(longest, 1), np.uint8)
    pad[:len(raw)] = np.frombuffer(raw, np.uint8)
    texts = np.empty((w.size, pad.size), np.uint8)
    w.wait([comm.Iallgather(pad, texts)], f"{what} (mismatch report)")
    kinds = every[:, 0]
    descs = [bytes(texts[r, :every[r, 1]]).decode(errors="replace") for r in range(w.size)]
    if not (kinds == kinds[0]).all():
        msg = (f"{what}: ranks called different collectives at the same point (the graphs or the "
               f"order of calls differ across ranks): " +
               "; ".join(f"rank {r}: {descs[r]}" for r in range(w.size)))
    else:
        msg = _mismatch_message(what, descs)
    raise CollectiveMismatch(msg)


def _mismatch_message(what, descs):
    per_rank = [dict(item.rsplit(":", 1) for item in d.split(";") if item) if d else {} for d in descs]
    names = []
    for d in per_rank:
        for k in d:
            if k not in names:
                names.append(k)
    lines = []
    for n in names:
        vals = [d.get(n, "missing") for d in per_rank]
        if len(set(vals)) > 1:
            shown = ", ".join(f"rank {r}: {_pretty(v)}" for r, v in enumerate(vals))
            lines.append(f"{n!r} ({shown})")
    if not lines:
        lines = [f"rank {r}: {d}" for r, d in enumerate(descs)]
    return f"{what}: dtypes or shapes differ across ranks: " + "; ".join(lines)


def _pretty(v):
    if v == "missing":
        return v
    i = v.index("(")
    return f"{np.dtype(v[:i]).name} {v[i:]}"


# ------------------------------------------------------------------------------------- reductions

_OPS = ("sum", "mean", "max", "min")


def _mpi_op(MPI, op, dtype):
    if dtype == np.bool_:
        return {"sum": MPI.LOR, "max": MPI.LOR, "min": MPI.LAND}[op]
    return {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op]


def result_dtype(op, dtype):
    """dtype of ``allreduce(x, op)`` for an ``x`` of ``dtype`` (NumPy's: mean of integers is float64)."""
    dtype = np.dtype(dtype)
    if op == "mean" and dtype.kind in "biu":
        return np.dtype("float64")
    return dtype


def _wire_dtype(dtype):
    """dtype the data travels as: MPI has no half precision here, so float16 goes as float32."""
    return np.dtype("float32") if dtype == np.float16 else dtype


DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024


def allreduce_arrays(arrays, op="sum", names=None, bucket_bytes=DEFAULT_BUCKET_BYTES, what=None):
    """Reduce each array elementwise over ranks; returns new arrays (the inputs are not changed).

    Several arrays of one dtype are packed into flat buckets of at most ``bucket_bytes`` (an array
    larger than that is a bucket on its own) and each bucket is one ``Iallreduce``; the results
    are views of the received buckets.  A single C-contiguous array goes to MPI as it is.
    """
    if op not in _OPS:
        raise ValueError(f"allreduce op must be one of {_OPS}, got {op!r}")
    arrays = [np.asarray(a) for a in arrays]
    names = list(names) if names is not None else [f"input {i}" for i in range(len(arrays))]
    out_dtypes = [result_dtype(op, a.dtype) for a in arrays]
    what = what or f"allreduce({op}) of {', '.join(map(repr, names[:3]))}{' ...' if len(names) > 3 else ''}"
    w = _begin(f"allreduce/{op}", what, arrays, names)
    if w is None:
        return [np.array(a, dtype=d, copy=True) for a, d in zip(arrays, out_dtypes)]
    MPI, comm = w.MPI, w.comm
    results = [None] * len(arrays)
    requests, finish = [], []
    # group by the dtype that travels, in input order; pack into buckets of <= bucket_bytes
    groups = {}
    for i, (a, d) in enumerate(zip(arrays, out_dtypes)):
        groups.setdefault(_wire_dtype(d), []).append(i)
    for wire, idx in groups.items():
        bucket, nbytes = [], 0
        buckets = []
        for i in idx:
            b = arrays[i].size * wire.itemsize
            if bucket and nbytes + b > bucket_bytes:
                buckets.append(bucket)
                bucket, nbytes = [], 0
            bucket.append(i)
            nbytes += b
        if bucket:
            buckets.append(bucket)
        for bucket in buckets:
            mpi_op = _mpi_op(MPI, op, wire)
            if len(bucket) == 1:
                i = bucket[0]
                send = np.ascontiguousarray(arrays[i], dtype=wire)    # no copy when already so
                recv = np.empty(arrays[i].shape, wire)
                requests.append(comm.Iallreduce(send, recv, op=mpi_op))
                finish.append((bucket, recv, [(i, 0, arrays[i].size)]))
                continue
            total = sum(arrays[i].size for i in bucket)
            send = np.empty(total, wire)
            spans, pos = [], 0
            for i in bucket:
                n = arrays[i].size
                send[pos:pos + n].reshape(arrays[i].shape)[...] = arrays[i]
                spans.append((i, pos, n))
                pos += n
            recv = np.empty(total, wire)
            requests.append(comm.Iallreduce(send, recv, op=mpi_op))
            finish.append((bucket, recv, spans))
    w.wait(requests, what)
    for bucket, recv, spans in finish:
        flat = recv.reshape(-1)
        if op == "mean":
            flat *= flat.dtype.type(1.0 / w.size) if flat.dtype.kind == "f" else 1.0 / w.size
        for i, pos, n in spans:
            v = flat[pos:pos + n].reshape(arrays[i].shape)
            results[i] = v if v.dtype == out_dtypes[i] else v.astype(out_dtypes[i])
    return results


def _begin(kind, what, arrays, names):
    """The group, ready for collective ``kind`` over ``arrays`` (every rank's names, dtypes and
    shapes checked equal first), or None in a one-process run."""
    w = world()
    if w.size == 1:
        return None
    w.check()
    w.mpi()
    _exchange_header(w, kind, describe(arrays, names), what)
    return w


def allgather_array(x, axis=0, name="x"):
    """Concatenate every rank's ``x`` along ``axis`` (rank order); all ranks must give equal shapes."""
    x = np.asarray(x)
    what = f"allgather(axis={axis}) of {name!r}"
    w = _begin(f"allgather/{axis}", what, [x], [name])
    if w is None:
        return np.array(x, copy=True)
    moved = np.moveaxis(x, axis, 0)
    send = np.ascontiguousarray(moved)                 # no copy for axis 0 of a contiguous array
    recv = np.empty((w.size,) + send.shape, send.dtype)
    w.wait([w.comm.Iallgather(send, recv)], what)
    out = recv.reshape((w.size * send.shape[0],) + send.shape[1:])
    return np.moveaxis(out, 0, axis) if axis != 0 else out


def broadcast_array(x, root=0, name="x"):
    """Root's ``x`` on every rank; every rank gives an array of the same dtype and shape."""
    x = np.asarray(x)
    if not 0 <= root < world().size:
        raise ValueError(f"broadcast root {root} is not a rank of a group of {world().size}")
    what = f"broadcast(root={root}) of {name!r}"
    w = _begin(f"broadcast/{root}", what, [x], [name])
    if w is None:
        return np.array(x, copy=True)
    buf = np.array(x, dtype=_wire_dtype(x.dtype), order="C", copy=True)
    w.wait([w.comm.Ibcast(buf, root=root)], what)
    return buf if buf.dtype == x.dtype else buf.astype(x.dtype)


def reduce_to_root_array(x, root=0, name="x"):
    """Sum of every rank's ``x`` on ``root``, zeros elsewhere (the gradient of broadcast)."""
    x = np.asarray(x)
    what = f"reduce(sum, root={root}) of {name!r}"
    w = _begin(f"reduce/{root}", what, [x], [name])
    if w is None:
        return np.array(x, copy=True)
    wire = _wire_dtype(x.dtype)
    send = np.ascontiguousarray(x, dtype=wire)
    recv = np.zeros(x.shape, wire)
    op = _mpi_op(w.MPI, "sum", wire)
    w.wait([w.comm.Ireduce(send, recv, op=op, root=root)], what)
    if w.rank != root:
        recv[...] = 0
    return recv if recv.dtype == x.dtype else recv.astype(x.dtype)


def gather_objects(obj, root=0):
    """Every rank's picklable ``obj`` as a list on ``root`` (None elsewhere); small data only."""
    w = world()
    if w.size == 1:
        return [obj]
    w.check()
    comm = w.mpi()
    raw = np.frombuffer(pickle.dumps(obj), np.uint8)
    lens = np.empty(w.size, np.int64)
    w.wait([comm.Iallgather(np.array([raw.size], np.int64), lens)], "gather_objects (sizes)")
    pad = np.zeros(int(lens.max()), np.uint8)
    pad[:raw.size] = raw
    every = np.empty((w.size, pad.size), np.uint8)
    w.wait([comm.Iallgather(pad, every)], "gather_objects")
    if w.rank != root:
        return None
    return [pickle.loads(every[r, :lens[r]].tobytes()) for r in range(w.size)]
