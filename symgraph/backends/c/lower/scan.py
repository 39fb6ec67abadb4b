"""C lowering of Scan: the time loop runs inside the generated module (docs/DESIGN.md,
"How scan is lowered to C").

A Scan node lowers when its body is all C: every inner value a C tensor, every inner node
lowerable (an inner Scan through this same rule, so nested scans lower recursively), no
shared variable, no constant output, every state a tensor window. Otherwise (random
generators as states, an op without C code in the body) the node keeps running
``Scan.perform`` between C segments.

The body gets a sub-plan (``Lowering.subgraphs``; ``plan.Plan`` numbers it after the outer
graph, so it shares the context). The node's function then:

1. computes the number of steps and checks the sequences and initial windows (the messages
   of ``Scan.perform``);
2. allocates each state's buffer once: ``L + n`` rows when the whole history is an output
   (the output is a view of rows ``L..``), else ``L + 1`` rows used circularly (a
   workspace; the last value is copied out at the end); the initial window fills rows
   ``0..L-1``; value of time ``t`` (``-L <= t < n``) lives in row ``t + L`` (mod ``L + 1``);
3. binds the body's inputs: non-sequences once (their descriptors), sequence and state taps
   as row views whose data pointer moves each step (no copy); loads the body's constants;
4. per step: calls the body's node functions, checks each state's shape, copies the new
   values into their rows (nit-sot outputs into their row of an output allocated at the
   first step, ``n`` rows), stops after a step whose ``until`` condition holds;
5. sets the outputs' leading dimension to the steps run (empty outputs for 0 steps).

``go_backwards`` needs nothing here: the sequences arrive reversed (a negative-stride view).
A while-loop allocates its nit-sot outputs for ``n_steps`` rows up front.
"""
from __future__ import annotations

from ....graph import Constant
from ....ops.scan import Scan
from ..lowering import c_string, is_c_value, lookup, register
from ..plan import FromC, FromInput, load_specs


def _span(taps):
    return max(0, max(taps)) - min(0, min(taps))


def body_lowers(fg):
    """Whether inner graph ``fg`` can run entirely in C as a sub-plan."""
    inputs = set(fg.inputs)
    for v in fg.variables:
        if not is_c_value(v):
            return False
        if v.owner is None and v not in inputs and not isinstance(v, Constant):
            return False
    if any(isinstance(o, Constant) for o in fg.outputs):
        return False
    return all(lookup(n) is not None for n in fg.toposort())


def _scan_ok(node):
    op = node.op
    return all(op.state_window) and body_lowers(op.fgraph)


def _n_workspace(node):
    return list(node.op.state_keep).count("last")


