"""Compile time of the LeNet training function, measured in a fresh process.

A compile cache only shows what it saves across processes, so each measurement is a
subprocess: the parent picks the cache directory (a fresh one for *cold*, the same one
again for *warm*) and reads one JSON line back::

    from bench import compile_time
    with tempfile.TemporaryDirectory() as d:
        cold = compile_time.measure("symgraph", cache_dir=d, batch=500)   # empty cache
        warm = compile_time.measure("symgraph", cache_dir=d, batch=500)   # new process, cache hit
    cold["compile_s"], warm["compile_s"]

The child is ``python -m bench.compile_time --side symgraph|torch-compile --batch N``.
symgraph's cache goes through ``SYMGRAPH_FLAGS=compiledir=<dir>``, torch.compile's
through ``TORCHINDUCTOR_CACHE_DIR=<dir>``.

``compile_s`` = time to build the graph and its gradient and call ``function()`` (for
torch: nothing), plus what the first step takes beyond a steady step (lazy compilation:
all of torch.compile's work happens there). Imports are left out (``import_s``).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _with_compiledir(flags: str, cache_dir: str) -> str:
    """SYMGRAPH_FLAGS text with ``compiledir`` replaced by ``cache_dir``."""
    kept = [f for f in flags.split(",") if f.strip() and not f.strip().startswith("compiledir=")]
    return ",".join(kept + [f"compiledir={cache_dir}"])


def measure(side: str, cache_dir: str, batch: int = 500, mode: str | None = None,
            timeout: float = 600) -> dict:
    """Run one child process measuring ``side`` ('symgraph' or 'torch-compile') with its cache in ``cache_dir``.

    Returns the child's JSON: ``import_s``, ``compile_s``, ``first_call_s``, ``step_s``
    (and ``function_s``, ``linker`` for symgraph). Raises RuntimeError with the child's
    stderr tail when it fails.
    """
    env = dict(os.environ)
    if side == "symgraph":
        env["SYMGRAPH_FLAGS"] = _with_compiledir(env.get("SYMGRAPH_FLAGS", ""), cache_dir)
    else:
        env["TORCHINDUCTOR_CACHE_DIR"] = cache_dir
    cmd = [sys.executable, "-m", "bench.compile_time", "--side", side, "--batch", str(batch)]
    if mode:
        cmd += ["--mode", mode]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-8:]
        raise RuntimeError(f"compile-time child ({side}) failed: " + " | ".join(tail))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _lenet_data(batch: int):
    import numpy as np
    rng = np.random.default_rng(0)
    return rng.random((batch, 784), dtype=np.float32), rng.integers(0, 10, batch)


def _steady(step, n: int = 2) -> float:
    """The fastest of ``n`` further steps: what a call costs once nothing is left to compile."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return min(times)


def _child_symgraph(batch: int, mode: str | None) -> dict:
    t0 = time.perf_counter()
    import symgraph
    from bench import sg_models
    symgraph.config.floatX = "float32"
    import_s = time.perf_counter() - t0
    x, y = _lenet_data(batch)
    params = sg_models.LeNetSG.random_params()  # values do not change compile time; no torch needed
    t0 = time.perf_counter()
    net = sg_models.LeNetSG(params, x, y, batch_size=batch, mode=mode)
    setup_s = time.perf_counter() - t0
    step = net.make_step()
    t0 = time.perf_counter()
    step()
    first_call_s = time.perf_counter() - t0
    step_s = _steady(step)
    return {"side": "symgraph", "import_s": import_s, "function_s": net.function_s,
            "setup_s": setup_s, "first_call_s": first_call_s, "step_s": step_s,
            "compile_s": setup_s + max(first_call_s - step_s, 0.0),
            "linker": net.train_model.maker.mode.resolve_linker(),
            "compiledir": symgraph.config.compiledir}


def _child_torch_compile(batch: int) -> dict:
    t0 = time.perf_counter()
    from bench import peers_torch
    import_s = time.perf_counter() - t0
    x, y = _lenet_data(batch)
    net = peers_torch.LeNetTorch(peers_torch.lenet_init_params())
    step = net.make_step(x, y, compile=True)
    t0 = time.perf_counter()
    step()
    first_call_s = time.perf_counter() - t0
    step_s = _steady(step)
    return {"side": "torch-compile", "import_s": import_s, "first_call_s": first_call_s,
            "step_s": step_s, "compile_s": max(first_call_s - step_s, 0.0),
            "cache_dir": os.environ.get("TORCHINDUCTOR_CACHE_DIR")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", choices=("symgraph", "torch-compile"), default="symgraph")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--mode", default=None, help="symgraph mode (default: config.mode)")
    args = ap.parse_args(argv)
    if args.side == "symgraph":
        result = _child_symgraph(args.batch, args.mode)
    else:
        result = _child_torch_compile(args.batch)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
