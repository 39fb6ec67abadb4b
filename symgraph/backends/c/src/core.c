/* The core of the C runtime: context, errors, NumPy arrays from Python, planned buffers, the
   N-d iterator with dimension collapsing, and the drivers that run a per-node kernel over
   broadcast operands (sg_elemwise) or a reduction (sg_reduce). Generated code stays small
   because these generic parts live here once, in the runtime library. */
#include "sg_runtime.h"

SG_API int sg_fail(sg_ctx *c, int node, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err_msg, sizeof c->err_msg, fmt, ap);
    va_end(ap);
    c->err_code = code;
    c->err_node = node;
    return code;
}

/* Python's str() of a shape tuple: "(3, 4)", "(3,)", "()". buf holds >= 200 chars. */
SG_API const char *sg_shp(char *buf, int nd, const int64_t *s) {
    int k = sprintf(buf, "(");
    for (int d = 0; d < nd; d++) k += sprintf(buf + k, d ? ", %lld" : "%lld", (long long)s[d]);
    sprintf(buf + k, nd == 1 ? ",)" : ")");
    return buf;
}

SG_API int64_t sg_size(int nd, const int64_t *s) {
    int64_t n = 1;
    for (int d = 0; d < nd; d++) n *= s[d];
    return n;
}

/* ---------------------------------------------------------------- NumPy arrays from Python */

/* Threads for this call. Waking the OpenMP team costs a few microseconds on an idle machine but
   up to a scheduler time slice (about a millisecond, per parallel region) when other processes
   keep the cores busy; a training step has dozens of regions, most of them small. So a call now
   and then times up to SG_PROBE_REGIONS empty parallel regions back to back, stopping at the
   first one faster than 250 us: if none is, the cores are contended, and until the next probe
   only regions SG_PAR_BUSY times larger than usual (about a millisecond of work or more) use
   threads. One slow region proves nothing: waking a sleeping thread, or the next one, can take a
   host timer tick (4-8 ms) on an idle virtual machine (measured: two regions were both slow in
   23 of 100 idle probes, four in 0 of 100; with a busy loop on one core, four were all slow in
   99 of 100). One slow probe proves little more: the host sometimes stalls a virtual CPU for a
   few milliseconds at a time (four regions of 1.1 ms each, seen mid-run on an idle machine), so
   contended mode starts at the second slow probe in a row. Probes run every 50 ms of wall time,
   every 500 ms while contended (each then costs milliseconds). */
#define SG_PROBE_REGIONS 4
SG_API void sg_threads(sg_ctx *c) {
#ifdef _OPENMP
    if (!c->adaptive || c->nthreads_max <= 1) return;
    double prev = omp_get_wtime();
    if (prev - c->probe_t < (c->par_scale > 1.0 ? 0.5 : 0.05)) return;
    double fastest = 1e30;
    for (int k = 0; k < SG_PROBE_REGIONS && fastest >= 2.5e-4; k++) {
        #pragma omp parallel num_threads(c->nthreads_max)
        { __asm__ __volatile__("" ::: "memory"); }
        double now = omp_get_wtime();
        if (now - prev < fastest) fastest = now - prev;
        prev = now;
    }
    c->probe_t = prev;
    if (fastest < 2.5e-4) {
        c->probe_slow = 0;
        c->par_scale = 1.0;
    } else if (++c->probe_slow >= 2) {
        c->par_scale = SG_PAR_BUSY;
    }
#else
    (void)c;
#endif
}

SG_API int sg_load(sg_ctx *c, const sg_load_t *L, int n) {
    for (int k = 0; k < n; k++, L++) {
        const sg_pyarray *a = (const sg_pyarray *)c->ext[L->slot];
        sg_val *v = &c->V[L->val];
        c->err_slot = L->slot;
        if (!a || a->type != c->ndarray_type) return sg_fail(c, -1, SG_ERETRY, "not an ndarray");
        if (a->nd != L->nd)
            return sg_fail(c, -1, SG_ETYPE, "expected a %d-d array, got %d dimensions", L->nd, a->nd);
        char t = a->descr[25];
        if (t != L->t1 && t != L->t2) return sg_fail(c, -1, SG_ETYPE, "wrong dtype (type code '%c')", t);
        if (a->descr[26] == '>' || ((uintptr_t)a->data % L->itemsize))
            return sg_fail(c, -1, SG_ERETRY, "byte-swapped or unaligned");
        for (int d = 0; d < L->nd; d++) {
            int64_t st = a->strides[d];
            if (st % L->itemsize) return sg_fail(c, -1, SG_ERETRY, "stride not a multiple of the item size");
            v->shape[d] = a->dims[d];
            v->strides[d] = st / L->itemsize;
        }
        v->data = a->data;
    }
    return 0;
}

