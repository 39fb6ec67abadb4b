"""Theano's module path ``theano.tensor.extra_ops``: NumPy-like array functions."""
from ..ops.extra_ops import (  # noqa: F401
    BinCount, CumOp, FillDiagonal, FillDiagonalOffset, RavelMultiIndex, Repeat, RepeatGrad,
    SearchsortedOp, UnravelIndex, bincount, cumprod, cumsum, diff, fill_diagonal,
    fill_diagonal_offset, ravel_multi_index, repeat, searchsorted, squeeze, to_one_hot,
    unravel_index,
)
from ..ops.shape import tile  # noqa: F401
from ..ops.subtensor import roll  # noqa: F401

__all__ = ["cumsum", "cumprod", "diff", "repeat", "bincount", "squeeze", "to_one_hot",
           "fill_diagonal", "fill_diagonal_offset", "unravel_index", "ravel_multi_index",
           "searchsorted", "CumOp", "Repeat", "BinCount", "FillDiagonal", "FillDiagonalOffset",
           "UnravelIndex", "RavelMultiIndex", "SearchsortedOp"]
