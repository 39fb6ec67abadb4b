"""CudaLinker: run a FunctionGraph with generated CUDA kernels, cuBLAS and host fallbacks.

``make_thunk(fgraph) -> run(values) -> outputs``, like the Python linker.

Where values live is decided once, when the thunk is built:

- explicit tensor inputs (ndim >= 1, of a dtype the kernels support) are uploaded
  when the call starts, 0-d inputs and other dtypes stay on the host (they become kernel arguments or slice bounds);
- shared variables made under ``device=cuda`` (``CudaSharedVariable``) are
  already on the device and their updates stay there; other shared variables
  live on the host;
- constants of ndim >= 1 are uploaded once, here;
- each node's lowering (``lowering.py``) says where its outputs are: device
  kernels give device arrays, shape arithmetic stays on the host, and ops
  without a lowering run ``perform`` on the host.

A value needed in the other place is transferred once per call, right after
it is computed. Function outputs are copied to the host at the end of the
call (``CudaMode(keep_outputs_on_gpu=True)`` returns ``DeviceArray`` instead).

From the second call with the same signature on, the nodes that launch GPU work
are replayed as one CUDA graph (``replay.py``; ``CudaMode(graphs=False)`` turns
this off): a call then costs a few host-side shape computations and one graph
launch instead of a Python step per node. ``run.profile = {}`` records the time
per node (node by node, synchronised unless ``run.profile_sync = False``);
``profile_report(run)`` prints it.

Bad indices and whole updates. Kernels that read indices (advanced indexing,
the class labels of the fused softmax cross-entropy) check them on the device
and record the first bad one in the function's error word (``lower/subtensor.py``);
``run`` reads the word after the GPU work of the call, before outputs are
copied out, and raises IndexError naming the node and the user's line. As the
failure is only known then, an update must not be visible before it:

- a shared variable's buffer is never overwritten during the call. The inplace
  pass may turn ``v <- mu * v - lr * g`` into an Elemwise that writes into v's
  buffer when nothing else reads v; such a node (one destroying a graph input)
  is lowered in its non-destroying form (a fresh output; or, for an op without
  one, the input is copied first), so the new value is a new buffer, as the
  reference backend does. Node by node, ``Function.__call__`` then commits the
  updates only after ``run`` returned (an exception commits none);
- in a replayed CUDA graph, updates are written back into the shared
  variables' own buffers at the end of the graph (``replay.py``); for a
  function with index checks those copies are kernels that do nothing when the
  error word is set (``lower.subtensor.render_guarded_copy``), so a failed call
  leaves every shared variable as it was, and the word is read after the
  replay. The word's buffer is allocated once per function, so its address is
  the same in every graph.

A Python error raised by a later node of the same call is preceded by the
index error when one was recorded (the first failure is reported).
"""
from __future__ import annotations

import time

import numpy as np

from ...graph import Constant, aliasing
from ..errors import reraise_with_node
from .lowering import ANY, DEVICE, HOST, BuildContext, Step, find_lowering
from .lower.elemwise import op_perform, supported_dtype
from .lower.subtensor import ErrorWord, render_guarded_copy

# the lowerings of every op family register themselves on import
from . import lower  # noqa: F401,E402
from .shared import CudaSharedVariable
from .lowering import render_module
from .memory import DeviceArray
from .replay import GraphRunner
from . import driver
from .memory import to_device
from .memory import to_host
from ..python import check_finite


