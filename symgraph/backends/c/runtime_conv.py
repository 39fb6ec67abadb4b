"""Runtime C for 2-D convolution and its gradients: im2col + one BLAS gemm per batch chunk.

Theano's CorrMM design, written afresh. For a chunk of ``B`` images the patches
are laid out as ``col`` (K = C*kh*kw rows, B*oh*ow columns), so

- forward:       tmp (O, B*P) = Wf (O, K) . col,        then tmp -> out (B, O, P)
- weights grad:  gW (O, K)   += tg (O, B*P) . col^T     (col passed transposed, not copied)
- inputs grad:   gcol (K, B*P) = Wf^T . tg,             then col2im (scatter-add)

where ``Wf`` is the (flipped, for a true convolution) filter bank made
contiguous once per call and ``tg`` the output gradient regrouped as (O, B*P).
Chunks bound the workspace; im2col/col2im split images over OpenMP threads,
the gemm uses OpenBLAS's own threads.
"""

DECLS = r"""
typedef struct {
    int node, flip, mode;               /* mode: 0 explicit padding (ph, pw), 1 'full', 2 'half' */
    int64_t ph, pw, sh, sw, dh, dw;
} sg_conv_t;
"""

TEMPLATE = r"""
/* ---------------------------------------------------------------- convolution ($T) */
typedef struct { int64_t N, C, H, W, O, kh, kw, ph, pw, oh, ow, K, P, chunk; } sg_geom_$S;

static int sg_conv_geom_$S(sg_ctx *c, const sg_conv_t *A, int64_t N, int64_t C, int64_t H, int64_t W,
                           int64_t O, int64_t kh, int64_t kw, sg_geom_$S *g) {
    g->N = N; g->C = C; g->H = H; g->W = W; g->O = O; g->kh = kh; g->kw = kw;
    int64_t sph = (kh - 1) * A->dh + 1, spw = (kw - 1) * A->dw + 1;
    g->ph = A->mode == 0 ? A->ph : (A->mode == 1 ? sph - 1 : sph / 2);
    g->pw = A->mode == 0 ? A->pw : (A->mode == 1 ? spw - 1 : spw / 2);
    g->oh = sg_floordiv_i(H + 2 * g->ph - sph, A->sh) + 1;
    g->ow = sg_floordiv_i(W + 2 * g->pw - spw, A->sw) + 1;
    if (g->oh < 1 || g->ow < 1)
        return sg_fail(c, A->node, SG_EVALUE, "the filter (spatial shape (%lld, %lld), dilation (%lld, %lld)) "
                       "does not fit the padded image (spatial shape (%lld, %lld), padding (%lld, %lld))",
                       (long long)kh, (long long)kw, (long long)A->dh, (long long)A->dw, (long long)H,
                       (long long)W, (long long)g->ph, (long long)g->pw);
    g->K = C * kh * kw;
    g->P = g->oh * g->ow;
    int64_t per = g->K * g->P > 0 ? g->K * g->P : 1, per_o = O * g->P > 0 ? O * g->P : 1;
    if (per_o > per) per = per_o;
    g->chunk = (1 << 22) / per;
    if (g->chunk < 1) g->chunk = 1;
    if (g->chunk > N) g->chunk = N;
    if (g->K > INT32_MAX || g->P * g->chunk > INT32_MAX || O > INT32_MAX)
        return sg_fail(c, A->node, SG_EVALUE, "convolution too large for 32-bit BLAS");
    return 0;
}

/* Wf (O, K) contiguous from kern (O, C, kh, kw), flipped spatially when flip */
static void sg_conv_filters_$S(const sg_val *k, const sg_geom_$S *g, int flip, $T *wf) {
    const $T *src = (const $T *)k->data;
    for (int64_t o = 0; o < g->O; o++)
        for (int64_t ch = 0; ch < g->C; ch++)
            for (int64_t i = 0; i < g->kh; i++)
                for (int64_t j = 0; j < g->kw; j++) {
                    int64_t si = flip ? g->kh - 1 - i : i, sj = flip ? g->kw - 1 - j : j;
                    wf[((o * g->C + ch) * g->kh + i) * g->kw + j] =
                        src[o * k->strides[0] + ch * k->strides[1] + si * k->strides[2] + sj * k->strides[3]];
                }
}

/* col (K, B*P) from images b0..b0+B-1 */
static void sg_im2col_$S(sg_ctx *c, const sg_val *img, const sg_conv_t *A, const sg_geom_$S *g, int64_t b0,
                         int64_t B, $T *col) {
    int64_t NP = B * g->P, s0 = img->strides[0], s1 = img->strides[1], s2 = img->strides[2], s3 = img->strides[3];
    /* no padding, unit steps along x: each (tap, output row) is one contiguous run */
    int plain = g->ph == 0 && g->pw == 0 && A->sw == 1 && s3 == 1;
    #pragma omp parallel for collapse(2) if (B * g->K * g->P >= (1 << 15) && c->nthreads > 1) schedule(static)
    for (int64_t bb = 0; bb < B; bb++)
        for (int64_t ch = 0; ch < g->C; ch++) {
            const $T *src = (const $T *)img->data + (b0 + bb) * s0 + ch * s1;
            if (plain) {
                int64_t ow = g->ow, rs = A->sh * s2;
                for (int64_t i = 0; i < g->kh; i++)
                    for (int64_t j = 0; j < g->kw; j++) {
                        $T *dst = col + ((ch * g->kh + i) * g->kw + j) * NP + bb * g->P;
                        const $T *sr = src + i * A->dh * s2 + j * A->dw;
                        for (int64_t oy = 0; oy < g->oh; oy++, dst += ow, sr += rs) {
                            #pragma omp simd
                            for (int64_t ox = 0; ox < ow; ox++) dst[ox] = sr[ox];
                        }
                    }
                continue;
            }
            for (int64_t i = 0; i < g->kh; i++)
                for (int64_t j = 0; j < g->kw; j++) {
                    $T *dst = col + ((ch * g->kh + i) * g->kw + j) * NP + bb * g->P;
                    int64_t x0 = j * A->dw - g->pw;
                    int64_t lo = x0 >= 0 ? 0 : (-x0 + A->sw - 1) / A->sw;          /* first ox with x >= 0 */
                    int64_t hi = g->W - x0 > 0 ? (g->W - x0 + A->sw - 1) / A->sw : 0; /* first ox with x >= W */
                    if (hi > g->ow) hi = g->ow;
                    if (lo > hi) lo = hi;
                    for (int64_t oy = 0; oy < g->oh; oy++) {
                        int64_t y = oy * A->sh + i * A->dh - g->ph;
                        $T *d = dst + oy * g->ow;
                        if (y < 0 || y >= g->H) { for (int64_t ox = 0; ox < g->ow; ox++) d[ox] = 0; continue; }
                        const $T *srow = src + y * s2;
                        int64_t step = A->sw * s3, base = x0 * s3;
                        for (int64_t ox = 0; ox < lo; ox++) d[ox] = 0;
                        if (step == 1) {
                            #pragma omp simd
                            for (int64_t ox = lo; ox < hi; ox++) d[ox] = srow[base + ox];
                        } else {
                            for (int64_t ox = lo; ox < hi; ox++) d[ox] = srow[base + ox * step];
                        }
                        for (int64_t ox = hi; ox < g->ow; ox++) d[ox] = 0;
                    }
                }
        }
}

/* out images b0..b0+B-1 (contiguous, zeroed) += col2im(gcolT), gcolT (B*P, K): one row per patch,
   read in order while the image planes being updated stay in L1 */
static void sg_col2im_$S(sg_ctx *c, const $T *gcolT, const sg_conv_t *A, const sg_geom_$S *g, int64_t b0,
                         int64_t B, $T *out) {
    int64_t HW = g->H * g->W;
    #pragma omp parallel for if (B * g->K * g->P >= (1 << 15) && c->nthreads > 1) schedule(static)
    for (int64_t bb = 0; bb < B; bb++) {
        $T *img = out + (b0 + bb) * g->C * HW;
        for (int64_t oy = 0; oy < g->oh; oy++)
            for (int64_t ox = 0; ox < g->ow; ox++) {
                const $T *row = gcolT + ((bb * g->oh + oy) * g->ow + ox) * g->K;
                int64_t ys = oy * A->sh - g->ph, xs = ox * A->sw - g->pw;
                int inside = ys >= 0 && xs >= 0 && ys + (g->kh - 1) * A->dh < g->H && xs + (g->kw - 1) * A->dw < g->W;
                for (int64_t ch = 0; ch < g->C; ch++) {
                    $T *plane = img + ch * HW;
                    for (int64_t i = 0; i < g->kh; i++) {
                        int64_t y = ys + i * A->dh;
                        const $T *r = row + (ch * g->kh + i) * g->kw;
                        if (inside) {
                            $T *d = plane + y * g->W + xs;
                            for (int64_t j = 0; j < g->kw; j++) d[j * A->dw] += r[j];
                            continue;
                        }
                        if (y < 0 || y >= g->H) continue;
                        for (int64_t j = 0; j < g->kw; j++) {
                            int64_t x = xs + j * A->dw;
                            if (x >= 0 && x < g->W) plane[y * g->W + x] += r[j];
                        }
                    }
                }
            }
    }
}

/* tg (O, B*P) from topgrad images b0..b0+B-1 (any strides) */
static void sg_regroup_$S(const sg_val *t, const sg_geom_$S *g, int64_t b0, int64_t B, $T *tg) {
    int64_t NP = B * g->P;
    for (int64_t bb = 0; bb < B; bb++)
        for (int64_t o = 0; o < g->O; o++) {
            const $T *src = (const $T *)t->data + (b0 + bb) * t->strides[0] + o * t->strides[1];
            $T *d = tg + o * NP + bb * g->P;
            if (t->strides[3] == 1 && t->strides[2] == g->ow) memcpy(d, src, g->P * sizeof($T));
            else
                for (int64_t y = 0; y < g->oh; y++)
                    for (int64_t x = 0; x < g->ow; x++) d[y * g->ow + x] = src[y * t->strides[2] + x * t->strides[3]];
        }
}

static void sg_gemm_$S(sg_ctx *c, int ta, int tb, int64_t M, int64_t N, int64_t K, const $T *a, int64_t lda,
                       const $T *b, int64_t ldb, $T beta, $T *cc, int64_t ldc) {
    sg_gemm_mt(c->nthreads, sizeof($T) == 8, ta, tb, M, N, K, a, lda, b, ldb, beta, cc, ldc);
}

SG_API int sg_conv2d_$S(sg_ctx *c, const sg_conv_t *A, int b, int wk, int wc, int wt, sg_val *img, sg_val *kern,
                        sg_val *out) {
    char s1[200], s2[200];
    if (img->shape[1] != kern->shape[1])
        return sg_fail(c, A->node, SG_EVALUE, "@conv2d: the input has %lld channels (shape %s) but the filters expect "
                       "%lld (filter shape %s)", (long long)img->shape[1], sg_shp(s1, 4, img->shape),
                       (long long)kern->shape[1], sg_shp(s2, 4, kern->shape));
    sg_geom_$S g;
    if (sg_conv_geom_$S(c, A, img->shape[0], img->shape[1], img->shape[2], img->shape[3], kern->shape[0],
                        kern->shape[2], kern->shape[3], &g)) return c->err_code;
    int64_t osh[4] = {g.N, g.O, g.oh, g.ow};
    if (sg_alloc(c, A->node, b, out, 4, osh, sizeof($T))) return c->err_code;
    if (g.N == 0 || g.O == 0) return 0;
    if (g.K == 0) { memset(out->data, 0, sg_size(4, osh) * sizeof($T)); return 0; }
    char *wf, *col, *tmp;
    if (sg_getbuf(c, A->node, wk, g.O * g.K * sizeof($T), &wf) ||
        sg_getbuf(c, A->node, wc, g.K * g.chunk * g.P * sizeof($T), &col) ||
        sg_getbuf(c, A->node, wt, g.O * g.chunk * g.P * sizeof($T), &tmp)) return c->err_code;
    sg_conv_filters_$S(kern, &g, A->flip, ($T *)wf);
    for (int64_t b0 = 0; b0 < g.N; b0 += g.chunk) {
        int64_t B = g.N - b0 < g.chunk ? g.N - b0 : g.chunk, NP = B * g.P;
        sg_im2col_$S(c, img, A, &g, b0, B, ($T *)col);
        $T *dst = B == 1 ? ($T *)out->data + b0 * g.O * g.P : ($T *)tmp;
        sg_gemm_$S(c, 0, 0, g.O, NP, g.K, ($T *)wf, g.K, ($T *)col, NP, 0, dst, NP);
        if (B == 1) continue;
        #pragma omp parallel for collapse(2) if (g.O * NP >= (1 << 16) && c->nthreads > 1) schedule(static)
        for (int64_t bb = 0; bb < B; bb++)
            for (int64_t o = 0; o < g.O; o++)
                memcpy(($T *)out->data + ((b0 + bb) * g.O + o) * g.P, ($T *)tmp + o * NP + bb * g.P,
                       g.P * sizeof($T));
    }
    return 0;
}

SG_API int sg_conv2d_gi_$S(sg_ctx *c, const sg_conv_t *A, int b, int wk, int wc, int wt, sg_val *kern,
                           sg_val *top, int64_t H, int64_t W, sg_val *out) {
    char s1[200], s2[200];
    if (kern->shape[0] != top->shape[1])
        return sg_fail(c, A->node, SG_EVALUE, "filters of shape %s do not match an output gradient of shape %s",
                       sg_shp(s1, 4, kern->shape), sg_shp(s2, 4, top->shape));
    sg_geom_$S g;
    if (sg_conv_geom_$S(c, A, top->shape[0], kern->shape[1], H, W, kern->shape[0], kern->shape[2],
                        kern->shape[3], &g)) return c->err_code;
    if (top->shape[2] != g.oh || top->shape[3] != g.ow)
        return sg_fail(c, A->node, SG_EVALUE, "output gradient has spatial shape (%lld, %lld) but an image of "
                       "spatial shape (%lld, %lld) gives (%lld, %lld)", (long long)top->shape[2],
                       (long long)top->shape[3], (long long)H, (long long)W, (long long)g.oh, (long long)g.ow);
    int64_t osh[4] = {g.N, g.C, H, W};
    if (sg_alloc(c, A->node, b, out, 4, osh, sizeof($T))) return c->err_code;
    memset(out->data, 0, sg_size(4, osh) * sizeof($T));
    if (g.N == 0 || g.K == 0 || g.O == 0) return 0;
    char *wf, *col, *tg;
    if (sg_getbuf(c, A->node, wk, g.O * g.K * sizeof($T), &wf) ||
        sg_getbuf(c, A->node, wc, g.K * g.chunk * g.P * sizeof($T), &col) ||
        sg_getbuf(c, A->node, wt, g.O * g.chunk * g.P * sizeof($T), &tg)) return c->err_code;
    sg_conv_filters_$S(kern, &g, A->flip, ($T *)wf);
    for (int64_t b0 = 0; b0 < g.N; b0 += g.chunk) {
        int64_t B = g.N - b0 < g.chunk ? g.N - b0 : g.chunk, NP = B * g.P;
        sg_regroup_$S(top, &g, b0, B, ($T *)tg);
        sg_gemm_$S(c, 1, 0, NP, g.K, g.O, ($T *)tg, NP, ($T *)wf, g.K, 0, ($T *)col, g.K);   /* gcolT */
        sg_col2im_$S(c, ($T *)col, A, &g, b0, B, ($T *)out->data);
    }
    return 0;
}

SG_API int sg_conv2d_gw_$S(sg_ctx *c, const sg_conv_t *A, int b, int wk, int wc, int wt, sg_val *img,
                           sg_val *top, int64_t kh, int64_t kw, sg_val *out) {
    char s1[200], s2[200];
    if (img->shape[0] != top->shape[0])
        return sg_fail(c, A->node, SG_EVALUE, "an input of shape %s does not match an output gradient of shape %s",
                       sg_shp(s1, 4, img->shape), sg_shp(s2, 4, top->shape));
    sg_geom_$S g;
    if (sg_conv_geom_$S(c, A, img->shape[0], img->shape[1], img->shape[2], img->shape[3], top->shape[1],
                        kh, kw, &g)) return c->err_code;
    if (top->shape[2] != g.oh || top->shape[3] != g.ow)
        return sg_fail(c, A->node, SG_EVALUE, "output gradient has spatial shape (%lld, %lld) but an image of "
                       "spatial shape (%lld, %lld) gives (%lld, %lld)", (long long)top->shape[2],
                       (long long)top->shape[3], (long long)g.H, (long long)g.W, (long long)g.oh, (long long)g.ow);
    int64_t osh[4] = {g.O, g.C, kh, kw};
    if (sg_alloc(c, A->node, b, out, 4, osh, sizeof($T))) return c->err_code;
    char *gw, *col, *tg;
    if (sg_getbuf(c, A->node, wk, (g.O * g.K + 1) * sizeof($T), &gw) ||
        sg_getbuf(c, A->node, wc, g.K * g.chunk * g.P * sizeof($T), &col) ||
        sg_getbuf(c, A->node, wt, g.O * g.chunk * g.P * sizeof($T), &tg)) return c->err_code;
    $T *acc = A->flip ? ($T *)gw : ($T *)out->data;
    memset(acc, 0, g.O * g.K * sizeof($T));
    for (int64_t b0 = 0; b0 < g.N && g.K > 0 && g.O > 0; b0 += g.chunk) {
        int64_t B = g.N - b0 < g.chunk ? g.N - b0 : g.chunk, NP = B * g.P;
        sg_im2col_$S(c, img, A, &g, b0, B, ($T *)col);
        sg_regroup_$S(top, &g, b0, B, ($T *)tg);
        sg_gemm_$S(c, 0, 1, g.O, g.K, NP, ($T *)tg, NP, ($T *)col, NP, 1, acc, g.K);
    }
    if (A->flip) {
        $T *o = ($T *)out->data;
        for (int64_t q = 0; q < g.O * g.C; q++)
            for (int64_t i = 0; i < kh; i++)
                for (int64_t j = 0; j < kw; j++)
                    o[(q * kh + i) * kw + j] = acc[(q * kh + kh - 1 - i) * kw + kw - 1 - j];
    }
    return 0;
}
"""


def impl():
    """The instantiated C text (float and double)."""
    return "".join(TEMPLATE.replace("$T", t).replace("$S", s) for t, s in (("float", "f32"), ("double", "f64")))
