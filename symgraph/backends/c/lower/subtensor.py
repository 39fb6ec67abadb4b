"""C lowerings of indexing: Subtensor (a view), IncSubtensor, AdvancedSubtensor, AdvancedIncSubtensor.

Index descriptions become static tables read by the runtime helpers
(``sg_subtensor``, ``sg_adv_prepare``/``sg_adv_walk``); every index is
checked against its axis before use, so a bad index raises IndexError and
never reads or writes outside the array.
"""
from __future__ import annotations

from ....graph import Constant
from ....ops.subtensor import AdvancedIncSubtensor, AdvancedSubtensor, IncSubtensor, Subtensor
from ....ops.type import INT_DTYPES
from ..lowering import c_string, register


def _index_tables(e, idx_list, syms, adv):
    """Rows of sg_idx_t / sg_adv_t and the C initializer of ``sym[]``.

    ``syms``: the node's symbolic index inputs in idx_list order.
    """
    rows, sym, arrays = [], [], []
    it = iter(syms)

    def comp(cv):
        if cv is None:
            return 0, 0
        if cv == "s":
            sym.append(e.scalar(next(it)))
            return 2, len(sym) - 1
        return 1, int(cv)

    for entry in idx_list:
        if entry[0] == "int":
            f, a = comp(entry[1])
            if adv:
                if f == 1:
                    sym.append(str(a) if a >= 0 else f"({a})")
                    a = len(sym) - 1
                rows.append(f"{{2, 0, 0, 0, 0, {a}, 0, 0}}")
            else:
                rows.append(f"{{0, {f}, 0, 0, {a}, 0, 0}}")
        elif entry[0] == "slice":
            (fa, a), (fb, b), (fs, s) = (comp(cv) for cv in entry[1:])
            rows.append(f"{{0, {fa}, {fb}, {fs}, 0, {a}, {b}, {s}}}" if adv
                        else f"{{1, {fa}, {fb}, {fs}, {a}, {b}, {s}}}")
        else:
            var = next(it)
            dt = var.type.numpy_dtype
            code = dt.itemsize if dt.kind == "i" else -dt.itemsize
            arrays.append((len(rows), var))
            rows.append(f"{{1, 0, 0, 0, {code}, 0, 0, 0}}")
    return rows, sym, arrays


def _sym_literals(node, first):
    return {k for k, v in enumerate(node.inputs) if k >= first and isinstance(v, Constant) and v.type.ndim == 0}


def _emit_sym(e, sym):
    e.emit(f"int64_t sym[] = {{{', '.join(sym) or '0'}}}; (void)sym;")


@register(Subtensor, literal_inputs=lambda n: _sym_literals(n, 1))
def lower_subtensor(e):
    x = e.node.inputs[0]
    rows, sym, _ = _index_tables(e, e.op.idx_list, e.node.inputs[1:], adv=False)
    table = e.static("sg_idx_t", rows, "I")
    _emit_sym(e, sym)
    e.emit(e.try_(f"sg_subtensor(c, {e.index}, &{e.inp(0)}, {x.ndim}, {table}, {len(rows)}, sym, &{e.out(0)}, "
                  f"{e.isz(x)})"))


def _copy_or_inplace(e, x):
    """Make the output a copy of input 0, or input 0 itself when the plan allows in-place."""
    X, O = e.inp(0), e.out(0)
    if e.inplace(0) == 0:
        e.emit(f"{O} = {X};")
        return
    nd, isz = x.ndim, e.isz(x)
    e.emit(e.try_(f"sg_alloc(c, {e.index}, {e.buf(0)}, &{O}, {nd}, {X}.shape, {isz})"),
           f"{{ uint32_t bm[2] = {{0, 0}}; sg_copy({nd}, {X}.shape, &{O}, &{X}, bm, {isz}); }}")


def _add_expr(t, a, b, dtype):
    return f"(({a} + {b}) != 0)" if dtype == "bool" else f"({t})({a} + {b})"


