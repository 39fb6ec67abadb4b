/* Which BLAS the runtime calls, chosen by config.blas.ldflags (build.blas_flags):

   - default: OpenBLAS from the scipy-openblas32 wheel, whose symbols carry a `scipy_` prefix;
   - SG_BLAS_PLAIN (blas.ldflags set to a link line, e.g. "-lopenblas" or "-lblas"): the
     standard CBLAS names cblas_sgemm..., declared here so no cblas.h is needed;
   - SG_BLAS_NONE (blas.ldflags set to ""): no BLAS at all; the few routines the runtime uses
     are the plain loops below (correct, much slower for large products).

   SG_CBLAS(sgemm) names the routine in each case. */
#ifndef SG_CBLAS_H
#define SG_CBLAS_H

#if defined(SG_BLAS_PLAIN) || defined(SG_BLAS_NONE)
enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112, CblasConjTrans = 113 };
#else
#include <cblas.h>
#define SG_CBLAS(f) scipy_cblas_##f
#endif

#if defined(SG_BLAS_PLAIN)
#define SG_CBLAS(f) cblas_##f
void cblas_sgemm(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, int, int, int, float,
                 const float *, int, const float *, int, float, float *, int);
void cblas_dgemm(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, int, int, int, double,
                 const double *, int, const double *, int, double, double *, int);
void cblas_sgemv(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, int, int, float, const float *, int,
                 const float *, int, float, float *, int);
void cblas_dgemv(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, int, int, double, const double *, int,
                 const double *, int, double, double *, int);
float cblas_sdot(int, const float *, int, const float *, int);
double cblas_ddot(int, const double *, int, const double *, int);
#endif

#if defined(SG_BLAS_NONE)
#define SG_CBLAS(f) sg_noblas_##f
/* Row-major only (the runtime passes CblasRowMajor). C = alpha op(A) op(B) + beta C, with C
   not read when beta == 0 (as BLAS does). */
#define SG_NOBLAS_GEMM(NAME, T)                                                                     \
    static void NAME(enum CBLAS_ORDER o, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M,  \
                     int N, int K, T alpha, const T *A, int lda, const T *B, int ldb, T beta, T *C, \
                     int ldc) {                                                                     \
        (void)o;                                                                                    \
        for (int i = 0; i < M; i++)                                                                 \
            for (int j = 0; j < N; j++) {                                                           \
                T s = 0;                                                                            \
                for (int k = 0; k < K; k++)                                                         \
                    s += (ta == CblasNoTrans ? A[(int64_t)i * lda + k] : A[(int64_t)k * lda + i]) * \
                         (tb == CblasNoTrans ? B[(int64_t)k * ldb + j] : B[(int64_t)j * ldb + k]);  \
                T *c = &C[(int64_t)i * ldc + j];                                                    \
                *c = beta == 0 ? alpha * s : alpha * s + beta * *c;                                 \
            }                                                                                       \
    }
#define SG_NOBLAS_GEMV(NAME, T)                                                                     \
    static void NAME(enum CBLAS_ORDER o, enum CBLAS_TRANSPOSE t, int R, int C, T alpha, const T *A, \
                     int lda, const T *x, int incx, T beta, T *y, int incy) {                        \
        (void)o;                                                                                    \
        int n_out = t == CblasNoTrans ? R : C, n_in = t == CblasNoTrans ? C : R;                    \
        for (int i = 0; i < n_out; i++) {                                                           \
            T s = 0;                                                                                \
            for (int k = 0; k < n_in; k++)                                                          \
                s += (t == CblasNoTrans ? A[(int64_t)i * lda + k] : A[(int64_t)k * lda + i]) *      \
                     x[(int64_t)k * incx];                                                          \
            T *yi = &y[(int64_t)i * incy];                                                          \
            *yi = beta == 0 ? alpha * s : alpha * s + beta * *yi;                                   \
        }                                                                                           \
    }
#define SG_NOBLAS_DOT(NAME, T)                                                                      \
    static T NAME(int n, const T *x, int incx, const T *y, int incy) {                              \
        T s = 0;                                                                                    \
        for (int k = 0; k < n; k++) s += x[(int64_t)k * incx] * y[(int64_t)k * incy];               \
        return s;                                                                                   \
    }
SG_NOBLAS_GEMM(sg_noblas_sgemm, float)
SG_NOBLAS_GEMM(sg_noblas_dgemm, double)
SG_NOBLAS_GEMV(sg_noblas_sgemv, float)
SG_NOBLAS_GEMV(sg_noblas_dgemv, double)
SG_NOBLAS_DOT(sg_noblas_sdot, float)
SG_NOBLAS_DOT(sg_noblas_ddot, double)
#endif

#endif
