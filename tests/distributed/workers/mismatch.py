"""Each rank gives allreduce a differently shaped 'x': every rank must raise CollectiveMismatch."""
import sys

import numpy as np

import _boot  # noqa: F401
import symgraph as theano
import symgraph.tensor as T
import symgraph.distributed as dist

mode = sys.argv[1] if len(sys.argv) > 1 else "FAST_RUN"
x = T.dmatrix("x")
f = theano.function([x], dist.allreduce(x), mode=mode)
try:
    f(np.ones((3, 4 + dist.rank())))
except dist.CollectiveMismatch as exc:
    print(f"rank {dist.rank()} MISMATCH: {str(exc).splitlines()[0]}", flush=True)
else:
    print(f"rank {dist.rank()} NO ERROR", flush=True)
    sys.exit(1)
# the group is still usable afterwards
out = f(np.full((3, 4), 1.0 + dist.rank()))
assert np.all(out == 3.0), out
print(f"rank {dist.rank()} RECOVERED", flush=True)
