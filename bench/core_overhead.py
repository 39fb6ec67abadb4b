"""Core overheads: building a large elementwise graph, and calling a compiled one-op function.

    python -m bench.core_overhead

Prints two numbers (targets in brackets):

* graph build: seconds to build ``y = y * 1.0001 + 0.5`` repeated 5,000 times on a scalar,
  i.e. 10,000 Apply nodes [< 1 s];
* call overhead: microseconds per call of ``function([x], x + 1, mode='py')`` on ten float64
  values [< 20 us].
"""
from __future__ import annotations

import gc
import time

import numpy as np

import symgraph
import symgraph.tensor as T
from symgraph.graph import toposort


def build_graph(n_iter=5000):
    x = T.dscalar("x")
    y = x
    for _ in range(n_iter):
        y = y * 1.0001 + 0.5
    return x, y


def time_build(repeats=5, n_iter=5000):
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        x, y = build_graph(n_iter)
        best = min(best, time.perf_counter() - t0)
    return best, len(toposort([y]))


def time_call(mode="py", number=20000, repeats=5):
    x = T.dvector("x")
    f = symgraph.function([x], x + 1, mode=mode)
    v = np.arange(10.0)
    for _ in range(1000):
        f(v)
    best = float("inf")
    gc.disable()
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(number):
                f(v)
            best = min(best, (time.perf_counter() - t0) / number)
    finally:
        gc.enable()
    return best


def main():
    seconds, nodes = time_build()
    print(f"graph build: {seconds:.3f} s for {nodes} nodes (target < 1 s)")
    print(f"call overhead: {time_call() * 1e6:.1f} us per call, one-op function on 10 floats, "
          f"mode='py' (target < 20 us)")


if __name__ == "__main__":
    main()