class CudaLinker:
    """Build ``run(values) -> outputs`` executing on the GPU."""

    name = "cuda"

    def __init__(self, nan_guard=False, keep_outputs_on_gpu=False, graphs=True):
        self.nan_guard = nan_guard
        self.keep_outputs_on_gpu = keep_outputs_on_gpu
        self.graphs = graphs

    def plan(self, fgraph):
        """Placement and lowering of every node, without touching the GPU.

        Returns ``(order, places, steps, ctx)``; ``ctx.handles`` holds the
        rendered kernels (:func:`render_source` joins them into the module).
        """
        order = fgraph.toposort()
        places = {}
        for v in fgraph.inputs:
            if isinstance(v, CudaSharedVariable):
                places[v] = DEVICE
            elif not aliasing.is_shared(v) and getattr(v.type, "ndim", 0) >= 1 \
                    and supported_dtype(v.type.dtype):
                places[v] = DEVICE          # explicit input: uploaded once per call
            else:
                places[v] = HOST
        for node in order:
            for v in node.inputs:
                if v not in places:     # constants (and shared values not in fgraph.inputs)
                    places[v] = DEVICE if _uploadable_constant(v) else HOST
        ctx = BuildContext(places, fgraph)
        ctx.index_errors = ErrorWord()      # the lowerings of index-reading kernels add sites
        steps = []
        for node in order:
            step = None
            lowered, copy_first = _keeping_graph_inputs(node)
            sites = ctx.index_errors.sites
            n_sites = len(sites)
            lowering_fn = find_lowering(lowered.op)
            if lowering_fn is not None:
                step = lowering_fn(lowered, ctx)
            if step is None:
                step = _host_step(lowered, _memoizable(ctx, node))
            if copy_first:
                step = _copying_inputs(step, copy_first)
            for k in range(n_sites, len(sites)):    # errors name the graph's node
                sites[k] = (node, sites[k][1])
            for v, p in zip(node.outputs, step.out_places):
                places[v] = p if p != ANY else HOST
            steps.append((node, step))
        for v in fgraph.outputs:
            places.setdefault(v, HOST)
        ctx.guarded_copies = {}
        if ctx.index_errors.sites:
            # graph write-backs of GPU shared variables, skipped when an index was bad
            for sv in (getattr(fgraph, "update_mapping", None) or {}).values():
                if isinstance(sv, CudaSharedVariable):
                    size = np.dtype(sv.type.dtype).itemsize
                    ctx.guarded_copies[size] = ctx.kernel(f"guarded_copy_{size}",
                                                          render_guarded_copy(size), "qPPP")
        return order, places, steps, ctx

    def render_source(self, fgraph):
        """The CUDA module this linker would compile for ``fgraph`` (no GPU needed)."""
        return render_module(self.plan(fgraph)[3].handles.values())

    def make_thunk(self, fgraph):
        driver.cuda()
        order, places, steps, ctx = self.plan(fgraph)
        ctx.finish()
        errors = ctx.index_errors
        errors.allocate()
        storage = {}
        for v in places:
            if isinstance(v, Constant):
                data = v.data
                storage[v] = [DeviceArray.from_host(np.asarray(data)) if places[v] == DEVICE
                              else data]
            elif aliasing.is_shared(v) and v not in fgraph.inputs:
                storage[v] = aliasing.storage(v)
            else:
                storage[v] = [None]

        # conversions: (var, other place) needed by some consumer -> its own cell
        need = set()
        for node, step in steps:
            for v, want in zip(node.inputs, step.in_places):
                if want != ANY and want != places[v]:
                    need.add((v, want))
        conv_cells = {key: [None] for key in need}
        for (v, want), cell in conv_cells.items():
            if isinstance(v, Constant):
                cell[0] = v.data if want == HOST else _to_device(v.data)

        def cell_for(v, want):
            if want == ANY or want == places[v]:
                return storage[v]
            return conv_cells[(v, want)]

        def converters(vars_):
            out = []
            for v in vars_:
                for want in (DEVICE, HOST):
                    if (v, want) in conv_cells and not isinstance(v, Constant):
                        out.append((storage[v], conv_cells[(v, want)],
                                    _to_device if want == DEVICE else _to_host))
            return out

        program = []
        in_cells_of = {}
        for node, step in steps:
            ins = [cell_for(v, w) for v, w in zip(node.inputs, step.in_places)]
            outs = [storage[v] for v in node.outputs]
            program.append((node, step.run, ins, outs, converters(node.outputs)))
            in_cells_of[node] = ins

        def values_of(node):
            return [c[0] for c in in_cells_of[node]]
        entry = converters(fgraph.inputs)
        in_cells = [storage[v] for v in fgraph.inputs]
        input_places = [places[v] for v in fgraph.inputs]

        updates = getattr(fgraph, "update_mapping", None) or {}
        out_plan = []
        for k, v in enumerate(fgraph.outputs):
            target = updates.get(k)
            if target is not None:
                want = DEVICE if isinstance(target, CudaSharedVariable) else HOST
            else:
                want = "fresh" if self.keep_outputs_on_gpu else HOST
            out_plan.append((storage[v], want))
        keep = set(fgraph.outputs) | set(fgraph.inputs)
        free = [storage[v] for node in order for v in node.outputs if v not in keep]
        free += [c for (v, _), c in conv_cells.items() if not isinstance(v, Constant)]
        nan_guard = self.nan_guard

        def run_nodes(entries):
            for node, fn, ins, outs, convs in entries:
                try:
                    results = fn([c[0] for c in ins])
                except Exception as exc:
                    reraise_with_node(exc, node, [c[0] for c in ins])
                for cell, r in zip(outs, results):
                    cell[0] = r
                if convs:
                    for src, dst, cfn in convs:
                        dst[0] = cfn(src[0])

        runner = None
        if self.graphs:
            stable = [storage[v] for v in fgraph.inputs if isinstance(v, CudaSharedVariable)]
            stable += [storage[v] for v in places if isinstance(v, Constant) and places[v] == DEVICE]
            writebacks = [(storage[fgraph.outputs[k]], storage[sv]) for k, sv in updates.items()
                          if isinstance(sv, CudaSharedVariable) and sv in storage]
            copy = _guarded_copy(ctx.guarded_copies, errors) if errors.sites else None
            runner = GraphRunner(program, [not step.launches for _, step in steps], stable,
                                 writebacks, copy,
                                 output_cells=[storage[v] for k, v in enumerate(fgraph.outputs)
                                               if k not in updates])

        def run(values):
            for cell, val, place in zip(in_cells, values, input_places):
                if place == DEVICE and not isinstance(val, DeviceArray):
                    val = DeviceArray.from_host(val)
                cell[0] = val
            for src, dst, fn in entry:
                dst[0] = fn(src[0])
            prof = run.profile
            try:
                if prof is None and not nan_guard:
                    if runner is not None:
                        runner.run(run_nodes)
                    else:
                        run_nodes(program)
                else:
                    _run_checked(program, prof, nan_guard,
                                 driver.synchronize if run.profile_sync else None)
            except BaseException as exc:
                if errors.sites:
                    _index_error_first(errors, values_of, exc)
                raise
            if errors.sites:
                errors.check(values_of)     # after the GPU work, before outputs leave
            result = []
            snaps = runner.snapshots if runner is not None else {}
            for cell, want in out_plan:
                v = snaps.get(id(cell), cell[0]) if snaps else cell[0]
                if want == HOST:
                    v = _to_host(v)
                elif not isinstance(v, DeviceArray):
                    v = DeviceArray.from_host(v)
                elif not v.is_c_contiguous or (want == "fresh" and runner is not None
                                               and runner.graphs):
                    v = v.copy()       # (graph buffers are overwritten by the next call)
                result.append(v)
            for cell in free:
                cell[0] = None
            return result

        run.profile = None          # a dict: time per node while profiling
        run.profile_sync = True     # synchronise after each node (GPU time) or not (host time)
        run.storage = storage
        run.places = places
        run.graph_runner = runner
        run.kernels = sorted(ctx.handles)
        run.index_errors = errors
        return run


