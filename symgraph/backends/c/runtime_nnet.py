"""Runtime C for the neural-network ops: softmax family, 2-D pooling, MRG31k3p uniforms.

The typed functions are written once in :data:`TEMPLATE` (``$T`` the element
type, ``$S`` the name suffix ``f32``/``f64``, ``$M`` the libm suffix) and
instantiated for float and double into the runtime library. Rows (softmax) and
image planes (pooling) are independent, so OpenMP splits them over threads.
"""
import numpy as np

from ...ops.random import MRG_NORM32

DECLS = r"""
typedef struct {
    int node, mode, ignore_border;            /* mode: 0 max, 1 sum, 2 average_inc_pad, 3 average_exc_pad */
    int64_t wh, ww, sh, sw, ph, pw;
} sg_pool_t;
/* floor division of integers (Python's //) */
static inline int64_t sg_floordiv_i(int64_t a, int64_t b) { int64_t q = a / b; return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q; }
"""

TEMPLATE = r"""
/* NaN-propagating max without branches (random data would mispredict them) */
static inline $T sg_nmax_$S($T a, $T b) { $T m = b > a ? b : a; return ((a != a) | (b != b)) ? a + b : m; }
/* ---------------------------------------------------------------- softmax family ($T) */
SG_API int sg_softmax_$S(sg_ctx *c, int node, int b, sg_val *x, int nd, sg_val *out, int logsm) {
    if (sg_alloc(c, node, b, out, nd, x->shape, sizeof($T))) return c->err_code;
    int64_t K = x->shape[nd - 1], rows = sg_size(nd - 1, x->shape), sx = x->strides[nd - 1];
    if (K == 0 || rows == 0) return 0;
    sg_val *ops[2] = {x, out};
    sg_iter it;
    sg_iter_init(&it, nd - 1, x->shape, 2, ops, NULL);
    sg_iter_collapse(&it);
    #pragma omp parallel for if (sg_par(c, rows * K, 1 << 15)) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t idx[SG_MAXD], off[2];
        sg_iter_seek(&it, r, idx, off);
        const $T *xr = (const $T *)x->data + off[0];
        $T *o = ($T *)out->data + off[1];
        $T m = xr[0], s = 0;
        for (int64_t j = 1; j < K; j++) { $T v = xr[j * sx]; m = sg_nmax_$S(m, v); }
        if (!logsm) {
            #pragma omp simd reduction(+:s)
            for (int64_t j = 0; j < K; j++) { $T e = exp$M(xr[j * sx] - m); o[j] = e; s += e; }
            for (int64_t j = 0; j < K; j++) o[j] /= s;
        } else {
            #pragma omp simd reduction(+:s)
            for (int64_t j = 0; j < K; j++) { $T v = xr[j * sx] - m; o[j] = v; s += exp$M(v); }
            $T ls = log$M(s);
            for (int64_t j = 0; j < K; j++) o[j] -= ls;
        }
    }
    return 0;
}

SG_API int sg_softmax_grad_$S(sg_ctx *c, int node, int b, sg_val *dy, sg_val *sm, int nd, sg_val *out) {
    char s1[200], s2[200];
    for (int d = 0; d < nd; d++)
        if (dy->shape[d] != sm->shape[d])
            return sg_fail(c, node, SG_EVALUE, "dy of shape %s does not match sm of shape %s",
                           sg_shp(s1, nd, dy->shape), sg_shp(s2, nd, sm->shape));
    if (sg_alloc(c, node, b, out, nd, sm->shape, sizeof($T))) return c->err_code;
    int64_t K = sm->shape[nd - 1], rows = sg_size(nd - 1, sm->shape);
    int64_t sd = dy->strides[nd - 1], ss = sm->strides[nd - 1];
    if (K == 0 || rows == 0) return 0;
    sg_val *ops[3] = {dy, sm, out};
    sg_iter it;
    sg_iter_init(&it, nd - 1, sm->shape, 3, ops, NULL);
    sg_iter_collapse(&it);
    #pragma omp parallel for if (sg_par(c, rows * K, 1 << 15)) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t idx[SG_MAXD], off[3];
        sg_iter_seek(&it, r, idx, off);
        const $T *g = (const $T *)dy->data + off[0], *p = (const $T *)sm->data + off[1];
        $T *o = ($T *)out->data + off[2], s = 0;
        #pragma omp simd reduction(+:s)
        for (int64_t j = 0; j < K; j++) { $T v = g[j * sd] * p[j * ss]; o[j] = v; s += v; }
        for (int64_t j = 0; j < K; j++) o[j] -= s * p[j * ss];
    }
    return 0;
}

/* classes: y (n,) of any integer type (itype as in sg_read_index) */
static int sg_check_classes_$S(sg_ctx *c, int node, const sg_val *y, int itype, int64_t n, int64_t k) {
    char s1[200];
    if (y->shape[0] != n)
        return sg_fail(c, node, SG_EVALUE, "expected %lld class indices (one per row of a %lldx%lld matrix), "
                       "got shape %s", (long long)n, (long long)n, (long long)k, sg_shp(s1, 1, y->shape));
    int isz = SG_ITSZ(itype);
    for (int64_t i = 0; i < n; i++) {
        int64_t v = sg_read_index(y->data + i * y->strides[0] * isz, itype);
        if (v < 0 || v >= k)
            return sg_fail(c, node, SG_EINDEX, "class index %lld is out of range for %lld classes",
                           (long long)v, (long long)k);
    }
    return 0;
}

SG_API int sg_xent_$S(sg_ctx *c, int node, int bl, int bs, sg_val *z, sg_val *y, int itype,
                      sg_val *loss, sg_val *sm) {
    int64_t n = z->shape[0], k = z->shape[1], sz0 = z->strides[0], sz1 = z->strides[1];
    if (sg_check_classes_$S(c, node, y, itype, n, k)) return c->err_code;
    if (sg_alloc(c, node, bl, loss, 1, z->shape, sizeof($T))) return c->err_code;
    if (sg_alloc(c, node, bs, sm, 2, z->shape, sizeof($T))) return c->err_code;
    int isz = SG_ITSZ(itype);
    #pragma omp parallel for if (sg_par(c, n * k, 1 << 15)) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const $T *zr = (const $T *)z->data + i * sz0;
        $T *o = ($T *)sm->data + i * k, m, s = 0;
        if (k == 0) { (($T *)loss->data)[i] = 0; continue; }
        m = zr[0];
        for (int64_t j = 1; j < k; j++) { $T v = zr[j * sz1]; m = sg_nmax_$S(m, v); }
        #pragma omp simd reduction(+:s)
        for (int64_t j = 0; j < k; j++) { $T e = exp$M(zr[j * sz1] - m); o[j] = e; s += e; }
        for (int64_t j = 0; j < k; j++) o[j] /= s;
        int64_t t = sg_read_index(y->data + i * y->strides[0] * isz, itype);
        (($T *)loss->data)[i] = log$M(s) - (zr[t * sz1] - m);
    }
    return 0;
}

SG_API int sg_xent_grad_$S(sg_ctx *c, int node, int b, sg_val *g, sg_val *sm, sg_val *y, int itype, sg_val *out) {
    int64_t n = sm->shape[0], k = sm->shape[1];
    char s1[200];
    if (sg_check_classes_$S(c, node, y, itype, n, k)) return c->err_code;
    if (g->shape[0] != n)
        return sg_fail(c, node, SG_EVALUE, "loss gradient of shape %s does not match %lld rows",
                       sg_shp(s1, 1, g->shape), (long long)n);
    if (sg_alloc(c, node, b, out, 2, sm->shape, sizeof($T))) return c->err_code;
    int isz = SG_ITSZ(itype);
    for (int64_t i = 0; i < n; i++) {
        const $T *p = (const $T *)sm->data + i * sm->strides[0];
        $T gi = (($T *)g->data)[i * g->strides[0]], *o = ($T *)out->data + i * k;
        for (int64_t j = 0; j < k; j++) o[j] = p[j * sm->strides[1]] * gi;
        o[sg_read_index(y->data + i * y->strides[0] * isz, itype)] -= gi;
    }
    return 0;
}

/* ---------------------------------------------------------------- pooling ($T) */
/* Walk every window of a plane: y0..y1 x x0..x1 are the real (unpadded) rows/columns it covers. */
#define SG_WINDOWS(P, H, W, OH, OW, ...)                                                          \
    for (int64_t oy = 0; oy < (OH); oy++) {                                                       \
        int64_t ys = oy * (P)->sh - (P)->ph, y0 = ys < 0 ? 0 : ys;                                \
        int64_t y1 = ys + (P)->wh < (H) ? ys + (P)->wh : (H);                                     \
        for (int64_t ox = 0; ox < (OW); ox++) {                                                   \
            int64_t xs = ox * (P)->sw - (P)->pw, x0 = xs < 0 ? 0 : xs;                            \
            int64_t x1 = xs + (P)->ww < (W) ? xs + (P)->ww : (W);                                 \
            __VA_ARGS__                                                                           \
        }                                                                                         \
    }

static $T sg_pool_count_$S(const sg_pool_t *P, int64_t ys, int64_t xs, int64_t H, int64_t W) {
    int64_t lo_y = P->mode == 2 ? -P->ph : 0, hi_y = P->mode == 2 ? H + P->ph : H;
    int64_t lo_x = P->mode == 2 ? -P->pw : 0, hi_x = P->mode == 2 ? W + P->pw : W;
    int64_t cy = (ys + P->wh < hi_y ? ys + P->wh : hi_y) - (ys > lo_y ? ys : lo_y);
    int64_t cx = (xs + P->ww < hi_x ? xs + P->ww : hi_x) - (xs > lo_x ? xs : lo_x);
    return ($T)(cy * cx);
}

/* the planes of x (all dims but the last two) paired with those of the other operands */
static int64_t sg_planes_$S(sg_iter *it, int nd, const int64_t *shape, int nops, sg_val **ops) {
    sg_iter_init(it, nd - 2, shape, nops, ops, NULL);
    sg_iter_collapse(it);
    return sg_size(nd - 2, shape);
}


/* Max pooling with disjoint windows (stride == window, no padding): one row of windows, `rows`
   input rows (fewer than wh at the bottom edge), unit column stride, input row stride xs2; a
   window at the right edge may be partial (ignore_border=False). 2x2 windows have vector loops. */
static void sg_pool_maxrow_$S(const sg_pool_t *P, int64_t W, int64_t OW, int64_t rows, const $T *X, int64_t xs2,
                              $T *O) {
    int64_t ox0 = 0;
    if (P->wh == 2 && P->ww == 2 && rows == 2) {
        int64_t full = OW < W / 2 ? OW : W / 2;
        const $T *restrict a = X, *restrict b = X + xs2;
        ox0 = sg_pool_max22_$S(full, a, b, O);
        #pragma omp simd
        for (int64_t ox = ox0; ox < full; ox++)
            O[ox] = sg_nmax_$S(sg_nmax_$S(a[2 * ox], a[2 * ox + 1]), sg_nmax_$S(b[2 * ox], b[2 * ox + 1]));
        ox0 = full;
    }
    for (int64_t ox = ox0; ox < OW; ox++) {
        int64_t x0 = ox * P->sw, x1 = x0 + P->ww < W ? x0 + P->ww : W;
        $T acc = X[x0];
        for (int64_t i = 0; i < rows; i++)
            for (int64_t xx = x0; xx < x1; xx++) acc = sg_nmax_$S(acc, X[i * xs2 + xx]);
        O[ox] = acc;
    }
}

/* Its gradient: every input equal to its window's max gets the window's gradient (ties all
   receive it, as Theano's MaxPoolGrad), the others 0, columns no window covers 0; writes `rows`
   rows of O (row stride W). */
static void sg_pool_maxgrad_row_$S(const sg_pool_t *P, int64_t W, int64_t OW, int64_t rows, const $T *X,
                                   int64_t xs2, const $T *M, const $T *G, $T *O) {
    int64_t ox0 = 0;
    if (P->ww == 2) ox0 = sg_pool_maxgrad2_$S(rows, OW < W / 2 ? OW : W / 2, X, xs2, M, G, O, W);
    for (int64_t i = 0; i < rows; i++) {
        for (int64_t ox = ox0; ox < OW; ox++) {
            $T mv = M[ox], gv = G[ox];
            int64_t x0 = ox * P->sw, x1 = x0 + P->ww < W ? x0 + P->ww : W;
            for (int64_t xx = x0; xx < x1; xx++) O[i * W + xx] = X[i * xs2 + xx] == mv ? gv : 0;
        }
        for (int64_t xx = OW * P->sw; xx < W; xx++) O[i * W + xx] = 0;
    }
}

SG_API int sg_pool_$S(sg_ctx *c, const sg_pool_t *P, int b, sg_val *x, int nd, sg_val *out) {
    int64_t H = x->shape[nd - 2], W = x->shape[nd - 1], osh[SG_MAXD];
    for (int d = 0; d < nd - 2; d++) osh[d] = x->shape[d];
    osh[nd - 2] = sg_pool_len(H, P->wh, P->sh, P->ph, P->ignore_border);
    osh[nd - 1] = sg_pool_len(W, P->ww, P->sw, P->pw, P->ignore_border);
    if (sg_alloc(c, P->node, b, out, nd, osh, sizeof($T))) return c->err_code;
    int64_t OH = osh[nd - 2], OW = osh[nd - 1], s2 = x->strides[nd - 2], s3 = x->strides[nd - 1];
    sg_val *ops[2] = {x, out};
    sg_iter it;
    int64_t planes = sg_planes_$S(&it, nd, x->shape, 2, ops);
    if (OH * OW == 0) return 0;
    int disj = P->mode == 0 && sg_pool_disjoint(P) && s3 == 1;
    if (disj && OH * P->sh == H && sg_is_contig(nd, x->shape, x->strides)) {
        /* one tall plane whose rows never straddle windows: split its window rows over threads */
        int64_t rows = planes * OH;
        #pragma omp parallel for if (sg_par(c, rows * P->sh * W, 1 << 15)) schedule(static)
        for (int64_t r = 0; r < rows; r++)
            sg_pool_maxrow_$S(P, W, OW, P->wh, ($T *)x->data + r * P->sh * W, W, ($T *)out->data + r * OW);
        return 0;
    }
    #pragma omp parallel for if (sg_par(c, planes * H * W, 1 << 15)) schedule(static)
    for (int64_t q = 0; q < planes; q++) {
        int64_t idx[SG_MAXD], off[2];
        sg_iter_seek(&it, q, idx, off);
        const $T *X = (const $T *)x->data + off[0];
        $T *O = ($T *)out->data + off[1];
        if (disj) {
            for (int64_t oy = 0; oy < OH; oy++) {
                int64_t rows = H - oy * P->sh < P->wh ? H - oy * P->sh : P->wh;
                sg_pool_maxrow_$S(P, W, OW, rows, X + oy * P->sh * s2, s2, O + oy * OW);
            }
            continue;
        }
        SG_WINDOWS(P, H, W, OH, OW, {
            $T acc = P->mode == 0 ? -($T)INFINITY : 0;
            for (int64_t y = y0; y < y1; y++)
                for (int64_t xx = x0; xx < x1; xx++) {
                    $T v = X[y * s2 + xx * s3];
                    if (P->mode == 0) acc = sg_nmax_$S(acc, v);
                    else acc += v;
                }
            if (P->mode >= 2) acc /= sg_pool_count_$S(P, ys, xs, H, W);
            O[oy * OW + ox] = acc;
        })
    }
    return 0;
}

/* kind 0: MaxPoolGrad(x, maxout, gz) -> like x; 1: AveragePoolGrad(x, gz) -> like x;
   2: MaxPoolGradGrad(x, maxout, ggx) -> like maxout */
SG_API int sg_pool_grad_$S(sg_ctx *c, const sg_pool_t *P, int kind, int b, sg_val *x, sg_val *m, sg_val *g,
                           int nd, sg_val *out) {
    int64_t H = x->shape[nd - 2], W = x->shape[nd - 1], psh[SG_MAXD];
    char s1[200], s2_[200];
    for (int d = 0; d < nd - 2; d++) psh[d] = x->shape[d];
    psh[nd - 2] = sg_pool_len(H, P->wh, P->sh, P->ph, P->ignore_border);
    psh[nd - 1] = sg_pool_len(W, P->ww, P->sw, P->pw, P->ignore_border);
    if (kind == 2)
        for (int d = 0; d < nd; d++)
            if (g->shape[d] != x->shape[d])
                return sg_fail(c, P->node, SG_EVALUE, "the gradient of shape %s does not match the input "
                               "of shape %s", sg_shp(s1, nd, g->shape), sg_shp(s2_, nd, x->shape));
    sg_val *pooled[2] = {m, kind == 2 ? m : g};
    for (int k = kind == 1 ? 1 : 0; k < 2; k++)
        for (int d = 0; d < nd; d++)
            if (pooled[k]->shape[d] != psh[d])
                return sg_fail(c, P->node, SG_EVALUE, "pooled tensors must have shape %s for this input, "
                               "got %s", sg_shp(s1, nd, psh), sg_shp(s2_, nd, pooled[k]->shape));
    if (sg_alloc(c, P->node, b, out, nd, kind == 2 ? psh : x->shape, sizeof($T))) return c->err_code;
    int64_t OH = psh[nd - 2], OW = psh[nd - 1];
    sg_val *ops[4] = {x, kind == 1 ? g : m, g, out};
    sg_iter it;
    int64_t planes = sg_planes_$S(&it, nd, x->shape, 4, ops);
    int64_t xs2 = x->strides[nd - 2], xs3 = x->strides[nd - 1];
    int64_t ms2 = ops[1]->strides[nd - 2], ms3 = ops[1]->strides[nd - 1];
    int64_t gs2 = g->strides[nd - 2], gs3 = g->strides[nd - 1];
    /* disjoint windows, unit column strides: every input element is written by the row kernels */
    int disj = kind == 0 && sg_pool_disjoint(P) && xs3 == 1 && ms3 == 1 && gs3 == 1 && OH * OW > 0;
    if (!disj) memset(out->data, 0, sg_size(nd, kind == 2 ? psh : x->shape) * sizeof($T));
    if (OH * OW == 0) return 0;
    if (disj && OH * P->sh == H && sg_is_contig(nd, x->shape, x->strides) && sg_is_contig(nd, m->shape, m->strides) &&
        sg_is_contig(nd, g->shape, g->strides)) {
        /* one tall plane, rows never straddling windows: window rows split over threads */
        int64_t rows = planes * OH;
        #pragma omp parallel for if (sg_par(c, rows * P->sh * W, 1 << 15)) schedule(static)
        for (int64_t r = 0; r < rows; r++)
            sg_pool_maxgrad_row_$S(P, W, OW, P->wh, ($T *)x->data + r * P->sh * W, W, ($T *)m->data + r * OW,
                                   ($T *)g->data + r * OW, ($T *)out->data + r * P->sh * W);
        return 0;
    }
    #pragma omp parallel for if (sg_par(c, planes * H * W, 1 << 15)) schedule(static)
    for (int64_t q = 0; q < planes; q++) {
        int64_t idx[SG_MAXD], off[4];
        sg_iter_seek(&it, q, idx, off);
        const $T *X = (const $T *)x->data + off[0], *M = (const $T *)ops[1]->data + off[1];
        const $T *G = (const $T *)g->data + off[2];
        $T *O = ($T *)out->data + off[3];
        if (disj) {
            for (int64_t oy = 0; oy < OH; oy++) {
                int64_t y0 = oy * P->sh, rows = H - y0 < P->wh ? H - y0 : P->wh;
                sg_pool_maxgrad_row_$S(P, W, OW, rows, X + y0 * xs2, xs2, M + oy * ms2, G + oy * gs2, O + y0 * W);
            }
            for (int64_t y = OH * P->sh; y < H; y++)        /* rows no window covers */
                memset(O + y * W, 0, W * sizeof($T));
            continue;
        }
        SG_WINDOWS(P, H, W, OH, OW, {
            if (kind == 0) {
                $T mv = M[oy * ms2 + ox * ms3], gv = G[oy * gs2 + ox * gs3];
                for (int64_t y = y0; y < y1; y++)
                    for (int64_t xx = x0; xx < x1; xx++)
                        O[y * W + xx] += X[y * xs2 + xx * xs3] == mv ? gv : 0;      /* no branch */
            } else if (kind == 1) {
                $T gv = M[oy * ms2 + ox * ms3];
                if (P->mode >= 2) gv /= sg_pool_count_$S(P, ys, xs, H, W);
                for (int64_t y = y0; y < y1; y++)
                    for (int64_t xx = x0; xx < x1; xx++) O[y * W + xx] += gv;
            } else {
                $T mv = M[oy * ms2 + ox * ms3], acc = 0;
                for (int64_t y = y0; y < y1; y++)
                    for (int64_t xx = x0; xx < x1; xx++)
                        acc += X[y * xs2 + xx * xs3] == mv ? G[y * gs2 + xx * gs3] : 0;
                O[oy * OW + ox] = acc;
            }
        })
    }
    return 0;
}
"""

