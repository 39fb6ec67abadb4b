"""The benchmark table: symgraph against PyTorch and NumPy, side by side, as ratios.

    python bench/run.py                       # every group of rows
    python bench/run.py lenet overhead        # some groups (names: see --help)
    python bench/run.py --quick --json out.json
    python bench/run.py --compile lenet       # also against torch.compile
    python bench/run.py --device cuda lenet convnet
    python bench/run.py --tiny                # small and fast: proves the suite runs

Each row checks that both sides compute the same thing (training steps: the costs of
the first steps from identical parameters, dropout off) and only then times them,
alternating, medians over the repeats (see ``harness.measure_pair``). A row whose check
fails says ``NOT TIMED`` and why; a row whose side cannot run here (torch missing, a
symgraph op not written yet, no GPU) says ``SKIPPED`` and why; an exception says ``ERROR``.
Exit status 1 when any row is NOT TIMED or ERROR.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import sys
import tempfile
import time
import traceback

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import symgraph  # noqa: E402
from bench import harness, peers_numpy, sg_models, compile_time, scan_bench  # noqa: E402
from bench.harness import Row, check_close  # noqa: E402

GROUPS = ("lenet", "convnet", "conv", "pool", "softmax", "fused", "reduce", "overhead", "compile")
# groups run only when named: `python bench/run.py dist` (launches other processes),
# `python bench/run.py scan_overhead lstm` (a million-step loop; an LSTM step with its compile)
EXTRA_GROUPS = ("dist", "scan_overhead", "lstm")
CHECK_STEPS = 3  # training steps compared before timing (LeNet's W3 = 0 makes step 1 trivially log 10)


@dataclasses.dataclass
class Settings:
    """How much to measure; :func:`profile` gives the full, quick and tiny presets."""
    name: str
    repeats: int                 # timed samples per side (medians of these)
    warmup: int
    min_time: float | None       # micro rows: keep sampling until each side has run this long
    sample_s: float              # micro rows: aim for one timed sample to take this long
    lenet_batch: int = 500
    convnet_batch: int = 128
    conv_batch: int | None = None        # None: the seeds' batch sizes
    pool_shape: tuple = (500, 20, 24, 24)
    softmax_shape: tuple = (500, 10)
    fused_n: int = 1 << 20
    reduce_shape: tuple = (4096, 4096)
    peak_n: int = 1024
    scan_steps: int = 10 ** 6
    lstm: tuple = (100, 16, 128, 128, 10000)     # steps, batch, embedding, hidden, vocabulary
    mode: str = "FAST_RUN"
    device: str = "cpu"
    torch_compile: bool = False


def profile(name: str) -> Settings:
    if name == "full":
        return Settings("full", repeats=10, warmup=2, min_time=1.0, sample_s=2e-3)
    if name == "quick":
        return Settings("quick", repeats=5, warmup=1, min_time=None, sample_s=1e-3)
    if name == "tiny":
        return Settings("tiny", repeats=2, warmup=1, min_time=None, sample_s=2e-4,
                        lenet_batch=16, convnet_batch=8, conv_batch=4, pool_shape=(8, 20, 24, 24),
                        softmax_shape=(50, 10), fused_n=1 << 12, reduce_shape=(256, 256), peak_n=256,
                        scan_steps=10 ** 4, lstm=(5, 2, 8, 8, 50))
    raise ValueError(name)


@dataclasses.dataclass
class Context:
    settings: Settings
    peak_gflops: float
    pt: object = None            # bench.peers_torch, or None when torch is missing
    torch_missing: str = ""
    gpu_peak_gflops: float | None = None


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def skipped(work: str, peer: str, why: str) -> Row:
    return Row(work, None, peer, None, note=f"SKIPPED: {why}")


def _scalar(v) -> float:
    if hasattr(v, "get") and not isinstance(v, np.ndarray):   # a GPU array (pycuda GPUArray)
        v = v.get()
    return float(np.asarray(v))


def _check_outputs(work: str, sym, peer, rtol: float) -> str | None:
    """Compare output tuples item by item, each with atol = rtol * max|peer item|."""
    sym = sym if isinstance(sym, (tuple, list)) else (sym,)
    peer = peer if isinstance(peer, (tuple, list)) else (peer,)
    if len(sym) != len(peer):
        return f"{work}: {len(sym)} outputs vs {len(peer)}"
    for i, (a, b) in enumerate(zip(sym, peer)):
        b = np.asarray(b)
        atol = rtol * float(np.abs(b).max()) if b.size else 0.0
        msg = check_close(f"{work} [output {i}]", np.asarray(a), b, rtol, atol)
        if msg:
            return msg
    return None


def _number(fn, target_s: float) -> int:
    """Calls per timed sample so one sample takes about ``target_s`` (for microsecond calls)."""
    t0 = time.perf_counter()
    for _ in range(3):
        fn()
    per_call = (time.perf_counter() - t0) / 3
    return int(min(max(target_s / max(per_call, 1e-9), 1), 100_000))


def micro_pair(ctx: Context, work: str, sym_fn, peer_name: str, peer_fn, rtol: float,
               flops: float | None = None, note: str = "") -> Row:
    """Check one output of each side against the other, then time them alternately."""
    s = ctx.settings
    msg = _check_outputs(work, sym_fn(), peer_fn(), rtol)
    if msg:
        return Row(work, None, peer_name, None, note=f"NOT TIMED: {msg}")
    number = _number(sym_fn, s.sample_s)
    return harness.measure_pair(work, sym_fn, peer_name, peer_fn, flops=flops,
                                peak_gflops=ctx.peak_gflops, repeats=s.repeats, warmup=s.warmup,
                                min_time=s.min_time, number=number, note=note)


def check_costs(what: str, sym_step, peer_step, rtol: float) -> str | None:
    """Run CHECK_STEPS training steps on each side; None when their costs agree, else why not."""
    sym_costs = [_scalar(sym_step()) for _ in range(CHECK_STEPS)]
    peer_costs = [float(peer_step()) for _ in range(CHECK_STEPS)]
    return check_close(f"{what}: cost of steps 1-{CHECK_STEPS}", sym_costs, peer_costs, rtol, 1e-6)


def time_steps(ctx: Context, work: str, sym_step, peer_name: str, peer_step, flops: float,
               peak: float | None, note: str = "") -> Row:
    """Time training steps; each side's callable returns the cost as a Python float, which
    waits for a GPU to finish (torch's ``loss.item()``; symgraph's cost copied to the host)."""
    s = ctx.settings
    return harness.measure_pair(work, lambda: _scalar(sym_step()), peer_name, peer_step, flops=flops,
                                peak_gflops=peak, repeats=s.repeats, warmup=s.warmup, note=note)


# ---------------------------------------------------------------------------
# CUDA: --device cuda runs the training steps there
# ---------------------------------------------------------------------------

def cuda_unavailable() -> str | None:
    """Why the CUDA rows cannot run here, or None when both sides can."""
    try:
        import torch
        if not torch.cuda.is_available():
            return "torch sees no CUDA device"
    except ImportError:
        return "torch is not installed"
    try:
        from symgraph.backends.cuda import check_available
        check_available()
    except Exception as exc:  # CudaUnavailable, or the backend is not written yet
        return f"symgraph CUDA backend unavailable: {exc}"
    return None


def torch_to_device(net, device: str):
    """Move a ``LeNetTorch``/``ConvnetTorch`` (which build CPU tensors) and its batches to ``device``."""
    for name, p in net.params.items():
        net.params[name] = p.detach().to(device).requires_grad_(True)
    net._plist = [net.params[n] for n in net.names]
    if hasattr(net, "acc"):
        net.acc = [a.to(device) for a in net.acc]
    to_host = net._convert
    net._convert = lambda x, y: tuple(t.to(device) for t in to_host(x, y))
    return net


def gpu_peak_gflops(n: int = 4096) -> float:
    """float32 matmul GFLOP/s of torch on the GPU (TF32 off): the GPU rows' % of peak."""
    import torch
    a = torch.randn(n, n, device="cuda")
    b = torch.randn(n, n, device="cuda")

    def mm():
        torch.matmul(a, b)
        torch.cuda.synchronize()
    times = harness.time_alternating({"mm": mm}, repeats=10)["mm"]
    return 2.0 * n ** 3 / harness.summarize(times).median / 1e9