/* ---------------------------------------------------------------- planned buffers */
SG_API int sg_getbuf(sg_ctx *c, int node, int b, int64_t nbytes, char **out) {
    if (nbytes < 64) nbytes = 64;
    if (c->outbuf[b] && nbytes >= c->fresh_min) {   /* Python returns it as is: nothing to copy */
        char *p = c->fresh(b, nbytes);
        if (!p) return sg_fail(c, node, SG_EMEMORY, "cannot allocate %lld bytes", (long long)nbytes);
        *out = p;
        return 0;
    }
    if (nbytes > c->cap[b]) {
        char *p = c->grow(b, nbytes);
        if (!p) return sg_fail(c, node, SG_EMEMORY, "cannot allocate %lld bytes", (long long)nbytes);
        c->buf[b] = p;
        c->cap[b] = nbytes;
    }
    *out = c->buf[b];
    return 0;
}

/* Give v a C-contiguous layout of shape sh in buffer b. */
SG_API int sg_alloc(sg_ctx *c, int node, int b, sg_val *v, int nd, const int64_t *sh, int64_t isz) {
    int64_t st = 1, n = 1;
    for (int d = nd - 1; d >= 0; d--) {
        if (sh[d] < 0) return sg_fail(c, node, SG_EVALUE, "negative dimension %lld", (long long)sh[d]);
        v->shape[d] = sh[d];
        v->strides[d] = st;
        st *= sh[d] ? sh[d] : 1;
        if (sh[d] && n > INT64_MAX / 16 / sh[d]) {
            char s[200];
            return sg_fail(c, node, SG_EMEMORY, "cannot allocate an array of shape %s (too large)",
                           sg_shp(s, nd, sh));
        }
        n *= sh[d];
    }
    if (sg_getbuf(c, node, b, n * isz, &v->data)) {
        char s[200];
        if (c->err_code == SG_EMEMORY)
            sg_fail(c, node, SG_EMEMORY, "cannot allocate %.2f GiB for an array of shape %s (itemsize %lld)",
                    (double)n * (double)isz / 1073741824.0, sg_shp(s, nd, sh), (long long)isz);
        return c->err_code;
    }
    return 0;
}

SG_API int sg_is_contig(int nd, const int64_t *sh, const int64_t *st) {
    int64_t want = 1;
    for (int d = nd - 1; d >= 0; d--) {
        if (sh[d] == 0) return 1;
        if (sh[d] != 1 && st[d] != want) return 0;
        want *= sh[d];
    }
    return 1;
}

/* ---------------------------------------------------------------- N-d iteration */

/* bmask[k] bit d set: operand k is broadcast along d (stride 0). */
SG_API void sg_iter_init(sg_iter *it, int nd, const int64_t *sh, int nops, sg_val *const *ops,
                         const uint32_t *bmask) {
    it->nd = nd;
    it->nops = nops;
    for (int d = 0; d < nd; d++) it->shape[d] = sh[d];
    for (int k = 0; k < nops; k++)
        for (int d = 0; d < nd; d++)
            it->st[k][d] = (bmask && (bmask[k] >> d & 1)) ? 0 : ops[k]->strides[d];
}

/* Drop length-1 dims (the last one is kept, so its static broadcast pattern still describes
   the inner loop), then merge neighbours that are contiguous for every operand. */
