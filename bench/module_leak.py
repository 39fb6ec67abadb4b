"""Compile and drop many distinct functions; print RSS and the number of memory maps.

    SYMGRAPH_FLAGS=compiledir=/tmp/x python bench/module_leak.py 200 1000 2000

Each function is ``x * k + k`` for a distinct constant k, so each is its own C module.
"""
import gc
import sys

import numpy as np

import symgraph
import symgraph.tensor as T


def maps():
    with open("/proc/self/maps") as f:
        return sum(1 for _ in f)


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])


def main(checkpoints):
    x = T.vector("x")
    data = np.arange(4.0)
    symgraph.function([x], x * 0.5 + 0.5)(data)          # runtime library, probes
    gc.collect()
    print(f"start: maps={maps()} rss={rss_kib()} KiB", flush=True)
    done = 0
    for stop in checkpoints:
        while done < stop:
            k = 1.0 + done * 1e-3
            f = symgraph.function([x], x * k + k)
            assert abs(f(data)[1] - 2 * k) < 1e-12
            del f
            done += 1
        gc.collect()
        print(f"after {done}: maps={maps()} rss={rss_kib()} KiB", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [200, 1000, 2000])
