"""Timing, checking and reporting utilities shared by every benchmark.

A benchmark script stays short when it only says *what* to compare::

    from bench import harness
    machine = harness.machine_info()
    peak = harness.gemm_peak_gflops()
    rows = [harness.measure_pair("lenet step b=500", sym_step, "torch eager", torch_step,
                                 check=(1e-4, 1e-5), flops=lenet_flops(500), peak_gflops=peak)]
    harness.print_table(rows)
    harness.write_json("bench/results.json", rows, machine)

Timings alternate between the compared callables (a, b, a, b, ...) so slow drift
of the machine (turbo, other tenants, page cache) hits both sides alike.
"""
from __future__ import annotations

import dataclasses
import datetime
import gc
import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from typing import Callable

import numpy as np

__all__ = [
    "machine_info", "busy_cores", "gemm_peak_gflops", "time_alternating", "summarize", "Summary",
    "Row", "measure_pair", "pct_of_peak", "check_close", "print_table", "write_json",
]


# ---------------------------------------------------------------------------
# Machine description
# ---------------------------------------------------------------------------

def _cpu_model() -> tuple[str | None, list[str]]:
    """CPU model name and the SIMD flags that matter for generated code."""
    model, flags = None, []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model is None:
                    model = value.strip()
                elif key == "flags" and not flags:
                    wanted = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")
                    have = set(value.split())
                    flags = [w for w in wanted if w in have]
    except OSError:
        model = platform.processor() or None
    return model, flags


def _mem_total_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _numpy_blas() -> dict:
    """Which BLAS numpy is linked to, and with how many threads if threadpoolctl can tell."""
    info: dict = {}
    try:
        from threadpoolctl import threadpool_info  # optional
        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            p = pools[0]
            return {"name": p.get("internal_api"), "version": p.get("version"),
                    "threads": p.get("num_threads"), "arch": p.get("architecture"),
                    "source": "threadpoolctl"}
    except ImportError:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info = {"name": blas.get("name"), "version": blas.get("version"),
                "config": blas.get("openblas configuration"), "source": "numpy.show_config"}
    except Exception as exc:  # numpy < 1.26 has no mode="dicts"
        info = {"error": repr(exc)}
    return info


def _torch_info() -> dict | None:
    if importlib.util.find_spec("torch") is None:
        return None
    import torch
    blas = None
    for item in torch.__config__.show().replace(",", "\n").splitlines():
        if "BLAS_INFO=" in item:
            blas = item.split("=", 1)[1].strip()
    return {"version": torch.__version__, "threads": torch.get_num_threads(),
            "blas": blas, "mkldnn": torch.backends.mkldnn.is_available()}


def _symgraph_info() -> dict | None:
    info: dict = {}
    try:
        info["version"] = importlib.metadata.version("symgraph")
    except importlib.metadata.PackageNotFoundError:
        try:
            import symgraph
            info["version"] = getattr(symgraph, "__version__", None)
        except ImportError:
            return None
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        out = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", repo, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
        if out.returncode == 0:
            info["commit"] = out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def busy_cores(interval: float = 0.5) -> float | None:
    """How many cores other work kept busy during ``interval`` seconds (from /proc/stat).

    Call it before timing: on a shared 2-core machine a test run elsewhere doubles
    a step time. ``None`` where /proc/stat does not exist.

    >>> b = busy_cores(0.05); b is None or b >= 0
    True
    """
    def read():
        with open("/proc/stat") as f:
            fields = [float(v) for v in f.readline().split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields) - idle, sum(fields)
    try:
        busy0, total0 = read()
        time.sleep(interval)
        busy1, total1 = read()
    except OSError:
        return None
    cores = os.cpu_count() or 1
    return round(cores * (busy1 - busy0) / max(total1 - total0, 1e-9), 2)


def machine_info() -> dict:
    """Describe the machine and software a result was measured on (JSON-serialisable).

    >>> info = machine_info(); info["cpu"]["logical_cores"] >= 1
    True
    """
    model, flags = _cpu_model()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count()
    thread_env = {k: os.environ[k] for k in
                  ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "SYMGRAPH_FLAGS")
                  if k in os.environ}
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": {"model": model, "flags": flags, "logical_cores": os.cpu_count(),
                "usable_cores": usable},
        "memory_gib": _mem_total_gib(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": {"version": np.__version__, "blas": _numpy_blas()},
        "torch": _torch_info(),
        "symgraph": _symgraph_info(),
        "thread_env": thread_env,
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "busy_cores": busy_cores(),
    }


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------

