"""How long the rewrite pipeline takes on the seeds' LeNet training graph and on a
10,000-op elementwise chain (targets: under 0.5 s and under 5 s).

    python -m bench.opt_compile_time            # or: python bench/opt_compile_time.py

Each graph is built once, then the FAST_RUN pipeline (merge, canonicalize, stabilize,
specialize, fusion, inplace, merge) runs on a fresh FunctionGraph copy ``--repeats``
times; the median wall time and the CPU time of that run are printed, with the node
counts before and after. Building the graph and its gradient is not timed. On a shared
machine compare the CPU column: wall time grows with other processes' load.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests", "opt"))

import symgraph  # noqa: E402
from symgraph.compile.mode import Mode  # noqa: E402
from symgraph.rewrite import optimize  # noqa: E402
from symgraph.graph.fgraph import FunctionGraph  # noqa: E402
from opt_models import elementwise_chain, lenet_available, lenet_training  # noqa: E402


def lenet_fgraph_factory(batch_size):
    """A callable returning a fresh, unoptimized FunctionGraph of LeNet's train_model."""
    spec = lenet_training(batch_size=batch_size)
    spec.pop("params")
    f = symgraph.function(**spec, mode=Mode(linker="py", optimizer=None))
    fg = f.maker.fgraph
    return lambda: FunctionGraph(fg.inputs, fg.outputs)


def chain_fgraph_factory(n):
    x, y = elementwise_chain(n)
    return lambda: FunctionGraph([x], [y])


def measure(factory, repeats):
    """(median wall s, median cpu s, nodes before, nodes after) of optimize() on fresh copies."""
    walls, cpus = [], []
    before = after = None
    for _ in range(repeats):
        fg = factory()
        before = len(fg.apply_nodes)
        w0, c0 = time.perf_counter(), time.process_time()
        optimize(fg, Mode(linker="py"))
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        after = len(fg.apply_nodes)
    return statistics.median(walls), statistics.median(cpus), before, after


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--chain", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    rows = []
    ok, reason = lenet_available()
    if ok:
        rows.append((f"LeNet training graph (batch {args.batch})", 0.5,
                     measure(lenet_fgraph_factory(args.batch), args.repeats)))
    else:
        print(f"LeNet skipped: {reason}")
    rows.append((f"{args.chain}-op elementwise chain", 5.0,
                 measure(chain_fgraph_factory(args.chain), args.repeats)))
    print(f"{'graph':42s} {'wall s':>8s} {'cpu s':>8s} {'target':>7s} {'nodes':>15s}")
    for name, target, (wall, cpu, before, after) in rows:
        print(f"{name:42s} {wall:8.3f} {cpu:8.3f} {target:7.1f} {before:>7d} -> {after:<6d}")


if __name__ == "__main__":
    main()
