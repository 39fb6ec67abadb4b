/* Softmax family and pooling for one element type: nnet.c includes this file once per dtype
   (SG_T, SG_S, SG_MSFX; see sg_runtime.h). */
#if !defined(SG_T) || !defined(SG_S) || !defined(SG_MSFX)
#error "define SG_T (element type), SG_S (name suffix) and SG_MSFX (libm suffix) before including this file"
#endif

/* NaN-propagating max without branches (random data would mispredict them) */
static inline SG_T SG_FN(nmax)(SG_T a, SG_T b) { SG_T m = b > a ? b : a; return ((a != a) | (b != b)) ? a + b : m; }
/* ---------------------------------------------------------------- softmax family */
SG_API int SG_FN(softmax)(sg_ctx *c, int node, int b, sg_val *x, int nd, sg_val *out, int logsm) {
    if (sg_alloc(c, node, b, out, nd, x->shape, sizeof(SG_T))) return c->err_code;
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
        const SG_T *xr = (const SG_T *)x->data + off[0];
        SG_T *o = (SG_T *)out->data + off[1];
        SG_T m = xr[0], s = 0;
        for (int64_t j = 1; j < K; j++) { SG_T v = xr[j * sx]; m = SG_FN(nmax)(m, v); }
        if (!logsm) {
            #pragma omp simd reduction(+:s)
            for (int64_t j = 0; j < K; j++) { SG_T e = SG_M(exp)(xr[j * sx] - m); o[j] = e; s += e; }
            for (int64_t j = 0; j < K; j++) o[j] /= s;
        } else {
            #pragma omp simd reduction(+:s)
            for (int64_t j = 0; j < K; j++) { SG_T v = xr[j * sx] - m; o[j] = v; s += SG_M(exp)(v); }
            SG_T ls = SG_M(log)(s);
            for (int64_t j = 0; j < K; j++) o[j] -= ls;
        }
    }
    return 0;
}

SG_API int SG_FN(softmax_grad)(sg_ctx *c, int node, int b, sg_val *dy, sg_val *sm, int nd, sg_val *out) {
    char s1[200], s2[200];
    for (int d = 0; d < nd; d++)
        if (dy->shape[d] != sm->shape[d])
            return sg_fail(c, node, SG_EVALUE, "dy of shape %s does not match sm of shape %s",
                           sg_shp(s1, nd, dy->shape), sg_shp(s2, nd, sm->shape));
    if (sg_alloc(c, node, b, out, nd, sm->shape, sizeof(SG_T))) return c->err_code;
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
        const SG_T *g = (const SG_T *)dy->data + off[0], *p = (const SG_T *)sm->data + off[1];
        SG_T *o = (SG_T *)out->data + off[2], s = 0;
        #pragma omp simd reduction(+:s)
        for (int64_t j = 0; j < K; j++) { SG_T v = g[j * sd] * p[j * ss]; o[j] = v; s += v; }
        for (int64_t j = 0; j < K; j++) o[j] -= s * p[j * ss];
    }
    return 0;
}

/* classes: y (n,) of any integer type (itype as in sg_read_index) */
static int SG_FN(check_classes)(sg_ctx *c, int node, const sg_val *y, int itype, int64_t n, int64_t k) {
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

SG_API int SG_FN(xent)(sg_ctx *c, int node, int bl, int bs, sg_val *z, sg_val *y, int itype,
                      sg_val *loss, sg_val *sm) {
    int64_t n = z->shape[0], k = z->shape[1], sz0 = z->strides[0], sz1 = z->strides[1];
    if (SG_FN(check_classes)(c, node, y, itype, n, k)) return c->err_code;
    if (sg_alloc(c, node, bl, loss, 1, z->shape, sizeof(SG_T))) return c->err_code;
    if (sg_alloc(c, node, bs, sm, 2, z->shape, sizeof(SG_T))) return c->err_code;
    int isz = SG_ITSZ(itype);
    #pragma omp parallel for if (sg_par(c, n * k, 1 << 15)) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const SG_T *zr = (const SG_T *)z->data + i * sz0;
        SG_T *o = (SG_T *)sm->data + i * k, m, s = 0;
        if (k == 0) { ((SG_T *)loss->data)[i] = 0; continue; }
        m = zr[0];
        for (int64_t j = 1; j < k; j++) { SG_T v = zr[j * sz1]; m = SG_FN(nmax)(m, v); }
        #pragma omp simd reduction(+:s)
        for (int64_t j = 0; j < k; j++) { SG_T e = SG_M(exp)(zr[j * sz1] - m); o[j] = e; s += e; }
        for (int64_t j = 0; j < k; j++) o[j] /= s;
        int64_t t = sg_read_index(y->data + i * y->strides[0] * isz, itype);
        ((SG_T *)loss->data)[i] = SG_M(log)(s) - (zr[t * sz1] - m);
    }
    return 0;
}

