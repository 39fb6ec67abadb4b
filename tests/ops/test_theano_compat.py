"""Tests of the rest of the Theano 1.0 drop-in (issue 17): truthiness, NanGuardMode,
cast_policy, blas.ldflags, gradient helpers, Print, abstract_conv's functions,
images2neibs, batch normalization, h_softmax, OpFromGraph, as_op, the register_*
decorators, and the package attributes."""
import ctypes
import os
import subprocess

import numpy as np
import pytest

import symgraph
import symgraph as theano
import symgraph.tensor as T
from symgraph import function
from symgraph.backends.errors import NanGuardError

from extra_helpers import run_both, verify_grad


# ---------------------------------------------------------------- truthiness

def test_variables_are_true_comparisons_raise():
    a, b, c = T.dscalars(3)
    W = theano.shared(np.zeros(3))
    assert bool(a) and bool(W) and bool(T.constant(0.0))
    assert (a or b) is a
    if not W:
        pytest.fail("a shared variable must be true")
    with pytest.raises(TypeError, match="comparison"):
        a < b < c          # noqa: B015  (Python's (a < b) and (b < c))
    for cmp in (T.eq(a, b), T.neq(a, b), a >= b, a <= b, a > b):
        with pytest.raises(TypeError, match="T.and_"):
            bool(cmp)


def test_package_attributes():
    for name in ("gof", "scalar", "misc", "printing", "sandbox", "compile"):
        assert hasattr(symgraph, name)
    assert symgraph.compile.OpFromGraph is symgraph.compile.builders.OpFromGraph
    assert symgraph.compile.ops.as_op is not None and symgraph.compile.nanguardmode.NanGuardMode


# ---------------------------------------------------------------- NanGuardMode

@pytest.mark.parametrize("linker", ["py", "c"])
def test_nanguardmode(linker):
    from symgraph.compile.nanguardmode import NanGuardMode
    x = T.dvector("x")
    f = function([x], T.log(x) * 2, mode=NanGuardMode(linker=linker))
    np.testing.assert_allclose(f(np.array([1.0, np.e])), [0.0, 2.0])
    with pytest.raises(AssertionError, match="NaN produced by Elemwise{log}"):
        f(np.array([-1.0]))
    big = T.dvector("b") * 1e11
    with pytest.raises(NanGuardError, match="above 1e"):
        function([big.owner.inputs[0]], big, mode=NanGuardMode(linker=linker))(np.ones(1))
    g = function([big.owner.inputs[0]], big, mode=NanGuardMode(big_is_error=False, linker=linker))
    np.testing.assert_allclose(g(np.ones(1)), [1e11])
    h = function([x], T.log(x), mode=NanGuardMode(nan_is_error=False, linker=linker))
    assert np.isnan(h(np.array([-1.0]))[0])
    with pytest.raises(NanGuardError, match="Inf"):
        h(np.array([0.0]))


def test_nanguardmode_flags_and_name():
    from symgraph.compile.nanguardmode import NanGuardMode
    x = T.dvector("x")
    with theano.change_flags({"NanGuardMode.big_is_error": False}):
        assert NanGuardMode().nan_guard.big is False
    m = NanGuardMode()
    assert (m.nan_guard.nan, m.nan_guard.inf, m.nan_guard.big) == (True, True, True)
    with pytest.raises(NanGuardError):
        function([x], T.log(x), mode="NanGuardMode")(np.array([-1.0]))
    with theano.change_flags({"NanGuardMode.action": "warn"}):
        f = function([x], T.log(x), mode=NanGuardMode(linker="py"))
    assert np.isnan(f(np.array([-1.0]))[0])      # logged, not raised


# ---------------------------------------------------------------- cast_policy

