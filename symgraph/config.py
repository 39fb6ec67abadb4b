"""Global configuration, read once from ``SYMGRAPH_FLAGS`` at import.

``SYMGRAPH_FLAGS="floatX=float32,device=cpu,mode=FAST_RUN"`` sets flags the way
``THEANO_FLAGS`` did. Each flag is also an attribute that can be assigned at run
time::

    import symgraph
    symgraph.config.floatX = 'float32'

Unknown flags and invalid values raise :class:`ConfigError` naming the flag.
"""
from __future__ import annotations

import os


class ConfigError(ValueError):
    """A flag is unknown or has an invalid value."""


def _bool(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected a boolean, got {value!r}")


def _choice(*allowed):
    def convert(value):
        if value not in allowed:
            raise ValueError(f"expected one of {allowed}, got {value!r}")
        return value
    return convert


def _device(value):
    value = str(value)
    if value == "cpu" or value == "cuda" or value.startswith("cuda"):
        return value
    if value.startswith("gpu"):  # Theano's old spelling
        return "cuda" + value[3:]
    raise ValueError(f"expected 'cpu' or 'cuda[N]', got {value!r}")


def _str(value):
    return str(value)


def _name_list(value):
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return tuple(v for v in str(value).replace(":", " ").split() if v)


def _default_compiledir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "symgraph")


# name -> (converter, default, help)
_FLAGS = {
    "floatX": (_choice("float64", "float32", "float16"), "float64",
               "dtype of unprefixed constructors (T.matrix) and of Python float constants"),
    "device": (_device, "cpu", "'cpu' or 'cuda': where shared variables live and kernels run"),
    "mode": (_str, "FAST_RUN", "default compilation mode of function()"),
    "linker": (_choice("auto", "c", "py", "cuda"), "auto",
               "backend used by FAST_RUN; 'auto' picks C when a compiler works"),
    "compiledir": (_str, None, "compile cache directory (default ~/.cache/symgraph)"),
    "print_c": (_bool, False, "print generated C/CUDA source when it is compiled"),
    "print_rewrites": (_bool, False, "print each rewrite as it fires"),
    "optimizer_excluding": (_name_list, (), "rewrite names or tags to leave out (space or ':' separated)"),
    "openmp": (_bool, True, "let generated C use OpenMP threads"),
    "openmp_adaptive": (_bool, True, "while other processes keep the cores busy, only large C regions use "
                        "threads (the team's wake-up time is probed every 50 ms)"),
    "cxxflags": (_str, "", "extra flags for the C compiler"),
    "nan_guard": (_bool, False, "raise at the first node producing NaN/Inf"),
    "compute_test_value": (_choice("off", "ignore", "warn", "raise"), "off", "accepted for compatibility"),
    "warn_float64": (_choice("ignore", "warn", "raise"), "ignore", "accepted for compatibility"),
}


class Config:
    """Attribute access to the flags; assignment validates.

    Flags are plain instance attributes (so tools such as pytest's monkeypatch
    see and restore them); deleting one resets it to its default.
    """

    def __init__(self):
        for name in _FLAGS:
            self._reset(name)

    def _reset(self, name):
        conv, default, _ = _FLAGS[name]
        if name == "compiledir" and default is None:
            default = _default_compiledir()
        object.__setattr__(self, name, default if default is None else conv(default))

    def __getattr__(self, name):
        raise AttributeError(f"symgraph.config has no flag {name!r}; known flags: {sorted(_FLAGS)}")

    def __setattr__(self, name, value):
        if name not in _FLAGS:
            raise ConfigError(f"unknown symgraph flag {name!r}; known flags: {sorted(_FLAGS)}")
        conv = _FLAGS[name][0]
        try:
            value = conv(value)
        except ValueError as exc:
            raise ConfigError(f"invalid value for symgraph flag {name!r}: {exc}") from None
        if name == "device" and value.startswith("cuda"):
            from .backends.cuda import check_available  # raises a clear error without a GPU
            check_available()
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        if name not in _FLAGS:
            raise AttributeError(f"symgraph.config has no flag {name!r}")
        self._reset(name)

    def parse_flags(self, text):
        """Apply ``"name=value,name=value"`` (the SYMGRAPH_FLAGS syntax)."""
        for item in (text or "").split(","):
            item = item.strip()
            if not item:
                continue
            if "=" not in item:
                raise ConfigError(f"SYMGRAPH_FLAGS entry {item!r} is not of the form name=value")
            name, value = (s.strip() for s in item.split("=", 1))
            setattr(self, name, value)

    def describe(self):
        return "\n".join(f"{n} = {getattr(self, n)!r}  # {h}" for n, (_, _, h) in _FLAGS.items())

    def __dir__(self):
        return list(_FLAGS)


config = Config()
config.parse_flags(os.environ.get("SYMGRAPH_FLAGS", ""))