def _index_error_first(errors, values_of, exc):
    """While ``exc`` propagates out of a call: raise the index error recorded earlier in the
    call instead, if any (it happened first), and leave the error word clear."""
    try:
        word = errors.read()
    except Exception:       # the driver itself failed: report the original error
        return
    if word is not None and isinstance(exc, Exception):
        node, new, values = errors.error(word, values_of)
        reraise_with_node(new, node, values)


def _guarded_copy(handles, errors):
    """``copy(dst, src)`` for graph write-backs: a kernel that copies nothing when the error
    word is set (``src`` made C-contiguous first)."""

    def copy(dst, src):
        if not src.is_c_contiguous:
            src = src.copy()
        h = handles[dst.dtype.itemsize]
        driver.launch(h.fn, dst.size, dst.size, src.ptr, dst.ptr, errors.ptr)

    return copy


def _keeping_graph_inputs(node):
    """``(node to lower, input positions to copy first)`` such that running it never overwrites
    a graph input (a shared variable's value): a node that would (an inplace update) is
    replaced by its non-destroying form when the op has one (an ``inplace_pattern`` or an
    ``inplace`` property), else its step copies those inputs first."""
    op = node.op
    hit = aliasing.destroyed_inputs(node, aliasing.is_graph_input)
    if not hit:
        return node, ()
    props = getattr(op, "__props__", ())
    kwargs = {p: getattr(op, p) for p in props}
    if "inplace_pattern" in props:
        kwargs["inplace_pattern"] = ()
    elif "inplace" in props:
        kwargs["inplace"] = False
    else:
        return node, hit
    try:
        new = type(op)(**kwargs).make_node(*node.inputs)
    except Exception:
        return node, hit
    if new.op.destroy_map or list(new.inputs) != list(node.inputs) or \
            [v.type for v in new.outputs] != [v.type for v in node.outputs]:
        return node, hit
    return new, ()


