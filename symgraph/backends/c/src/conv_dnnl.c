/* 2-D convolution and its two gradients for float32 through oneDNN (compiled only when the
   build found oneDNN: SG_HAVE_DNNL, see build.py dnnl_flags; otherwise this unit is empty and
   conv_impl.h's im2col path serves every call).

   sg_dnnl_conv(pass, ...) runs one pass on plain contiguous NCHW / OIHW buffers:
     pass 0 forward:          y = conv(x, w)
     pass 1 backward-data:    x = conv_bwd_data(w, y)
     pass 2 backward-weights: w = conv_bwd_weights(x, y)
   The filters are the correlation filters (conv_impl.h flips them for a true convolution
   before, and after for the weights gradient). The primitives are created with `any`
   memory formats (oneDNN's blocked layouts: its plain-layout kernels are 1.5-3.5x slower),
   with reorders from and to the plain buffers at the boundary. Descriptors and primitives
   are created per call: oneDNN's primitive cache makes that nearly free after the first
   call of a shape. Returns 0 when done, 1 when oneDNN declines (the caller then uses the
   im2col path), -1 when a workspace cannot be allocated (c holds the error). Threads: oneDNN's OpenMP runtime uses the team
   size set here from the context (sg_ctx.nthreads). */
#include "sg_runtime.h"

#ifdef SG_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>

static dnnl_engine_t sg_dnnl_eng;
static dnnl_stream_t sg_dnnl_str;
static int sg_dnnl_ok;
static pthread_once_t sg_dnnl_once = PTHREAD_ONCE_INIT;

static void sg_dnnl_init(void) {
    if (dnnl_engine_create(&sg_dnnl_eng, dnnl_cpu, 0) != dnnl_success) return;
    if (dnnl_stream_create(&sg_dnnl_str, sg_dnnl_eng, dnnl_stream_default_flags) != dnnl_success) return;
    sg_dnnl_ok = 1;
}

/* one argument: its oneDNN role, the query for the layout chosen, the plain layout and buffer, whether
   it is written, and the node's workspace slot for the chosen layout's copy (-1: oneDNN allocates) */
typedef struct { int arg; dnnl_query_t q; const_dnnl_memory_desc_t user; void *ptr; int out, slot; } sg_dnnl_io;

/* execute pd's primitive on three plain buffers, reordering those whose chosen layout differs */
static int sg_dnnl_exec(sg_ctx *c, int node, dnnl_primitive_desc_t pd, sg_dnnl_io *io, int n) {
    dnnl_memory_t user[3] = {0}, inner[3] = {0};
    dnnl_primitive_t prim = NULL;
    dnnl_exec_arg_t args[4];
    int rc = 1, k;
    for (k = 0; k < n; k++) {
        const_dnnl_memory_desc_t md = dnnl_primitive_desc_query_md(pd, io[k].q, 0);
        if (dnnl_memory_create(&user[k], io[k].user, sg_dnnl_eng, io[k].ptr) != dnnl_success) goto done;
        if (dnnl_memory_desc_equal(md, io[k].user)) { inner[k] = user[k]; continue; }
        void *handle = DNNL_MEMORY_ALLOCATE;   /* reused workspaces: no fresh pages to fault in each call */
        if (io[k].slot >= 0) {
            char *p;
            if (sg_getbuf(c, node, io[k].slot, (int64_t)dnnl_memory_desc_get_size(md), &p)) { rc = -1; goto done; }
            handle = p;
        }
        if (dnnl_memory_create(&inner[k], md, sg_dnnl_eng, handle) != dnnl_success) goto done;
    }
    for (k = 0; k < n; k++) {          /* inputs into the primitive's layouts */
        if (io[k].out || inner[k] == user[k]) continue;
        dnnl_primitive_desc_t rpd;
        dnnl_primitive_t r;
        if (dnnl_reorder_primitive_desc_create(&rpd, io[k].user, sg_dnnl_eng,
                dnnl_primitive_desc_query_md(pd, io[k].q, 0), sg_dnnl_eng, NULL) != dnnl_success) goto done;
        dnnl_status_t st = dnnl_primitive_create(&r, rpd);
        dnnl_primitive_desc_destroy(rpd);
        if (st != dnnl_success) goto done;
        dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, user[k]}, {DNNL_ARG_TO, inner[k]}};
        st = dnnl_primitive_execute(r, sg_dnnl_str, 2, ra);
        dnnl_primitive_destroy(r);
        if (st != dnnl_success) goto done;
    }
    if (dnnl_primitive_create(&prim, pd) != dnnl_success) goto done;
    for (k = 0; k < n; k++) { args[k].arg = io[k].arg; args[k].memory = inner[k]; }
    if (dnnl_primitive_execute(prim, sg_dnnl_str, n, args) != dnnl_success) goto done;
    for (k = 0; k < n; k++) {          /* outputs back to the plain layouts */
        if (!io[k].out || inner[k] == user[k]) continue;
        dnnl_primitive_desc_t rpd;
        dnnl_primitive_t r;
        if (dnnl_reorder_primitive_desc_create(&rpd, dnnl_primitive_desc_query_md(pd, io[k].q, 0), sg_dnnl_eng,
                io[k].user, sg_dnnl_eng, NULL) != dnnl_success) goto done;
        dnnl_status_t st = dnnl_primitive_create(&r, rpd);
        dnnl_primitive_desc_destroy(rpd);
        if (st != dnnl_success) goto done;
        dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, inner[k]}, {DNNL_ARG_TO, user[k]}};
        st = dnnl_primitive_execute(r, sg_dnnl_str, 2, ra);
        dnnl_primitive_destroy(r);
        if (st != dnnl_success) goto done;
    }
    rc = dnnl_stream_wait(sg_dnnl_str) == dnnl_success ? 0 : 1;