SG_API void sg_iter_collapse(sg_iter *it) {
    int nd = it->nd, w = 0, K = it->nops;
    if (nd == 0) {
        it->nd = 1;
        it->shape[0] = 1;
        for (int k = 0; k < K; k++) it->st[k][0] = 0;
        return;
    }
    if (it->shape[nd - 1] == 1)
        for (int k = 0; k < K; k++)
            if (it->st[k][nd - 1]) it->st[k][nd - 1] = 1;
    for (int d = 0; d < nd; d++) {
        if (it->shape[d] == 1 && d != nd - 1) continue;
        it->shape[w] = it->shape[d];
        for (int k = 0; k < K; k++) it->st[k][w] = it->st[k][d];
        w++;
    }
    nd = w;
    int g = nd - 1;                       /* current (innermost) group, built from the back */
    int64_t shape[SG_MAXD], st[SG_MAXOPS][SG_MAXD];
    int out = SG_MAXD - 1;
    shape[out] = it->shape[g];
    for (int k = 0; k < K; k++) st[k][out] = it->st[k][g];
    for (int d = nd - 2; d >= 0; d--) {
        int ok = 1;
        for (int k = 0; k < K && ok; k++) ok = it->st[k][d] == st[k][out] * shape[out];
        if (ok) { shape[out] *= it->shape[d]; continue; }
        out--;
        shape[out] = it->shape[d];
        for (int k = 0; k < K; k++) st[k][out] = it->st[k][d];
    }
    it->nd = SG_MAXD - out;
    for (int d = 0; d < it->nd; d++) {
        it->shape[d] = shape[out + d];
        for (int k = 0; k < K; k++) it->st[k][d] = st[k][out + d];
    }
}

SG_API void sg_iter_seek(const sg_iter *it, int64_t flat, int64_t *idx, int64_t *off) {
    for (int k = 0; k < it->nops; k++) off[k] = 0;
    for (int d = it->nd - 1; d >= 0; d--) {
        int64_t q = flat % it->shape[d];
        flat /= it->shape[d];
        idx[d] = q;
        for (int k = 0; k < it->nops; k++) off[k] += q * it->st[k][d];
    }
}

/* Move to the start of the next row (the inner index goes back to 0). */
SG_API void sg_iter_next(const sg_iter *it, int64_t *idx, int64_t *off) {
    int L = it->nd - 1;
    for (int k = 0; k < it->nops; k++) off[k] -= idx[L] * it->st[k][L];
    idx[L] = 0;
    for (int d = L - 1; d >= 0; d--) {
        idx[d]++;
        for (int k = 0; k < it->nops; k++) off[k] += it->st[k][d];
        if (idx[d] < it->shape[d]) return;
        for (int k = 0; k < it->nops; k++) off[k] -= it->st[k][d] * it->shape[d];
        idx[d] = 0;
    }
}

SG_API void sg_range(int64_t total, int64_t *lo, int64_t *hi) {
#ifdef _OPENMP
    int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    int64_t chunk = (total + nt - 1) / nt;
    *lo = t * chunk < total ? t * chunk : total;
    *hi = *lo + chunk < total ? *lo + chunk : total;
#else
    *lo = 0;
    *hi = total;
#endif
}

SG_API void sg_move(char *dst, int64_t ds, const char *src, int64_t ss, int64_t n, int isz) {
    switch (isz) {
    case 1: for (int64_t j = 0; j < n; j++) dst[j * ds] = src[j * ss]; break;
    case 2: for (int64_t j = 0; j < n; j++) ((int16_t *)dst)[j * ds] = ((const int16_t *)src)[j * ss]; break;
    case 4: for (int64_t j = 0; j < n; j++) ((int32_t *)dst)[j * ds] = ((const int32_t *)src)[j * ss]; break;
    default: for (int64_t j = 0; j < n; j++) ((int64_t *)dst)[j * ds] = ((const int64_t *)src)[j * ss]; break;
    }
}

/* dst[...] = src[...] over shape (element strides); a broadcast source has stride 0. */
SG_API void sg_copy(int nd, const int64_t *shape, sg_val *dst, sg_val *src, const uint32_t *bmask, int isz) {
    sg_val *ops[2] = {dst, src};
    sg_iter it;
    sg_iter_init(&it, nd, shape, 2, ops, bmask);
    int64_t total = sg_size(nd, shape);
    if (total == 0) return;
    sg_iter_collapse(&it);
    int L = it.nd - 1;
    int64_t inner = it.shape[L], ds = it.st[0][L], ss = it.st[1][L];
    #pragma omp parallel if (total > (1 << 18))
    {
        int64_t lo, hi, idx[SG_MAXD], off[2];
        sg_range(total, &lo, &hi);
        if (lo < hi) sg_iter_seek(&it, lo, idx, off);
        while (lo < hi) {
            int64_t n = inner - idx[L] < hi - lo ? inner - idx[L] : hi - lo;
            char *d = dst->data + off[0] * isz;
            const char *s = src->data + off[1] * isz;
            if (ds == 1 && ss == 1) memmove(d, s, n * isz);
            else sg_move(d, ds, s, ss, n, isz);
            lo += n;
            sg_iter_next(&it, idx, off);
        }
    }
}