class _OnDevice:
    """Build symgraph shared variables and functions with ``config.device`` set for a while."""

    def __init__(self, device: str):
        self.device = device

    def __enter__(self):
        self.saved = symgraph.config.device
        if self.device != "cpu":
            symgraph.config.device = self.device

    def __exit__(self, *exc):
        symgraph.config.device = self.saved


# ---------------------------------------------------------------------------
# The groups of rows
# ---------------------------------------------------------------------------

def _train_setting(ctx: Context):
    """(work-label suffix, torch peer suffix, % peak base, skip reason or None) for the device."""
    if ctx.settings.device == "cuda":
        why = cuda_unavailable()
        if why is None and ctx.gpu_peak_gflops is None:
            import torch
            # float32 on both sides: TF32 (cuDNN's default for convolutions) rounds inputs to
            # 10 mantissa bits, and the cost check then fails by ~1e-3.
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
            ctx.gpu_peak_gflops = gpu_peak_gflops()
        return " [cuda]", " cuda", ctx.gpu_peak_gflops, why
    return "", "", ctx.peak_gflops, None


def bench_lenet(ctx: Context) -> list[Row]:
    s = ctx.settings
    b = s.lenet_batch
    suffix, peer_suffix, peak, why = _train_setting(ctx)
    work = f"LeNet train step (seed 001), batch {b}{suffix}"
    peers = ["torch eager" + peer_suffix] + (["torch.compile" + peer_suffix] if s.torch_compile else [])
    if ctx.pt is None or why:
        return [skipped(work, p, why or ctx.torch_missing) for p in peers]
    pt = ctx.pt
    rng = np.random.default_rng(0)
    x = rng.random((b, 784), dtype=np.float32)
    y = rng.integers(0, 10, b)
    init = pt.lenet_init_params()
    with _OnDevice(s.device):
        net = sg_models.LeNetSG(init, x, y, batch_size=b, mode=s.mode)
    step = net.make_step()
    rows = []
    for peer in peers:
        net.set_params(init)
        tnet = pt.LeNetTorch(init)
        if s.device != "cpu":
            torch_to_device(tnet, s.device)
        tstep = tnet.make_step(x, y, compile=peer.startswith("torch.compile"))
        msg = check_costs(work, step, tstep, rtol=1e-4)
        rows.append(Row(work, None, peer, None, note=f"NOT TIMED: {msg}") if msg else
                    time_steps(ctx, work, step, peer, tstep, pt.lenet_flops(b), peak))
    return rows


