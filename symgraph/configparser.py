"""``theano.configparser`` for Theano code run on symgraph: a thin layer over
:mod:`symgraph.config`.

``config``, ``change_flags``, ``ConfigError`` are symgraph's; ``TheanoConfigParser`` is
:class:`symgraph.config.Config`. ``AddConfigVar`` with the ``*Param`` classes registers a
library's own flag, as Theano code does at import; a value given for it in
``THEANO_FLAGS``/``SYMGRAPH_FLAGS`` or an rc file is applied then.
"""
from __future__ import annotations

import os

from .config import (Config, ConfigError, ConfigWarning, change_flags, config,  # noqa: F401
                     default_rc_files, read_rc_file, _bool)

TheanoConfigParser = Config
THEANO_FLAGS = os.environ.get("THEANO_FLAGS", "")
THEANO_FLAGS_DICT = {k.strip(): v.strip() for k, _, v in
                     (item.partition("=") for item in THEANO_FLAGS.split(",") if "=" in item)}


def parse_config_string(config_string, issue_warnings=True):
    """``"a=1,b=2"`` -> ``{'a': '1', 'b': '2'}`` (Theano's helper)."""
    out = {}
    for item in (config_string or "").split(","):
        item = item.strip()
        if not item:
            continue
        if "=" not in item:
            if issue_warnings:
                import warnings
                warnings.warn(f"config entry {item!r} has no value; ignored", ConfigWarning)
            continue
        key, _, value = item.partition("=")
        out[key.strip()] = value.strip()
    return out


class ConfigParam:
    """A flag definition for :func:`AddConfigVar`: a default and a filter."""

    def __init__(self, default, filter=None, allow_override=True):
        self.default = default
        self.filter = filter
        self.allow_override = allow_override

    def convert(self, value):
        if self.filter is not None:
            return self.filter(value)
        return value


class _Validated(ConfigParam):
    def __init__(self, default, is_valid=None, allow_override=True):
        super().__init__(default, None, allow_override)
        self.is_valid = is_valid

    def _cast(self, value):
        return value

    def convert(self, value):
        out = self._cast(value)
        if self.is_valid is not None and not self.is_valid(out):
            raise ValueError(f"got {value!r}; rejected by the flag's check")
        return out


class StrParam(_Validated):
    def _cast(self, value):
        return str(value)


class IntParam(_Validated):
    def _cast(self, value):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError(f"got {value!r}; expected an integer") from None


class FloatParam(_Validated):
    def _cast(self, value):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"got {value!r}; expected a number") from None


class BoolParam(_Validated):
    def _cast(self, value):
        return _bool(value)


class EnumStr(ConfigParam):
    """``EnumStr(default, *others)``: one of the listed strings (the first is the default)."""

    def __init__(self, default, *options, **kwargs):
        super().__init__(default, None, kwargs.get("allow_override", True))
        self.all = (default,) + options
        self._convert_fn = kwargs.get("convert")

    def convert(self, value):
        if self._convert_fn is not None:
            value = self._convert_fn(value)
        if value not in self.all:
            raise ValueError(f"got {value!r}; valid values are "
                             + ", ".join(repr(v) for v in self.all))
        return value


def AddConfigVar(name, doc, configparam, root=config, in_c_key=True):
    """Register flag ``name`` (Theano's API); it has whatever effect its library gives it."""
    default = configparam.default
    if callable(default):           # Theano's callable defaults take no argument
        default = (lambda fn: lambda cfg: fn())(default)
    root.add_flag(name, configparam.convert, default, doc, effect=True)