def test_cast_policy_numpy_floatx():
    with theano.change_flags(cast_policy="numpy+floatX", floatX="float32"):
        i, b, f, l = T.ivector(), T.bvector(), T.fvector(), T.lvector()
        assert (i + 1.5).dtype == "float32"     # float literal is floatX, kept float32
        assert (b + 3).dtype == "int64"         # a Python int is NumPy's int64
        assert (l * f).dtype == "float32"
        assert (f + T.dvector()).dtype == "float64"   # an explicit float64 wins
    with theano.change_flags(cast_policy="numpy+floatX", floatX="float64"):
        assert (T.fvector() + 1.5).dtype == "float64"
    with theano.change_flags(cast_policy="custom", floatX="float64"):
        assert (T.bvector() + 3).dtype == "int8"
        assert (T.fvector() + 1.5).dtype == "float32"


# ---------------------------------------------------------------- blas.ldflags

def _dot_checks():
    A, v = T.dmatrix(), T.dvector()
    a, vv = np.random.RandomState(0).rand(5, 5), np.arange(5.0)
    f = function([A, v], [T.dot(A, A.T), T.dot(A[:, ::2].T, A), T.dot(A, v), T.dot(v, v)],
                 mode="C")
    for got, ref in zip(f(a, vv), [a @ a.T, a[:, ::2].T @ a, a @ vv, vv @ vv]):
        np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_blas_ldflags_empty_means_no_blas():
    from symgraph.backends.c.build import blas_flags
    with theano.change_flags({"blas.ldflags": ""}):
        assert blas_flags() == ("-DSG_BLAS_NONE",)
        _dot_checks()
    assert "-DSG_BLAS_NONE" not in blas_flags()


def test_blas_ldflags_user_link_line(tmp_path):
    """A user BLAS exporting the standard cblas_* names: a shim over scipy-openblas that
    counts its calls."""
    import scipy_openblas32 as sob
    from symgraph.backends.c.build import blas_flags, compiler_info
    decls, defs = [], []
    for t, p in (("float", "s"), ("double", "d")):
        decls.append(f"void scipy_cblas_{p}gemm(int,int,int,int,int,int,{t},const {t}*,int,"
                     f"const {t}*,int,{t},{t}*,int);")
        decls.append(f"void scipy_cblas_{p}gemv(int,int,int,int,{t},const {t}*,int,const {t}*,"
                     f"int,{t},{t}*,int);")
        decls.append(f"{t} scipy_cblas_{p}dot(int,const {t}*,int,const {t}*,int);")
        defs.append(f"void cblas_{p}gemm(int o,int a,int b,int m,int n,int k,{t} al,const {t}*A,"
                    f"int la,const {t}*B,int lb,{t} be,{t}*C,int lc){{calls++;scipy_cblas_{p}gemm"
                    f"(o,a,b,m,n,k,al,A,la,B,lb,be,C,lc);}}")
        defs.append(f"void cblas_{p}gemv(int o,int t,int r,int c,{t} al,const {t}*A,int la,"
                    f"const {t}*x,int ix,{t} be,{t}*y,int iy){{calls++;scipy_cblas_{p}gemv"
                    f"(o,t,r,c,al,A,la,x,ix,be,y,iy);}}")
        defs.append(f"{t} cblas_{p}dot(int n,const {t}*x,int ix,const {t}*y,int iy){{calls++;"
                    f"return scipy_cblas_{p}dot(n,x,ix,y,iy);}}")
    src = tmp_path / "shim.c"
    src.write_text("\n".join(decls) + "\nint calls = 0;\n" + "\n".join(defs) + "\n")
    lib = tmp_path / "libsgshimblas.so"
    cc = compiler_info().cc if hasattr(compiler_info(), "cc") else os.environ.get("CC", "cc")
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(lib), str(src), f"-L{sob.get_lib_dir()}",
                    f"-l{sob.get_library()}", f"-Wl,-rpath,{sob.get_lib_dir()}"], check=True)
    line = f"-L{tmp_path} -lsgshimblas -Wl,-rpath,{tmp_path}"
    with theano.change_flags({"blas.ldflags": line}):
        assert blas_flags()[0] == "-DSG_BLAS_PLAIN"
        _dot_checks()
    assert ctypes.c_int.in_dll(ctypes.CDLL(str(lib)), "calls").value >= 4


