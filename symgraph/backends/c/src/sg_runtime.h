/* The header of the C runtime: every generated module and every runtime source includes it.

   It holds the types (sg_ctx and sg_val come from sg_abi.h, which cffi reads too), the static
   tables the lowerings write (sg_load_t, sg_ew_t, sg_red_t, sg_idx_t, sg_adv_t, sg_pool_t,
   sg_conv_t), the inline helpers both translation units of the library share, and the
   prototypes of every function of the runtime library (core.c, index.c, blas.c, conv.c,
   nnet.c). Functions typed by element dtype are declared once in sg_api_typed.h, instantiated
   below for float (suffix f32) and double (f64).

   Layout assumptions about CPython/NumPy objects (sg_pyarray) are checked once per process by
   linker._check_object_layout. */
#ifndef SG_RUNTIME_H
#define SG_RUNTIME_H

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <stdarg.h>
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define SG_MAXD 8
#define SG_MAXOPS 64
#define SG_BLOCK 128
#define SG_RESTRICT restrict
#define SG_API                 /* marks a function of the runtime library */

enum { SG_EVALUE = 1, SG_EINDEX = 2, SG_ETYPE = 3, SG_EMEMORY = 4, SG_ERUNTIME = 5, SG_ERETRY = 100 };

#include "sg_abi.h"
_Static_assert(sizeof(((sg_val *)0)->shape) == SG_MAXD * sizeof(int64_t), "sg_abi.h: sg_val sizes != SG_MAXD");


/* whether a region of `work` (elements, or flops for products) splits over threads; `min` is
   the size where that pays on an idle machine, scaled up while the cores are contended */
#define SG_PAR_BUSY 256.0
static inline int sg_par(const sg_ctx *c, double work, double min) {
    return c->nthreads > 1 && work >= min * c->par_scale;
}

typedef struct {
    intptr_t refcnt, type; char *data; int nd; int64_t *dims, *strides; intptr_t base; const char *descr;
} sg_pyarray;

typedef struct { int32_t slot, val, nd, itemsize; char t1, t2; } sg_load_t;

typedef struct { int nd, nops; int64_t shape[SG_MAXD]; int64_t st[SG_MAXOPS][SG_MAXD]; } sg_iter;

typedef void (*sg_kernel)(int64_t n, char **p, int *err);   /* sets *err for a value error (int ** -1) */
typedef struct {
    int node, nd, nin, nout;
    const uint32_t *bmask;     /* per input: broadcastable dims */
    const int8_t *isz;         /* per operand, inputs then outputs */
    const int32_t *buf;        /* per output: buffer id; -1-k: in place on input k; SG_PRESET: caller filled it */
    const uint8_t *inner_bcast; /* per input (NULL: none): broadcast along the last dim, the kernel reads it
                                   as a scalar (a table, not a bit mask: any number of operands) */
    int64_t par_min;
    sg_kernel kernel;
    const char *err_msg;       /* message when a kernel sets its error flag */
} sg_ew_t;
#define SG_PRESET (-1000)

/* integer power as NumPy: a negative exponent is an error (C kernels only; see render.CDialect) */
static inline int64_t sg_ipow_chk(int64_t a, int64_t e, int *err) {
    if (e < 0) { *err = 1; return 0; }
    uint64_t r = 1, x = (uint64_t)a;
    while (e) { if (e & 1) r *= x; x *= x; e >>= 1; }
    return (int64_t)r;
}

typedef struct {
    int node, nd, buf, minmax;
    uint32_t axes;                 /* reduced input dims */
    int8_t isz_in, isz_out;
    void (*init)(int64_t n, char *out);
    void (*inner)(int64_t n, const char *in, int64_t sin, char *out);            /* *out op= reduce(in) */
    void (*acc)(int64_t n, const char *in, int64_t sin, char *out, int64_t sout); /* out[j] op= in[j] */
    int64_t par_min;
} sg_red_t;

#include "sg_scalar.h"

typedef struct { int8_t kind, fa, fb, fs; int64_t a, b, s; } sg_idx_t;

typedef struct { int8_t kind, fa, fb, fs, itype; int64_t a, b, s; } sg_adv_t;

