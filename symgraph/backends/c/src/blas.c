/* Helpers that call BLAS (OpenBLAS's scipy_cblas_* by default; see sg_cblas.h) on strided views.

   A transposed view is passed as CblasTrans with its leading dimension instead of being copied;
   only views with no unit stride (x[:, ::2]) or with broadcast (stride-0) dims are first copied
   into a workspace buffer. */
#include "sg_runtime.h"

#include "sg_cblas.h"

/* OpenBLAS runs single-threaded; large products are split over OpenMP threads instead, so the
   process has one thread pool (OpenMP's) rather than two competing for the cores. */
#if defined(SG_BLAS_PLAIN) || defined(SG_BLAS_NONE)
/* A user-chosen BLAS: make an OpenBLAS single-threaded if that is what was linked. */
extern void openblas_set_num_threads(int) __attribute__((weak));
SG_API void sg_blas_init(void) { if (openblas_set_num_threads) openblas_set_num_threads(1); }
#else
SG_API void sg_blas_init(void) { scipy_openblas_set_num_threads(1); }
#endif

/* One single-threaded product (row-major, alpha 1); the kernels that split work over threads
   themselves call it from inside their parallel regions. */
SG_API void sg_gemm_1(int dbl, int ta, int tb, int64_t M, int64_t N, int64_t K, const void *A, int64_t lda,
                      const void *B, int64_t ldb, double beta, void *C, int64_t ldc) {
    enum CBLAS_TRANSPOSE oa = ta ? CblasTrans : CblasNoTrans, ob = tb ? CblasTrans : CblasNoTrans;
    if (dbl)
        SG_CBLAS(dgemm)(CblasRowMajor, oa, ob, (int)M, (int)N, (int)K, 1.0, (const double *)A, (int)lda,
                          (const double *)B, (int)ldb, beta, (double *)C, (int)ldc);
    else
        SG_CBLAS(sgemm)(CblasRowMajor, oa, ob, (int)M, (int)N, (int)K, 1.0f, (const float *)A, (int)lda,
                          (const float *)B, (int)ldb, (float)beta, (float *)C, (int)ldc);
}

/* A product split into pieces along its longer output dimension. The pieces depend on the shape
   alone (a power of two, at most 8, each at least 128 wide, and only for 4 MFLOP or more), and
   `nthreads` only decides how many threads share them, so every element is computed by the same
   BLAS call whether the product runs on one thread or several: results do not depend on the
   thread count or on the thread policy (sg_threads). */
SG_API void sg_gemm_mt(int nthreads, int dbl, int ta, int tb, int64_t M, int64_t N, int64_t K, const void *A,
                       int64_t lda, const void *B, int64_t ldb, double beta, void *C, int64_t ldc) {
    int isz = dbl ? 8 : 4, split_n = N >= M, pieces = 1;
    int64_t D = split_n ? N : M;
    if ((double)M * N * K >= 4e6)
        while (pieces < 8 && D / (2 * pieces) >= 128) pieces *= 2;
    int64_t chunk = ((D + pieces - 1) / pieces + 15) / 16 * 16;
    int nt = nthreads < pieces ? nthreads : pieces;
    #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int p = 0; p < pieces; p++) {
        int64_t lo = p * chunk < D ? p * chunk : D, hi = lo + chunk < D ? lo + chunk : D;
        if (lo >= hi) continue;
        const char *a = (const char *)A, *b = (const char *)B;
        char *cc = (char *)C;
        int64_t m = M, n = N;
        if (split_n) { n = hi - lo; b += (tb ? lo * ldb : lo) * isz; cc += lo * isz; }
        else { m = hi - lo; a += (ta ? lo : lo * lda) * isz; cc += lo * ldc * isz; }
        sg_gemm_1(dbl, ta, tb, m, n, K, a, lda, b, ldb, beta, cc, ldc);
    }
}

/* 0: row-major as stored (lda = *ld); 1: stored transposed; -1: needs a copy. */
SG_API int sg_blas_layout(const sg_val *a, int64_t *ld) {
    int64_t r = a->shape[0], k = a->shape[1], s0 = a->strides[0], s1 = a->strides[1];
    int64_t kk = k > 1 ? k : 1, rr = r > 1 ? r : 1;
    if ((s1 == 1 || k <= 1) && (r <= 1 || s0 >= kk)) { *ld = r <= 1 ? kk : s0; return 0; }
    if ((s0 == 1 || r <= 1) && (k <= 1 || s1 >= rr)) { *ld = k <= 1 ? rr : s1; return 1; }
    return -1;
}