def bench_convnet(ctx: Context) -> list[Row]:
    s = ctx.settings
    b = s.convnet_batch
    suffix, peer_suffix, peak, why = _train_setting(ctx)
    work = f"convnet train step (seed 000), batch {b}, dropout{suffix}"
    peer = "torch eager" + peer_suffix
    if ctx.pt is None or why:
        return [skipped(work, peer, why or ctx.torch_missing)]
    pt = ctx.pt
    rng = np.random.default_rng(1)
    x = rng.random((b, 1, 28, 28), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, b)]
    init = pt.convnet_init_params()
    # The seed's 0.01-scale weights give a cost of log(10) to 5 digits whatever the
    # network computes; check with 10x weights, then time from the seed's own.
    check_params = {k: v * 10 for k, v in init.items()}
    with _OnDevice(s.device):
        net = sg_models.ConvnetSG(check_params, x, y, batch_size=b, mode=s.mode)
        check_step = net.make_step(dropout=False)
        note = ""
        try:
            step = net.make_step(dropout=True)
            dropout = True
        except sg_models.FeatureMissing as exc:
            step, dropout = check_step, False
            note = f"dropout OFF on both sides ({exc})"
            work = work.replace(", dropout", ", no dropout")
    tcheck = pt.ConvnetTorch(check_params)
    if s.device != "cpu":
        torch_to_device(tcheck, s.device)
    msg = check_costs(f"{work} (checked with dropout off, 10x init)", check_step,
                      tcheck.make_step(x, y, dropout=False), rtol=2e-4)
    if msg:
        return [Row(work, None, peer, None, note=f"NOT TIMED: {msg}")]
    net.set_params(init)
    tnet = pt.ConvnetTorch(init)
    if s.device != "cpu":
        torch_to_device(tnet, s.device)
    tstep = tnet.make_step(x, y, dropout=dropout)
    return [time_steps(ctx, work, step, peer, tstep, pt.convnet_flops(b), peak, note)]