SG_API int SG_FN(xent_grad)(sg_ctx *c, int node, int b, sg_val *g, sg_val *sm, sg_val *y, int itype, sg_val *out) {
    int64_t n = sm->shape[0], k = sm->shape[1];
    char s1[200];
    if (SG_FN(check_classes)(c, node, y, itype, n, k)) return c->err_code;
    if (g->shape[0] != n)
        return sg_fail(c, node, SG_EVALUE, "loss gradient of shape %s does not match %lld rows",
                       sg_shp(s1, 1, g->shape), (long long)n);
    if (sg_alloc(c, node, b, out, 2, sm->shape, sizeof(SG_T))) return c->err_code;
    int isz = SG_ITSZ(itype);
    for (int64_t i = 0; i < n; i++) {
        const SG_T *p = (const SG_T *)sm->data + i * sm->strides[0];
        SG_T gi = ((SG_T *)g->data)[i * g->strides[0]], *o = (SG_T *)out->data + i * k;
        for (int64_t j = 0; j < k; j++) o[j] = p[j * sm->strides[1]] * gi;
        o[sg_read_index(y->data + i * y->strides[0] * isz, itype)] -= gi;
    }
    return 0;
}

/* ---------------------------------------------------------------- pooling */
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

static SG_T SG_FN(pool_count)(const sg_pool_t *P, int64_t ys, int64_t xs, int64_t H, int64_t W) {
    int64_t lo_y = P->mode == 2 ? -P->ph : 0, hi_y = P->mode == 2 ? H + P->ph : H;
    int64_t lo_x = P->mode == 2 ? -P->pw : 0, hi_x = P->mode == 2 ? W + P->pw : W;
    int64_t cy = (ys + P->wh < hi_y ? ys + P->wh : hi_y) - (ys > lo_y ? ys : lo_y);
    int64_t cx = (xs + P->ww < hi_x ? xs + P->ww : hi_x) - (xs > lo_x ? xs : lo_x);
    return (SG_T)(cy * cx);
}

/* the planes of x (all dims but the last two) paired with those of the other operands */
static int64_t SG_FN(planes)(sg_iter *it, int nd, const int64_t *shape, int nops, sg_val **ops) {
    sg_iter_init(it, nd - 2, shape, nops, ops, NULL);
    sg_iter_collapse(it);
    return sg_size(nd - 2, shape);
}


/* Max pooling with disjoint windows (stride == window, no padding): one row of windows, `rows`
   input rows (fewer than wh at the bottom edge), unit column stride, input row stride xs2; a
   window at the right edge may be partial (ignore_border=False). 2x2 windows have vector loops. */
static void SG_FN(pool_maxrow)(const sg_pool_t *P, int64_t W, int64_t OW, int64_t rows, const SG_T *X, int64_t xs2,
                              SG_T *O) {
    int64_t ox0 = 0;
    if (P->wh == 2 && P->ww == 2 && rows == 2) {
        int64_t full = OW < W / 2 ? OW : W / 2;
        const SG_T *restrict a = X, *restrict b = X + xs2;
        ox0 = SG_FN(pool_max22)(full, a, b, O);
        #pragma omp simd
        for (int64_t ox = ox0; ox < full; ox++)
            O[ox] = SG_FN(nmax)(SG_FN(nmax)(a[2 * ox], a[2 * ox + 1]), SG_FN(nmax)(b[2 * ox], b[2 * ox + 1]));
        ox0 = full;
    }
    for (int64_t ox = ox0; ox < OW; ox++) {
        int64_t x0 = ox * P->sw, x1 = x0 + P->ww < W ? x0 + P->ww : W;
        SG_T acc = X[x0];
        for (int64_t i = 0; i < rows; i++)
            for (int64_t xx = x0; xx < x1; xx++) acc = SG_FN(nmax)(acc, X[i * xs2 + xx]);
        O[ox] = acc;
    }
}

