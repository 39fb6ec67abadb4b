"""Device memory: a caching allocator and ``DeviceArray``, a strided n-d view of device memory.

Every allocation goes through one :class:`DevicePool`. A freed block (the last
``DeviceArray`` on it collected) goes back to a free list of its size class
instead of to ``cuMemFree``, so a training step that allocates the same
intermediates every call reuses the same blocks after its first call. All
kernels, copies and cuBLAS calls run on the backend's one stream
(``driver.stream()``), so a block freed on the host can be handed to the next
kernel at once: the GPU runs them in order.

``DeviceArray`` keeps numpy's conventions (shape, dtype, byte strides, views
sharing a base) so indexing and transposition are pure metadata::

    a = DeviceArray.from_host(np.arange(6, dtype='float32').reshape(2, 3))
    a.T.get()            # array([[0., 3.], [1., 4.], [2., 5.]], dtype=float32)
    a[:, 1:].strides     # (12, 4)
"""
from __future__ import annotations

import numpy as np

from . import driver
from .driver import cuda


_SIZE_CLASS = {}


def _size_class(nbytes):
    """Round up to a multiple of 512 B below 1 MiB, else to a multiple of an eighth of the
    next power of two (under 25 % slack)."""
    if nbytes <= 1 << 20:
        return max(512, (nbytes + 511) & ~511)
    top = 1 << (nbytes - 1).bit_length()
    eighth = top >> 3
    return (nbytes + eighth - 1) // eighth * eighth


class Block:
    """One pooled allocation; returns itself to the pool when garbage."""

    __slots__ = ("ptr", "nbytes", "alloc", "pool")

    def __init__(self, pool, alloc, nbytes):
        self.pool = pool
        self.alloc = alloc
        self.nbytes = nbytes
        self.ptr = int(alloc)

    def __del__(self):
        pool = self.pool
        if pool is not None and pool.active:
            pool.free_lists.setdefault(self.nbytes, []).append(self.alloc)
            pool.held -= self.nbytes


class DevicePool:
    """Caching allocator: size-class free lists in front of ``cuMemAlloc``.

    ``stats()`` reports blocks in use and cached. On an out-of-memory error the
    cache is released and the allocation tried once more.
    """

    def __init__(self):
        self.free_lists = {}
        self.active = True
        self.held = 0            # bytes in blocks handed out
        self.n_malloc = 0        # calls of cuMemAlloc (a measure of reuse)
        self.capture = None      # a list while a CUDA graph is captured: its blocks stay reserved

    def alloc(self, nbytes):
        size = _SIZE_CLASS.get(nbytes)
        if size is None:
            size = _SIZE_CLASS[nbytes] = _size_class(int(nbytes))
        free = self.free_lists.get(size)
        if free:
            raw = free.pop()
        else:
            drv = cuda()
            try:
                raw = drv.mem_alloc(size)
            except drv.MemoryError:
                self.release_cached()
                raw = drv.mem_alloc(size)
            self.n_malloc += 1
        self.held += size
        block = Block(self, raw, size)
        if self.capture is not None:
            self.capture.append(block)
        return block

    def release_cached(self):
        """Give every cached (unused) block back to the driver."""
        self.free_lists = {}

    def stats(self):
        cached = sum(k * len(v) for k, v in self.free_lists.items())
        return {"in_use_bytes": self.held, "cached_bytes": cached, "driver_allocs": self.n_malloc}


_pool = None


def pool():
    global _pool
    if _pool is None:
        _pool = DevicePool()
    return _pool


def release_all():
    """Stop pooling (at exit): blocks collected afterwards are freed by pycuda."""
    if _pool is not None:
        _pool.active = False
        _pool.release_cached()


_STRIDES = {}
_new = object.__new__


def _c_strides(shape, itemsize):
    key = (shape, itemsize)
    out = _STRIDES.get(key)
    if out is None:
        strides, step = [], itemsize
        for s in reversed(shape):
            strides.append(step)
            step *= max(int(s), 1)
        out = tuple(reversed(strides))
        if len(_STRIDES) < 4096:
            _STRIDES[key] = out
    return out


def empty(shape, dtype):
    """A new C-contiguous DeviceArray (``shape``: tuple of ints, ``dtype``: np.dtype); the fast path."""
    a = _new(DeviceArray)
    a.shape = shape
    a.dtype = dtype
    size = 1
    for n in shape:
        size *= n
    a.size = size
    itemsize = dtype.itemsize
    a.strides = _c_strides(shape, itemsize)
    if size:
        base = a.base = _pool.alloc(size * itemsize) if _pool is not None else pool().alloc(size * itemsize)
        a.ptr = base.ptr
    else:
        a.base = None
        a.ptr = 0
    return a