CONV_CASES = (  # label, input shape, filter shape, border_mode, gradient w.r.t. the input too[, stride]
    ("LeNet conv1", (500, 1, 28, 28), (20, 1, 5, 5), "valid", False),
    ("LeNet conv2", (500, 20, 12, 12), (50, 20, 5, 5), "valid", True),
    ("convnet conv1", (128, 1, 28, 28), (32, 1, 3, 3), "full", False),
    ("convnet conv2", (128, 32, 15, 15), (64, 32, 3, 3), "valid", True),
    ("convnet conv3", (128, 64, 7, 7), (128, 64, 3, 3), "valid", True),
    # VGG / ResNet-style layers (batch 32)
    ("vgg 64 32x32", (32, 64, 32, 32), (64, 64, 3, 3), "half", True),
    ("vgg 64 32x32 valid", (32, 64, 32, 32), (64, 64, 3, 3), "valid", True),
    ("vgg 128 16x16", (32, 128, 16, 16), (128, 128, 3, 3), "half", True),
    ("vgg 256 8x8", (32, 256, 8, 8), (256, 256, 3, 3), "half", True),
    ("resnet 1x1 64->256 16x16", (32, 64, 16, 16), (256, 64, 1, 1), "valid", True),
    ("resnet 1x1 256->64 16x16", (32, 256, 16, 16), (64, 256, 1, 1), "valid", True),
    ("resnet stride 2 64->128", (32, 64, 32, 32), (128, 64, 3, 3), "half", True, 2),
    ("resnet stride 2 128->256", (32, 128, 16, 16), (256, 128, 3, 3), "half", True, 2),
)


def _shape(t) -> str:
    return "(" + ",".join(map(str, t)) + ")"


