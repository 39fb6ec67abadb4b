"""The benchmark suite still runs: bench/run.py in its tiny configuration, and its helpers.

These tests check that every expected row is produced with positive numbers and that
both sides agreed before timing; they never assert a speed (benchmarks live in bench/).
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAVE_TORCH = importlib.util.find_spec("torch") is not None
if REPO not in sys.path:  # `bench` is a namespace package at the repository root
    sys.path.insert(0, REPO)

# work-label prefix -> how many rows start with it (tiny sizes)
EXPECTED = {
    "LeNet train step (seed 001), batch 16": 1,
    "convnet train step (seed 000), batch 8": 1,
    "conv2d ": 2 * 13,           # bench.run.CONV_CASES, forward and forward+gradients each
    "max_pool_2d 2x2 ": 2,
    "softmax + NLL fwd+bwd": 1,
    "tanh(x*2+1)*x-0.5": 1,
    "sum(axis=1)": 1,
    "call overhead": 2,
    "LeNet train function compile": 2,
}
TORCH_ROWS = ("LeNet", "convnet", "conv2d", "max_pool_2d", "softmax")


def run_bench(tmp_path, *args, timeout=120):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "bench/run.py", "--tiny", "--json", str(out), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out) as f:
        return json.load(f), proc.stdout


def test_tiny_run_has_every_row_with_positive_times(tmp_path):
    doc, stdout = run_bench(tmp_path)
    rows = doc["rows"]
    m = doc["machine"]
    assert m["cpu"]["logical_cores"] >= 1 and m["numpy"]["version"] and m["python"]
    assert m["bench"]["gemm_peak_gflops"] > 0 and m["bench"]["symgraph_linker"] in ("py", "c", "cuda")
    for prefix, count in EXPECTED.items():
        found = [r for r in rows if r["work"].startswith(prefix)]
        assert len(found) == count, (prefix, [r["work"] for r in rows])
    assert len(rows) == sum(EXPECTED.values())
    for r in rows:
        assert r["work"] in stdout                       # the printed table has the row too
        if r["work"].startswith("LeNet train function compile"):
            assert r["symgraph_s"] > 0 and r["peer_s"] is None and "backend" in r["note"], r
            continue
        if not HAVE_TORCH and r["work"].startswith(TORCH_ROWS):
            assert r["note"].startswith("SKIPPED: torch"), r
            continue
        assert not r["note"].startswith(("SKIPPED", "NOT TIMED", "ERROR")), r
        assert r["symgraph_s"] > 0 and r["peer_s"] > 0 and r["ratio"] > 0, r
        if r["work"].startswith(("LeNet", "convnet", "conv2d")):
            assert r["pct_peak"] > 0, r
    (header,) = [line for line in stdout.splitlines() if line.startswith("work ")]
    assert header.split() == ["work", "symgraph", "peer", "peer", "time", "ratio", "%peak", "note"]


def test_cuda_rows_say_why_they_are_skipped_without_a_gpu(tmp_path):
    from bench import run
    if run.cuda_unavailable() is None:
        pytest.skip("a GPU is usable here")
    doc, stdout = run_bench(tmp_path, "--device", "cuda", "lenet")
    (row,) = doc["rows"]
    assert row["work"].endswith("[cuda]") and row["note"].startswith("SKIPPED: ")
    assert "SKIPPED" in stdout


def test_readme_table_from_json():
    from bench import readme_table
    doc = {"machine": {"date": "2026-11-22T12:00:00+00:00", "cpu": {"model": "Test CPU", "usable_cores": 2},
                       "numpy": {"version": "2.4", "blas": {"name": "openblas", "version": "0.3"}},
                       "python": "3.11", "bench": {"symgraph_mode": "FAST_RUN", "symgraph_linker": "c",
                                                   "gemm_peak_gflops": 200.0, "preset": "quick"}},
           "rows": [{"work": "a|b", "symgraph_s": 0.002, "peer_name": "torch", "peer_s": 0.001,
                     "ratio": 2.0, "pct_peak": 12.3, "note": ""},
                    {"work": "c", "symgraph_s": None, "peer_name": "numpy", "peer_s": None,
                     "ratio": None, "pct_peak": None, "note": "NOT TIMED: x"}]}
    text = readme_table.markdown(doc)
    assert text.startswith("Measured 2026-11-22 on Test CPU")
    assert "| a\\|b | 2 ms | torch | 1 ms | 2.00x | 12% |  |" in text
    assert "| c | - | numpy | - | - | - | NOT TIMED: x |" in text


def test_check_outputs_and_compiledir_flags():
    import numpy as np
    from bench import compile_time, run
    a = (np.ones(3), np.array([100.0, 0.0]))
    assert run._check_outputs("w", a, (np.ones(3), np.array([100.0, 1e-3])), 1e-4) is None
    assert "output 1" in run._check_outputs("w", a, (np.ones(3), np.array([100.0, 1.0])), 1e-4)
    assert compile_time._with_compiledir("floatX=float32,compiledir=/a", "/b") == \
        "floatX=float32,compiledir=/b"
    assert compile_time._with_compiledir("", "/b") == "compiledir=/b"