IMPL_COMMON = r"""

/* Vector kernels for 2-wide pooling windows (float, AVX2). Each returns how many windows [0, n) of the
   row it handled; the caller's scalar loop does the rest (all of it where AVX2 is not available). */
#if defined(__AVX2__)
#include <immintrin.h>
/* gradient of width-2 windows over wh rows: inputs equal to their window's max get its gradient */
static int64_t sg_pool_maxgrad2_f32(int64_t wh, int64_t OW, const float *X, int64_t xs2, const float *M,
                                    const float *G, float *O, int64_t os2) {
    const __m256i dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    int64_t ox = 0;
    for (; ox + 4 <= OW; ox += 4) {
        __m256 m = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(M + ox)), dup);
        __m256 g = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(G + ox)), dup);
        for (int64_t i = 0; i < wh; i++) {
            __m256 x = _mm256_loadu_ps(X + i * xs2 + 2 * ox);
            _mm256_storeu_ps(O + i * os2 + 2 * ox, _mm256_and_ps(_mm256_cmp_ps(x, m, _CMP_EQ_OQ), g));
        }
    }
    return ox;
}
/* NaN-propagating max (as sg_nmax) of two vectors */
static inline __m256 sg_vnmax_f32(__m256 x, __m256 y) {
    return _mm256_blendv_ps(_mm256_max_ps(x, y), _mm256_add_ps(x, y), _mm256_cmp_ps(x, y, _CMP_UNORD_Q));
}
/* 2x2 windows over rows a and b, four windows per step */
static int64_t sg_pool_max22_f32(int64_t OW, const float *a, const float *b, float *o) {
    const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    int64_t ox = 0;
    for (; ox + 4 <= OW; ox += 4) {
        __m256 v = sg_vnmax_f32(_mm256_loadu_ps(a + 2 * ox), _mm256_loadu_ps(b + 2 * ox));
        v = sg_vnmax_f32(v, _mm256_shuffle_ps(v, v, 0xB1));              /* with its neighbour */
        _mm_storeu_ps(o + ox, _mm256_castps256_ps128(_mm256_permutevar8x32_ps(v, even)));
    }
    return ox;
}
#else
static int64_t sg_pool_maxgrad2_f32(int64_t wh, int64_t OW, const float *X, int64_t xs2, const float *M,
                                    const float *G, float *O, int64_t os2) {
    (void)wh; (void)OW; (void)X; (void)xs2; (void)M; (void)G; (void)O; (void)os2;
    return 0;
}
static int64_t sg_pool_max22_f32(int64_t OW, const float *a, const float *b, float *o) {
    (void)OW; (void)a; (void)b; (void)o;
    return 0;
}
#endif
static int64_t sg_pool_maxgrad2_f64(int64_t wh, int64_t OW, const double *X, int64_t xs2, const double *M,
                                    const double *G, double *O, int64_t os2) {
    (void)wh; (void)OW; (void)X; (void)xs2; (void)M; (void)G; (void)O; (void)os2;
    return 0;
}
static int64_t sg_pool_max22_f64(int64_t OW, const double *a, const double *b, double *o) {
    (void)OW; (void)a; (void)b; (void)o;
    return 0;
}

/* windows do not overlap and need no padding (stride == window); the last may be partial */
static int sg_pool_disjoint(const sg_pool_t *P) {
    return P->ph == 0 && P->pw == 0 && P->sh == P->wh && P->sw == P->ww;
}

SG_API int64_t sg_pool_len(int64_t size, int64_t ws, int64_t st, int64_t pad, int ignore_border) {
    int64_t v = size + 2 * pad, n;
    if (ignore_border) { n = sg_floordiv_i(v - ws, st) + 1; return n > 0 ? n : 0; }
    if (st >= ws) return sg_floordiv_i(v - 1, st) + 1;
    n = sg_floordiv_i(v - 1 - ws + st, st);
    return (n > 0 ? n : 0) + 1;
}

/* ---------------------------------------------------------------- MRG31k3p uniforms */
#define SG_M1 2147483647LL
#define SG_M2 2147462579LL
SG_API int sg_mrg_uniform(sg_ctx *c, int node, int bs, int bo, sg_val *rstate, const int64_t *size, int nd,
                          int dbl, sg_val *new_state, sg_val *out) {
    char s1[200];
    for (int d = 0; d < nd; d++)
        if (size[d] < 0) return sg_fail(c, node, SG_EVALUE, "negative size %s", sg_shp(s1, nd, size));
    if (rstate->shape[1] != 6)
        return sg_fail(c, node, SG_EVALUE, "MRG state must be an int32 (n_streams, 6) matrix, got shape %s",
                       sg_shp(s1, 2, rstate->shape));
    if (bs < 0) *new_state = *rstate;                 /* in place */
    else {
        if (sg_alloc(c, node, bs, new_state, 2, rstate->shape, 4)) return c->err_code;
        uint32_t bm[2] = {0, 0};
        sg_copy(2, rstate->shape, new_state, rstate, bm, 4);
    }
    if (sg_alloc(c, node, bo, out, nd, size, dbl ? 8 : 4)) return c->err_code;
    int64_t n = sg_size(nd, size), ns = rstate->shape[0];
    if (n == 0) return 0;
    if (ns == 0) return sg_fail(c, node, SG_EVALUE, "MRG state has no streams");
    int64_t used = ns < n ? ns : n;
    int32_t *st = (int32_t *)new_state->data;
    int64_t r0 = new_state->strides[0], r1 = new_state->strides[1];
    /* blocks of 64 streams held as arrays (one per state word), so each round is a vector loop
       over streams and writes 64 consecutive outputs. Every intermediate fits 32 unsigned bits
       (the largest, the first sum of y1, is at most 2^32 - 1), so the vectors hold 16 lanes. */
    #pragma omp parallel for if (sg_par(c, n, 1 << 15)) schedule(static)
    for (int64_t s0 = 0; s0 < used; s0 += 64) {
        int64_t m = used - s0 < 64 ? used - s0 : 64;
        uint32_t x11[64], x12[64], x13[64], x21[64], x22[64], x23[64];
        int32_t kk[64];
        for (int64_t k = 0; k < m; k++) {
            int32_t *r = st + r0 * (s0 + k);
            x11[k] = r[0]; x12[k] = r[r1]; x13[k] = r[2 * r1]; x21[k] = r[3 * r1]; x22[k] = r[4 * r1]; x23[k] = r[5 * r1];
        }
        for (int64_t base = s0; base < n; base += used) {
            int64_t cnt = n - base < m ? n - base : m;
            #pragma omp simd
            for (int64_t k = 0; k < cnt; k++) {
                uint32_t a12 = x12[k], a13 = x13[k], a21 = x21[k], a23 = x23[k];
                uint32_t y1 = ((a12 & 511u) << 22) + (a12 >> 9) + ((a13 & 16777215u) << 7) + (a13 >> 24);
                y1 -= y1 >= (uint32_t)SG_M1 ? (uint32_t)SG_M1 : 0u;
                y1 += a13;
                y1 -= y1 >= (uint32_t)SG_M1 ? (uint32_t)SG_M1 : 0u;
                uint32_t z1 = ((a21 & 65535u) << 15) + 21069u * (a21 >> 16);
                z1 -= z1 >= (uint32_t)SG_M2 ? (uint32_t)SG_M2 : 0u;
                uint32_t z2 = ((a23 & 65535u) << 15) + 21069u * (a23 >> 16);
                z2 -= z2 >= (uint32_t)SG_M2 ? (uint32_t)SG_M2 : 0u;
                z2 += a23;
                z2 -= z2 >= (uint32_t)SG_M2 ? (uint32_t)SG_M2 : 0u;
                z2 += z1;
                z2 -= z2 >= (uint32_t)SG_M2 ? (uint32_t)SG_M2 : 0u;
                x13[k] = a12; x12[k] = x11[k]; x11[k] = y1;
                x23[k] = x22[k]; x22[k] = a21; x21[k] = z2;
                int32_t d = (int32_t)y1 - (int32_t)z2;
                kk[k] = d <= 0 ? d + (int32_t)SG_M1 : d;
            }
            if (dbl) {
                double *od = (double *)out->data + base;
                #pragma omp simd
                for (int64_t k = 0; k < cnt; k++) od[k] = (double)kk[k] * 4.656612873077392578125e-10;
            } else {
                float *of = (float *)out->data + base;
                #pragma omp simd
                for (int64_t k = 0; k < cnt; k++) of[k] = (float)kk[k] * SG_MRG_NORM32;
            }
        }
        for (int64_t k = 0; k < m; k++) {
            int32_t *r = st + r0 * (s0 + k);
            r[0] = (int32_t)x11[k]; r[r1] = (int32_t)x12[k]; r[2 * r1] = (int32_t)x13[k];
            r[3 * r1] = (int32_t)x21[k]; r[4 * r1] = (int32_t)x22[k]; r[5 * r1] = (int32_t)x23[k];
        }
    }
    return 0;
}
"""


def _norm32():
    return repr(float(np.float32(MRG_NORM32))) + "f"


def impl():
    """The instantiated C text (float and double)."""
    typed = "".join(TEMPLATE.replace("$T", t).replace("$S", s).replace("$M", m)
                    for t, s, m in (("float", "f32", "f"), ("double", "f64", "")))
    return f"#define SG_MRG_NORM32 {_norm32()}\n" + IMPL_COMMON + typed
