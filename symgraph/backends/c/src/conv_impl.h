/* Convolution and its gradients for one element type: conv.c includes this file once per dtype
   (SG_T, SG_S, SG_MSFX; see sg_runtime.h). */
#if !defined(SG_T) || !defined(SG_S) || !defined(SG_MSFX)
#error "define SG_T (element type), SG_S (name suffix) and SG_MSFX (libm suffix) before including this file"
#endif

/* ---------------------------------------------------------------- convolution */
typedef struct { int64_t N, C, H, W, O, kh, kw, ph, pw, oh, ow, K, P, chunk, nchunks; int nt, par; } SG_FN(geom);

static int SG_FN(conv_geom)(sg_ctx *c, const sg_conv_t *A, int64_t N, int64_t C, int64_t H, int64_t W,
                           int64_t O, int64_t kh, int64_t kw, SG_FN(geom) *g) {
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
    /* elements per image in the larger of col (K x P) and the regrouped output (O x P) */
    int64_t per = g->K * g->P > 0 ? g->K * g->P : 1, per_o = O * g->P > 0 ? O * g->P : 1;
    if (per_o > per) per = per_o;
    int64_t B = (int64_t)(SG_CONV_CHUNK_BYTES / sizeof(SG_T)) / per;
    if (B * g->P < SG_CONV_MIN_COLS) B = (SG_CONV_MIN_COLS + g->P - 1) / g->P;   /* a gemm worth calling */
    if (B < 1) B = 1;
    /* the chunking depends on the shapes only (not on threads), so every output element is summed
       in the same order however the chunks are spread over threads */
    int64_t nch = N > 0 ? (N + B - 1) / B : 0;
    if (nch > 1) {          /* a power of two below 8, else a multiple of 8: even shares for threads */
        int64_t m = 1;
        while (m < nch && m < SG_CONV_GROUPS) m *= 2;
        nch = (nch + m - 1) / m * m;
        if (nch > N) nch = N;
        B = (N + nch - 1) / nch;
    }
    if (B > N) B = N;
    if (B < 1) B = 1;
    g->chunk = B;
    g->nchunks = N > 0 ? (N + B - 1) / B : 0;
    int nt = c->nthreads > 1 ? c->nthreads : 1;
    g->par = sg_par(c, (double)N * O * g->K * g->P, 2e6);
    g->nt = g->par && g->nchunks >= nt ? nt : 1;    /* else chunk by chunk, each gemm split over threads */
    if (g->K > INT32_MAX || g->P * g->chunk > INT32_MAX || O > INT32_MAX || g->K * g->chunk * g->P > INT32_MAX)
        return sg_fail(c, A->node, SG_EVALUE, "convolution too large for 32-bit BLAS");
    return 0;
}

/* the output columns [lo, hi) whose tap at image column x0 + ox * sw falls inside the image */
static inline void SG_FN(conv_span)(const sg_conv_t *A, const SG_FN(geom) *g, int64_t x0, int64_t *lo, int64_t *hi) {
    int64_t l = x0 >= 0 ? 0 : (-x0 + A->sw - 1) / A->sw;
    int64_t h = g->W - x0 > 0 ? (g->W - x0 + A->sw - 1) / A->sw : 0;
    if (h > g->ow) h = g->ow;
    *lo = l > h ? h : l;
    *hi = h;
}

/* the output gradient's spatial shape must be the one the image and filters give */
static int SG_FN(conv_check_top)(sg_ctx *c, const sg_conv_t *A, const sg_val *top, const SG_FN(geom) *g) {
    if (top->shape[2] == g->oh && top->shape[3] == g->ow) return 0;
    return sg_fail(c, A->node, SG_EVALUE, "output gradient has spatial shape (%lld, %lld) but an image of "
                   "spatial shape (%lld, %lld) gives (%lld, %lld)", (long long)top->shape[2],
                   (long long)top->shape[3], (long long)g->H, (long long)g->W, (long long)g->oh, (long long)g->ow);
}

