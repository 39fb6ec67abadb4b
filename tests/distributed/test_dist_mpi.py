"""symgraph.distributed across 2 processes: ``mpiexec -n 2`` runs the scripts in workers/.

Skipped, saying why, where mpi4py or mpiexec is missing (``pip install "symgraph[distributed]"``).
"""
import importlib.util
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
WORKERS = os.path.join(HERE, "workers")
MPIEXEC = shutil.which("mpiexec")

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None,
                       reason="mpi4py is not installed (pip install 'symgraph[distributed]')"),
    pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec on PATH (pip install 'symgraph[distributed]')"),
]


def mpirun(script, *args, n=2, timeout=120, env=None):
    """Run workers/<script> on ``n`` ranks; returns (returncode, stdout + stderr, seconds)."""
    cmd = [MPIEXEC, "--allow-run-as-root", "--oversubscribe", "-n", str(n),
           sys.executable, os.path.join(WORKERS, script), *map(str, args)]
    full_env = dict(os.environ, OMP_NUM_THREADS="1", **(env or {}))
    for var in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE"):  # not inherited from us
        full_env.pop(var, None)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env)
    return proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - t0


@pytest.mark.parametrize("mode", ["FAST_RUN", "PY"])
def test_mlp_data_parallel_equals_one_process(tmp_path, mode):
    rc, out, _ = mpirun("mlp.py", tmp_path, "--mode", mode, "--steps", 20, "--bucket-bytes", 200)
    assert rc == 0, out[-4000:]
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    # the reference: one process, the same 20 global batches of 16 (the concatenated halves)
    sys.path.insert(0, WORKERS)
    try:
        import mlp
        values, _ = mlp.train(20, mode)
    finally:
        sys.path.remove(WORKERS)
    for k in ("W1", "b1", "W2", "b2"):
        assert np.array_equal(ranks[0][k], ranks[1][k]), k            # identical on both ranks
        assert ranks[0][k].dtype == np.float64
        np.testing.assert_allclose(ranks[0][k], values[k], rtol=0, atol=1e-6, err_msg=k)
    assert not np.allclose(values["W1"], mlp.init()["W1"])          # it did train


def test_every_collective_dtype_and_op():
    rc, out, _ = mpirun("collectives.py", "FAST_RUN", "PY", timeout=240)
    assert rc == 0, out[-4000:]
    assert "rank 0 of 2: OK" in out and "rank 1 of 2: OK" in out


def test_shape_mismatch_raises_on_every_rank():
    rc, out, _ = mpirun("mismatch.py")
    assert rc == 0, out[-4000:]
    for r in range(2):
        line = next(ln for ln in out.splitlines() if ln.startswith(f"rank {r} MISMATCH"))
        assert "'x' (rank 0: float64 (3, 4), rank 1: float64 (3, 5))" in line, line
        assert f"rank {r} RECOVERED" in out


@pytest.mark.parametrize("how", ["hang", "die"])
def test_dead_or_hung_rank_times_out(how):
    rc, out, seconds = mpirun("hang.py", how, 2, timeout=60)
    assert rc != 0, out[-4000:]
    assert seconds < 40, seconds
    if how == "hang":
        # rank 0 names the collective and the timeout, then MPI_Abort ends the job
        assert "rank 0 TIMEOUT" in out and "did not complete within 2 s" in out, out[-4000:]
        assert "aborting the MPI job" in out
