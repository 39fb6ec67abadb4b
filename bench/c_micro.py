"""C backend micro-benchmarks: per-call overhead, a fused elementwise chain, a large reduction.

Run from the repository root::

    python -m bench.c_micro            # table; --json PATH also writes the rows

Rows (symgraph compiled with the C backend vs NumPy):

* ``one_op``: ``x + 1`` on ten float64 -- what one call costs (target: under 3 us);
* ``fused5``: ``tanh(x * 2 + 1) * x - 0.5`` on 2^20 float32 -- one fused kernel vs five
  NumPy passes (target: at least 3x faster than NumPy);
* ``reduce_large``: ``x.sum(axis=1)`` of a 4096 x 4096 float32 matrix (memory bound).

Also prints the cold and warm compile time of the fused function (cold: a fresh cache
directory, which includes building the runtime library once; warm: a new process that finds
the library on disk). ``--lenet`` adds LeNet's training step (batch 500) and the cold/warm
compile time of its training function.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from bench import harness, peers_numpy

_COMPILE_CHILD = r"""
import sys, time
import numpy as np
import symgraph, symgraph.tensor as T
if sys.argv[1] == "lenet":
    symgraph.config.floatX = "float32"
    from bench import sg_models
    rng = np.random.default_rng(0)
    x = rng.random((1000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 1000).astype(np.float32)
    net = sg_models.LeNetSG(sg_models.LeNetSG.random_params(), x, y, batch_size=500)
    print(f"{net.function_s:.4f}")
else:
    x = T.fvector('x')
    t0 = time.perf_counter()
    f = symgraph.function([x], T.tanh(x * 2 + 1) * x - 0.5, mode='FAST_RUN')
    print(f"{time.perf_counter() - t0:.4f}")
"""


def _compile_seconds(compiledir, what):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, SYMGRAPH_FLAGS=f"compiledir={compiledir}",
               PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
    out = subprocess.run([sys.executable, "-c", _COMPILE_CHILD, what], env=env, capture_output=True,
                         text=True, check=True, cwd=root)
    return float(out.stdout.split()[-1])


def compile_times(what="fused"):
    """(cold, warm) seconds of function() for ``what`` ('fused' or 'lenet') in a new process.

    Cold: an empty compile cache (the runtime library is built too); warm: a second process.
    """
    with tempfile.TemporaryDirectory(prefix="symgraph-bench-") as d:
        cache = os.path.join(d, "cache")
        cold = _compile_seconds(cache, what)
        warm = _compile_seconds(cache, what)
    return cold, warm


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the rows here")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--lenet", action="store_true", help="also time LeNet's training step and its compile")
    args = ap.parse_args(argv)

    import symgraph
    import symgraph.tensor as T

    rows = []
    x1 = T.dvector("x")
    one = symgraph.function([x1], x1 + 1)
    v1 = peers_numpy.one_op_input()
    rows.append(harness.measure_pair("one_op x+1 (10 float64)", lambda: one(v1), "numpy",
                                     lambda: peers_numpy.one_op(v1), check=(0, 0), number=2000,
                                     repeats=args.repeats))

    x5 = T.fvector("x")
    fused = symgraph.function([x5], T.tanh(x5 * 2 + 1) * x5 - 0.5)
    v5 = peers_numpy.fused5_input()
    rows.append(harness.measure_pair("fused5 tanh(x*2+1)*x-0.5 (2^20 float32)", lambda: fused(v5), "numpy",
                                     lambda: peers_numpy.fused5(v5), check=(1e-5, 1e-6), number=10,
                                     repeats=args.repeats))

    xr = T.fmatrix("x")
    red = symgraph.function([xr], xr.sum(axis=1))
    vr = peers_numpy.reduce_large_input()
    rows.append(harness.measure_pair("reduce_large x.sum(axis=1) (4096^2 float32)", lambda: red(vr), "numpy",
                                     lambda: peers_numpy.reduce_large(vr), check=(1e-4, 1e-4),
                                     repeats=args.repeats))
    if args.lenet:
        symgraph.config.floatX = "float32"
        from bench import sg_models
        rng = np.random.default_rng(0)
        net = sg_models.LeNetSG(sg_models.LeNetSG.random_params(), rng.random((1000, 784), dtype=np.float32),
                                rng.integers(0, 10, 1000).astype(np.float32), batch_size=500)
        step = net.make_step()
        times = harness.time_alternating({"lenet": step}, repeats=args.repeats)["lenet"]
        s = harness.summarize(times)
        print(f"LeNet training step, batch 500: median {s.median * 1e3:.1f} ms (min {s.min * 1e3:.1f} ms)")
    harness.print_table(rows)
    for what in ("fused", "lenet") if args.lenet else ("fused",):
        t0 = time.perf_counter()
        cold, warm = compile_times(what)
        print(f"function() of the {what} graph in a new process: cold {cold:.3f} s, warm {warm:.3f} s "
              f"(measured in {time.perf_counter() - t0:.1f} s; busy cores {harness.busy_cores():.2f})")
    if args.json:
        harness.write_json(args.json, rows, harness.machine_info())


if __name__ == "__main__":
    main()
