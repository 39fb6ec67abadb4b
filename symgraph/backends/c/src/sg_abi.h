/* The runtime's interface as Python sees it through cffi: linker.CDEF is this file's text.

   Plain C declarations only, no preprocessor lines (cffi's parser takes no #include or #if),
   so array sizes are literals: 8 is SG_MAXD (sg_runtime.h checks that they agree). Includes
   <stdint.h> before this file. The C side of every module and of the runtime library includes
   it through sg_runtime.h, so there is one definition of sg_ctx for both sides. */

typedef struct { char *data; int64_t shape[8]; int64_t strides[8]; } sg_val;

typedef struct {
    int32_t err_code, err_node, err_slot, nthreads;
    char err_msg[512];
    intptr_t *ext;                 /* PyObject* of each external array (inputs, constants, Python-node outputs) */
    sg_val *V;                     /* one descriptor per value; strides in elements */
    char **buf;                    /* planned buffers, grown by Python on demand */
    int64_t *cap;
    char *(*grow)(int32_t, int64_t);
    intptr_t ndarray_type;
    int64_t *prev;                 /* output descriptors of the previous call */
    char *(*fresh)(int32_t, int64_t);  /* a new array for a large graph output, every call */
    const int8_t *outbuf;          /* which buffers hold graph outputs */
    int64_t fresh_min;             /* outputs of at least this many bytes get fresh arrays */
    int32_t nthreads_max, adaptive;    /* the team size OpenMP offers; whether to probe it (sg_threads) */
    double probe_t;                /* when the team was last probed (omp_get_wtime) */
    double par_scale;              /* 1, or SG_PAR_BUSY while other processes keep the cores busy */
    int32_t probe_slow;            /* consecutive probes that found the team slow */
} sg_ctx;

/* what a generated module defines (program.py) and Python calls */
int sg_init(sg_ctx *c);                    /* thread count; ctx->adaptive: probe it (sg_threads) */
int sg_run(sg_ctx *c, int seg, int epi);   /* run C segment seg (-1: none), then the epilogue if epi */
int sg_commit(sg_ctx *c);                  /* record the output descriptors the epilogue compares */
