/* Include the file named by SG_PER_DTYPE once per element type, with its parameters set:
 * SG_T (the C type), SG_S (the name suffix, f32/f64) and SG_MSFX (the libm suffix).
 *
 *     #define SG_PER_DTYPE "conv_impl.h"
 *     #include "sg_per_dtype.h"
 *
 * No include guard: every use instantiates another file. */
#ifndef SG_PER_DTYPE
#error "define SG_PER_DTYPE (the file to instantiate per dtype) before including sg_per_dtype.h"
#endif

#define SG_T float
#define SG_S f32
#define SG_MSFX f
#include SG_PER_DTYPE
#undef SG_T
#undef SG_S
#undef SG_MSFX

#define SG_T double
#define SG_S f64
#define SG_MSFX
#include SG_PER_DTYPE
#undef SG_T
#undef SG_S
#undef SG_MSFX

#undef SG_PER_DTYPE
