"""The ops layer: tensor types, the Op classes of each family with their ``T.*`` constructors,
and the variable classes.

Modules import only modules listed before them (and the graph and config layers):

``type``        TensorType, dtypes, ``T.matrix``-style constructors
``scalar``      scalar ops, the bodies of elementwise loops
``elemwise``    Elemwise, DimShuffle, Rebroadcast; constants, elementwise math, casts
``shape``       Shape, Reshape, Alloc, Join, Arange, ...; ``T.reshape``, ``T.stack``, ...
``reduce``      CAReduce, Argmax; ``T.sum``, ``T.mean``, ``T.argmax``, ...
``subtensor``   basic and advanced indexing, ``set_subtensor``/``inc_subtensor``
``blas``        Dot; ``T.dot``, ``T.outer``, ``T.tensordot``
``nnet``        the softmax family, activations, losses
``conv``        conv2d and its gradients
``pool``        pooling and its gradients
``random``      RandomState draws, MRG31k3p
``nlinalg``     inverse, det, eig/eigh, svd, pinv, qr; diagonals (``T.diag``, ``T.trace``)
``slinalg``     cholesky, solve, solve_triangular, expm
``extra_ops``   cumsum/cumprod, diff, repeat, bincount, to_one_hot, fill_diagonal, ...
``sort``        sort, argsort
``xlogx``       xlogx, xlogy0
``variable``    TensorVariable/TensorConstant and their operators (uses every family)
``sharedvar``   tensor shared variables and ``shared()``
``random_streams``, ``rng_mrg``   RandomStreams and MRG_RandomStreams (own shared state)
``innergraph``  what control-flow ops share: inner graphs, their shapes, the gradient hook
``ifelse``      IfElse (lazy conditional over two inner graphs); ``ifelse()``
``scan``        Scan (a loop over an inner graph), ``scan``/``map``/``reduce``/``foldl``/``foldr``
``neighbours``  images2neibs / neibs2images
``bn``          batch normalization, the hierarchical softmax (compositions)
``builders``    OpFromGraph (an Op over a sub-graph), as_op (an Op from a Python function)

A family lower in the list that needs a constructor of a higher one in a gradient uses the
variable's methods (``g.sum(axis)``, ``g.reshape(shape)``), which exist once ``variable`` is
imported; importing ``symgraph.ops`` imports every module.
"""
from . import (  # noqa: F401
    type, scalar, elemwise, shape, reduce, subtensor, blas, nnet, conv, pool, random, nlinalg,
    slinalg, extra_ops, sort, xlogx, variable, sharedvar, random_streams, rng_mrg, innergraph,
    ifelse, scan, neighbours, bn, builders,
)
