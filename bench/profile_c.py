"""Time each node of a compiled C function (per-node segments, wall-clock).

    python bench/profile_c.py lenet          # seed 001's LeNet step, batch 500
    python bench/profile_c.py convnet        # seed 000's convnet step, batch 128
    python bench/profile_c.py network3       # seed 003's network3 'conv2' step, batch 10

The function's optimized graph is rebuilt with one C segment per node (as
NanGuardMode does), so each node is timed by itself; the sum is a little above
the real step (one extra C call per node, ~1 us each). Prints the top nodes and
a per-op-type summary.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import symgraph as theano  # noqa: E402
from symgraph.backends.c.linker import CLinker  # noqa: E402


def profile_function(fn, args, repeats=10):
    """(node, seconds) per node of ``fn``'s graph, median over ``repeats`` calls."""
    fg = fn.maker.fgraph
    rt = CLinker().compile(fg, per_node=True)
    values = list(args) + [sv.get_value(borrow=True) for sv in fn.maker.shared_inputs]
    plan = rt.plan
    times = defaultdict(list)
    timing = [False]

    def timed(key, work):
        t0 = time.perf_counter()
        result = work()
        if timing[0]:
            times[key].append(time.perf_counter() - t0)
        return result

    def c_step(step, values):
        timed(tuple(step.nodes), lambda: rt.run_segment(step.id, values))

    run_python_node = rt.run_python_node        # Python nodes are timed by wrapping this runtime's
    rt.run_python_node = lambda i, values: timed((i,), lambda: run_python_node(i, values))
    for rep in range(repeats + 2):              # the first two calls warm up (buffers, caches)
        timing[0] = rep >= 2
        rt.run_stepwise(values, c_step)
    rows = []
    for key, ts in times.items():
        rows.append(([plan.nodes[i] for i in key], float(np.median(ts))))
    return rows


def report(rows, top=30):
    total = sum(t for _, t in rows)
    print(f"total {total * 1e3:.2f} ms over {len(rows)} segments")
    for nodes, t in sorted(rows, key=lambda r: -r[1])[:top]:
        print(f"{t * 1e3:8.3f} ms  {100 * t / total:5.1f}%  {nodes[0].op}")
    by = defaultdict(float)
    for nodes, t in rows:
        by[type(nodes[0].op).__name__] += t
    print("\nby op type:")
    for name, t in sorted(by.items(), key=lambda r: -r[1]):
        print(f"{t * 1e3:8.3f} ms  {100 * t / total:5.1f}%  {name}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["lenet", "convnet", "network3"])
    ap.add_argument("--repeats", type=int, default=10)
    a = ap.parse_args()
    theano.config.floatX = "float32"
    from bench import sg_models
    rng = np.random.default_rng(0)
    if a.model == "lenet":
        x = rng.random((500, 784), dtype=np.float32)
        y = rng.integers(0, 10, 500).astype(np.float32)
        net = sg_models.LeNetSG(sg_models.LeNetSG.random_params(), x, y, batch_size=500)
        fn, args = net.train_model, [np.int64(0)]
    elif a.model == "network3":
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples"))
        import network3
        import symgraph.tensor as T
        mbs = 10
        layers = network3.build_network("conv2", mbs)[0]
        net = network3.Network(layers, mbs)
        xs = theano.shared(rng.random((1000, 784), dtype=np.float32))
        ys = theano.shared(rng.integers(0, 10, 1000).astype(np.int32))
        cost = net.layers[-1].cost(net)
        grads = T.grad(cost, net.params)
        i = T.lscalar()
        fn = theano.function([i], cost, updates=[(p, p - 0.1 * g) for p, g in zip(net.params, grads)],
                             givens={net.x: xs[i * mbs:(i + 1) * mbs], net.y: ys[i * mbs:(i + 1) * mbs]})
        args = [np.int64(0)]
    else:
        x = rng.random((128, 784), dtype=np.float32)
        y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 128)]
        shapes = {"w": (32, 1, 3, 3), "w2": (64, 32, 3, 3), "w3": (128, 64, 3, 3), "w4": (128 * 3 * 3, 625),
                  "w_o": (625, 10)}
        params = {n: (rng.standard_normal(s) * 0.01).astype(np.float32) for n, s in shapes.items()}
        net = sg_models.ConvnetSG(params, x, y, batch_size=128)
        net.make_step()
        fn, args = net._train[True], [np.int64(0)]
    ts = []
    for _ in range(a.repeats + 2):
        t0 = time.perf_counter()
        fn(*args)
        ts.append(time.perf_counter() - t0)
    print(f"real step (median of {a.repeats}) {1e3 * float(np.median(ts[2:])):.2f} ms")
    report(profile_function(fn, args, a.repeats))


if __name__ == "__main__":
    main()
