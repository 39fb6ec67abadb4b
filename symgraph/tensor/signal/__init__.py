"""Signal processing ops: pooling (``pool``), legacy ``downsample`` names, single-channel ``conv``.

>>> from symgraph.tensor.signal import pool
>>> y = pool.pool_2d(x, ws=(2, 2), ignore_border=True)
"""
from . import pool  # noqa: F401
from . import downsample  # noqa: F401
from . import conv  # noqa: F401
