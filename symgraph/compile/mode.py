"""Compilation modes: which rewrites run and which backend executes the graph.

``FAST_RUN`` (default): every rewrite, C backend when a compiler works.
``FAST_COMPILE``: merge and constant folding only, Python reference backend.
``'py'``: every rewrite, Python backend. ``'c'``: every rewrite, C backend.
``DebugMode``: runs the C and Python backends and compares every node.
``NanGuardMode``: raises at the first node producing NaN/Inf.

``Mode(...).excluding('fusion')`` leaves out a rewrite (or tag) by name.
"""
from __future__ import annotations

from ..backends import c_available, get_linker
from ..backends.errors import NanGuard
from ..config import config


class Mode:
    def __init__(self, linker="auto", optimizer="fast_run", excluding=(), including=(),
                 nan_guard=False, linker_options=None):
        self.linker = linker
        self.linker_options = dict(linker_options or {})   # keyword arguments of the linker
        self.optimizer = optimizer
        self._excluding = tuple(excluding)
        self._including = tuple(including)
        self.nan_guard = nan_guard

    def clone(self, **kw):
        args = dict(linker=self.linker, optimizer=self.optimizer, excluding=self._excluding,
                    including=self._including, nan_guard=self.nan_guard,
                    linker_options=self.linker_options)
        args.update(kw)
        new = type(self).__new__(type(self))
        Mode.__init__(new, **args)
        return new

    def excluding(self, *names):
        """A copy of this mode without the named rewrites or tags."""
        return self.clone(excluding=self._excluding + names)

    def including(self, *names):
        """A copy of this mode that also runs the named rewrites or tags (phases)."""
        return self.clone(including=self._including + names)

    @property
    def included(self):
        return set(self._including) | set(config.optimizer_including)

    @property
    def excluded(self):
        names = set(self._excluding) | set(config.optimizer_excluding)
        if self.nan_guard or config.nan_guard:
            names.add("fusion")     # so the guard names the op (and line) that made the NaN
        return names

    def resolve_linker(self):
        """Name of the backend to use: 'py', 'c' or 'cuda'."""
        linker = self.linker
        if linker == "auto":
            linker = config.linker
        if linker == "auto":
            if config.device.startswith("cuda"):
                return "cuda"
            return "c" if c_available() else "py"
        if linker == "c":
            if not c_available():
                return "py"
        return linker

    def make_linker(self, profile=None):
        """The backend's linker; ``profile`` (a ProfileStats) makes it time every node."""
        return get_linker(self.resolve_linker(), nan_guard=self.nan_guard or NanGuard.of(config.nan_guard),
                          profile=profile, **self.linker_options)

    def __repr__(self):
        return (f"Mode(linker={self.linker!r}, optimizer={self.optimizer!r}, "
                f"excluding={self._excluding})")


class CudaMode(Mode):
    """A ``Mode`` running on the GPU with options of the CUDA linker.

    >>> f = function([x], y, mode=CudaMode(keep_outputs_on_gpu=True))   # returns DeviceArray
    >>> g = function([x], y, mode=CudaMode(graphs=False))     # never replay CUDA graphs
    """

    def __init__(self, keep_outputs_on_gpu=False, graphs=True, optimizer="fast_run", **kw):
        options = dict(kw.pop("linker_options", None) or {},
                       keep_outputs_on_gpu=keep_outputs_on_gpu, graphs=graphs)
        kw.pop("linker", None)
        super().__init__(linker="cuda", optimizer=optimizer, linker_options=options, **kw)

    def resolve_linker(self):
        return "cuda"


class DebugMode(Mode):
    """Run every node with the C and the Python backends; raise at the first mismatch."""

    def __init__(self, **kw):
        kw.setdefault("linker", "debug")
        super().__init__(**kw)

    def resolve_linker(self):
        return "debug"


class NanGuardMode(Mode):
    """Theano's ``NanGuardMode(nan_is_error=None, inf_is_error=None, big_is_error=None,
    optimizer='default', linker=None)``: check every node's outputs for NaN, Inf and
    (``big_is_error``) magnitudes above 1e10. An argument left None takes the flag
    ``NanGuardMode.nan_is_error`` / ``inf_is_error`` / ``big_is_error`` (all True by
    default, as in Theano); ``NanGuardMode.action`` ('raise', 'warn', 'pdb') says what a
    hit does. 'raise' raises :class:`~symgraph.backends.errors.NanGuardError` (an
    ``AssertionError``, as Theano's) naming the op and the line that built it.
    Fusion is left out so the error names the elementwise op itself.
    """

    def __init__(self, nan_is_error=None, inf_is_error=None, big_is_error=None,
                 optimizer="default", linker=None, **kw):
        flags = config.NanGuardMode
        guard = NanGuard(flags.nan_is_error if nan_is_error is None else nan_is_error,
                         flags.inf_is_error if inf_is_error is None else inf_is_error,
                         flags.big_is_error if big_is_error is None else big_is_error,
                         flags.action)
        if optimizer == "default":
            optimizer = config.optimizer
        kw.pop("nan_guard", None)
        super().__init__(linker=linker or "auto", optimizer=optimizer, nan_guard=guard, **kw)


_PREDEFINED = {
    "FAST_RUN": lambda: Mode("auto", "fast_run"),
    "FAST_COMPILE": lambda: Mode("py", "fast_compile"),
    "PY": lambda: Mode("py", "fast_run"),
    "C": lambda: Mode("c", "fast_run"),
    "CUDA": lambda: Mode("cuda", "fast_run"),
    "DEBUGMODE": lambda: DebugMode(),
    "DEBUG_MODE": lambda: DebugMode(),
    "NANGUARDMODE": lambda: NanGuardMode(),
    "NONE": lambda: Mode("auto", None),
    "MODE": lambda: Mode(config.linker, config.optimizer),      # Theano's mode=Mode
}


def get_mode(mode=None):
    """Turn ``None``, a name or a Mode into a Mode."""
    if mode is None:
        mode = config.mode
        if isinstance(mode, str) and mode.upper() == "FAST_RUN" \
                and config.source("optimizer") != "default":
            mode = "MODE"           # THEANO_FLAGS=optimizer=... applies to the default mode
    if isinstance(mode, Mode):
        return mode
    if isinstance(mode, str):
        key = mode.upper()
        if key in _PREDEFINED:
            return _PREDEFINED[key]()
    raise ValueError(f"unknown mode {mode!r}; expected one of {sorted(_PREDEFINED)} or a Mode")
