"""The C lowerings, one module per op family (named as the modules of ``symgraph.ops``).

Importing this package imports every family module, so each registers its lowerings in
``lowering.LOWERINGS`` (Op type -> :class:`~symgraph.backends.c.lowering.Lowering`):

``elemwise``   Elemwise (fused Composites), DimShuffle
``reduce``     CAReduce, Argmax
``shape``      Reshape, Rebroadcast, SpecifyShape, Shape, Shape_i, MakeVector, Alloc, Join, Arange
``subtensor``  Subtensor, IncSubtensor, AdvancedSubtensor, AdvancedIncSubtensor
``blas``       Dot
``nnet``       Softmax, LogSoftmax, SoftmaxGrad, SoftmaxCrossEntropy(Grad)
``conv``       Conv2d, Conv2dGradInputs, Conv2dGradWeights
``pool``       Pool, MaxPoolGrad, MaxPoolGradGrad, AveragePoolGrad
``random``     MRGUniform
``scan``       Scan (the time loop; its body as a nested sub-plan)
"""
from . import (  # noqa: F401
    elemwise, reduce, shape, subtensor, blas, nnet, conv, pool, random, scan,
)