SG_API int sg_blas_matrix(sg_ctx *c, int node, int ws, sg_val *a, int isz, int64_t *ld) {
    int t = sg_blas_layout(a, ld);
    if (t >= 0) return t;
    sg_val src = *a;
    if (sg_alloc(c, node, ws, a, 2, src.shape, isz)) return -2;
    uint32_t bm[2] = {0, 0};
    sg_copy(2, src.shape, a, &src, bm, isz);
    *ld = a->shape[1] > 1 ? a->shape[1] : 1;
    return 0;
}

SG_API int sg_blas_vector(sg_ctx *c, int node, int ws, sg_val *v, int isz, int64_t *inc) {
    if (v->shape[0] <= 1) { *inc = 1; return 0; }
    if (v->strides[0] > 0) { *inc = v->strides[0]; return 0; }
    sg_val src = *v;
    if (sg_alloc(c, node, ws, v, 1, src.shape, isz)) return -2;
    uint32_t bm[2] = {0, 0};
    sg_copy(1, src.shape, v, &src, bm, isz);
    *inc = 1;
    return 0;
}

SG_API int sg_blas_check(sg_ctx *c, int node, int64_t a, int64_t b, int64_t d) {
    if (a > INT32_MAX || b > INT32_MAX || d > INT32_MAX)
        return sg_fail(c, node, SG_EVALUE, "matrix too large for 32-bit BLAS");
    return 0;
}

/* C (M, N), contiguous and allocated, = A (M, K) . B (K, N) */
SG_API int sg_gemm(sg_ctx *c, int node, int dbl, sg_val *A, sg_val *B, sg_val *C, int wsa, int wsb) {
    int64_t M = A->shape[0], K = A->shape[1], N = B->shape[1], lda, ldb;
    int isz = dbl ? 8 : 4;
    if (M == 0 || N == 0) return 0;
    if (K == 0) { memset(C->data, 0, M * N * isz); return 0; }
    if (sg_blas_check(c, node, M, N, K)) return c->err_code;
    sg_val a = *A, b = *B;
    int ta = sg_blas_matrix(c, node, wsa, &a, isz, &lda);
    if (ta < -1) return c->err_code;
    int tb = sg_blas_matrix(c, node, wsb, &b, isz, &ldb);
    if (tb < -1) return c->err_code;
    sg_gemm_mt(sg_par(c, (double)M * N * K, 4e6) ? c->nthreads : 1, dbl, ta, tb, M, N, K, a.data, lda, b.data, ldb,
               0.0, C->data, N > 1 ? N : 1);
    return 0;
}

/* y (contiguous, allocated) = op(A) . x, op = transpose when trans. */
SG_API int sg_gemv(sg_ctx *c, int node, int dbl, sg_val *A, int trans, sg_val *x, sg_val *y, int wsa, int wsx) {
    int64_t R = A->shape[0], K = A->shape[1], lda, incx;
    int64_t n_out = trans ? K : R, n_in = trans ? R : K;
    int isz = dbl ? 8 : 4;
    if (n_out == 0) return 0;
    if (n_in == 0) { memset(y->data, 0, n_out * isz); return 0; }
    if (sg_blas_check(c, node, R, K, 1)) return c->err_code;
    sg_val a = *A, v = *x;
    int t = sg_blas_matrix(c, node, wsa, &a, isz, &lda);
    if (t < -1) return c->err_code;
    if (sg_blas_vector(c, node, wsx, &v, isz, &incx) < -1) return c->err_code;
    int rows = t ? (int)K : (int)R, cols = t ? (int)R : (int)K;
    enum CBLAS_TRANSPOSE op = (trans ^ t) ? CblasTrans : CblasNoTrans;
    if (dbl)
        SG_CBLAS(dgemv)(CblasRowMajor, op, rows, cols, 1.0, (const double *)a.data, lda,
                          (const double *)v.data, incx, 0.0, (double *)y->data, 1);
    else
        SG_CBLAS(sgemv)(CblasRowMajor, op, rows, cols, 1.0f, (const float *)a.data, lda,
                          (const float *)v.data, incx, 0.0f, (float *)y->data, 1);
    return 0;
}

SG_API int sg_vdot(sg_ctx *c, int node, int dbl, sg_val *x, sg_val *y, sg_val *out, int wsx, int wsy) {
    int64_t n = x->shape[0], incx, incy;
    sg_val a = *x, b = *y;
    if (sg_blas_check(c, node, n, 1, 1)) return c->err_code;
    if (sg_blas_vector(c, node, wsx, &a, dbl ? 8 : 4, &incx) < -1) return c->err_code;
    if (sg_blas_vector(c, node, wsy, &b, dbl ? 8 : 4, &incy) < -1) return c->err_code;
    if (dbl) *(double *)out->data = n ? SG_CBLAS(ddot)(n, (const double *)a.data, incx, (const double *)b.data, incy) : 0;
    else *(float *)out->data = n ? SG_CBLAS(sdot)(n, (const float *)a.data, incx, (const float *)b.data, incy) : 0;
    return 0;
}