# ---------------------------------------------------------------- gradient helpers

def test_grad_clip_scale_consider_constant(rng):
    from symgraph.gradient import consider_constant, grad_clip, grad_scale
    x = T.dvector("x")
    xv = np.array([-3.0, 0.2, 4.0])
    g = theano.grad((grad_clip(x, -1, 1) ** 2).sum(), x)
    np.testing.assert_allclose(run_both([x], g, xv), np.clip(2 * xv, -1, 1))
    g = theano.grad((grad_scale(x, 3.0) ** 2).sum(), x)
    np.testing.assert_allclose(run_both([x], g, xv), 6 * xv)
    g = theano.grad((consider_constant(x) * x).sum(), x)
    np.testing.assert_allclose(run_both([x], g, xv), xv)
    with pytest.raises(ValueError, match="lower_bound"):
        grad_clip(x, 1, -1)


# ---------------------------------------------------------------- Print

@pytest.mark.parametrize("mode", ["py", "FAST_RUN"])
def test_print_prints_once_per_call_in_order(mode, capsys):
    from symgraph.printing import Print
    x = T.dvector("x")
    y = Print("first")(T.exp(x)) * 2
    z = Print("second", attrs=("shape", "sum"))(y + 1)
    f = function([x], [z.sum(), theano.grad(z.sum(), x)], mode=mode)
    capsys.readouterr()
    out = f(np.array([0.0, 1.0]))
    np.testing.assert_allclose(out[1], 2 * np.exp([0.0, 1.0]))
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["first __str__ = [1.         2.71828183]", "second shape = (2,)",
                     f"second sum = {float(np.sum(2 * np.exp([0.0, 1.0]) + 1))!r}"]
    f(np.array([0.0, 1.0]))
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert theano.printing.pprint is theano.printing.pp


# ---------------------------------------------------------------- abstract_conv

def test_conv2d_grad_functions_and_transposed_conv(rng):
    from symgraph.tensor.nnet import abstract_conv as ac
    x, w, g = T.dtensor4(), T.dtensor4(), T.dtensor4()
    kw = dict(border_mode="half", subsample=(2, 2))
    y = ac.conv2d(x, w, **kw)
    gi = ac.conv2d_grad_wrt_inputs(g, w, input_shape=(None, 3, 8, 8),
                                   filter_shape=(4, 3, 3, 3), **kw)
    gw = ac.conv2d_grad_wrt_weights(x, g, filter_shape=(4, 3, 3, 3), **kw)
    xv, wv, gv = rng.rand(2, 3, 8, 8), rng.rand(4, 3, 3, 3), rng.rand(2, 4, 4, 4)
    ref_i, ref_w = function([x, w, g], theano.grad((y * g).sum(), [x, w]), mode="py")(xv, wv, gv)
    got_i, got_w = run_both([x, w, g], [gi, gw], xv, wv, gv)
    np.testing.assert_allclose(got_i, ref_i, rtol=1e-12)
    np.testing.assert_allclose(got_w, ref_w, rtol=1e-12)
    # the transposed convolution is the adjoint of the convolution: <conv(x), g> = <x, deconv(g)>
    np.testing.assert_allclose((function([x, w], y)(xv, wv) * gv).sum(), (xv * got_i).sum())
    verify_grad(lambda gg, ww: ac.conv2d_grad_wrt_inputs(gg, ww, (2, 3, 8, 8), **kw),
                [gv, wv], rng=rng)
    op = ac.AbstractConv2d(imshp=(2, 3, 8, 8), kshp=(4, 3, 3, 3), border_mode="half")
    np.testing.assert_allclose(run_both([x, w], op(x, w), xv, wv),
                               function([x, w], ac.conv2d(x, w, border_mode="half"))(xv, wv))
    gi_op = ac.AbstractConv2d_gradInputs(border_mode="half", subsample=(2, 2))
    np.testing.assert_allclose(function([w, g], gi_op(w, g, (8, 8)))(wv, gv), ref_i)
    gw_op = ac.AbstractConv2d_gradWeights(border_mode="half", subsample=(2, 2))
    np.testing.assert_allclose(function([x, g], gw_op(x, g, (3, 3)))(xv, gv), ref_w)