/* Its gradient: every input equal to its window's max gets the window's gradient (ties all
   receive it, as Theano's MaxPoolGrad), the others 0, columns no window covers 0; writes `rows`
   rows of O (row stride W). */
static void SG_FN(pool_maxgrad_row)(const sg_pool_t *P, int64_t W, int64_t OW, int64_t rows, const SG_T *X,
                                   int64_t xs2, const SG_T *M, const SG_T *G, SG_T *O) {
    int64_t ox0 = 0;
    if (P->ww == 2) ox0 = SG_FN(pool_maxgrad2)(rows, OW < W / 2 ? OW : W / 2, X, xs2, M, G, O, W);
    for (int64_t i = 0; i < rows; i++) {
        for (int64_t ox = ox0; ox < OW; ox++) {
            SG_T mv = M[ox], gv = G[ox];
            int64_t x0 = ox * P->sw, x1 = x0 + P->ww < W ? x0 + P->ww : W;
            for (int64_t xx = x0; xx < x1; xx++) O[i * W + xx] = X[i * xs2 + xx] == mv ? gv : 0;
        }
        for (int64_t xx = OW * P->sw; xx < W; xx++) O[i * W + xx] = 0;
    }
}

SG_API int SG_FN(pool)(sg_ctx *c, const sg_pool_t *P, int b, sg_val *x, int nd, sg_val *out) {
    int64_t H = x->shape[nd - 2], W = x->shape[nd - 1], osh[SG_MAXD];
    for (int d = 0; d < nd - 2; d++) osh[d] = x->shape[d];
    osh[nd - 2] = sg_pool_len(H, P->wh, P->sh, P->ph, P->ignore_border);
    osh[nd - 1] = sg_pool_len(W, P->ww, P->sw, P->pw, P->ignore_border);
    if (sg_alloc(c, P->node, b, out, nd, osh, sizeof(SG_T))) return c->err_code;
    int64_t OH = osh[nd - 2], OW = osh[nd - 1], s2 = x->strides[nd - 2], s3 = x->strides[nd - 1];
    sg_val *ops[2] = {x, out};
    sg_iter it;
    int64_t planes = SG_FN(planes)(&it, nd, x->shape, 2, ops);
    if (OH * OW == 0) return 0;
    int disj = P->mode == 0 && sg_pool_disjoint(P) && s3 == 1;
    if (disj && OH * P->sh == H && sg_is_contig(nd, x->shape, x->strides)) {
        /* one tall plane whose rows never straddle windows: split its window rows over threads */
        int64_t rows = planes * OH;
        #pragma omp parallel for if (sg_par(c, rows * P->sh * W, 1 << 15)) schedule(static)
        for (int64_t r = 0; r < rows; r++)
            SG_FN(pool_maxrow)(P, W, OW, P->wh, (SG_T *)x->data + r * P->sh * W, W, (SG_T *)out->data + r * OW);
        return 0;
    }
    #pragma omp parallel for if (sg_par(c, planes * H * W, 1 << 15)) schedule(static)
    for (int64_t q = 0; q < planes; q++) {
        int64_t idx[SG_MAXD], off[2];
        sg_iter_seek(&it, q, idx, off);
        const SG_T *X = (const SG_T *)x->data + off[0];
        SG_T *O = (SG_T *)out->data + off[1];
        if (disj) {
            for (int64_t oy = 0; oy < OH; oy++) {
                int64_t rows = H - oy * P->sh < P->wh ? H - oy * P->sh : P->wh;
                SG_FN(pool_maxrow)(P, W, OW, rows, X + oy * P->sh * s2, s2, O + oy * OW);
            }
            continue;
        }
        SG_WINDOWS(P, H, W, OH, OW, {
            SG_T acc = P->mode == 0 ? -(SG_T)INFINITY : 0;
            for (int64_t y = y0; y < y1; y++)
                for (int64_t xx = x0; xx < x1; xx++) {
                    SG_T v = X[y * s2 + xx * s3];
                    if (P->mode == 0) acc = SG_FN(nmax)(acc, v);
                    else acc += v;
                }
            if (P->mode >= 2) acc /= SG_FN(pool_count)(P, ys, xs, H, W);
            O[oy * OW + ox] = acc;
        })
    }
    return 0;
}

/* kind 0: MaxPoolGrad(x, maxout, gz) -> like x; 1: AveragePoolGrad(x, gz) -> like x;
   2: MaxPoolGradGrad(x, maxout, ggx) -> like maxout */
