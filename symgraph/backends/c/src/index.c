/* Shape and indexing ops: views, reshape, alloc, join, advanced indexing.

   Each helper takes descriptors (sg_val) and small static tables written by the lowering, so a
   node's generated code is a handful of lines. Every index is bounds-checked before it is used;
   errors go through sg_fail with NumPy's wording. */
#include "sg_runtime.h"

/* ---------------------------------------------------------------- basic indexing */
/* One entry per indexed dim. kind 0: integer index (a); kind 1: slice (a:b:s).
   f*: 0 = absent (None), 1 = constant v*, 2 = symbolic sym[v*]. */

SG_API int64_t sg_slice(int64_t n, int64_t *start, int has_start, int64_t stop, int has_stop, int64_t step) {
    int64_t lo = step > 0 ? 0 : -1, hi = step > 0 ? n : n - 1, a, b;
    if (!has_start) a = step > 0 ? lo : hi;
    else { a = *start; if (a < 0) a += n; if (a < lo) a = lo; if (a > hi) a = hi; }
    if (!has_stop) b = step > 0 ? hi : lo;
    else { b = stop; if (b < 0) b += n; if (b < lo) b = lo; if (b > hi) b = hi; }
    *start = a;
    /* written so that no step, not even INT64_MIN, overflows */
    if (step > 0) return b > a ? 1 + (b - a - 1) / step : 0;
    return a > b ? 1 + (int64_t)((uint64_t)(a - b - 1) / ((uint64_t)0 - (uint64_t)step)) : 0;
}

static inline int64_t sg_pick(int8_t f, int64_t v, const int64_t *sym) { return f == 2 ? sym[v] : v; }

/* out = x[idx] as a view (x has nd dims, idx covers the first nidx). */
SG_API int sg_subtensor(sg_ctx *c, int node, const sg_val *x, int nd, const sg_idx_t *idx, int nidx,
                        const int64_t *sym, sg_val *out, int isz) {
    char *data = x->data;
    int o = 0;
    for (int d = 0; d < nd; d++) {
        int64_t n = x->shape[d], st = x->strides[d];
        if (d >= nidx) { out->shape[o] = n; out->strides[o++] = st; continue; }
        const sg_idx_t *e = &idx[d];
        if (e->kind == 0) {
            int64_t i = sg_pick(e->fa, e->a, sym), i0 = i;
            if (i < 0) i += n;
            if (i < 0 || i >= n) {
                char s[200];
                return sg_fail(c, node, SG_EINDEX, "index %lld is out of bounds for axis %d with size %lld "
                               "(input shape %s)", (long long)i0, d, (long long)n, sg_shp(s, nd, x->shape));
            }
            data += i * st * isz;
            continue;
        }
        int64_t step = e->fs ? sg_pick(e->fs, e->s, sym) : 1;
        if (step == 0) return sg_fail(c, node, SG_EVALUE, "slice step cannot be zero");
        int64_t start = e->fa ? sg_pick(e->fa, e->a, sym) : 0;
        int64_t len = sg_slice(n, &start, e->fa != 0, e->fb ? sg_pick(e->fb, e->b, sym) : 0, e->fb != 0, step);
        if (len > 0) data += start * st * isz;
        out->shape[o] = len;
        out->strides[o++] = len > 1 ? st * step : st;     /* one element: the step never applies */
    }
    out->data = data;
    return 0;
}

