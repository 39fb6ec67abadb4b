"""The CUDA lowering table: Op type -> a function that builds the node's runtime step.

A lowering is ``lower(node, ctx) -> Step``. It renders the kernels the node
needs (``ctx.kernel(name, source, arg_format)``, collected by the linker into
one module, one nvcc call per function) and returns a :class:`Step`: the
callable run at each call, and where its inputs must be and its outputs will
be (``HOST`` numpy arrays, ``DEVICE`` :class:`DeviceArray`, or ``ANY``: taken
as they come). The linker inserts the transfers the places imply, once per
call and variable.

Ops without a lowering run their ``perform`` on the host (silently: the
transfers around them are inserted like any other); the CUDA backend therefore
runs every graph the reference backend runs.

Kernel names say what they compute (``E_tanh_add_2d``, ``R_sum_f32``,
``softmax_f32``) followed by a hash of their source, so equal kernels of
different nodes or functions are compiled once per process.
"""
from __future__ import annotations

import dataclasses
import enum
import hashlib
import re
from typing import Callable

from ..registry import LoweringRegistry
from . import driver
from .dialect import DIALECT, HASH_NAME, name_kernel



class Place(enum.Enum):
    """Where a step takes its inputs and leaves its outputs."""
    HOST = "host"          # numpy arrays
    DEVICE = "device"      # DeviceArray
    ANY = "any"            # taken as they come

    def __str__(self):
        return self.value


HOST, DEVICE, ANY = Place.HOST, Place.DEVICE, Place.ANY

LOWERINGS = LoweringRegistry("cuda")


def register(*op_types, replace=False):
    """Decorator: ``@register(Softmax)`` makes the function the lowering of those Op types."""
    return LOWERINGS.register(*op_types, replace=replace)


def find_lowering(op):
    return LOWERINGS.lookup(op)


@dataclasses.dataclass
class Step:
    """What a node does at run time: ``run(inputs) -> outputs`` and where values live."""

    run: Callable
    in_places: list
    out_places: list
    launches: bool = True      # False: runs no GPU work (views, shapes, host code)


class KernelHandle:
    """A kernel rendered at build time; ``fn`` (a prepared pycuda function) is set once compiled."""

    __slots__ = ("name", "source", "arg_format", "fn")

    def __init__(self, name, source, arg_format):
        self.name, self.source, self.arg_format, self.fn = name, source, arg_format, None


_compiled = {}        # kernel name -> prepared function (process-wide)


def kernel_name(stem, source):
    """``stem`` made an identifier, with a hash of ``source`` (a kernel template: the hash is
    of its text rendered under ``HASH_NAME``)."""
    source = name_kernel(source, HASH_NAME)
    stem = re.sub(r"[^0-9A-Za-z_]", "_", stem)[:48]
    return f"{stem}_{hashlib.sha1(source.encode()).hexdigest()[:10]}"


class BuildContext:
    """Collects the kernels of one function; ``finish()`` compiles those not compiled yet."""

    def __init__(self, places, fgraph=None):
        self.places = places          # variable -> HOST / DEVICE
        self.fgraph = fgraph
        self.handles = {}

    def place(self, var):
        return self.places[var]

    def reusable(self, var):
        """True when a value of ``var`` may be handed out again on later calls: no node
        overwrites it (destroy_map) and it is not returned to the user."""
        if self.fgraph is None:
            return False
        for client, i in self.fgraph.clients.get(var, ()):
            if client == "output" or any(i in ins for ins in client.op.destroy_map.values()):
                return False
        return True

    def kernel(self, stem, source, arg_format):
        """Register a kernel whose ``source`` is a template (dialect.KERNEL_NAME): it defines
        ``extern "C" __global__ void ${name}(...)``; returns a :class:`KernelHandle`."""
        name = kernel_name(stem, source)
        h = self.handles.get(name)
        if h is None:
            h = self.handles[name] = KernelHandle(name, name_kernel(source, name), arg_format)
        return h

    def finish(self):
        todo = [h for h in self.handles.values() if h.name not in _compiled]
        if todo:
            mod = driver.compile_module(DIALECT.preamble + "\n".join(h.source for h in todo))
            for h in todo:
                _compiled[h.name] = driver.kernel(mod, h.name, h.arg_format)
        for h in self.handles.values():
            h.fn = _compiled[h.name]


def helper_kernel(stem, source, arg_format):
    """A kernel compiled on first use at run time (for rare paths: strided copies)."""
    name = kernel_name(stem, source)
    fn = _compiled.get(name)
    if fn is None:
        mod = driver.compile_module(DIALECT.preamble + name_kernel(source, name))
        fn = _compiled[name] = driver.kernel(mod, name, arg_format)
    return fn


def render_module(handles):
    """The one source file of a set of kernels (what ``finish`` compiles); used by tests."""
    return DIALECT.preamble + "\n".join(h.source for h in handles)