class DeviceArray:
    """An n-d array in device memory: ``shape``, ``dtype``, byte ``strides``, ``ptr``.

    ``base`` keeps the underlying :class:`Block` alive; views share it.
    ``get()`` (or ``np.asarray(a)``) copies to the host.
    """

    __slots__ = ("shape", "dtype", "strides", "ptr", "base", "size", "__weakref__")

    def __init__(self, shape, dtype, strides=None, ptr=None, base=None):
        self.shape = shape = tuple([int(s) for s in shape])
        self.dtype = dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
        size = 1
        for s in shape:
            size *= s
        self.size = size
        self.strides = _c_strides(shape, dtype.itemsize) if strides is None \
            else tuple([int(s) for s in strides])
        if ptr is None:
            nbytes = size * dtype.itemsize
            if nbytes:
                base = pool().alloc(nbytes)
                ptr = base.ptr
            else:
                ptr = 0
        self.ptr = ptr
        self.base = base

    # ------------------------------------------------------------ construction
    @classmethod
    def empty(cls, shape, dtype):
        return cls(shape, dtype)

    @classmethod
    def from_host(cls, value, dtype=None):
        """Upload a numpy array (made C-contiguous) to fresh device memory."""
        host = np.ascontiguousarray(value, dtype=dtype)
        out = cls(host.shape, host.dtype)
        if out.size:
            cuda().memcpy_htod(out.ptr, host)
        return out

    # ------------------------------------------------------------ properties
    @property
    def ndim(self):
        return len(self.shape)

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    @property
    def is_c_contiguous(self):
        if self.size <= 1:
            return True
        expect = self.dtype.itemsize
        for s, st in zip(reversed(self.shape), reversed(self.strides)):
            if s != 1 and st != expect:
                return False
            expect *= s
        return True

    def elem_strides(self):
        """Strides in elements (what kernels take)."""
        isz = self.dtype.itemsize
        return tuple(s // isz for s in self.strides)

    def __repr__(self):
        return f"DeviceArray(shape={self.shape}, dtype={self.dtype.name}, ptr={self.ptr:#x})"

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d DeviceArray")
        return self.shape[0]

    # ------------------------------------------------------------ transfers
    def get(self, out=None):
        """Copy to a new (or the given C-contiguous) host array."""
        src = self if self.is_c_contiguous else self.copy()
        host = np.empty(self.shape, self.dtype) if out is None else out
        if self.size:
            cuda().memcpy_dtoh(host, src.ptr)
        return host

    def __array__(self, dtype=None, copy=None):
        host = self.get()
        return host if dtype is None else host.astype(dtype, copy=False)

    def set(self, value):
        """Overwrite the contents from a host array of the same shape (self C-contiguous)."""
        host = np.ascontiguousarray(value, dtype=self.dtype)
        if host.shape != self.shape:
            raise ValueError(f"DeviceArray.set: shape {host.shape} != {self.shape}")
        if not self.is_c_contiguous:
            raise ValueError("DeviceArray.set needs a C-contiguous destination")
        if self.size:
            cuda().memcpy_htod(self.ptr, host)

    def copy(self):
        """A C-contiguous device copy (a strided copy kernel when needed)."""
        out = DeviceArray(self.shape, self.dtype)
        _COPY_INTO[0](out, self)
        return out

    # ------------------------------------------------------------ views
    def view(self, shape, strides, offset_bytes=0):
        """A view (``shape``/``strides`` tuples or lists of ints) sharing this memory."""
        v = _new(DeviceArray)
        v.shape = shape = tuple(shape)
        v.strides = tuple(strides)
        v.dtype = self.dtype
        size = 1
        for n in shape:
            size *= n
        v.size = size
        v.ptr = self.ptr + offset_bytes
        v.base = self.base
        return v

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not axes:
            axes = tuple(reversed(range(self.ndim)))
        return self.view([self.shape[a] for a in axes], [self.strides[a] for a in axes])

    @property
    def T(self):
        return self.transpose()

    def reshape(self, *shape):
        """A view when C-contiguous, else a contiguous copy reshaped (one -1 allowed)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        shape = _resolve_shape(shape, self.size)
        src = self if self.is_c_contiguous else self.copy()
        return src.view(shape, _c_strides(shape, self.dtype.itemsize))

    def __getitem__(self, key):
        if not isinstance(key, tuple):
            key = (key,)
        if len(key) > self.ndim:
            raise IndexError(f"too many indices for a {self.ndim}-d DeviceArray")
        offset, shape, strides = 0, [], []
        for d, k in enumerate(key):
            n, st = self.shape[d], self.strides[d]
            if isinstance(k, slice):
                start, stop, step = k.indices(n)
                length = len(range(start, stop, step))
                if length:
                    offset += start * st
                shape.append(length)
                strides.append(st * step)
            else:
                i = int(k)
                if not -n <= i < n:
                    raise IndexError(f"index {i} is out of bounds for axis {d} with size {n}")
                offset += (i % n) * st
        shape.extend(self.shape[len(key):])
        strides.extend(self.strides[len(key):])
        return self.view(shape, strides, offset)


def _resolve_shape(shape, size):
    shape = [int(s) for s in shape]
    known, free = 1, -1
    for k, s in enumerate(shape):
        if s == -1:
            if free >= 0:
                raise ValueError("reshape: at most one dimension may be -1")
            free = k
        else:
            known *= s
    if free >= 0:
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape an array of size {size} into {tuple(shape)}")
        shape[free] = size // known
        known = size
    if known != size or any(s < 0 for s in shape):
        raise ValueError(f"reshape: cannot reshape an array of size {size} into {tuple(shape)}")
    return tuple(shape)


def to_device(value, dtype=None):
    """A DeviceArray for ``value`` (returned as is when already one)."""
    if isinstance(value, DeviceArray):
        return value
    return DeviceArray.from_host(np.asarray(value), dtype=dtype)


def to_host(value):
    """A numpy array for ``value`` (a copy when it is on the device)."""
    if isinstance(value, DeviceArray):
        return value.get()
    return value


driver.on_shutdown(release_all)

# Copies between strided device arrays need a kernel; elemwise.py (which builds kernels on the
# arrays defined here) registers its copy_into.
_COPY_INTO = []


def register_copy_into(fn):
    _COPY_INTO[:] = [fn]