def time_alternating(fns: dict[str, Callable[[], object]], repeats: int = 10, warmup: int = 2,
                     min_time: float | None = None, number: int = 1,
                     max_repeats: int = 100_000) -> dict[str, list[float]]:
    """Time zero-argument callables interleaved; return seconds per call for each.

    Each callable is called ``warmup`` times (untimed), then rounds a, b, a, b, ...
    run until there are ``repeats`` samples each and, when ``min_time`` is given,
    every callable has been timed for at least ``min_time`` seconds in total
    (capped at ``max_repeats`` rounds). A sample times ``number`` back-to-back calls
    and is divided by ``number``: use ``number > 1`` for microsecond-scale calls,
    where the clock read would otherwise dominate. The garbage collector is off
    while timing, as in :mod:`timeit`.

    >>> t = time_alternating({"a": lambda: sum(range(100)), "b": lambda: 0}, repeats=5)
    >>> sorted(t), len(t["a"])
    (['a', 'b'], 5)
    """
    if repeats < 1 or number < 1:
        raise ValueError("repeats and number must be >= 1")
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    totals = dict.fromkeys(fns, 0.0)
    clock = time.perf_counter
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        rounds = 0
        while rounds < max_repeats:
            for name, fn in fns.items():
                if number == 1:
                    t0 = clock()
                    fn()
                    dt = clock() - t0
                else:
                    t0 = clock()
                    for _ in range(number):
                        fn()
                    dt = (clock() - t0) / number
                times[name].append(dt)
                totals[name] += dt * number
            rounds += 1
            if rounds >= repeats and (min_time is None or min(totals.values()) >= min_time):
                break
    finally:
        if gc_was_enabled:
            gc.enable()
    return times


@dataclasses.dataclass(frozen=True)
class Summary:
    """Robust statistics of one list of timings, in seconds."""
    median: float
    min: float
    iqr: float  # 75th minus 25th percentile
    n: int


def summarize(times: list[float]) -> Summary:
    """Median, minimum and inter-quartile range of a list of seconds.

    >>> summarize([1.0, 2.0, 3.0, 4.0, 100.0]).median
    3.0
    """
    a = np.asarray(times, dtype=np.float64)
    if a.size == 0:
        raise ValueError("no timings to summarize")
    q25, q50, q75 = np.percentile(a, [25, 50, 75])
    return Summary(median=float(q50), min=float(a.min()), iqr=float(q75 - q25), n=int(a.size))


def gemm_peak_gflops(n: int = 1024, dtype=np.float32, repeats: int = 10,
                     shape: tuple[int, int, int] | None = None) -> float:
    """Median GFLOP/s of ``numpy.matmul`` on (m, k) @ (k, n'): the machine's practical peak.

    ``shape=(m, k, n)`` measures a non-square product instead of n x n x n
    (e.g. LeNet's second convolution as im2col is (50, 500, 32000)).

    >>> gemm_peak_gflops(n=64, repeats=3) > 0
    True
    """
    m, k, nn = shape if shape is not None else (n, n, n)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, nn)).astype(dtype)
    out = np.empty((m, nn), dtype=dtype)
    times = time_alternating({"gemm": lambda: np.matmul(a, b, out=out)}, repeats=repeats)["gemm"]
    return 2.0 * m * k * nn / summarize(times).median / 1e9


def pct_of_peak(flops: float, seconds: float, peak_gflops: float) -> float:
    """Percent of ``peak_gflops`` achieved by doing ``flops`` in ``seconds``."""
    return 100.0 * flops / seconds / (peak_gflops * 1e9)


# ---------------------------------------------------------------------------
# Checking
# ---------------------------------------------------------------------------

def _is_sequence_of_outputs(v) -> bool:
    """A tuple/list holding arrays (several outputs), not a flat list of numbers."""
    return isinstance(v, (tuple, list)) and any(not np.isscalar(x) for x in v)


def check_close(name: str, a, b, rtol: float = 1e-5, atol: float = 1e-8) -> str | None:
    """Return None when ``a`` and ``b`` agree (``|a-b| <= atol + rtol*|b|``), else why not.

    ``a`` and ``b`` may be arrays, scalars, or equal-length tuples/lists/dicts of
    them (compared item by item). NaNs must be in the same places. Used to refuse
    timing two implementations that do not compute the same thing.

    >>> check_close("x", np.ones(3), np.ones(3)) is None
    True
    >>> check_close("x", [1.0, 2.0], [1.0, 2.5])
    'x: 1 of 2 elements differ; worst at (1,): 2 vs 2.5 (abs 0.5, rel 0.2)'
    """
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict)) or set(a) != set(b):
            return f"{name}: keys differ: {sorted(a) if isinstance(a, dict) else type(a)} vs " \
                   f"{sorted(b) if isinstance(b, dict) else type(b)}"
        for key in a:
            msg = check_close(f"{name}[{key!r}]", a[key], b[key], rtol, atol)
            if msg:
                return msg
        return None
    if _is_sequence_of_outputs(a) or _is_sequence_of_outputs(b):
        if len(a) != len(b):
            return f"{name}: {len(a)} outputs vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            msg = check_close(f"{name}[{i}]", x, y, rtol, atol)
            if msg:
                return msg
        return None
    x, y = np.asarray(a), np.asarray(b)
    if x.shape != y.shape:
        return f"{name}: shape {x.shape} vs {y.shape}"
    xf, yf = x.astype(np.float64), y.astype(np.float64)
    nan_x, nan_y = np.isnan(xf), np.isnan(yf)
    if (nan_x != nan_y).any():
        return f"{name}: NaN in different places ({int(nan_x.sum())} vs {int(nan_y.sum())} NaNs)"
    with np.errstate(invalid="ignore"):
        diff = np.where(nan_x, 0.0, np.abs(xf - yf))
        bad = diff > atol + rtol * np.abs(np.where(nan_y, 0.0, yf))
    if not bad.any():
        return None
    excess = np.where(bad, diff - rtol * np.abs(yf), -np.inf)
    worst = np.unravel_index(int(np.argmax(excess)), x.shape) if x.ndim else ()
    xv, yv, d = xf[worst], yf[worst], diff[worst]
    rel = d / abs(yv) if yv != 0 else float("inf")
    return (f"{name}: {int(bad.sum())} of {x.size} elements differ; worst at {tuple(int(i) for i in worst)}: "
            f"{xv:.7g} vs {yv:.7g} (abs {d:.3g}, rel {rel:.3g})")


