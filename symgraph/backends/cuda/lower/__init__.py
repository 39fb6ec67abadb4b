"""The CUDA lowerings, one module per op family (named as the modules of ``symgraph.ops``):
kernel sources (pure functions, testable without a GPU) and the run-time step of each op.

Importing this package imports every family module, so each registers its lowerings in
``lowering.LOWERINGS`` (Op type -> ``lower(node, ctx) -> Step``):

``elemwise``   Elemwise (fused Composites), DimShuffle; the copy/fill kernels others use
``reduce``     CAReduce, Argmax
``shape``      Shape, Shape_i, Rebroadcast, SpecifyShape, Reshape, Alloc, Join
``subtensor``  Subtensor, IncSubtensor, AdvancedSubtensor, AdvancedIncSubtensor; the error word
``blas``       Dot (cuBLAS)
``nnet``       Softmax, LogSoftmax, SoftmaxGrad, SoftmaxCrossEntropy(Grad)
``conv``       Conv2d, Conv2dGradWeights, Conv2dGradInputs (im2col / col2im + cuBLAS)
``pool``       Pool, MaxPoolGrad, AveragePoolGrad
``random``     MRGUniform
"""
from . import (  # noqa: F401
    elemwise, reduce, shape, subtensor, blas, nnet, conv, pool, random,
)