/* Wf (O, K) contiguous from kern (O, C, kh, kw), flipped spatially when flip */
static void SG_FN(conv_filters)(const sg_val *k, const SG_FN(geom) *g, int flip, SG_T *wf) {
    const SG_T *src = (const SG_T *)k->data;
    for (int64_t o = 0; o < g->O; o++)
        for (int64_t ch = 0; ch < g->C; ch++)
            for (int64_t i = 0; i < g->kh; i++)
                for (int64_t j = 0; j < g->kw; j++) {
                    int64_t si = flip ? g->kh - 1 - i : i, sj = flip ? g->kw - 1 - j : j;
                    wf[((o * g->C + ch) * g->kh + i) * g->kw + j] =
                        src[o * k->strides[0] + ch * k->strides[1] + si * k->strides[2] + sj * k->strides[3]];
                }
}

/* col (K, B*P) from images b0..b0+B-1; par: the copy may split over threads (called outside a team) */
static void SG_FN(im2col)(int par, const sg_val *img, const sg_conv_t *A, const SG_FN(geom) *g, int64_t b0,
                         int64_t B, SG_T *col) {
    int64_t NP = B * g->P, s0 = img->strides[0], s1 = img->strides[1], s2 = img->strides[2], s3 = img->strides[3];
    /* no padding, unit steps along x: each (tap, output row) is one contiguous run */
    int plain = g->ph == 0 && g->pw == 0 && A->sw == 1 && s3 == 1;
    #pragma omp parallel for collapse(2) if (par && B * g->K * g->P >= (1 << 15)) schedule(static)
    for (int64_t bb = 0; bb < B; bb++)
        for (int64_t ch = 0; ch < g->C; ch++) {
            const SG_T *src = (const SG_T *)img->data + (b0 + bb) * s0 + ch * s1;
            if (plain) {
                int64_t ow = g->ow, rs = A->sh * s2;
                for (int64_t i = 0; i < g->kh; i++)
                    for (int64_t j = 0; j < g->kw; j++) {
                        SG_T *dst = col + ((ch * g->kh + i) * g->kw + j) * NP + bb * g->P;
                        const SG_T *sr = src + i * A->dh * s2 + j * A->dw;
                        if (rs == ow) { memcpy(dst, sr, g->P * sizeof(SG_T)); continue; }
                        if ((ow & 7) == 0) {             /* rows of whole 8-element blocks */
                            for (int64_t oy = 0; oy < g->oh; oy++, dst += ow, sr += rs)
                                for (int64_t ox = 0; ox < ow; ox += 8) memcpy(dst + ox, sr + ox, 8 * sizeof(SG_T));
                            continue;
                        }
                        for (int64_t oy = 0; oy < g->oh; oy++, dst += ow, sr += rs) {
                            #pragma omp simd
                            for (int64_t ox = 0; ox < ow; ox++) dst[ox] = sr[ox];
                        }
                    }
                continue;
            }
            for (int64_t i = 0; i < g->kh; i++)
                for (int64_t j = 0; j < g->kw; j++) {
                    SG_T *dst = col + ((ch * g->kh + i) * g->kw + j) * NP + bb * g->P;
                    int64_t x0 = j * A->dw - g->pw, lo, hi;
                    SG_FN(conv_span)(A, g, x0, &lo, &hi);
                    for (int64_t oy = 0; oy < g->oh; oy++) {
                        int64_t y = oy * A->sh + i * A->dh - g->ph;
                        SG_T *d = dst + oy * g->ow;
                        if (y < 0 || y >= g->H) { for (int64_t ox = 0; ox < g->ow; ox++) d[ox] = 0; continue; }
                        const SG_T *srow = src + y * s2;
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

/* d[0..8) += s[0..8): one or two vector adds (unaligned, through memcpy) */
static inline void SG_FN(add8)(SG_T *d, const SG_T *s) {
    typedef SG_T v8 __attribute__((vector_size(8 * sizeof(SG_T))));
    v8 a, b;
    memcpy(&a, d, sizeof a);
    memcpy(&b, s, sizeof b);
    a += b;
    memcpy(d, &a, sizeof a);
}

/* out images b0..b0+B-1 (contiguous) = col2im(gcol), gcol (K, B*P) as im2col lays it out: each
   (tap, output row) run is added to one image row, a vector loop; each image is zeroed first */
static void SG_FN(col2im)(int par, const SG_T *gcol, const sg_conv_t *A, const SG_FN(geom) *g, int64_t b0,
                         int64_t B, SG_T *out) {
    int64_t HW = g->H * g->W, NP = B * g->P;
    #pragma omp parallel for if (par && B * g->K * g->P >= (1 << 15)) schedule(static)
    for (int64_t bb = 0; bb < B; bb++) {
        SG_T *img = out + (b0 + bb) * g->C * HW;
        memset(img, 0, g->C * HW * sizeof(SG_T));
        for (int64_t ch = 0; ch < g->C; ch++) {
            SG_T *plane = img + ch * HW;
            for (int64_t i = 0; i < g->kh; i++)
                for (int64_t j = 0; j < g->kw; j++) {
                    const SG_T *src = gcol + ((ch * g->kh + i) * g->kw + j) * NP + bb * g->P;
                    int64_t x0 = j * A->dw - g->pw, lo, hi;
                    SG_FN(conv_span)(A, g, x0, &lo, &hi);
                    for (int64_t oy = 0; oy < g->oh; oy++) {
                        int64_t y = oy * A->sh + i * A->dh - g->ph;
                        if (y < 0 || y >= g->H) continue;
                        SG_T *restrict d = plane + y * g->W + x0;
                        const SG_T *restrict sr = src + oy * g->ow;
                        if (A->sw == 1 && lo == 0 && hi == g->ow && (hi & 7) == 0) {
                            for (int64_t ox = 0; ox < hi; ox += 8) SG_FN(add8)(d + ox, sr + ox);
                        } else if (A->sw == 1) {
                            #pragma omp simd
                            for (int64_t ox = lo; ox < hi; ox++) d[ox] += sr[ox];
                        } else {
                            for (int64_t ox = lo; ox < hi; ox++) d[ox * A->sw] += sr[ox];
                        }
                    }
                }
        }
    }
}

/* tg (O, B*P) from topgrad images b0..b0+B-1 (any strides) */
static void SG_FN(regroup)(const sg_val *t, const SG_FN(geom) *g, int64_t b0, int64_t B, SG_T *tg) {
    int64_t NP = B * g->P;
    for (int64_t bb = 0; bb < B; bb++)
        for (int64_t o = 0; o < g->O; o++) {
            const SG_T *src = (const SG_T *)t->data + (b0 + bb) * t->strides[0] + o * t->strides[1];
            SG_T *d = tg + o * NP + bb * g->P;
            if (t->strides[3] == 1 && t->strides[2] == g->ow) memcpy(d, src, g->P * sizeof(SG_T));
            else
                for (int64_t y = 0; y < g->oh; y++)
                    for (int64_t x = 0; x < g->ow; x++) d[y * g->ow + x] = src[y * t->strides[2] + x * t->strides[3]];
        }
}

/* a chunk's product: always one BLAS call on the calling thread, so an element is computed the
   same way whichever thread runs its chunk (parallelism comes from the chunks) */
static void SG_FN(conv_gemm)(int ta, int tb, int64_t M, int64_t N, int64_t K, const SG_T *a, int64_t lda,
                            const SG_T *b, int64_t ldb, SG_T beta, SG_T *cc, int64_t ldc) {
    sg_gemm_1(sizeof(SG_T) == 8, ta, tb, M, N, K, a, lda, b, ldb, beta, cc, ldc);
}

/* The forward pass's and the inputs gradient's workspaces: Wf (O, K) built from the filters in
   wk, and one slice per thread of col (K x chunk*P) in wc and of the regrouped output or output
   gradient (O x chunk*P) in wt. */
static int SG_FN(conv_workspaces)(sg_ctx *c, const sg_conv_t *A, const SG_FN(geom) *g, const sg_val *kern, int wk,
                                 int wc, int wt, SG_T **wf, SG_T **col, SG_T **grp) {
    char *a, *b, *d;
    if (sg_getbuf(c, A->node, wk, g->O * g->K * sizeof(SG_T), &a) ||
        sg_getbuf(c, A->node, wc, g->nt * g->K * g->chunk * g->P * sizeof(SG_T), &b) ||
        sg_getbuf(c, A->node, wt, g->nt * g->O * g->chunk * g->P * sizeof(SG_T), &d)) return c->err_code;
    *wf = (SG_T *)a; *col = (SG_T *)b; *grp = (SG_T *)d;
    SG_FN(conv_filters)(kern, g, A->flip, *wf);
    return 0;
}

/* A float32 pass through oneDNN (conv_dnnl.c) when the library was built with it: pass 0 forward
   (x image, w filters, y output), 1 inputs gradient (x the result), 2 weights gradient (w the
   result). The correlation filters oneDNN takes are flipped here for a true convolution (into
   workspace wk). Returns 0 done, 1 declined (the caller goes on with im2col), -1 failed. */
static int SG_FN(sg_contig4)(const sg_val *v) {
    return v->strides[3] == 1 && v->strides[2] == v->shape[3] && v->strides[1] == v->shape[2] * v->shape[3] &&
           v->strides[0] == v->shape[1] * v->shape[2] * v->shape[3];
}

static int SG_FN(conv_try_dnnl)(sg_ctx *c, const sg_conv_t *A, const SG_FN(geom) *g, int pass, int wk, int wc, int wt,
                               sg_val *x, sg_val *w, sg_val *y) {
    if (sizeof(SG_T) != 4 || !sg_dnnl_available()) return 1;
    if (!SG_FN(sg_contig4)(x) || !SG_FN(sg_contig4)(w) || !SG_FN(sg_contig4)(y)) return 1;
    int64_t sph = (g->kh - 1) * A->dh + 1, spw = (g->kw - 1) * A->dw + 1;
    int64_t xd[4] = {g->N, g->C, g->H, g->W}, wd[4] = {g->O, g->C, g->kh, g->kw}, yd[4] = {g->N, g->O, g->oh, g->ow};
    int64_t st[2] = {A->sh, A->sw}, dil[2] = {A->dh, A->dw}, pl[2] = {g->ph, g->pw};
    int64_t pr[2] = {(g->oh - 1) * A->sh + sph - g->H - g->ph, (g->ow - 1) * A->sw + spw - g->W - g->pw};
    SG_T *wf = (SG_T *)w->data;
    char *buf;
    if (A->flip || pass == 2) {
        if (sg_getbuf(c, A->node, wk, g->O * g->K * sizeof(SG_T), &buf)) return -1;
        wf = (SG_T *)buf;
        if (pass != 2) SG_FN(conv_filters)(w, g, A->flip, wf);
    }
    if (pass == 2 && !A->flip) wf = (SG_T *)w->data;
    int rc = sg_dnnl_conv(c, A->node, wc, wt, pass, xd, wd, yd, st, dil, pl, pr, (float *)x->data, (float *)wf,
                          (float *)y->data);
    if (rc) return rc;
    if (pass == 2 && A->flip) {
        SG_T *o = (SG_T *)w->data;
        for (int64_t f = 0; f < g->O * g->C; f++)
            for (int64_t i = 0; i < g->kh; i++)
                for (int64_t j = 0; j < g->kw; j++)
                    o[(f * g->kh + i) * g->kw + j] = wf[(f * g->kh + g->kh - 1 - i) * g->kw + g->kw - 1 - j];
    }
    return 0;
}

/* the chunks of the batch, split over g.nt threads (each with its own slice of the workspaces) */
#define SG_CONV_CHUNKS(g, ...)                                                                     \
    _Pragma("omp parallel for num_threads((g).nt) if ((g).nt > 1) schedule(static)")                \
    for (int64_t q = 0; q < (g).nchunks; q++) {                                                     \
        int t = (g).nt > 1 ? sg_conv_tid() : 0;                                                     \
        int64_t b0 = q * (g).chunk, B = (g).N - b0 < (g).chunk ? (g).N - b0 : (g).chunk, NP = B * (g).P; \
        (void)t; (void)NP;                                                                          \
        __VA_ARGS__                                                                                 \
    }

SG_API int SG_FN(conv2d)(sg_ctx *c, const sg_conv_t *A, int b, int wk, int wc, int wt, sg_val *img, sg_val *kern,
                        sg_val *out) {
    char s1[200], s2[200];
    if (img->shape[1] != kern->shape[1])
        return sg_fail(c, A->node, SG_EVALUE, "@conv2d: the input has %lld channels (shape %s) but the filters expect "
                       "%lld (filter shape %s)", (long long)img->shape[1], sg_shp(s1, 4, img->shape),
                       (long long)kern->shape[1], sg_shp(s2, 4, kern->shape));
    SG_FN(geom) g;
    if (SG_FN(conv_geom)(c, A, img->shape[0], img->shape[1], img->shape[2], img->shape[3], kern->shape[0],
                        kern->shape[2], kern->shape[3], &g)) return c->err_code;
    int64_t osh[4] = {g.N, g.O, g.oh, g.ow};
    if (sg_alloc(c, A->node, b, out, 4, osh, sizeof(SG_T))) return c->err_code;
    if (g.N == 0 || g.O == 0) return 0;
    if (g.K == 0) { memset(out->data, 0, sg_size(4, osh) * sizeof(SG_T)); return 0; }
    int dn = SG_FN(conv_try_dnnl)(c, A, &g, 0, wk, wc, wt, img, kern, out);
    if (dn <= 0) return dn < 0 ? c->err_code : 0;
    SG_T *wf, *col, *tmp;
    int64_t ncol = g.K * g.chunk * g.P, ntmp = g.O * g.chunk * g.P;
    if (SG_FN(conv_workspaces)(c, A, &g, kern, wk, wc, wt, &wf, &col, &tmp)) return c->err_code;
    SG_T *O_ = (SG_T *)out->data;
    SG_CONV_CHUNKS(g, {
        SG_T *cl = col + t * ncol, *tp = tmp + t * ntmp;
        SG_FN(im2col)(g.par && g.nt == 1, img, A, &g, b0, B, cl);
        SG_T *dst = B == 1 ? O_ + b0 * g.O * g.P : tp;
        SG_FN(conv_gemm)(0, 0, g.O, NP, g.K, wf, g.K, cl, NP, 0, dst, NP);
        if (B > 1)
            for (int64_t bb = 0; bb < B; bb++)
                for (int64_t o = 0; o < g.O; o++)
                    memcpy(O_ + ((b0 + bb) * g.O + o) * g.P, tp + o * NP + bb * g.P, g.P * sizeof(SG_T));
    })
    return 0;
}

SG_API int SG_FN(conv2d_gi)(sg_ctx *c, const sg_conv_t *A, int b, int wk, int wc, int wt, sg_val *kern,
                           sg_val *top, int64_t H, int64_t W, sg_val *out) {
    char s1[200], s2[200];
    if (kern->shape[0] != top->shape[1])
        return sg_fail(c, A->node, SG_EVALUE, "filters of shape %s do not match an output gradient of shape %s",
                       sg_shp(s1, 4, kern->shape), sg_shp(s2, 4, top->shape));
    SG_FN(geom) g;
    if (SG_FN(conv_geom)(c, A, top->shape[0], kern->shape[1], H, W, kern->shape[0], kern->shape[2],
                        kern->shape[3], &g)) return c->err_code;
    if (SG_FN(conv_check_top)(c, A, top, &g)) return c->err_code;
    int64_t osh[4] = {g.N, g.C, H, W};
    if (sg_alloc(c, A->node, b, out, 4, osh, sizeof(SG_T))) return c->err_code;
    if (g.N == 0 || g.K == 0 || g.O == 0) { memset(out->data, 0, sg_size(4, osh) * sizeof(SG_T)); return 0; }
    int dn = SG_FN(conv_try_dnnl)(c, A, &g, 1, wk, wc, wt, out, kern, top);
    if (dn <= 0) return dn < 0 ? c->err_code : 0;
    SG_T *wf, *col, *tg;
    int64_t ncol = g.K * g.chunk * g.P, ntg = g.O * g.chunk * g.P;
    if (SG_FN(conv_workspaces)(c, A, &g, kern, wk, wc, wt, &wf, &col, &tg)) return c->err_code;
    SG_CONV_CHUNKS(g, {
        SG_T *cl = col + t * ncol, *tgt = tg + t * ntg;
        SG_FN(regroup)(top, &g, b0, B, tgt);
        SG_FN(conv_gemm)(1, 0, g.K, NP, g.O, wf, g.K, tgt, NP, 0, cl, NP);   /* gcol */
        SG_FN(col2im)(g.par && g.nt == 1, cl, A, &g, b0, B, (SG_T *)out->data);
    })
    return 0;
}

SG_API int SG_FN(conv2d_gw)(sg_ctx *c, const sg_conv_t *A, int b, int wk, int wc, int wt, sg_val *img,
                           sg_val *top, int64_t kh, int64_t kw, sg_val *out) {
    char s1[200], s2[200];
    if (img->shape[0] != top->shape[0])
        return sg_fail(c, A->node, SG_EVALUE, "an input of shape %s does not match an output gradient of shape %s",
                       sg_shp(s1, 4, img->shape), sg_shp(s2, 4, top->shape));
    SG_FN(geom) g;
    if (SG_FN(conv_geom)(c, A, img->shape[0], img->shape[1], img->shape[2], img->shape[3], top->shape[1],
                        kh, kw, &g)) return c->err_code;
    if (SG_FN(conv_check_top)(c, A, top, &g)) return c->err_code;
    int64_t osh[4] = {g.O, g.C, kh, kw};
    if (sg_alloc(c, A->node, b, out, 4, osh, sizeof(SG_T))) return c->err_code;
    if (g.N > 0 && g.K > 0 && g.O > 0) {
        int dn = SG_FN(conv_try_dnnl)(c, A, &g, 2, wk, wc, wt, img, out, top);
        if (dn <= 0) return dn < 0 ? c->err_code : 0;
    }
    char *gw, *col, *tg;
    int64_t ncol = g.K * g.chunk * g.P, ntg = g.O * g.chunk * g.P, OK = g.O * g.K;
    int64_t G = g.nchunks < SG_CONV_GROUPS ? g.nchunks : SG_CONV_GROUPS;
    if (G < 1) G = 1;
    if (sg_getbuf(c, A->node, wk, (G * OK + 1) * sizeof(SG_T), &gw) ||
        sg_getbuf(c, A->node, wc, g.nt * ncol * sizeof(SG_T), &col) ||
        sg_getbuf(c, A->node, wt, g.nt * ntg * sizeof(SG_T), &tg)) return c->err_code;
    SG_T *acc = (SG_T *)gw;                            /* partial sum j: chunks j, j + G, j + 2G, ... in order */
    /* the sums as (K, O) when K is much larger than O: OpenBLAS is faster with the long side as M */
    int tr = g.K >= 4 * g.O;
    memset(acc, 0, G * OK * sizeof(SG_T));
    if (g.K > 0 && g.O > 0) {
        #pragma omp parallel for num_threads(g.nt) if (g.nt > 1) schedule(static)
        for (int64_t j = 0; j < G; j++) {
            int t = g.nt > 1 ? sg_conv_tid() : 0;
            SG_T *cl = (SG_T *)col + t * ncol, *tgt = (SG_T *)tg + t * ntg;
            for (int64_t q = j; q < g.nchunks; q += G) {
                int64_t b0 = q * g.chunk, B = g.N - b0 < g.chunk ? g.N - b0 : g.chunk, NP = B * g.P;
                SG_FN(im2col)(g.par && g.nt == 1, img, A, &g, b0, B, cl);
                SG_FN(regroup)(top, &g, b0, B, tgt);
                if (tr) SG_FN(conv_gemm)(0, 1, g.K, g.O, NP, cl, NP, tgt, NP, 1, acc + j * OK, g.O);
                else SG_FN(conv_gemm)(0, 1, g.O, g.K, NP, tgt, NP, cl, NP, 1, acc + j * OK, g.K);
            }
        }
    }
    for (int64_t j = 1; j < G; j++)
        for (int64_t q = 0; q < OK; q++) acc[q] += acc[j * OK + q];
    SG_T *o = (SG_T *)out->data;
    int64_t CK = g.C * kh * kw;
    for (int64_t f = 0; f < g.O; f++)
        for (int64_t ch = 0; ch < g.C; ch++)
            for (int64_t i = 0; i < kh; i++)
                for (int64_t j = 0; j < kw; j++) {
                    int64_t si = A->flip ? kh - 1 - i : i, sj = A->flip ? kw - 1 - j : j;
                    int64_t k = (ch * kh + si) * kw + sj;          /* the tap's row of col */
                    o[((f * g.C + ch) * kh + i) * kw + j] = tr ? acc[k * g.O + f] : acc[f * CK + k];
                }
    return 0;
}