typedef struct {
    int ond, bnd;                 /* output dims; broadcast index dims */
    int64_t osh[SG_MAXD];
    int omap[SG_MAXD];            /* out dim -> x dim (slice) or -1-k (index dim k of the broadcast) */
    int64_t start[SG_MAXD], step[SG_MAXD];   /* per x dim, for slices */
    sg_val ib[SG_MAXD];           /* per x dim, for index arrays: broadcast to the index shape */
} sg_adv_plan;
/* an integer index of type code itype (bytes; negative: unsigned) */
static inline int64_t sg_read_index(const char *p, int itype) {
    switch (itype) {
    case 1: return *(const int8_t *)p;   case 2: return *(const int16_t *)p;
    case 4: return *(const int32_t *)p;  case 8: return *(const int64_t *)p;
    case -1: return *(const uint8_t *)p; case -2: return *(const uint16_t *)p;
    case -4: return *(const uint32_t *)p; default: return (int64_t)*(const uint64_t *)p;
    }
}
#define SG_ITSZ(t) ((t) < 0 ? -(t) : (t))


typedef struct {
    int node, mode, ignore_border;            /* mode: 0 max, 1 sum, 2 average_inc_pad, 3 average_exc_pad */
    int64_t wh, ww, sh, sw, ph, pw;
} sg_pool_t;
/* floor division of integers (Python's //) */
static inline int64_t sg_floordiv_i(int64_t a, int64_t b) { int64_t q = a / b; return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q; }

/* col bytes per chunk (a share of a core's L2), the fewest columns worth a gemm call, and the
   number of partial sums of the weights gradient (chunk q adds into sum q % SG_CONV_GROUPS) */
#define SG_CONV_CHUNK_BYTES (512 * 1024)
#define SG_CONV_MIN_COLS 512
#define SG_CONV_GROUPS 8
typedef struct {
    int node, flip, mode;               /* mode: 0 explicit padding (ph, pw), 1 'full', 2 'half' */
    int64_t ph, pw, sh, sw, dh, dw;
} sg_conv_t;
/* conv_dnnl.c: one float32 conv pass through oneDNN on contiguous NCHW/OIHW buffers (0 done,
   1 declined: not built with oneDNN, or a geometry it does not take; -1 failed), the copies in
   oneDNN's layouts of x and y in the node's workspaces wx and wy */
int sg_dnnl_conv(sg_ctx *c, int node, int wx, int wy, int pass, const int64_t *xd, const int64_t *wd, const int64_t *yd,
                 const int64_t *st, const int64_t *dil, const int64_t *pl, const int64_t *pr,
                 float *x, float *w, float *y);
int sg_dnnl_available(void);

/* ---------------------------------------------------------------- dtype instantiation
   A *_impl.h file holds code written once for an element type SG_T; it is included once per
   dtype after   #define SG_T float / #define SG_S f32 / #define SG_MSFX f   (double, f64 and an
   empty SG_MSFX for double). SG_FN(conv2d) names sg_conv2d_f32; SG_M(exp) is expf or exp. */
#define SG_CAT_(a, b) a##b
#define SG_CAT(a, b) SG_CAT_(a, b)
#define SG_FN_(name, sfx) sg_##name##_##sfx
#define SG_FN2_(name, sfx) SG_FN_(name, sfx)
#define SG_FN(name) SG_FN2_(name, SG_S)
#define SG_M(fn) SG_CAT(fn, SG_MSFX)

/* ---------------------------------------------------------------- the runtime library */
int sg_fail(sg_ctx *c, int node, int code, const char *fmt, ...);
const char *sg_shp(char *buf, int nd, const int64_t *s);
int64_t sg_size(int nd, const int64_t *s);
void sg_threads(sg_ctx *c);
int sg_load(sg_ctx *c, const sg_load_t *L, int n);
int sg_getbuf(sg_ctx *c, int node, int b, int64_t nbytes, char **out);
int sg_alloc(sg_ctx *c, int node, int b, sg_val *v, int nd, const int64_t *sh, int64_t isz);
int sg_is_contig(int nd, const int64_t *sh, const int64_t *st);
void sg_iter_init(sg_iter *it, int nd, const int64_t *sh, int nops, sg_val *const *ops,
                  const uint32_t *bmask);
