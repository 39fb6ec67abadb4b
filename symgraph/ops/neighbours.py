"""``images2neibs`` / ``neibs2images`` (Theano's ``tensor.nnet.neighbours``).

``images2neibs(ten4, neib_shape, neib_step=None, mode='valid')`` turns each (c, d) patch of
each image of a 4-d tensor into a row of a matrix: rows ordered by (batch, channel, patch
row, patch column), a row holding the patch in row-major order. Modes, per spatial axis of
size ``n``, patch ``c`` and step ``s``:

- ``valid``: ``(n - c) % s == 0`` is required; ``(n - c) // s + 1`` patches;
- ``ignore_borders``: the same count, what is left at the end is dropped;
- ``half``: zero padding ``c // 2`` on each side, then as ``ignore_borders``;
- ``full``: zero padding ``c - 1`` on each side, then as ``ignore_borders``;
- ``wrap_centered``: one patch centred at every ``s``-th position (``ceil(n / s)``), indices
  wrapping around the image; ``c`` must be odd.

Both ops are one gather through an index table (``-1``: a zero of the padding), so the
gradient is the scatter-add through the same table; ``neibs2images`` is that scatter-add
onto an image of ``original_shape`` (the inverse for non-overlapping patches).
"""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Op, Variable
from . import shape as sh
from .elemwise import as_tensor_variable
from .type import TensorType, INT_DTYPES

MODES = ("valid", "ignore_borders", "wrap_centered", "half", "full")


def _axis_index(n, c, s, mode, what):
    """Per patch, the source position of each of its ``c`` taps along one axis (-1: zero)."""
    if mode == "wrap_centered":
        if c % 2 == 0:
            raise ValueError(f"images2neibs: mode 'wrap_centered' needs odd patch sizes, got {c}")
        starts = np.arange(0, n, s)
        return (starts[:, None] + np.arange(c)[None, :] - c // 2) % n
    pad = {"half": c // 2, "full": c - 1}.get(mode, 0)
    span = n + 2 * pad
    if span < c:
        raise ValueError(f"images2neibs: the {what} ({n}, padded {span}) is smaller than the "
                         f"patch ({c})")
    if mode == "valid" and (n - c) % s:
        raise ValueError(f"images2neibs: in mode 'valid' the {what} ({n}) minus the patch size "
                         f"({c}) must be a multiple of the step ({s}); use mode='ignore_borders'")
    starts = np.arange((span - c) // s + 1) * s
    idx = starts[:, None] + np.arange(c)[None, :] - pad
    return np.where((idx >= 0) & (idx < n), idx, -1)


def neib_index(shape, neib_shape, neib_step, mode):
    """The flat index into one (H, W) image of each output entry, shaped (patches, c * d)."""
    H, W = shape[-2:]
    (c, d), (s0, s1) = neib_shape, neib_step
    rows = _axis_index(H, c, s0, mode, "image height")
    cols = _axis_index(W, d, s1, mode, "image width")
    r = rows[:, None, :, None]
    q = cols[None, :, None, :]
    flat = np.where((r >= 0) & (q >= 0), r * W + q, -1)
    return flat.reshape(rows.shape[0] * cols.shape[0], c * d)


class _NeibBase(Op):
    __props__ = ("neib_shape", "neib_step", "mode")

    def __init__(self, neib_shape, neib_step=None, mode="valid"):
        if mode not in MODES:
            raise ValueError(f"images2neibs: mode must be one of {MODES}, got {mode!r}")
        self.neib_shape = tuple(int(v) for v in neib_shape)
        self.neib_step = self.neib_shape if neib_step is None else tuple(int(v) for v in neib_step)
        if len(self.neib_shape) != 2 or len(self.neib_step) != 2 or \
                min(self.neib_shape + self.neib_step) < 1:
            raise ValueError(f"images2neibs: neib_shape and neib_step must be pairs of positive "
                             f"ints, got {neib_shape} and {neib_step}")
        self.mode = mode

    def _index(self, shape):
        return neib_index(shape, self.neib_shape, self.neib_step, self.mode)


def _gather(x, idx):
    n, ch = x.shape[:2]
    flat = x.reshape(n * ch, -1)
    padded = np.concatenate([flat, np.zeros((n * ch, 1), flat.dtype)], axis=1)
    out = padded[:, idx]                      # (n*ch, patches, c*d); -1 reads the zero
    return out.reshape(-1, idx.shape[1])


def _scatter(neibs, idx, shape, dtype):
    n, ch, H, W = shape
    out = np.zeros((n * ch, H * W + 1), dtype)
    vals = neibs.reshape(n * ch, idx.shape[0], idx.shape[1])
    np.add.at(out, (slice(None), np.where(idx < 0, H * W, idx)), vals)
    return out[:, :H * W].reshape(shape)


class Images2Neibs(_NeibBase):
    """``Images2Neibs(neib_shape, neib_step, mode)(ten4)``: see the module docstring."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.ndim != 4:
            raise TypeError(f"images2neibs: ten4 must be a 4-d tensor, got {x.type}")
        return Apply(self, [x], [TensorType(x.dtype, (False, False))()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        output_storage[0][0] = _gather(x, self._index(x.shape)).astype(x.dtype, copy=False)

    def grad(self, inputs, output_grads):
        (x,) = inputs
        return [Neibs2Images(self.neib_shape, self.neib_step, self.mode)(output_grads[0],
                                                                          sh.shape(x))]


class Neibs2Images(_NeibBase):
    """``Neibs2Images(neib_shape, neib_step, mode)(neibs, shape)``: each row added back at the
    positions ``images2neibs`` read it from, into zeros of the 4-d ``shape``."""

    def make_node(self, neibs, shape):
        neibs = as_tensor_variable(neibs)
        if not isinstance(shape, Variable):
            shape = sh.shape_vector(list(shape))
        shape = as_tensor_variable(shape)
        if neibs.ndim != 2:
            raise TypeError(f"neibs2images: neibs must be a matrix, got {neibs.type}")
        if shape.ndim != 1 or shape.dtype not in INT_DTYPES:
            raise TypeError(f"neibs2images: original_shape must be 4 ints, got {shape.type}")
        return Apply(self, [neibs, shape], [TensorType(neibs.dtype, (False,) * 4)()])

    def perform(self, node, inputs, output_storage):
        neibs, shape = inputs
        shape = tuple(int(s) for s in shape)
        if len(shape) != 4:
            raise ValueError(f"neibs2images: original_shape must have 4 entries, got {shape}")
        idx = self._index(shape)
        expect = (shape[0] * shape[1] * idx.shape[0], idx.shape[1])
        if neibs.shape != expect:
            raise ValueError(f"neibs2images: neibs has shape {neibs.shape} but an image of shape "
                             f"{shape} with patches {self.neib_shape}, step {self.neib_step} "
                             f"({self.mode}) gives {expect}")
        output_storage[0][0] = _scatter(neibs, idx, shape, neibs.dtype)

    def grad(self, inputs, output_grads):
        return [Images2Neibs(self.neib_shape, self.neib_step, self.mode)(output_grads[0]), None]


def images2neibs(ten4, neib_shape, neib_step=None, mode="valid"):
    """Theano 1.0's ``images2neibs``: the patches of a 4-d tensor as rows of a matrix."""
    return Images2Neibs(neib_shape, neib_step, mode)(ten4)


def neibs2images(neibs, neib_shape, original_shape, mode="valid"):
    """Theano 1.0's ``neibs2images``: the patches (step = patch size) put back into images
    of ``original_shape`` (overlaps are summed)."""
    return Neibs2Images(neib_shape, None, mode)(neibs, original_shape)