@register(IncSubtensor, literal_inputs=lambda n: _sym_literals(n, 2))
def lower_inc_subtensor(e):
    node, op = e.node, e.op
    x, y = node.inputs[0], node.inputs[1]
    t, isz = e.ctype(x), e.isz(x)
    _copy_or_inplace(e, x)
    rows, sym, _ = _index_tables(e, op.idx_list, node.inputs[2:], adv=False)
    table = e.static("sg_idx_t", rows, "I")
    _emit_sym(e, sym)
    rnd = x.ndim - sum(1 for ent in op.idx_list if ent[0] == "int")
    what = "set" if op.set_instead_of_inc else "increment"
    msg = c_string(f"cannot {what} a region of shape ") + ' "%s with a value of shape %s"'
    e.emit("sg_val region, yb;",
           e.try_(f"sg_subtensor(c, {e.index}, &{e.out(0)}, {x.ndim}, {table}, {len(rows)}, sym, &region, {isz})"),
           f"if (sg_np_broadcast(&{e.inp(1)}, {y.ndim}, {rnd}, region.shape, &yb)) {{",
           f"    char s1[200], s2[200]; {e.fail('value', msg, f'sg_shp(s1, {rnd}, region.shape)', f'sg_shp(s2, {y.ndim}, {e.inp(1)}.shape)')}",
           "}")
    # the region is both an input and the output (strided rows are gathered, updated, scattered)
    name = e.name("k")
    body = "o[j] = y[j];" if op.set_instead_of_inc else f"o[j] = {_add_expr(t, 'x[j]', 'y[j]', x.dtype)};"
    e.kernel(f"static void {name}(int64_t n, char **p, int *kerr) {{\n    (void)kerr;\n    const {t} *x = (const {t} *)p[0]; "
             f"const {t} *y = (const {t} *)p[1]; {t} *o = ({t} *)p[2]; (void)x;\n"
             f"    for (int64_t j = 0; j < n; j++) {body}\n}}")
    bm = e.static("uint32_t", [0, 0], "bm")
    sz = e.static("int8_t", [isz, isz, isz], "sz")
    bf = e.static("int32_t", ["SG_PRESET"], "bf")
    e.emit(f"const sg_ew_t E = {{{e.index}, {rnd}, 2, 1, {bm}, {sz}, {bf}, NULL, 1 << 16, {name}, NULL}};",
           "sg_val *ops[] = {&region, &yb, &region};",
           e.try_("sg_elemwise(c, &E, ops)"))


def _adv_ok(node, first):
    for v in node.inputs[first:]:
        if v.type.ndim > 0 and v.dtype not in INT_DTYPES:
            return False
    return len(node.op.idx_list) <= 8


def _adv_setup(e, x, syms):
    rows, sym, arrays = _index_tables(e, e.op.idx_list, syms, adv=True)
    table = e.static("sg_adv_t", rows, "A")
    _emit_sym(e, sym)
    n = len(rows)
    ix = ["NULL"] * n
    ixnd = ["0"] * n
    for pos, var in arrays:
        ix[pos] = f"&{e.v(var)}"
        ixnd[pos] = str(var.type.ndim)
    e.emit(f"sg_val *ix[] = {{{', '.join(ix)}}};",
           f"static const int ixnd[] = {{{', '.join(ixnd)}}};",
           "sg_adv_plan P;")
    return table, n


@register(AdvancedSubtensor, check=lambda n: _adv_ok(n, 1), literal_inputs=lambda n: _sym_literals(n, 1))
def lower_advanced_subtensor(e):
    x, out = e.node.inputs[0], e.node.outputs[0]
    table, n = _adv_setup(e, x, e.node.inputs[1:])
    X, O = e.inp(0), e.out(0)
    e.emit(e.try_(f"sg_adv_prepare(c, {e.index}, &{X}, {x.ndim}, {table}, {n}, ix, ixnd, sym, &P)"),
           f"if (P.ond != {out.ndim}) {{ {e.fail('runtime', c_string('unexpected result rank'))} }}",
           e.try_(f"sg_alloc(c, {e.index}, {e.buf(0)}, &{O}, P.ond, P.osh, {e.isz(x)})"),
           e.try_(f"sg_adv_walk(c, {e.index}, &{X}, {x.ndim}, {table}, {n}, sym, &P, &{O}, 0, {e.isz(x)}, NULL)"))


@register(AdvancedIncSubtensor, check=lambda n: _adv_ok(n, 2), literal_inputs=lambda n: _sym_literals(n, 2))
def lower_advanced_inc_subtensor(e):
    node, op = e.node, e.op
    x, y = node.inputs[0], node.inputs[1]
    t, isz = e.ctype(x), e.isz(x)
    _copy_or_inplace(e, x)
    table, n = _adv_setup(e, x, node.inputs[2:])
    O = e.out(0)
    add = "NULL"
    if not op.set_instead_of_inc:
        add = e.name("add")
        e.kernel(f"static void {add}(char *d, const char *s) {{ {t} *o = ({t} *)d; "
                 f"*o = {_add_expr(t, '*o', f'*(const {t} *)s', x.dtype)}; }}")
    msg = c_string("shape mismatch: value array of shape ") + \
        ' "%s could not be broadcast to indexing result of shape %s"'
    e.emit(e.try_(f"sg_adv_prepare(c, {e.index}, &{O}, {x.ndim}, {table}, {n}, ix, ixnd, sym, &P)"),
           "sg_val yb;",
           f"if (sg_np_broadcast(&{e.inp(1)}, {y.ndim}, P.ond, P.osh, &yb)) {{",
           f"    char s1[200], s2[200]; {e.fail('value', msg, f'sg_shp(s1, {y.ndim}, {e.inp(1)}.shape)', 'sg_shp(s2, P.ond, P.osh)')}",
           "}",
           e.try_(f"sg_adv_walk(c, {e.index}, &{O}, {x.ndim}, {table}, {n}, sym, &P, &yb, "
                  f"{1 if op.set_instead_of_inc else 2}, {isz}, {add})"))
