"""``theano.tensor.signal.pool``: ``pool_2d`` and the pooling ops."""
from ...ops.pool import (  # noqa: F401
    pool_2d, Pool, MaxPoolGrad, MaxPoolGradGrad, AveragePoolGrad, PoolParameterError,
)

DownsampleFactorMaxGradGrad = MaxPoolGradGrad   # Theano's name

__all__ = ["pool_2d", "Pool", "MaxPoolGrad", "MaxPoolGradGrad", "AveragePoolGrad",
           "DownsampleFactorMaxGradGrad", "PoolParameterError"]
