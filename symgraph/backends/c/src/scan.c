/* The helpers of a lowered Scan's time loop (lower/scan.py writes the loop itself into the
   node's function): per-step views of sequence and state rows, copying a step's value into
   its row of a state buffer or of a nit-sot output, and the shape checks' messages. */
#include "sg_runtime.h"

/* v = a row of x (x has nd + 1 dims): the shape and strides of x's last nd dims, x's data
   (the loop moves v->data from row to row) */
SG_API void sg_scan_view(sg_val *v, const sg_val *x, int nd) {
    v->data = x->data;
    for (int d = 0; d < nd; d++) {
        v->shape[d] = x->shape[d + 1];
        v->strides[d] = x->strides[d + 1];
    }
}

/* dst = src, both of src's shape (nd dims): one memcpy when both are contiguous */
SG_API void sg_scan_put(int nd, sg_val *dst, const sg_val *src, int isz) {
    if (sg_is_contig(nd, src->shape, src->strides) && sg_is_contig(nd, dst->shape, dst->strides)) {
        memcpy(dst->data, src->data, (size_t)(sg_size(nd, src->shape) * isz));
        return;
    }
    uint32_t bm[2] = {0, 0};
    sg_copy(nd, src->shape, dst, (sg_val *)src, bm, isz);
}

SG_API int sg_scan_same(int nd, const int64_t *a, const int64_t *b) {
    for (int d = 0; d < nd; d++)
        if (a[d] != b[d]) return 0;
    return 1;
}

/* the reference's message for a nit-sot output whose shape changes: its shapes, sorted */
SG_API int sg_scan_shapes_fail(sg_ctx *c, int node, const char *prefix, int out, int nd, const int64_t *a,
                               const int64_t *b) {
    int d = 0;
    while (d < nd && a[d] == b[d]) d++;
    if (d < nd && a[d] > b[d]) { const int64_t *t = a; a = b; b = t; }
    char s1[200], s2[200];
    return sg_fail(c, node, SG_EVALUE, "@%soutput %d (not fed back) has different shapes at different steps: "
                   "[%s, %s]", prefix, out, sg_shp(s1, nd, a), sg_shp(s2, nd, b));
}
