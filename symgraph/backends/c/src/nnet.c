/* The neural-network ops: softmax family, 2-D pooling, MRG31k3p uniforms.

   The typed functions are written once in nnet_impl.h and instantiated below for float and
   double. Rows (softmax) and image planes (pooling) are independent, so OpenMP splits them over
   threads. */
#include "sg_runtime.h"

/* ops.random.MRG_NORM32 as a float (tests/backends/test_c_sources.py checks that they agree) */
#define SG_MRG_NORM32 4.6566125955216364e-10f


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

#define SG_PER_DTYPE "nnet_impl.h"
#include "sg_per_dtype.h"