void sg_iter_collapse(sg_iter *it);
void sg_iter_seek(const sg_iter *it, int64_t flat, int64_t *idx, int64_t *off);
void sg_iter_next(const sg_iter *it, int64_t *idx, int64_t *off);
void sg_range(int64_t total, int64_t *lo, int64_t *hi);
void sg_move(char *dst, int64_t ds, const char *src, int64_t ss, int64_t n, int isz);
void sg_copy(int nd, const int64_t *shape, sg_val *dst, sg_val *src, const uint32_t *bmask, int isz);
int sg_bcast_fail(sg_ctx *c, int node, int nd, int nin, sg_val *const *ins, int dim);
int sg_elemwise(sg_ctx *c, const sg_ew_t *E, sg_val **ops);
int sg_reduce(sg_ctx *c, const sg_red_t *R, sg_val *in, sg_val *out);
int64_t sg_slice(int64_t n, int64_t *start, int has_start, int64_t stop, int has_stop, int64_t step);
int sg_subtensor(sg_ctx *c, int node, const sg_val *x, int nd, const sg_idx_t *idx, int nidx,
                 const int64_t *sym, sg_val *out, int isz);
int sg_np_broadcast(const sg_val *y, int ynd, int nd, const int64_t *sh, sg_val *yb);
int sg_reshape(sg_ctx *c, int node, int b, const sg_val *x, int xnd, const int64_t *req, int nd, sg_val *out,
               int isz);
int sg_alloc_fill(sg_ctx *c, int node, int b, sg_val *out, int nd, const int64_t *sh, const sg_val *v,
                  int vnd, int isz);
int sg_join(sg_ctx *c, int node, int b, sg_val *out, int nd, int axis, int n, sg_val *const *ins, int isz);
int sg_adv_prepare(sg_ctx *c, int node, const sg_val *x, int nd, const sg_adv_t *spec, int nidx,
                   sg_val *const *ix, const int *ixnd, const int64_t *sym, sg_adv_plan *P);
int sg_adv_walk(sg_ctx *c, int node, sg_val *x, int nd, const sg_adv_t *spec, int nidx, const int64_t *sym,
                const sg_adv_plan *P, sg_val *y, int mode, int isz, void (*add)(char *dst, const char *src));
void sg_blas_init(void);
void sg_gemm_1(int dbl, int ta, int tb, int64_t M, int64_t N, int64_t K, const void *A, int64_t lda,
               const void *B, int64_t ldb, double beta, void *C, int64_t ldc);
void sg_gemm_mt(int nthreads, int dbl, int ta, int tb, int64_t M, int64_t N, int64_t K, const void *A,
                int64_t lda, const void *B, int64_t ldb, double beta, void *C, int64_t ldc);
int sg_blas_layout(const sg_val *a, int64_t *ld);
int sg_blas_matrix(sg_ctx *c, int node, int ws, sg_val *a, int isz, int64_t *ld);
int sg_blas_vector(sg_ctx *c, int node, int ws, sg_val *v, int isz, int64_t *inc);
int sg_blas_check(sg_ctx *c, int node, int64_t a, int64_t b, int64_t d);
int sg_gemm(sg_ctx *c, int node, int dbl, sg_val *A, sg_val *B, sg_val *C, int wsa, int wsb);
int sg_gemv(sg_ctx *c, int node, int dbl, sg_val *A, int trans, sg_val *x, sg_val *y, int wsa, int wsx);
int sg_vdot(sg_ctx *c, int node, int dbl, sg_val *x, sg_val *y, sg_val *out, int wsx, int wsy);
int64_t sg_pool_len(int64_t size, int64_t ws, int64_t st, int64_t pad, int ignore_border);
int sg_mrg_uniform(sg_ctx *c, int node, int bs, int bo, sg_val *rstate, const int64_t *size, int nd, int dbl,
                   sg_val *new_state, sg_val *out);
/* scan.c: the time loop of a lowered Scan (lower/scan.py) */
void sg_scan_view(sg_val *v, const sg_val *x, int nd);
void sg_scan_put(int nd, sg_val *dst, const sg_val *src, int isz);
int sg_scan_same(int nd, const int64_t *a, const int64_t *b);
int sg_scan_shapes_fail(sg_ctx *c, int node, const char *prefix, int out, int nd, const int64_t *a,
                        const int64_t *b);

#define SG_PER_DTYPE "sg_api_typed.h"
#include "sg_per_dtype.h"

#endif /* SG_RUNTIME_H */