done:
    if (prim) dnnl_primitive_destroy(prim);
    for (k = 0; k < n; k++) {
        if (inner[k] && inner[k] != user[k]) dnnl_memory_destroy(inner[k]);
        if (user[k]) dnnl_memory_destroy(user[k]);
    }
    return rc;
}

int sg_dnnl_conv(sg_ctx *c, int node, int wx, int wy, int pass, const int64_t *xd, const int64_t *wd, const int64_t *yd,
                 const int64_t *st, const int64_t *dil, const int64_t *pl, const int64_t *pr,
                 float *x, float *w, float *y) {
    pthread_once(&sg_dnnl_once, sg_dnnl_init);
    if (!sg_dnnl_ok) return 1;
    for (int k = 0; k < 2; k++) if (pr[k] < 0 || pl[k] < 0) return 1;
    dnnl_dims_t X = {xd[0], xd[1], xd[2], xd[3]}, W = {wd[0], wd[1], wd[2], wd[3]}, Y = {yd[0], yd[1], yd[2], yd[3]};
    dnnl_dims_t S = {st[0], st[1]}, D = {dil[0] - 1, dil[1] - 1}, L = {pl[0], pl[1]}, R = {pr[0], pr[1]};
    dnnl_memory_desc_t xu = NULL, wu = NULL, yu = NULL, xa = NULL, wa = NULL, ya = NULL;
    dnnl_primitive_desc_t fwd = NULL, pd = NULL;
    int rc = 1;
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    omp_set_num_threads(c->nthreads > 1 ? c->nthreads : 1);
#endif
    if (dnnl_memory_desc_create_with_tag(&xu, 4, X, dnnl_f32, dnnl_nchw) ||
        dnnl_memory_desc_create_with_tag(&wu, 4, W, dnnl_f32, dnnl_oihw) ||
        dnnl_memory_desc_create_with_tag(&yu, 4, Y, dnnl_f32, dnnl_nchw) ||
        dnnl_memory_desc_create_with_tag(&xa, 4, X, dnnl_f32, dnnl_format_tag_any) ||
        dnnl_memory_desc_create_with_tag(&wa, 4, W, dnnl_f32, dnnl_format_tag_any) ||
        dnnl_memory_desc_create_with_tag(&ya, 4, Y, dnnl_f32, dnnl_format_tag_any)) goto done;
    if (dnnl_convolution_forward_primitive_desc_create(&fwd, sg_dnnl_eng,
            pass == 0 ? dnnl_forward_inference : dnnl_forward_training, dnnl_convolution_direct,
            xa, wa, NULL, ya, S, D, L, R, NULL) != dnnl_success) goto done;
    if (pass == 0) {
        sg_dnnl_io io[3] = {{DNNL_ARG_SRC, dnnl_query_src_md, xu, x, 0, wx},
                            {DNNL_ARG_WEIGHTS, dnnl_query_weights_md, wu, w, 0, -1},
                            {DNNL_ARG_DST, dnnl_query_dst_md, yu, y, 1, wy}};
        rc = sg_dnnl_exec(c, node, fwd, io, 3);
    } else if (pass == 1) {
        if (dnnl_convolution_backward_data_primitive_desc_create(&pd, sg_dnnl_eng, dnnl_convolution_direct,
                xa, wa, ya, S, D, L, R, fwd, NULL) != dnnl_success) goto done;
        sg_dnnl_io io[3] = {{DNNL_ARG_DIFF_SRC, dnnl_query_diff_src_md, xu, x, 1, wx},
                            {DNNL_ARG_WEIGHTS, dnnl_query_weights_md, wu, w, 0, -1},
                            {DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md, yu, y, 0, wy}};
        rc = sg_dnnl_exec(c, node, pd, io, 3);
    } else {
        if (dnnl_convolution_backward_weights_primitive_desc_create(&pd, sg_dnnl_eng, dnnl_convolution_direct,
                xa, wa, NULL, ya, S, D, L, R, fwd, NULL) != dnnl_success) goto done;
        sg_dnnl_io io[3] = {{DNNL_ARG_SRC, dnnl_query_src_md, xu, x, 0, wx},
                            {DNNL_ARG_DIFF_WEIGHTS, dnnl_query_diff_weights_md, wu, w, 1, -1},
                            {DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md, yu, y, 0, wy}};
        rc = sg_dnnl_exec(c, node, pd, io, 3);
    }
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (fwd) dnnl_primitive_desc_destroy(fwd);
    dnnl_memory_desc_t all[6] = {xu, wu, yu, xa, wa, ya};
    for (int k = 0; k < 6; k++) if (all[k]) dnnl_memory_desc_destroy(all[k]);
#ifdef _OPENMP
    omp_set_num_threads(saved);
#endif
    return rc;
}

int sg_dnnl_available(void) { return 1; }
#else
int sg_dnnl_conv(sg_ctx *c, int node, int wx, int wy, int pass, const int64_t *xd, const int64_t *wd, const int64_t *yd,
                 const int64_t *st, const int64_t *dil, const int64_t *pl, const int64_t *pr,
                 float *x, float *w, float *y) {
    (void)c; (void)node; (void)wx; (void)wy; (void)pass; (void)xd; (void)wd; (void)yd; (void)st; (void)dil; (void)pl; (void)pr;
    (void)x; (void)w; (void)y;
    return 1;
}
int sg_dnnl_available(void) { return 0; }
#endif
