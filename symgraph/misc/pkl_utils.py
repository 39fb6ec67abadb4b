"""Theano's module path ``theano.misc.pkl_utils``: ``dump`` and ``load`` of objects holding
NumPy arrays and shared variables.

``dump(obj, file)`` writes a zip archive: ``pkl`` is the pickle of ``obj`` in which every
ndarray (a shared variable's value included) is replaced by a reference to its own ``.npy``
member, so the arrays are readable without unpickling (``numpy.load`` of the member).
``load(file)`` reads it back. Shared variables keep their name and value; a graph pickles as
symgraph variables do (see tests/test_pickle.py).
"""
from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np

__all__ = ["dump", "load", "StripPickler"]

DEFAULT_PROTOCOL = pickle.HIGHEST_PROTOCOL


class _ArrayPickler(pickle.Pickler):
    def __init__(self, file, zf, protocol):
        super().__init__(file, protocol)
        self.zf = zf
        self.names = {}

    def persistent_id(self, obj):
        if type(obj) is np.ndarray and obj.dtype != object:
            key = id(obj)
            if key not in self.names:
                name = f"arrays/{len(self.names)}.npy"
                self.names[key] = (name, obj)      # keep obj alive: ids stay unique
                buf = io.BytesIO()
                np.lib.format.write_array(buf, obj, allow_pickle=False)
                self.zf.writestr(name, buf.getvalue())
            return ("ndarray", self.names[key][0])
        return None


class _ArrayUnpickler(pickle.Unpickler):
    def __init__(self, file, zf):
        super().__init__(file)
        self.zf = zf
        self.cache = {}

    def persistent_load(self, pid):
        kind, name = pid
        if kind != "ndarray":
            raise pickle.UnpicklingError(f"pkl_utils.load: unknown persistent id {pid!r}")
        if name not in self.cache:
            with self.zf.open(name) as f:
                self.cache[name] = np.lib.format.read_array(io.BytesIO(f.read()),
                                                            allow_pickle=False)
        return self.cache[name]


def _open(file, mode):
    if isinstance(file, (str, bytes)) or hasattr(file, "__fspath__"):
        return open(file, mode + "b"), True
    return file, False


def dump(obj, file_handler, protocol=DEFAULT_PROTOCOL, persistent_id=None):
    """Pickle ``obj`` into a zip archive (a path or a binary file object), arrays as .npy."""
    if persistent_id is not None:
        raise NotImplementedError("pkl_utils.dump: custom persistent_id is not supported")
    f, close = _open(file_handler, "w")
    try:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as zf:
            buf = io.BytesIO()
            _ArrayPickler(buf, zf, protocol).dump(obj)
            zf.writestr("pkl", buf.getvalue())
    finally:
        if close:
            f.close()


def load(f, persistent_load=None):
    """Read back an object written by ``dump`` (a path or a binary file object)."""
    if persistent_load is not None:
        raise NotImplementedError("pkl_utils.load: custom persistent_load is not supported")
    fh, close = _open(f, "r")
    try:
        with zipfile.ZipFile(fh, "r") as zf:
            with zf.open("pkl") as p:
                return _ArrayUnpickler(io.BytesIO(p.read()), zf).load()
    finally:
        if close:
            fh.close()


class StripPickler(pickle.Pickler):
    """Theano's name for a pickler that leaves out variable tags it lists; here a plain
    pickler (``extra_tag_to_remove`` is accepted and ignored)."""

    def __init__(self, file, protocol=0, extra_tag_to_remove=None):
        super().__init__(file, protocol)
