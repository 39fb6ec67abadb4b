"""Legacy ``theano.tensor.signal.downsample``: ``max_pool_2d`` with the old argument names."""
from ...ops.pool import pool_2d as _pool_2d


def max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0), mode="max"):
    """``max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0), mode='max')``:
    the old name of ``pool.pool_2d(input, ws=ds, ignore_border, stride=st, pad=padding, mode)``.

    >>> from symgraph.tensor.signal import downsample
    >>> y = downsample.max_pool_2d(x, (2, 2), ignore_border=False)   # 5x5 -> 3x3
    """
    return _pool_2d(input, ws=ds, ignore_border=ignore_border, stride=st, pad=padding, mode=mode)


__all__ = ["max_pool_2d"]