def _conv_pad(border, ws):
    if border == "full":
        return (ws[2] - 1, ws[3] - 1)
    if border == "half":
        return (ws[2] // 2, ws[3] // 2)
    return (0, 0)


def bench_conv(ctx: Context) -> list[Row]:
    """Each shape forward only, then forward and the gradients (w.r.t. the filters, and the
    input unless it is a first layer's data), symgraph against torch (float32)."""
    s = ctx.settings
    rows = []
    rng = np.random.default_rng(2)
    for label, xs, ws, border, input_grad, *rest in CONV_CASES:
        stride = rest[0] if rest else 1
        if s.conv_batch:
            xs = (s.conv_batch,) + xs[1:]
        x = rng.random(xs, dtype=np.float32)
        w = (rng.standard_normal(ws) * 0.1).astype(np.float32)
        pad = _conv_pad(border, ws)
        ys = (xs[0], ws[0], (xs[2] + 2 * pad[0] - ws[2]) // stride + 1, (xs[3] + 2 * pad[1] - ws[3]) // stride + 1)
        gy = rng.standard_normal(ys).astype(np.float32)
        macs = np.prod(ys) * ws[1] * ws[2] * ws[3]
        st = f" stride {stride}" if stride > 1 else ""
        for backward in (False, True):
            kind = ("fwd+bwd(w,x)" if input_grad else "fwd+bwd(w)") if backward else "fwd"
            work = f"conv2d {border}{st} {kind} {label} {_shape(xs)}*{_shape(ws)}"
            if ctx.pt is None:
                rows.append(skipped(work, "torch", ctx.torch_missing))
                continue
            flops = 2.0 * macs * ((3 if input_grad else 2) if backward else 1)
            try:
                sym = sg_models.conv2d_fwd_bwd(x, w, gy, input_grad=input_grad, border_mode=border, mode=s.mode,
                                               subsample=(stride, stride), backward=backward)
            except sg_models.FeatureMissing as exc:
                rows.append(skipped(work, "torch", str(exc)))
                continue
            peer = ctx.pt.conv2d_fwd_bwd(x, w, gy, input_grad=input_grad, padding=pad, stride=(stride, stride),
                                         backward=backward)
            rows.append(micro_pair(ctx, work, sym, "torch", peer, rtol=1e-4, flops=flops))
    return rows


def bench_pool(ctx: Context) -> list[Row]:
    s = ctx.settings
    x = np.random.default_rng(3).standard_normal(s.pool_shape).astype(np.float32)
    rows = []
    for backward in (False, True):
        work = f"max_pool_2d 2x2 {'fwd+bwd' if backward else 'fwd'} {_shape(s.pool_shape)}"
        if ctx.pt is None:
            rows.append(skipped(work, "torch", ctx.torch_missing))
            continue
        try:
            sym = sg_models.maxpool(x, (2, 2), ignore_border=True, backward=backward, mode=s.mode)
        except sg_models.FeatureMissing as exc:
            rows.append(skipped(work, "torch", str(exc)))
            continue
        peer = ctx.pt.maxpool(x, (2, 2), ignore_border=True, backward=backward)
        rows.append(micro_pair(ctx, work, sym, "torch", peer, rtol=0.0))
    return rows


def bench_softmax(ctx: Context) -> list[Row]:
    s = ctx.settings
    n, k = s.softmax_shape
    work = f"softmax + NLL fwd+bwd {_shape(s.softmax_shape)}"
    if ctx.pt is None:
        return [skipped(work, "torch", ctx.torch_missing)]
    rng = np.random.default_rng(4)
    z = rng.standard_normal((n, k)).astype(np.float32)
    y = rng.integers(0, k, n)
    try:
        sym = sg_models.softmax_xent(z, y, backward=True, mode=s.mode)
    except sg_models.FeatureMissing as exc:
        return [skipped(work, "torch", str(exc))]
    peer = ctx.pt.softmax_xent(z, y, backward=True)
    return [micro_pair(ctx, work, sym, "torch", peer, rtol=1e-5)]


def bench_fused(ctx: Context) -> list[Row]:
    n = ctx.settings.fused_n
    x = peers_numpy.fused5_input(n)
    f = sg_models.fused5(mode=ctx.settings.mode)
    work = f"tanh(x*2+1)*x-0.5, {n} float32"
    return [micro_pair(ctx, work, lambda: f(x), "numpy (5 passes)", lambda: peers_numpy.fused5(x),
                       rtol=1e-5)]


def bench_reduce(ctx: Context) -> list[Row]:
    shape = ctx.settings.reduce_shape
    x = peers_numpy.reduce_large_input(shape)
    f = sg_models.reduce_large(mode=ctx.settings.mode)
    work = f"sum(axis=1) {shape[0]}x{shape[1]} float32"
    return [micro_pair(ctx, work, lambda: f(x), "numpy", lambda: peers_numpy.reduce_large(x), rtol=1e-4)]


def bench_overhead(ctx: Context) -> list[Row]:
    x = peers_numpy.one_op_input()
    rows = []
    for trust in (False, True):
        f = sg_models.one_op(mode=ctx.settings.mode, trust_input=trust)
        work = "call overhead: x + 1, 10 float64" + (", trust_input" if trust else "")
        rows.append(micro_pair(ctx, work, lambda f=f: f(x), "numpy x + 1", lambda: peers_numpy.one_op(x),
                               rtol=0.0))
    return rows


def bench_scan_overhead(ctx: Context) -> list[Row]:
    """One scalar add per step: the lowered loop's cost per step against ``Scan.perform``."""
    s = ctx.settings
    n, n_py = s.scan_steps, max(s.scan_steps // 100, 100)
    sym = scan_bench.scan_overhead(n, mode=s.mode)
    ref = scan_bench.scan_overhead(n_py, mode=symgraph.compile.mode.Mode(linker="py"))
    if float(sym()) != n or float(ref()) != n_py:
        return [Row("scan_overhead", None, "Scan.perform", None, note="NOT TIMED: wrong last value")]
    busy = harness.busy_cores()
    times = harness.time_alternating({"sym": sym, "ref": ref}, repeats=s.repeats, warmup=s.warmup)
    per = float(np.median(times["sym"])) / n
    per_py = float(np.median(times["ref"])) / n_py
    return [Row(f"scan_overhead: s + 1 (float64 scalar), {n} steps, time per step", per,
                f"Scan.perform ({n_py} steps)", per_py,
                note=f"{per * 1e9:.0f} ns/step (target < 200) vs {per_py * 1e9:.0f} ns/step; "
                     f"busy cores {busy}")]


def bench_lstm(ctx: Context) -> list[Row]:
    """The IMDB tutorial's LSTM training step (scan) against torch.nn.LSTM and an eager loop."""
    s = ctx.settings
    steps, batch, dim, hidden, vocab = s.lstm
    work = (f"LSTM train step T={steps} batch {batch} emb/hidden {dim}/{hidden} vocab {vocab} "
            f"(scan)")
    if ctx.pt is None:
        return [skipped(work, "torch.nn.LSTM", ctx.torch_missing)]
    params = scan_bench.lstm_params(vocab, dim, hidden)
    x, y = scan_bench.lstm_batch(steps, batch, vocab)
    sym = scan_bench.LSTMSymgraph(params, x, y, mode=s.mode)
    rows = []
    for peer_name, eager in (("torch.nn.LSTM", False), ("torch eager loop", True)):
        peer = scan_bench.LSTMTorch(params, x, y, eager=eager)
        msg = check_costs(work, sym.step, peer.step, 1e-4)
        if msg:
            rows.append(Row(work, None, peer_name, None, note=f"NOT TIMED: {msg}"))
            continue
        busy = harness.busy_cores()
        rows.append(time_steps(ctx, work, sym.step, peer_name, peer.step, flops=0.0, peak=None,
                               note=f"busy cores {busy}"))
        sym = scan_bench.LSTMSymgraph(params, x, y, mode=s.mode)   # same start for the next peer
    return rows


def bench_compile(ctx: Context) -> list[Row]:
    s = ctx.settings
    b = s.lenet_batch
    want_torch = s.torch_compile and ctx.pt is not None
    peer = "torch.compile" if want_torch else "-"
    with tempfile.TemporaryDirectory(prefix="symgraph-bench-cache-") as sym_dir, \
            tempfile.TemporaryDirectory(prefix="torch-bench-cache-") as torch_dir:
        sym = [compile_time.measure("symgraph", sym_dir, b, s.mode) for _ in ("cold", "warm")]
        tc = [compile_time.measure("torch-compile", torch_dir, b) for _ in ("cold", "warm")] \
            if want_torch else [None, None]
    rows = []
    for which, r, t in zip(("cold: fresh compiledir", "warm: new process, cache hit"), sym, tc):
        extra = max(r["first_call_s"] - r["step_s"], 0.0)
        note = f"function() {r['function_s']:.2f} s, first call +{extra:.2f} s, {r['linker']} backend"
        rows.append(Row(f"LeNet train function compile, batch {b} ({which})", r["compile_s"], peer,
                        t["compile_s"] if t else None, note=note))
    return rows


def bench_dist(ctx: Context) -> list[Row]:
    """Data-parallel LeNet with 1 and 2 ranks at the same global batch; allreduce vs size."""
    from bench import dist_bench
    s = ctx.settings
    batch = 16 if s.name == "tiny" else 500
    work = f"LeNet train step, global batch {batch}, 2 ranks (mpiexec)"
    why = dist_bench.unavailable()
    if why:
        return [skipped(work, "1 rank", why)]
    kw = dict(batch=batch, steps=1 if s.name == "tiny" else 3, repeats=s.repeats, warmup=s.warmup + 1,
              min_bytes=1 << 10, max_bytes=(1 << 20) if s.name == "tiny" else (64 << 20))
    one = dist_bench.run_ranks(1, **dict(kw, max_bytes=kw["min_bytes"]))
    two = dist_bench.run_ranks(2, **kw)
    l1, l2 = one["lenet"], two["lenet"]
    rows = [Row(work, l2["step_s"], "1 rank", l1["step_s"], symgraph_iqr_s=l2["iqr_s"],
                peer_iqr_s=l1["iqr_s"],
                note=f"{l2['images_per_s']:.0f} vs {l1['images_per_s']:.0f} images/s; "
                     f"{l2['grad_bytes'] / 1e6:.2f} MB of gradients per step")]
    for r in two["allreduce"]:
        raw = f", bare MPI call {harness.format_seconds(r['raw_s'])}" if r.get("raw_s") else ""
        rows.append(Row(f"allreduce float32 {dist_bench.fmt_bytes(r['bytes'])}, 2 ranks",
                        r["s"], "-", None, symgraph_iqr_s=r["iqr_s"],
                        note=f"algbw {r['algbw'] / 1e9:.3f} GB/s, busbw {r['busbw'] / 1e9:.3f} GB/s{raw}"))
    return rows


BENCHES = {"dist": bench_dist, "lenet": bench_lenet, "convnet": bench_convnet, "conv": bench_conv, "pool": bench_pool,
           "softmax": bench_softmax, "fused": bench_fused, "reduce": bench_reduce,
           "overhead": bench_overhead, "compile": bench_compile,
           "scan_overhead": bench_scan_overhead, "lstm": bench_lstm}


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="symgraph against PyTorch and NumPy, as ratios.",
                                 epilog="groups: " + " ".join(GROUPS) + "; only when named: "
                                 + " ".join(EXTRA_GROUPS))
    ap.add_argument("groups", nargs="*", metavar="GROUP",
                    help="which rows to run (default: all)")
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="fewer repeats and shorter samples (~3 min)")
    size.add_argument("--tiny", action="store_true",
                      help="small batches, 2 repeats: checks the suite runs (tests/test_bench.py)")
    ap.add_argument("--json", metavar="PATH", help="write rows and the machine description here")
    ap.add_argument("--mode", default="FAST_RUN", help="symgraph mode for every function (default FAST_RUN)")
    ap.add_argument("--compile", action="store_true", dest="torch_compile",
                    help="also compare with torch.compile (LeNet step and compile time; slow)")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                    help="where the training-step rows run (cuda: against torch on the GPU)")
    ap.add_argument("--repeats", type=int, help="timed samples per side (overrides the preset)")
    args = ap.parse_args(argv)
    unknown = [g for g in args.groups if g not in GROUPS + EXTRA_GROUPS]
    if unknown:
        ap.error(f"unknown group(s) {unknown}; choose from {list(GROUPS + EXTRA_GROUPS)}")
    try:
        symgraph.get_mode(args.mode)
    except ValueError as exc:
        ap.error(str(exc))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    s = profile("tiny" if args.tiny else "quick" if args.quick else "full")
    s.mode, s.device, s.torch_compile = args.mode, args.device, args.torch_compile
    if args.repeats:
        s.repeats = args.repeats
    groups = [g for g in GROUPS + EXTRA_GROUPS if g in args.groups] if args.groups else list(GROUPS)

    symgraph.config.floatX = "float32"   # the seeds' THEANO_FLAGS=floatX=float32
    ctx = Context(s, peak_gflops=0.0)
    if importlib.util.find_spec("torch") is None:
        ctx.torch_missing = "torch is not installed (pip install -e '.[bench]')"
    else:
        from bench import peers_torch
        ctx.pt = peers_torch

    machine = harness.machine_info()
    ctx.peak_gflops = harness.gemm_peak_gflops(n=s.peak_n, repeats=10 if s.name == "full" else 5)
    linker = symgraph.get_mode(s.mode).resolve_linker()
    machine["bench"] = {"preset": s.name, "groups": groups, "symgraph_mode": s.mode,
                        "symgraph_linker": linker, "device": s.device, "torch_compile": s.torch_compile,
                        "gemm_peak_gflops": round(ctx.peak_gflops, 1), "gemm_peak_n": s.peak_n,
                        "settings": dataclasses.asdict(s)}
    cpu = machine["cpu"]
    print(f"# {cpu['model']}, {cpu['usable_cores']} cores, busy {machine['busy_cores']}; "
          f"float32 gemm peak {ctx.peak_gflops:.0f} GFLOP/s ({s.peak_n}^3 numpy); "
          f"symgraph mode {s.mode} -> {linker} backend"
          f"{'' if s.device == 'cpu' else f' (training steps on {s.device})'}; preset {s.name}", flush=True)
    if (machine["busy_cores"] or 0) > 0.3:
        print(f"# warning: other work keeps {machine['busy_cores']} cores busy; times will be slow "
              f"and noisy", flush=True)

    rows: list[Row] = []
    for group in groups:
        t0 = time.perf_counter()
        try:
            new = BENCHES[group](ctx)
        except sg_models.FeatureMissing as exc:
            new = [skipped(group, "-", str(exc))]
        except Exception as exc:  # one broken group must not hide the others
            traceback.print_exc()
            new = [Row(group, None, "-", None, note=f"ERROR: {type(exc).__name__}: {exc}")]
        for r in new:
            print(f"  {r.work}: symgraph {harness.format_seconds(r.symgraph_s)}, {r.peer_name} "
                  f"{harness.format_seconds(r.peer_s)}{'  ' + r.note if r.note else ''}",
                  file=sys.stderr, flush=True)
        print(f"  [{group}: {time.perf_counter() - t0:.1f} s]", file=sys.stderr, flush=True)
        rows.extend(new)
        if group in ("lenet", "convnet") and s.device == "cuda" and ctx.gpu_peak_gflops:
            machine["bench"]["gpu_peak_gflops"] = round(ctx.gpu_peak_gflops, 1)

    machine["busy_cores_end"] = harness.busy_cores()
    if (machine["busy_cores_end"] or 0) > 0.3:
        print(f"# warning: at the end other work kept {machine['busy_cores_end']} cores busy", flush=True)
    print()
    harness.print_table(rows)
    if args.json:
        harness.write_json(args.json, rows, machine)
        print(f"\nwrote {args.json}")
    bad = [r for r in rows if r.note.startswith(("NOT TIMED", "ERROR"))]
    if bad:
        print(f"\n{len(bad)} row(s) not timed: see their notes", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