class _Loop:
    """Writes one Scan node's function (see the module docstring)."""

    def __init__(self, e):
        self.e = e
        self.op = e.op
        (self.P,) = e.subplans()
        self.prefix = self.op.error_prefix()

    def fail(self, text, *args):
        """``return sg_fail(...)`` with the reference's message: prefix, then printf ``text``."""
        return self.e.fail("value", c_string("@" + self.prefix) + " " + _raw(text), *args)

    def bind(self, var, k):
        """C lvalue of inner input ``var`` (a V slot of the sub-plan, or a local)."""
        slot = self.P.val.get(var)
        if slot is not None:
            return f"V[{slot}]"
        if var in self.P.fgraph.outputs:
            self.e.emit(f"sg_val u{k};")
            return f"u{k}"
        return None

    def inner_out(self, m, bound):
        v = self.P.fgraph.outputs[m]
        spec = self.P.out_specs[m]
        if isinstance(spec, FromC):
            return f"V[{self.P.val[v]}]"
        assert isinstance(spec, FromInput)
        return bound[self.P.fgraph.inputs[spec.index]]

    def steps(self, seqs):
        e, op = self.e, self.op
        emit = e.emit
        if op.auto_steps and seqs:
            emit("int64_t n = INT64_MAX;")
            for j, (x, taps) in enumerate(zip(seqs, op.seq_taps)):
                X, sp = e.v(x), _span(taps)
                emit(f"if ({X}.shape[0] == 0) {{ {self.fail(f'sequence {j} has length 0: there is no step to run (pass n_steps=0 for an empty result)')} }}",
                     f"if ({X}.shape[0] - {sp} <= 0) {{ " + self.fail(
                         f"sequence {j} has length %lld but its taps {list(taps)} reach {sp} elements beyond the "
                         f"current one: a tap is beyond the sequence's length (it needs at least {sp + 1} elements)",
                         f"(long long){X}.shape[0]") + " }",
                     f"if ({X}.shape[0] - {sp} < n) n = {X}.shape[0] - {sp};")
            return
        emit(f"int64_t n = {e.scalar(e.node.inputs[0])};",
             "if (n < 0) { " + self.fail("n_steps is %lld: a negative number of steps is not supported "
                                         "(use go_backwards=True to iterate backwards)", "(long long)n") + " }")
        for j, (x, taps) in enumerate(zip(seqs, op.seq_taps)):
            X, sp = e.v(x), _span(taps)
            emit(f"if ({X}.shape[0] < n + {sp}) {{ " + self.fail(
                f"sequence {j} has length %lld, but %lld steps with taps {list(taps)} read up to element %lld: "
                f"a tap is beyond the sequence's length",
                f"(long long){X}.shape[0]", "(long long)n", f"(long long)(n + {sp - 1})") + " }")

    def write(self):
        e, op, P = self.e, self.op, self.P
        node, emit = e.node, e.emit
        _, seqs, inits, nonseqs = op.split_inputs(list(node.inputs))
        iseqs, istates, inons = op.inner_groups()
        ns, nn = op.n_states, op.n_nitsot
        self.steps(seqs)
        # initial windows, state buffers
        ws = 0
        rows = {}
        for i, (h, taps) in enumerate(zip(inits, op.state_taps)):
            H, L, nd, isz = e.v(h), -min(taps), h.ndim - 1, e.isz(h)
            emit(f"if ({H}.shape[0] < {L}) {{ " + self.fail(
                f"outputs_info[{i}]: the initial value has %lld rows but taps {list(taps)} read {L} past values",
                f"(long long){H}.shape[0]") + " }")
            if op.state_keep[i] == "all":
                size, buf = f"{L} + n", e.buf(i)
                rows[i] = lambda t, L=L: f"({t} + {L})"
            else:
                size, buf = f"{L + 1}", e.ws(ws)
                ws += 1
                rows[i] = lambda t, L=L: f"(({t} + {L}) % {L + 1})"
            emit(f"sg_val S{i}, W{i};",
                 f"{{ int64_t sh[SG_MAXD]; sh[0] = {size}; for (int d = 1; d <= {nd}; d++) sh[d] = {H}.shape[d];",
                 f"  {e.try_(f'sg_alloc(c, {e.index}, {buf}, &S{i}, {nd + 1}, sh, {isz})')}",
                 f"  sg_val a = S{i}, b = {H}; a.shape[0] = b.shape[0] = {L}; sg_scan_put({nd + 1}, &a, &b, {isz}); }}",
                 f"sg_scan_view(&W{i}, &S{i}, {nd});",
                 f"const int64_t rs{i} = S{i}.strides[0] * {isz};")
        # the body's inputs
        bound, moves = {}, []
        k = 0
        for j, (x, phs, taps) in enumerate(zip(seqs, iseqs, op.seq_taps)):
            off = -min(0, min(taps))
            for p, tap in zip(phs, taps):
                tgt = self.bind(p, k)
                k += 1
                if tgt is None:
                    continue
                bound[p] = tgt
                X = e.v(x)
                emit(f"sg_scan_view(&{tgt}, &{X}, {x.ndim - 1});")
                moves.append(f"{tgt}.data = {X}.data + (t + {tap + off}) * {X}.strides[0] * {e.isz(x)};")
        for i, (phs, taps) in enumerate(zip(istates, op.state_taps)):
            for p, tap in zip(phs, taps):
                tgt = self.bind(p, k)
                k += 1
                if tgt is None:
                    continue
                bound[p] = tgt
                emit(f"{tgt} = W{i};")
                moves.append(f"{tgt}.data = S{i}.data + {rows[i](f't + {tap}')} * rs{i};")
        for p, w in zip(inons, nonseqs):
            tgt = self.bind(p, k)
            k += 1
            if tgt is not None:
                bound[p] = tgt
                emit(f"{tgt} = {e.v(w)};")
        if P.segments() and P.seg_loads[0]:
            loads = P.seg_loads[0]
            table = e.static("sg_load_t", load_specs(P, loads), stem="body_loads")
            emit(f"if (sg_load(c, {table}, {len(loads)})) return 1;")
        # the loop
        emit("int64_t steps = 0;", f"const char *pre = {c_string(self.prefix).replace('%%', '%')};", "(void)pre;",
             *[f"sg_val R{m};" for m in range(nn)],
             "for (int64_t t = 0; t < n; t++) {")
        body = list(moves)
        for step in P.segments():
            body.extend(f"if (n{P.node_id(i)}(c)) return 1;" for i in step.nodes)
        for i, h in enumerate(inits):
            src, nd, isz = self.inner_out(i, bound), h.ndim - 1, e.isz(h)
            body.append(f"if (!sg_scan_same({nd}, {src}.shape, W{i}.shape)) {{ char s1[200], s2[200]; " + self.fail(
                f"output {i} changed shape from %s to %s at step %lld; a recurrent state keeps its shape",
                f"sg_shp(s1, {nd}, W{i}.shape)", f"sg_shp(s2, {nd}, {src}.shape)", "(long long)t") + " }")
            body.append(f"W{i}.data = S{i}.data + {rows[i]('t')} * rs{i}; sg_scan_put({nd}, &W{i}, &{src}, {isz});")
        for m in range(nn):
            o = node.outputs[ns + m]
            src, nd, isz, O = self.inner_out(ns + m, bound), o.ndim - 1, e.isz(o), e.out(ns + m)
            body.append(f"if (t == 0) {{ int64_t sh[SG_MAXD]; sh[0] = n; for (int d = 0; d < {nd}; d++) sh[d + 1] = {src}.shape[d];")
            body.append(f"  {e.try_(f'sg_alloc(c, {e.index}, {e.buf(ns + m)}, &{O}, {nd + 1}, sh, {isz})')} sg_scan_view(&R{m}, &{O}, {nd}); }}")
            body.append(f"else if (!sg_scan_same({nd}, {src}.shape, R{m}.shape)) "
                        f"return sg_scan_shapes_fail(c, {e.index}, pre, {ns + m}, {nd}, R{m}.shape, {src}.shape);")
            body.append(f"R{m}.data = {O}.data + t * {O}.strides[0] * {isz}; sg_scan_put({nd}, &R{m}, &{src}, {isz});")
        body.append("steps = t + 1;")
        if op.as_while:
            cond = P.fgraph.outputs[-1]
            body.append(f"if (*(const {e.ctype(cond)} *){self.inner_out(len(P.fgraph.outputs) - 1, bound)}.data) break;")
        emit(*["    " + line for line in body], "}")
        # the outputs
        for i, h in enumerate(inits):
            O, nd, isz, L = e.out(i), h.ndim - 1, e.isz(h), -min(op.state_taps[i])
            if op.state_keep[i] == "all":
                emit(f"{O} = S{i}; {O}.data += {L} * rs{i}; {O}.shape[0] = steps;")
            else:
                emit(e.try_(f"sg_alloc(c, {e.index}, {e.buf(i)}, &{O}, {nd}, &{e.v(h)}.shape[1], {isz})"),
                     f"W{i}.data = S{i}.data + {rows[i]('steps - 1')} * rs{i}; sg_scan_put({nd}, &{O}, &W{i}, {isz});")
        for m in range(nn):
            o = node.outputs[ns + m]
            O, nd = e.out(ns + m), o.ndim - 1
            empty = ", ".join(["0"] + ["1" if b else "0" for b in o.broadcastable[1:]])
            emit(f"if (steps == 0) {{ int64_t sh[SG_MAXD] = {{{empty}}}; "
                 f"{e.try_(f'sg_alloc(c, {e.index}, {e.buf(ns + m)}, &{O}, {nd + 1}, sh, {e.isz(o)})')} }}",
                 f"else {O}.shape[0] = steps;")


def _raw(text):
    """A C string literal for a printf format written by this module (its % kept)."""
    return c_string(text).replace("%%", "%")


@register(Scan, check=_scan_ok, workspace=_n_workspace, subgraphs=lambda node: [node.op.fgraph])
def lower_scan(e):
    _Loop(e).write()
