"""Theano's module path ``theano.scan_module``: scan, until, map, reduce, foldl, foldr."""
from ..ops.scan import Scan, foldl, foldr, map, reduce, scan, until  # noqa: F401

__all__ = ["scan", "until", "map", "reduce", "foldl", "foldr", "Scan"]