SG_API int SG_FN(pool_grad)(sg_ctx *c, const sg_pool_t *P, int kind, int b, sg_val *x, sg_val *m, sg_val *g,
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
    if (sg_alloc(c, P->node, b, out, nd, kind == 2 ? psh : x->shape, sizeof(SG_T))) return c->err_code;
    int64_t OH = psh[nd - 2], OW = psh[nd - 1];
    sg_val *ops[4] = {x, kind == 1 ? g : m, g, out};
    sg_iter it;
    int64_t planes = SG_FN(planes)(&it, nd, x->shape, 4, ops);
    int64_t xs2 = x->strides[nd - 2], xs3 = x->strides[nd - 1];
    int64_t ms2 = ops[1]->strides[nd - 2], ms3 = ops[1]->strides[nd - 1];
    int64_t gs2 = g->strides[nd - 2], gs3 = g->strides[nd - 1];
    /* disjoint windows, unit column strides: every input element is written by the row kernels */
    int disj = kind == 0 && sg_pool_disjoint(P) && xs3 == 1 && ms3 == 1 && gs3 == 1 && OH * OW > 0;
    if (!disj) memset(out->data, 0, sg_size(nd, kind == 2 ? psh : x->shape) * sizeof(SG_T));
    if (OH * OW == 0) return 0;
    if (disj && OH * P->sh == H && sg_is_contig(nd, x->shape, x->strides) && sg_is_contig(nd, m->shape, m->strides) &&
        sg_is_contig(nd, g->shape, g->strides)) {
        /* one tall plane, rows never straddling windows: window rows split over threads */
        int64_t rows = planes * OH;
        #pragma omp parallel for if (sg_par(c, rows * P->sh * W, 1 << 15)) schedule(static)
        for (int64_t r = 0; r < rows; r++)
            SG_FN(pool_maxgrad_row)(P, W, OW, P->wh, (SG_T *)x->data + r * P->sh * W, W, (SG_T *)m->data + r * OW,
                                   (SG_T *)g->data + r * OW, (SG_T *)out->data + r * P->sh * W);
        return 0;
    }
    #pragma omp parallel for if (sg_par(c, planes * H * W, 1 << 15)) schedule(static)
    for (int64_t q = 0; q < planes; q++) {
        int64_t idx[SG_MAXD], off[4];
        sg_iter_seek(&it, q, idx, off);
        const SG_T *X = (const SG_T *)x->data + off[0], *M = (const SG_T *)ops[1]->data + off[1];
        const SG_T *G = (const SG_T *)g->data + off[2];
        SG_T *O = (SG_T *)out->data + off[3];
        if (disj) {
            for (int64_t oy = 0; oy < OH; oy++) {
                int64_t y0 = oy * P->sh, rows = H - y0 < P->wh ? H - y0 : P->wh;
                SG_FN(pool_maxgrad_row)(P, W, OW, rows, X + y0 * xs2, xs2, M + oy * ms2, G + oy * gs2, O + y0 * W);
            }
            for (int64_t y = OH * P->sh; y < H; y++)        /* rows no window covers */
                memset(O + y * W, 0, W * sizeof(SG_T));
            continue;
        }
        SG_WINDOWS(P, H, W, OH, OW, {
            if (kind == 0) {
                SG_T mv = M[oy * ms2 + ox * ms3], gv = G[oy * gs2 + ox * gs3];
                for (int64_t y = y0; y < y1; y++)
                    for (int64_t xx = x0; xx < x1; xx++)
                        O[y * W + xx] += X[y * xs2 + xx * xs3] == mv ? gv : 0;      /* no branch */
            } else if (kind == 1) {
                SG_T gv = M[oy * ms2 + ox * ms3];
                if (P->mode >= 2) gv /= SG_FN(pool_count)(P, ys, xs, H, W);
                for (int64_t y = y0; y < y1; y++)
                    for (int64_t xx = x0; xx < x1; xx++) O[y * W + xx] += gv;
            } else {
                SG_T mv = M[oy * ms2 + ox * ms3], acc = 0;
                for (int64_t y = y0; y < y1; y++)
                    for (int64_t xx = x0; xx < x1; xx++)
                        acc += X[y * xs2 + xx * xs3] == mv ? G[y * gs2 + xx * gs3] : 0;
                O[oy * OW + ox] = acc;
            }
        })
    }
    return 0;
}