# ---------------------------------------------------------------------------
# Rows and reports
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Row:
    """One line of a benchmark table: symgraph against one peer on one piece of work.

    ``ratio`` = symgraph_s / peer_s (below 1 means symgraph is faster); it is None
    when either side was not timed (e.g. refused by :func:`check_close`, whose
    message then goes in ``note``). ``pct_peak`` is the percent of the machine's
    gemm peak that the *symgraph* side reached, when the work has a FLOP count.
    Times are medians in seconds; the ``*_iqr_s`` fields give their spread.
    """
    work: str
    symgraph_s: float | None
    peer_name: str
    peer_s: float | None
    pct_peak: float | None = None
    note: str = ""
    symgraph_iqr_s: float | None = None
    peer_iqr_s: float | None = None
    ratio: float | None = dataclasses.field(init=False)

    def __post_init__(self):
        ok = self.symgraph_s is not None and self.peer_s is not None and self.peer_s > 0
        self.ratio = self.symgraph_s / self.peer_s if ok else None


def measure_pair(work: str, symgraph_fn: Callable[[], object], peer_name: str,
                 peer_fn: Callable[[], object], *, check: tuple[float, float] | None = None,
                 flops: float | None = None, peak_gflops: float | None = None,
                 repeats: int = 10, warmup: int = 2, min_time: float | None = None,
                 number: int = 1, note: str = "") -> Row:
    """Check (optionally) then time two zero-argument callables alternately; return a Row.

    With ``check=(rtol, atol)`` the *first* call's outputs of both sides are compared
    with :func:`check_close` before any timing; on mismatch nothing is timed and the
    row carries the message. For training steps this compares the loss of the first
    step, when both sides still hold identical parameters.
    """
    if check is not None:
        msg = check_close(work, symgraph_fn(), peer_fn(), *check)
        if msg:
            return Row(work, None, peer_name, None, None, f"NOT TIMED: {msg}")
    times = time_alternating({"symgraph": symgraph_fn, "peer": peer_fn}, repeats=repeats,
                             warmup=warmup, min_time=min_time, number=number)
    s, p = summarize(times["symgraph"]), summarize(times["peer"])
    pct = pct_of_peak(flops, s.median, peak_gflops) if flops and peak_gflops else None
    return Row(work, s.median, peer_name, p.median, pct, note, s.iqr, p.iqr)


def format_seconds(s: float | None) -> str:
    """Seconds with a readable unit: '162.3 ms', '6.02 us'."""
    if s is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.4g} {unit}"
    return f"{s / 1e-9:.4g} ns"


def print_table(rows: list[Row], file=None) -> None:
    """Print rows as an aligned text table (times are medians; ± is the IQR)."""
    def t(med, iqr):
        return format_seconds(med) + (f" ±{format_seconds(iqr)}" if iqr is not None and med else "")
    header = ("work", "symgraph", "peer", "peer time", "ratio", "%peak", "note")
    body = [(r.work, t(r.symgraph_s, r.symgraph_iqr_s), r.peer_name, t(r.peer_s, r.peer_iqr_s),
             "-" if r.ratio is None else f"{r.ratio:.2f}x",
             "-" if r.pct_peak is None else f"{r.pct_peak:.0f}%", r.note) for r in rows]
    widths = [max(len(str(line[i])) for line in (header, *body)) for i in range(len(header))]
    out = file or sys.stdout
    for i, line in enumerate((header, *body)):
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip(), file=out)
        if i == 0:
            print("  ".join("-" * w for w in widths), file=out)


def write_json(path: str, rows: list[Row], machine: dict) -> None:
    """Write ``{"machine": ..., "rows": [...]}`` to ``path`` atomically (temp file + rename)."""
    doc = {"machine": machine, "rows": [dataclasses.asdict(r) for r in rows]}
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