def _copying_inputs(step, positions):
    """``step`` running on copies of its inputs at ``positions``."""
    run = step.run

    def run_on_copies(ins):
        ins = list(ins)
        for k in positions:
            ins[k] = ins[k].copy()
        return run(ins)

    return Step(run_on_copies, step.in_places, step.out_places, step.launches)


def _run_checked(program, prof, nan_guard, synchronize):
    """The node loop with NanGuard checks and/or profiling (time per node, synchronised)."""
    for node, fn, ins, outs, convs in program:
        t0 = time.perf_counter()
        args = [c[0] for c in ins]
        try:
            results = fn(args)
        except Exception as exc:
            reraise_with_node(exc, node, args)
        for cell, r in zip(outs, results):
            cell[0] = r
        for src, dst, cfn in convs:
            dst[0] = cfn(src[0])
        if nan_guard:
            _check_finite(node, outs, nan_guard)
        if prof is not None:
            if synchronize is not None:
                driver.synchronize()
            prof[node] = prof.get(node, 0.0) + time.perf_counter() - t0


def _uploadable_constant(v):
    return isinstance(v, Constant) and np.ndim(v.data) >= 1 \
        and supported_dtype(np.asarray(v.data).dtype)


def _to_device(v):
    return to_device(v)


def _to_host(v):
    return to_host(v)


_MEMO_OPS = ("Elemwise", "MakeVector", "Shape", "Shape_i", "Subtensor", "DimShuffle", "Arange",
             "Rebroadcast", "SpecifyShape")


def _memoizable(ctx, node):
    """True for host shape arithmetic whose results can be reused while its inputs repeat:
    a pure op whose outputs no node destroys and the user never receives."""
    if type(node.op).__name__ not in _MEMO_OPS or node.op.destroy_map:
        return False
    return all(ctx.reusable(v) for v in node.outputs) and \
        all(getattr(v.type, "ndim", 9) <= 1 for v in node.inputs)


def _host_step(node, memoize=False):
    """Run ``perform`` on the host (ops without a CUDA lowering).

    With ``memoize``, results are kept per input values (shape arithmetic repeats every call).
    """
    if not memoize:
        def run(ins):
            return op_perform(node, ins)
    else:
        memo = {}

        def run(ins):
            try:
                if any(a.size > 16 for a in ins):
                    return op_perform(node, ins)
                key = tuple(a.tobytes() for a in ins)
            except AttributeError:
                return op_perform(node, ins)
            out = memo.get(key)
            if out is None:
                if len(memo) > 64:
                    memo.clear()
                out = memo[key] = op_perform(node, ins)
            return out
    return Step(run, [HOST] * len(node.inputs), [HOST] * len(node.outputs), launches=False)


def profile_report(run, top=25, by_type=False):
    """Text table of the time per node recorded while ``run.profile`` was a dict
    (``by_type``: summed per Op type and placement)."""
    prof = run.profile or {}
    if by_type:
        agg = {}
        for node, t in prof.items():
            key = f"{type(node.op).__name__}/{run.places.get(node.outputs[0], '?')}"
            n, tot = agg.get(key, (0, 0.0))
            agg[key] = (n + 1, tot + t)
        total = sum(t for _, t in agg.values()) or 1.0
        lines = [f"{'ms':>8} {'%':>5} {'nodes':>5}  op/placement"]
        for key, (n, t) in sorted(agg.items(), key=lambda kv: -kv[1][1]):
            lines.append(f"{t * 1e3:8.3f} {100 * t / total:5.1f} {n:5d}  {key}")
        lines.append(f"{total * 1e3:8.3f} total")
        return "\n".join(lines)
    total = sum(prof.values()) or 1.0
    lines = [f"{'ms':>8} {'%':>5}  node"]
    for node, t in sorted(prof.items(), key=lambda kv: -kv[1])[:top]:
        shapes = ", ".join(str(getattr(v.type, "dtype", "?")) for v in node.outputs)
        lines.append(f"{t * 1e3:8.3f} {100 * t / total:5.1f}  {str(node.op)[:90]} -> {shapes}")
    lines.append(f"{total * 1e3:8.3f} total over {len(prof)} nodes")
    return "\n".join(lines)


def _check_finite(node, outs, guard=True):
    check_finite(node, [[_to_host(c[0])] for c in outs], guard)
