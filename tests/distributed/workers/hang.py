"""Rank 1 hangs (or dies, with 'die'); rank 0's collective must fail with CollectiveTimeout."""
import os
import sys
import time

import numpy as np

import _boot  # noqa: F401
import symgraph as theano
import symgraph.tensor as T
import symgraph.distributed as dist

how = sys.argv[1] if len(sys.argv) > 1 else "hang"
dist.set_timeout(float(sys.argv[2]) if len(sys.argv) > 2 else 2.0)
x = T.dvector("x")
f = theano.function([x], dist.allreduce(x))
f(np.ones(3))                                  # both alive: fine
if dist.rank() == 1:
    if how == "die":
        os._exit(0)
    time.sleep(60)
    sys.exit(0)
t0 = time.perf_counter()
try:
    f(np.ones(3))
except dist.CollectiveTimeout as exc:
    print(f"rank 0 TIMEOUT after {time.perf_counter() - t0:.1f} s: {exc}", flush=True)
    raise
