"""Render a :class:`~.plan.Plan` into the C source of one module.

The module is: the static runtime header, libmvec SIMD declarations for the
math it uses, the kernels of each node, one ``static int n<k>(sg_ctx *c)`` per
C node, and the entry points::

    int sg_init(sg_ctx *c);                    /* thread count (ctx->adaptive: probe it, sg_threads) */
    int sg_run(sg_ctx *c, int seg, int epi);   /* run C segment `seg` (-1: none), then
                                                  the epilogue when epi != 0 */

``sg_run`` returns 0, an error code (the context holds node index and message),
or -1 from the epilogue when an output's descriptor differs from the previous
call's (Python then re-wraps that output). The text depends only on the graph
structure and constant values, never on ids or addresses, so it is a stable
cache key.
"""
from __future__ import annotations

from .runtime import MODULE_HEADER
from .lowering import NodeEmitter
from .plan import FromC, load_specs
from .render import CDialect, simd_declarations

# Registers the lowerings of every op family (imported for its side effect on the table).
from . import lower  # noqa: F401,E402


def render_module(plan, simd=True, dialect=None):
    """Return the C source of the module for ``plan``."""
    d = dialect or CDialect()
    kernels, functions, math = [], [], set()
    for p in plan.all_plans():          # sub-plans first: a node calls its inner nodes' functions
        for i, node in enumerate(p.nodes):
            if not p.is_c[i]:
                continue
            low = p.lowerings[i]
            e = NodeEmitter(p, i, node, d)
            low.fn(e)
            kernels.extend(e.kernels)
            math |= e.math
            body = "\n    ".join(e.lines)
            functions.append(f"/* {_comment(node)} */\n"
                             f"static int n{e.index}(sg_ctx *c) {{\n    sg_val *V = c->V;\n    (void)V;\n"
                             f"    {body}\n    return 0;\n}}")
    parts = [MODULE_HEADER]
    if simd and math:
        parts.append(simd_declarations(math))
    parts.extend(kernels)
    parts.extend(functions)
    parts.append(_entry_points(plan))
    return "\n".join(parts) + "\n"


def _comment(node):
    text = type(node.op).__name__
    return text.replace("*/", "* /")


def _entry_points(plan):
    lines = []
    for s, loads in enumerate(plan.seg_loads):
        specs = load_specs(plan, loads)
        if specs:
            lines.append(f"static const sg_load_t L{s}[] = {{{', '.join(specs)}}};")
    lines.append(_epilogue(plan))
    lines.append("int sg_init(sg_ctx *c) {\n    sg_blas_init();\n#ifdef _OPENMP\n"
                 "    c->nthreads = c->nthreads_max = omp_get_max_threads();\n#else\n"
                 "    c->nthreads = c->nthreads_max = 1;\n#endif\n    c->probe_t = -1.0;\n    c->par_scale = 1.0;\n    c->probe_slow = 0;\n    return 0;\n}")
    cases = []
    for step in plan.segments():
        s, idxs = step.id, step.nodes
        body = []
        if plan.seg_loads[s]:
            body.append(f"if (sg_load(c, L{s}, {len(plan.seg_loads[s])})) return c->err_code;")
        body.extend(f"if (n{i}(c)) return c->err_code;" for i in idxs)
        cases.append(f"    case {s}:\n        " + "\n        ".join(body) + "\n        break;")
    lines.append("int sg_run(sg_ctx *c, int seg, int epi) {\n    c->err_code = 0;\n    sg_threads(c);\n"
                 "    switch (seg) {\n"
                 + "\n".join(cases) + "\n    default: break;\n    }\n"
                 "    return epi ? sg_epilogue(c) : 0;\n}")
    return "\n".join(lines)


def _epilogue(plan):
    """Copy outputs that would alias inputs, then compare output descriptors with the last call."""
    body = ["int changed = 0;", "int64_t *p = c->prev;"]
    done = set()
    for spec, var in zip(plan.out_specs, plan.fgraph.outputs):
        if not isinstance(spec, FromC):
            continue
        slot, copy = spec.slot, spec.copy
        nd = var.type.ndim
        if copy is not None and slot not in done:
            src, b = copy
            isz = var.type.numpy_dtype.itemsize
            body.append(f"if (sg_alloc(c, -1, {b}, &V[{slot}], {nd}, V[{src}].shape, {isz})) return c->err_code;")
            body.append(f"{{ uint32_t bm[2] = {{0, 0}}; sg_copy({nd}, V[{src}].shape, &V[{slot}], &V[{src}], bm, {isz}); }}")
        done.add(slot)
        body.append(f"changed |= sg_same(p, &V[{slot}], {nd}); p += {1 + 2 * nd};")
    body.append("return changed ? -1 : 0;")
    # sg_same only compares; Python stores the new descriptors (sg_commit) once it has re-wrapped
    # the outputs, so an exception in between (Ctrl-C) cannot leave stale wrappers marked current
    commit = [line.replace("changed |= sg_same(", "sg_keep(") for line in body if "sg_same(" in line]
    helper = ("static int sg_same(int64_t *p, const sg_val *v, int nd) {\n"
              "    int diff = p[0] != (int64_t)(intptr_t)v->data;\n"
              "    for (int d = 0; d < nd; d++) diff |= p[1 + d] != v->shape[d] || p[1 + nd + d] != v->strides[d];\n"
              "    return diff;\n}\n"
              "static void sg_keep(int64_t *p, const sg_val *v, int nd) {\n"
              "    p[0] = (int64_t)(intptr_t)v->data;\n"
              "    for (int d = 0; d < nd; d++) { p[1 + d] = v->shape[d]; p[1 + nd + d] = v->strides[d]; }\n}")
    return (helper + "\nstatic int sg_epilogue(sg_ctx *c) {\n    sg_val *V = c->V;\n    " + "\n    ".join(body)
            + "\n}\nint sg_commit(sg_ctx *c) {\n    sg_val *V = c->V;\n    int64_t *p = c->prev;\n    "
            + "\n    ".join(commit) + "\n    (void)V; (void)p;\n    return 0;\n}")


def prev_words(plan):
    """int64 words the epilogue needs in ``ctx->prev``."""
    return sum(1 + 2 * v.type.ndim for s, v in zip(plan.out_specs, plan.fgraph.outputs) if isinstance(s, FromC)) + 1