/* ---------------------------------------------------------------- elementwise driver */

SG_API int sg_bcast_fail(sg_ctx *c, int node, int nd, int nin, sg_val *const *ins, int dim) {
    char all[480], one[200];
    int k = 0;
    for (int i = 0; i < nin && k < 400; i++)
        k += snprintf(all + k, sizeof all - k, i ? ", %s" : "%s", sg_shp(one, nd, ins[i]->shape));
    return sg_fail(c, node, SG_EVALUE, "input shapes do not match along dimension %d: got %s (a dimension "
                   "broadcasts only when its type marks it broadcastable)", dim, all);
}

/* The rows [lo, hi) of an elementwise loop (the team member's share: sg_range); returns the
   kernel's error flag. */
static int sg_ew_rows(const sg_ew_t *E, sg_val **ops, const sg_iter *it, int64_t total, int unit) {
    int nin = E->nin, nops = E->nin + E->nout, L = it->nd - 1;
    int64_t inner = it->shape[L];
    int64_t lo, hi, idx[SG_MAXD], off[SG_MAXOPS];
    char *p[SG_MAXOPS], *q[SG_MAXOPS];
    int kerr = 0;
    sg_range(total, &lo, &hi);
    if (lo < hi) sg_iter_seek(it, lo, idx, off);
    while (lo < hi) {
        int64_t n = inner - idx[L] < hi - lo ? inner - idx[L] : hi - lo;
        for (int k = 0; k < nops; k++) p[k] = ops[k]->data + off[k] * E->isz[k];
        if (unit || n == 1) {
            E->kernel(n, p, &kerr);
        } else {
            /* strided row: gather into blocks, run the contiguous kernel, scatter */
            int64_t scratch[SG_MAXOPS][SG_BLOCK];
            for (int64_t b0 = 0; b0 < n; b0 += SG_BLOCK) {
                int64_t m = n - b0 < SG_BLOCK ? n - b0 : SG_BLOCK;
                for (int k = 0; k < nops; k++) {
                    int64_t s = it->st[k][L];
                    char *base = p[k] + b0 * s * E->isz[k];
                    if ((k < nin && E->inner_bcast && E->inner_bcast[k]) || s == 1) q[k] = base;
                    else {
                        q[k] = (char *)scratch[k];
                        if (k < nin) sg_move(q[k], 1, base, s, m, E->isz[k]);
                    }
                }
                E->kernel(m, q, &kerr);
                for (int k = nin; k < nops; k++)
                    if (q[k] == (char *)scratch[k])
                        sg_move(p[k] + b0 * it->st[k][L] * E->isz[k], it->st[k][L], q[k], 1, m, E->isz[k]);
            }
        }
        lo += n;
        sg_iter_next(it, idx, off);
    }
    return kerr;
}

SG_API int sg_elemwise(sg_ctx *c, const sg_ew_t *E, sg_val **ops) {
    int nd = E->nd, nin = E->nin, nops = E->nin + E->nout;
    int64_t sh[SG_MAXD];
    uint32_t bm[SG_MAXOPS];
    if (nops > SG_MAXOPS)       /* the lowering's check refuses such nodes; never index past the tables */
        return sg_fail(c, E->node, SG_ERUNTIME, "%d operands, more than SG_MAXOPS (%d)", nops, SG_MAXOPS);
    for (int d = 0; d < nd; d++) {
        int64_t size = -1;
        for (int k = 0; k < nin; k++) {
            if (E->bmask[k] >> d & 1) continue;
            int64_t s = ops[k]->shape[d];
            if (size < 0) size = s;
            else if (s != size) return sg_bcast_fail(c, E->node, nd, nin, ops, d);
        }
        sh[d] = size < 0 ? 1 : size;
    }
    for (int j = 0; j < E->nout; j++) {
        int b = E->buf[j];
        if (b >= 0) {
            if (sg_alloc(c, E->node, b, ops[nin + j], nd, sh, E->isz[nin + j])) return c->err_code;
        } else if (b != SG_PRESET) {
            *ops[nin + j] = *ops[-1 - b];
        }
    }
    for (int k = 0; k < nops; k++) bm[k] = k < nin ? E->bmask[k] : 0;
    int64_t total = sg_size(nd, sh);
    if (total == 0) return 0;
    sg_iter it;
    sg_iter_init(&it, nd, sh, nops, ops, bm);
    sg_iter_collapse(&it);
    int L = it.nd - 1;
    int unit = 1;
    for (int k = 0; k < nops; k++)
        if (!(k < nin && E->inner_bcast && E->inner_bcast[k]) && it.st[k][L] != 1) unit = 0;
    int failed = 0;
    if (!sg_par(c, total, E->par_min)) {
        /* no parallel region at all: entering even a one-thread team costs about 0.5 us */
        failed = sg_ew_rows(E, ops, &it, total, unit);
    } else {
        #pragma omp parallel
        {
            if (sg_ew_rows(E, ops, &it, total, unit)) {
                #pragma omp atomic write
                failed = 1;
            }
        }
    }
    if (failed) return sg_fail(c, E->node, SG_EVALUE, "%s", E->err_msg ? E->err_msg : "invalid value");
    return 0;
}

