/* Runtime C for 2-D convolution and its gradients: im2col + BLAS gemm over chunks of images.

   Theano's CorrMM design, written afresh. For a chunk of B images the patches
   are laid out as col (K = C*kh*kw rows, B*oh*ow columns), so

   - forward:       tmp (O, B*P) = Wf (O, K) . col,        then tmp -> out (B, O, P)
   - weights grad:  gW (O, K)   += tg (O, B*P) . col^T     (col passed transposed, not copied)
   - inputs grad:   gcol (K, B*P) = Wf^T . tg,             then col2im (adds each row run back)

   where Wf is the (flipped, for a true convolution) filter bank made
   contiguous once per call and tg the output gradient regrouped as (O, B*P).

   Chunks are sized from the shapes alone so that a chunk's col stays in a
   core's L2 cache (SG_CONV_CHUNK_BYTES). When the batch gives at least one
   chunk per thread, each thread takes whole chunks: its own im2col, a
   single-threaded gemm, its own col2im or scatter (the images of a chunk belong to
   one thread, so nothing is shared but the filters). This keeps every
   intermediate in cache and the small gemms of typical layers at one core's full
   speed. Small batches (fewer chunks than threads) run chunk after chunk (only the
   copies split over threads). The weights gradient sums chunk q into partial sum
   q % SG_CONV_GROUPS (a thread takes whole partial sums) and adds the partial sums
   in order, so results do not depend on the number of threads or on the thread
   policy (sg_threads): training is reproducible bit for bit. */
#include "sg_runtime.h"

static inline int sg_conv_tid(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

#define SG_PER_DTYPE "conv_impl.h"
#include "sg_per_dtype.h"