# ---------------------------------------------------------------- images2neibs

def _neibs_ref(a, c, d, s0, s1, mode):
    """Patches by explicit loops."""
    n, ch, H, W = a.shape
    if mode in ("half", "full"):
        p0, p1 = (c // 2, d // 2) if mode == "half" else (c - 1, d - 1)
        a = np.pad(a, ((0, 0), (0, 0), (p0, p0), (p1, p1)))
        H, W = a.shape[2:]
    rows = []
    for i in range(n):
        for j in range(ch):
            if mode == "wrap_centered":
                for r in range(0, H, s0):
                    for q in range(0, W, s1):
                        rows.append([a[i, j, (r + u - c // 2) % H, (q + v - d // 2) % W]
                                     for u in range(c) for v in range(d)])
            else:
                for r in range(0, H - c + 1, s0):
                    for q in range(0, W - d + 1, s1):
                        rows.append(a[i, j, r:r + c, q:q + d].ravel())
    return np.array(rows)


@pytest.mark.parametrize("shape,neib,step,mode", [
    ((2, 3, 4, 6), (2, 2), None, "valid"), ((1, 2, 5, 5), (2, 3), (1, 2), "ignore_borders"),
    ((1, 2, 5, 4), (3, 3), (1, 1), "wrap_centered"), ((2, 1, 5, 6), (3, 2), (2, 1), "half"),
    ((1, 1, 4, 4), (2, 3), (1, 2), "full"), ((1, 1, 6, 6), (3, 3), (3, 3), "valid")])
def test_images2neibs(shape, neib, step, mode, rng):
    from symgraph.tensor.nnet.neighbours import images2neibs
    a = rng.rand(*shape)
    x = T.dtensor4()
    got = run_both([x], images2neibs(x, neib, step, mode), a)
    st = step or neib
    np.testing.assert_allclose(got, _neibs_ref(a, *neib, *st, mode))
    verify_grad(lambda v: images2neibs(v, neib, step, mode), [a], rng=rng)


def test_neibs2images_inverts_and_errors(rng):
    from symgraph.tensor.nnet import images2neibs, neibs2images
    a = rng.rand(2, 3, 4, 6)
    x = T.dtensor4()
    nb = images2neibs(x, (2, 3))
    back = neibs2images(nb, (2, 3), x.shape)
    np.testing.assert_array_equal(run_both([x], back, a), a)
    verify_grad(lambda m: neibs2images(m, (2, 3), (2, 3, 4, 6)), [rng.rand(24, 6)], rng=rng)
    with pytest.raises(ValueError, match="multiple of the step"):
        function([x], images2neibs(x, (3, 3)), mode="py")(a)
    with pytest.raises(ValueError, match="odd"):
        function([x], images2neibs(x, (2, 2), (1, 1), "wrap_centered"), mode="py")(a)
    with pytest.raises(ValueError, match="mode"):
        images2neibs(x, (2, 2), mode="same")


# ---------------------------------------------------------------- batch normalization

def test_batch_normalization(rng):
    from symgraph.tensor.nnet.bn import batch_normalization
    xv, g, b, m, s = rng.rand(4, 3), rng.rand(3), rng.rand(3), rng.rand(3), rng.rand(3) + 0.5
    x = T.dmatrix()
    gv, bv, mv, sv = T.dvectors(4)
    out = run_both([x, gv, bv, mv, sv], batch_normalization(x, gv, bv, mv, sv), xv, g, b, m, s)
    np.testing.assert_allclose(out, (xv - m) * (g / s) + b)
    verify_grad(lambda *a: batch_normalization(*a, mode="high_mem"), [xv, g, b, m, s], rng=rng)


@pytest.mark.parametrize("axes", ["per-activation", "spatial", (0, 2)])
@pytest.mark.parametrize("full_ndim_params", [False, True])
def test_batch_normalization_train_and_test(axes, full_ndim_params, rng):
    from symgraph.tensor.nnet import bn
    xv = rng.rand(5, 3, 2, 4)
    ax = {"per-activation": (0,), "spatial": (0, 2, 3)}.get(axes, axes)
    pshape = tuple(1 if i in ax else xv.shape[i] for i in range(4))
    own = tuple(xv.shape[i] for i in range(4) if i not in ax)
    shp = pshape if full_ndim_params else own
    g, b, rm, rv = (rng.rand(*shp) + 0.5 for _ in range(4))
    x = T.dtensor4()
    bc = tuple(s == 1 for s in pshape) if full_ndim_params else (False,) * len(own)
    gs, bs, rms, rvs = (T.TensorType("float64", bc)() for _ in range(4))
    outs = bn.batch_normalization_train(x, gs, bs, axes, 1e-4, 0.3, rms, rvs)
    got = run_both([x, gs, bs, rms, rvs], list(outs), xv, g, b, rm, rv)
    mean = xv.mean(axis=ax, keepdims=True)
    var = xv.var(axis=ax, keepdims=True)
    m = int(np.prod([xv.shape[a] for a in ax]))
    G, B = g.reshape(pshape), b.reshape(pshape)
    np.testing.assert_allclose(got[0], (xv - mean) / np.sqrt(var + 1e-4) * G + B, rtol=1e-10)
    np.testing.assert_allclose(got[1], mean.reshape(shp))
    np.testing.assert_allclose(got[2], (1 / np.sqrt(var + 1e-4)).reshape(shp))
    np.testing.assert_allclose(got[3], rm * 0.7 + 0.3 * mean.reshape(shp))
    np.testing.assert_allclose(got[4], rv * 0.7 + 0.3 * (var * m / (m - 1)).reshape(shp))
    verify_grad(lambda v, gg, bb: bn.batch_normalization_train(v, gg, bb, axes)[0],
                [xv, g, b], rng=rng)
    test_out = bn.batch_normalization_test(x, gs, bs, rms, rvs, axes, 1e-4)
    np.testing.assert_allclose(
        run_both([x, gs, bs, rms, rvs], test_out, xv, g, b, rm, rv),
        (xv - rm.reshape(pshape)) * G / np.sqrt(rv.reshape(pshape) + 1e-4) + B, rtol=1e-10)
    with pytest.raises(ValueError, match="epsilon"):
        bn.batch_normalization_train(x, gs, bs, axes, epsilon=1e-6)


# ---------------------------------------------------------------- h_softmax

def test_h_softmax(rng):
    from symgraph.tensor.nnet import h_softmax
    batch, n_in, n_classes, per, n_out = 4, 5, 3, 4, 10
    xv = rng.rand(batch, n_in)
    W1, b1 = rng.randn(n_in, n_classes), rng.randn(n_classes)
    W2, b2 = rng.randn(n_classes, n_in, per), rng.randn(n_classes, per)
    tv = np.array([0, 9, 4, 7])
    x, w1, w2, t = T.dmatrix(), T.dmatrix(), T.dtensor3(), T.lvector()
    v1, v2 = T.dvector(), T.dmatrix()

    def sm(a):
        e = np.exp(a - a.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    cls = sm(xv @ W1 + b1)
    full = np.concatenate([cls[:, [c]] * sm(xv @ W2[c] + b2[c]) for c in range(n_classes)], 1)
    allp = run_both([x, w1, v1, w2, v2], h_softmax(x, batch, n_out, n_classes, per, w1, v1, w2, v2),
                    xv, W1, b1, W2, b2)
    np.testing.assert_allclose(allp, full[:, :n_out], rtol=1e-10)
    tp = run_both([x, w1, v1, w2, v2, t],
                  h_softmax(x, batch, n_out, n_classes, per, w1, v1, w2, v2, target=t),
                  xv, W1, b1, W2, b2, tv)
    np.testing.assert_allclose(tp, full[np.arange(batch), tv], rtol=1e-10)
    verify_grad(lambda a, c: h_softmax(a, batch, n_out, n_classes, per, c, b1, W2, b2,
                                       target=T.constant(tv)), [xv, W1], rng=rng)


# ---------------------------------------------------------------- OpFromGraph, as_op

def test_op_from_graph(rng):
    from symgraph.compile.builders import OpFromGraph
    x, y = T.dmatrices("x", "y")
    s = theano.shared(rng.rand(3))
    op = OpFromGraph([x, y], [x + y * 2 + s, T.tanh(x)])
    a, b = T.dmatrix(), T.dmatrix()
    o1, o2 = op(a, b)
    av, bv = rng.rand(2, 3), rng.rand(2, 3)
    got = run_both([a, b], [o1, o2], av, bv)
    np.testing.assert_allclose(got[0], av + 2 * bv + s.get_value())
    np.testing.assert_allclose(got[1], np.tanh(av))
    ga = run_both([a], theano.grad(op(a, a)[0].sum() + op(a, a)[1].sum(), a), av)
    np.testing.assert_allclose(ga, 3 + 1 - np.tanh(av) ** 2)
    verify_grad(lambda u, v: op(u, v)[0] * op(u, v)[1], [av, bv], rng=rng)
    with pytest.raises(TypeError, match="input 0"):
        op(T.dvector(), b)
    with pytest.raises(ValueError, match="not among the inputs"):
        OpFromGraph([x], [x + y])


def test_op_from_graph_inline():
    from symgraph.compile.builders import OpFromGraph
    x, y = T.dmatrices("x", "y")
    a = T.dmatrix()
    inl = OpFromGraph([x, y], [x * y], inline=True)
    kept = OpFromGraph([x, y], [x * y])
    for op, present in ((inl, False), (kept, True)):
        f = function([a], op(a, a))
        np.testing.assert_allclose(f(np.full((1, 2), 3.0)), [[9.0, 9.0]])
        assert any(isinstance(n.op, OpFromGraph) for n in f.maker.fgraph.toposort()) == present


def test_as_op(rng):
    from symgraph.compile.ops import as_op

    def shapes(node, input_shapes):
        return [(input_shapes[0][0],)]

    @as_op(itypes=[T.dmatrix], otypes=[T.dvector], infer_shape=shapes)
    def row_norms(m):
        return np.linalg.norm(m, axis=1)

    a = T.dmatrix()
    av = rng.rand(3, 4)
    np.testing.assert_allclose(run_both([a], row_norms(a) * 2, av),
                               2 * np.linalg.norm(av, axis=1))
    assert function([a], row_norms(a).shape)(av).tolist() == [3]
    with pytest.raises(TypeError, match="input 0"):
        row_norms(T.dvector())
    with pytest.raises(NotImplementedError, match="no gradient"):
        theano.grad(row_norms(a).sum(), a)


# ---------------------------------------------------------------- register_* and local_optimizer

def test_register_decorators_add_local_rewrites():
    from symgraph.gof import local_optimizer
    from symgraph.ops import scalar as ps
    from symgraph.rewrite.pipeline import registered
    from symgraph.tensor.opt import register_canonicalize, register_specialize

    @register_canonicalize
    @local_optimizer([T.Elemwise])
    def local_test_log_exp(node):          # Theano's form: fn(node)
        if node.op.scalar_op == ps.log and node.inputs[0].owner is not None and \
                isinstance(node.inputs[0].owner.op, T.Elemwise) and \
                node.inputs[0].owner.op.scalar_op == ps.exp:
            return [node.inputs[0].owner.inputs[0]]
        return False

    @register_specialize("fast_run", name="local_test_neg_neg_specialize")
    @local_optimizer([T.Elemwise])
    def local_test_double_sqr(fgraph, node):       # symgraph's form, with a name given
        return None

    assert any(r.name == "local_test_log_exp" for r in registered("canonicalize"))
    assert any(r.name == "local_test_neg_neg_specialize" for r in registered("specialize"))
    x = T.dvector()
    f = function([x], T.log(T.exp(x)) * 2)
    names = [type(n.op).__name__ + str(getattr(n.op, "scalar_op", "")) for n in
             f.maker.fgraph.toposort()]
    assert not any("log" in n or "exp" in n for n in names), names
    np.testing.assert_allclose(f(np.array([1.0, 2.0])), [2.0, 4.0])
    g = function([x], T.log(T.exp(x)),
                 mode=theano.Mode("py").excluding("local_test_log_exp", "fusion"))
    assert len(g.maker.fgraph.toposort()) == 2


@pytest.fixture(autouse=True)
def _restore_rewrite_registry():
    """The register_* test adds rewrites to the global pipeline: take them out again."""
    from symgraph.rewrite import pipeline
    saved = {phase: list(lst) for phase, lst in pipeline._registry.items()}
    yield
    for phase, lst in saved.items():
        pipeline._registry[phase][:] = lst


# ---------------------------------------------------------------- compute_test_value

def test_compute_test_value_raises_at_build_time():
    with theano.change_flags(compute_test_value="raise"):
        x = T.dmatrix("x")
        x.tag.test_value = np.ones((3, 4))
        W = theano.shared(np.ones((5, 2)))
        h = T.tanh(x)
        np.testing.assert_allclose(h.tag.test_value, np.tanh(np.ones((3, 4))))
        with pytest.raises(ValueError, match=r"not aligned[\s\S]*compute_test_value: Dot failed"
                                             r"[\s\S]*test_theano_compat.py"):
            T.dot(h, W)
        y = T.dmatrix("y")
        with pytest.raises(ValueError, match="has no test value"):
            x + y
    with theano.change_flags(compute_test_value="ignore"):
        assert not hasattr((T.dvector() * 2).tag, "test_value")
    with theano.change_flags(compute_test_value="warn"):
        with pytest.warns(UserWarning, match="no test value"):
            T.dvector() * 2


def test_compute_test_value_through_scan_ifelse_grad_and_compile():
    """Scan and IfElse nodes (built by make_node, not Op.__call__) get test values too, so the
    ops after them, their gradients and function() work under 'raise'; the nodes rewrites build
    while compiling get none unless compute_test_value_opt asks (no warnings from the pipeline)."""
    import warnings

    from symgraph.ifelse import ifelse
    xv = np.linspace(-1, 1, 15).reshape(5, 3)
    with theano.change_flags(compute_test_value="raise"):
        x = T.dmatrix("x")
        x.tag.test_value = xv
        W = theano.shared(np.eye(3) * 0.5)
        out, _ = theano.scan(lambda xt, h: T.tanh(T.dot(h, W) + xt), sequences=x,
                             outputs_info=T.zeros((3,)))
        h, want = np.zeros(3), []
        for row in xv:
            h = np.tanh(h @ (np.eye(3) * 0.5) + row)
            want.append(h)
        np.testing.assert_allclose(out.tag.test_value, want, rtol=1e-12)
        cost = out.sum()
        g = T.grad(cost, W)
        z = ifelse(T.gt(cost, 0), cost * 2, cost * 3)
        s = float(np.sum(want))
        np.testing.assert_allclose(z.tag.test_value, s * (2 if s > 0 else 3))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            f = theano.function([x], [out, g, z])
        got = f(xv)
        np.testing.assert_allclose(got[0], want, rtol=1e-12)
        np.testing.assert_allclose(got[1], g.tag.test_value, rtol=1e-12)