/* ---------------------------------------------------------------- reduction driver */

SG_API int sg_reduce(sg_ctx *c, const sg_red_t *R, sg_val *in, sg_val *out) {
    int nd = R->nd, ond = 0;
    int64_t osh[SG_MAXD];
    for (int d = 0; d < nd; d++) {
        if (R->axes >> d & 1) {
            if (R->minmax && in->shape[d] == 0) {
                char s[200];
                return sg_fail(c, R->node, SG_EVALUE, "cannot reduce an empty dimension (input shape %s)",
                               sg_shp(s, nd, in->shape));
            }
        } else osh[ond++] = in->shape[d];
    }
    if (sg_alloc(c, R->node, R->buf, out, ond, osh, R->isz_out)) return c->err_code;
    R->init(sg_size(ond, osh), out->data);
    int64_t total = sg_size(nd, in->shape);
    if (total == 0) return 0;
    sg_val ov;                     /* the output seen with the input's dims (stride 0 on reduced ones) */
    for (int d = 0, k = 0; d < nd; d++) ov.strides[d] = (R->axes >> d & 1) ? 0 : out->strides[k++];
    sg_val *ops[2] = {in, &ov};
    sg_iter it;
    sg_iter_init(&it, nd, in->shape, 2, ops, NULL);
    sg_iter_collapse(&it);
    int L = it.nd - 1;
    /* outer dims: kept ones first, so that a range of rows owns distinct outputs */
    sg_iter s = it;
    int w = 0;
    int64_t kept = 1;
    for (int pass = 0; pass < 2; pass++)
        for (int d = 0; d < L; d++)
            if ((it.st[1][d] != 0) == (pass == 0)) {
                s.shape[w] = it.shape[d];
                s.st[0][w] = it.st[0][d];
                s.st[1][w] = it.st[1][d];
                if (pass == 0) kept *= it.shape[d];
                w++;
            }
    int64_t inner = it.shape[L], rows = total / inner, per_kept = rows / kept;
    int64_t sin = it.st[0][L], sout = it.st[1][L];
    int reduce_inner = sout == 0;
    int par = sg_par(c, total, R->par_min);
    int split_cols = !reduce_inner && kept == 1;
    #pragma omp parallel if (par && (kept > 1 || split_cols))
    {
        int64_t lo, hi, idx[SG_MAXD], off[2], c0 = 0, c1 = inner;
        if (split_cols) { sg_range(inner, &c0, &c1); lo = 0; hi = rows; }
        else { sg_range(kept, &lo, &hi); lo *= per_kept; hi *= per_kept; }
        if (lo < hi && c0 < c1) {
            sg_iter_seek(&s, lo * inner, idx, off);
            for (int64_t r = lo; r < hi; r++) {
                const char *ip = in->data + (off[0] + c0 * sin) * R->isz_in;
                char *op = out->data + (off[1] + c0 * sout) * R->isz_out;
                if (reduce_inner) R->inner(inner, ip, sin, op);
                else R->acc(c1 - c0, ip, sin, op, sout);
                sg_iter_next(&s, idx, off);
            }
        }
    }
    return 0;
}