/* yb = y broadcast (NumPy rules, right-aligned) to shape (nd, sh); 1 on failure. */
SG_API int sg_np_broadcast(const sg_val *y, int ynd, int nd, const int64_t *sh, sg_val *yb) {
    if (ynd > nd) return 1;
    yb->data = y->data;
    for (int d = 0; d < nd; d++) {
        int yd = d - (nd - ynd);
        yb->shape[d] = sh[d];
        if (yd < 0) { yb->strides[d] = 0; continue; }
        if (y->shape[yd] == sh[d]) yb->strides[d] = y->strides[yd];
        else if (y->shape[yd] == 1) yb->strides[d] = 0;
        else return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- reshape, alloc, join */
SG_API int sg_reshape(sg_ctx *c, int node, int b, const sg_val *x, int xnd, const int64_t *req, int nd,
                      sg_val *out, int isz) {
    int64_t size = sg_size(xnd, x->shape), known = 1, sh[SG_MAXD];
    int neg = -1;
    char s1[200], s2[200];
    for (int d = 0; d < nd; d++) {
        sh[d] = req[d];
        if (req[d] == -1 && neg < 0) neg = d;
        else if (req[d] < 0) goto bad;
        else if (__builtin_mul_overflow(known, req[d], &known)) goto bad;   /* a wrapped size would pass the check */
    }
    if (neg >= 0) {
        if (known == 0 || size % known) goto bad;
        sh[neg] = size / known;
    } else if (known != size) goto bad;
    if (sg_is_contig(xnd, x->shape, x->strides)) {
        int64_t st = 1;
        for (int d = nd - 1; d >= 0; d--) { out->shape[d] = sh[d]; out->strides[d] = st; st *= sh[d] ? sh[d] : 1; }
        out->data = x->data;
        return 0;
    }
    if (sg_alloc(c, node, b, out, nd, sh, isz)) return c->err_code;
    {
        sg_val src = *x, dst = *out;
        int64_t st = 1;                     /* walk x in C order: copy through an xnd-dim view of out */
        for (int d = xnd - 1; d >= 0; d--) { dst.strides[d] = st; st *= x->shape[d] ? x->shape[d] : 1; }
        uint32_t bm[2] = {0, 0};
        sg_copy(xnd, x->shape, &dst, &src, bm, isz);
    }
    return 0;
bad:
    return sg_fail(c, node, SG_EVALUE, "cannot reshape an array of shape %s (size %lld) into shape %s",
                   sg_shp(s1, xnd, x->shape), (long long)size, sg_shp(s2, nd, req));
}

SG_API int sg_alloc_fill(sg_ctx *c, int node, int b, sg_val *out, int nd, const int64_t *sh, const sg_val *v,
                         int vnd, int isz) {
    char s1[200], s2[200];
    for (int d = 0; d < nd; d++)
        if (sh[d] < 0) return sg_fail(c, node, SG_EVALUE, "negative dimension in shape %s", sg_shp(s1, nd, sh));
    sg_val vb;
    if (sg_np_broadcast(v, vnd, nd, sh, &vb))
        return sg_fail(c, node, SG_EVALUE, "cannot broadcast value of shape %s to shape %s",
                       sg_shp(s1, vnd, v->shape), sg_shp(s2, nd, sh));
    if (sg_alloc(c, node, b, out, nd, sh, isz)) return c->err_code;
    uint32_t bm[2] = {0, 0};
    sg_copy(nd, sh, out, &vb, bm, isz);
    return 0;
}

SG_API int sg_join(sg_ctx *c, int node, int b, sg_val *out, int nd, int axis, int n, sg_val *const *ins, int isz) {
    int64_t sh[SG_MAXD];
    for (int d = 0; d < nd; d++) sh[d] = ins[0]->shape[d];
    sh[axis] = 0;
    for (int k = 0; k < n; k++) {
        for (int d = 0; d < nd; d++)
            if (d != axis && ins[k]->shape[d] != sh[d]) {
                char all[480], one[200];
                int w = sprintf(all, "[");
                for (int i = 0; i < n && w < 400; i++)
                    w += snprintf(all + w, sizeof all - w, i ? ", %s" : "%s", sg_shp(one, nd, ins[i]->shape));
                snprintf(all + w, sizeof all - w, "]");
                return sg_fail(c, node, SG_EVALUE, "shapes %s cannot be joined along axis %d", all, axis);
            }
        sh[axis] += ins[k]->shape[axis];
    }
    if (sg_alloc(c, node, b, out, nd, sh, isz)) return c->err_code;
    sg_val dst = *out;
    uint32_t bm[2] = {0, 0};
    for (int k = 0; k < n; k++) {
        sg_copy(nd, ins[k]->shape, &dst, ins[k], bm, isz);
        dst.data += ins[k]->shape[axis] * out->strides[axis] * isz;
    }
    return 0;
}

/* ---------------------------------------------------------------- advanced indexing */
/* Per indexed dim of x: kind 0 slice (a:b:s as in sg_idx_t), 1 integer array (value ix[k]),
   2 integer scalar (value ix[k], a 0-d index). Dims past nidx are full slices. */



SG_API int sg_adv_prepare(sg_ctx *c, int node, const sg_val *x, int nd, const sg_adv_t *spec, int nidx,
                          sg_val *const *ix, const int *ixnd, const int64_t *sym, sg_adv_plan *P) {
    int64_t bsh[SG_MAXD];
    int bnd = 0, first = -1, last = -1, contiguous = 1;
    for (int d = 0; d < nidx; d++)
        if (spec[d].kind) {
            int k = spec[d].kind == 1 ? ixnd[d] : 0;
            if (k > bnd) { for (int i = bnd; i < k; i++) bsh[i] = 1; bnd = k; }
            if (first < 0) first = d;
            else if (last != d - 1) contiguous = 0;
            last = d;
        }
    for (int d = 0; d < nidx; d++) {               /* broadcast the index shapes together */
        if (spec[d].kind != 1) continue;
        int k = ixnd[d];
        for (int i = 0; i < k; i++) {
            int64_t s = ix[d]->shape[i], *t = &bsh[bnd - k + i];
            if (s == *t || s == 1) continue;
            if (*t == 1) *t = s;
            else return sg_fail(c, node, SG_EINDEX, "shape mismatch: indexing arrays could not be broadcast "
                                "together");
        }
    }
    for (int d = 0; d < nidx; d++)
        if (spec[d].kind == 1 && sg_np_broadcast(ix[d], ixnd[d], bnd, bsh, &P->ib[d]))
            return sg_fail(c, node, SG_EINDEX, "shape mismatch: indexing arrays could not be broadcast together");
    int o = 0;
    P->bnd = bnd;
    #define SG_PUT_BCAST() for (int i = 0; i < bnd; i++) { P->osh[o] = bsh[i]; P->omap[o++] = -1 - i; }
    if (!contiguous) SG_PUT_BCAST();
    for (int d = 0; d < nd; d++) {
        if (d < nidx && spec[d].kind) {
            if (d == first && contiguous) SG_PUT_BCAST();
            continue;
        }
        int64_t n = x->shape[d], start = 0, step = 1, len = n;
        if (d < nidx) {
            const sg_adv_t *e = &spec[d];
            step = e->fs ? sg_pick(e->fs, e->s, sym) : 1;
            if (step == 0) return sg_fail(c, node, SG_EVALUE, "slice step cannot be zero");
            start = e->fa ? sg_pick(e->fa, e->a, sym) : 0;
            len = sg_slice(n, &start, e->fa != 0, e->fb ? sg_pick(e->fb, e->b, sym) : 0, e->fb != 0, step);
        }
        P->start[d] = start;
        P->step[d] = len > 1 ? step : 1;
        P->osh[o] = len;
        P->omap[o++] = d;
    }
    #undef SG_PUT_BCAST
    if (o > SG_MAXD) return sg_fail(c, node, SG_ERUNTIME, "too many dimensions");
    P->ond = o;
    for (int d = 0; d < nidx; d++) {             /* every index is checked, even for an empty result */
        if (!spec[d].kind) continue;
        int64_t n = x->shape[d], bad = 0, found = 0;
        if (spec[d].kind == 2) {
            int64_t v = sym[spec[d].a];
            if (v < -n || v >= n) { bad = v; found = 1; }
        } else {
            const sg_val *iv = ix[d];
            int k = ixnd[d], isz = SG_ITSZ(spec[d].itype);
            int64_t total = sg_size(k, iv->shape), idx[SG_MAXD] = {0};
            for (int64_t t = 0; t < total && !found; t++) {
                int64_t off = 0;
                for (int q = 0; q < k; q++) off += idx[q] * iv->strides[q];
                int64_t v = sg_read_index(iv->data + off * isz, spec[d].itype);
                if (v < -n || v >= n) { bad = v; found = 1; }
                for (int q = k - 1; q >= 0; q--) { if (++idx[q] < iv->shape[q]) break; idx[q] = 0; }
            }
        }
        if (found) {
            char s[200];
            return sg_fail(c, node, SG_EINDEX, "index %lld is out of bounds for axis %d with size %lld "
                           "(input shape %s)", (long long)bad, d, (long long)n, sg_shp(s, nd, x->shape));
        }
    }
    return 0;
}

/* Walk the indexed elements. mode 0: out[o] = x[i] (gather, y = out);
   mode 1: x[i] = y[o]; mode 2: x[i] += y[o] via the typed callback. y is broadcast to the out shape. */
SG_API int sg_adv_walk(sg_ctx *c, int node, sg_val *x, int nd, const sg_adv_t *spec, int nidx,
                       const int64_t *sym, const sg_adv_plan *P, sg_val *y, int mode, int isz,
                       void (*add)(char *dst, const char *src)) {
    int64_t total = sg_size(P->ond, P->osh), idx[SG_MAXD];
    if (total == 0) return 0;
    for (int d = 0; d < P->ond; d++) idx[d] = 0;
    for (int64_t t = 0; t < total; t++) {
        int64_t xo = 0, yo = 0;
        for (int o = 0; o < P->ond; o++) {
            yo += idx[o] * y->strides[o];
            if (P->omap[o] >= 0) { int d = P->omap[o]; xo += (P->start[d] + idx[o] * P->step[d]) * x->strides[d]; }
        }
        for (int d = 0; d < nd; d++) {
            if (d >= nidx || !spec[d].kind) continue;
            int64_t v;
            if (spec[d].kind == 2) v = sym[spec[d].a];
            else {
                int64_t io = 0;
                for (int o = 0, b = 0; o < P->ond; o++)
                    if (P->omap[o] < 0) io += idx[o] * P->ib[d].strides[b++];
                v = sg_read_index(P->ib[d].data + io * SG_ITSZ(spec[d].itype), spec[d].itype);
            }
            int64_t n = x->shape[d], v0 = v;
            if (v < 0) v += n;
            if (v < 0 || v >= n) {
                char s[200];
                return sg_fail(c, node, SG_EINDEX, "index %lld is out of bounds for axis %d with size %lld "
                               "(input shape %s)", (long long)v0, d, (long long)n, sg_shp(s, nd, x->shape));
            }
            xo += v * x->strides[d];
        }
        char *xp = x->data + xo * isz, *yp = y->data + yo * isz;
        if (mode == 0) memcpy(yp, xp, isz);
        else if (mode == 1) memcpy(xp, yp, isz);
        else add(xp, yp);
        for (int o = P->ond - 1; o >= 0; o--) { if (++idx[o] < P->osh[o]) break; idx[o] = 0; }
    }
    return 0;
}
