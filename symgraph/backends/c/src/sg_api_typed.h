/* Prototypes of the runtime functions typed by element dtype: softmax family, pooling (nnet.c)
   and convolution (conv.c). Included by sg_runtime.h once per dtype (see SG_FN there). */
#if !defined(SG_T) || !defined(SG_S) || !defined(SG_MSFX)
#error "define SG_T (element type), SG_S (name suffix) and SG_MSFX (libm suffix) before including this file"
#endif
int SG_FN(softmax)(sg_ctx *c, int node, int b, sg_val *x, int nd, sg_val *out, int logsm);
int SG_FN(softmax_grad)(sg_ctx *c, int node, int b, sg_val *dy, sg_val *sm, int nd, sg_val *out);
int SG_FN(xent)(sg_ctx *c, int node, int bl, int bs, sg_val *z, sg_val *y, int itype, sg_val *loss,
                    sg_val *sm);
int SG_FN(xent_grad)(sg_ctx *c, int node, int b, sg_val *g, sg_val *sm, sg_val *y, int itype, sg_val *out);
int SG_FN(pool)(sg_ctx *c, const sg_pool_t *P, int b, sg_val *x, int nd, sg_val *out);
int SG_FN(pool_grad)(sg_ctx *c, const sg_pool_t *P, int kind, int b, sg_val *x, sg_val *m, sg_val *g, int nd,
                    sg_val *out);
int SG_FN(conv2d)(sg_ctx *c, const sg_conv_t *A, int b, int wk, int wc, int wt, sg_val *img, sg_val *kern,
                    sg_val *out);
int SG_FN(conv2d_gi)(sg_ctx *c, const sg_conv_t *A, int b, int wk, int wc, int wt, sg_val *kern, sg_val *top,
                    int64_t H, int64_t W, sg_val *out);
int SG_FN(conv2d_gw)(sg_ctx *c, const sg_conv_t *A, int b, int wk, int wc, int wt, sg_val *img, sg_val *top,
                    int64_t kh, int64_t kw, sg_val *out);
