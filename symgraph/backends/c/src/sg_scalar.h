/* Scalar helpers that the expression rules call (render.SCALAR_RULES): integer division and
   modulo as Python/NumPy define them, float floor division, sigmoid, softplus.

   Shared by the C runtime and by CUDA: sg_runtime.h includes this file, and the CUDA dialect
   puts its text in front of every CUDA module. SG_DEVICE is each function's qualifier: under
   nvcc __device__ (the CUDA dialect defines it as its helper prefix first), in C static inline.
   Needs <stdint.h> and <math.h>. */
#ifndef SG_SCALAR_H
#define SG_SCALAR_H

#ifndef SG_DEVICE
#ifdef __CUDACC__
#define SG_DEVICE static __device__ __forceinline__
#else
#define SG_DEVICE static inline
#endif
#endif

#ifdef __cplusplus
/* the helpers call copysign(0, x) with an int 0: in C++ that picks a host-only template, so
   give the device an exact (int, double) overload */
SG_DEVICE double copysign(int a, double b) { return copysign((double)a, b); }
#endif

/* float -> integer casts as ops.scalar.convert defines them (docs/DESIGN.md, "Casts"): a C cast
   of an out-of-range value is undefined (and differs between gcc's scalar and vector code and the
   GPU), so the range is checked first; NaN and out of range give the most negative value. */
SG_DEVICE int32_t sg_f2i32(double x) {
    return (x >= -2147483648.0 && x < 2147483648.0) ? (int32_t)x : INT32_MIN;
}
SG_DEVICE int64_t sg_f2i64(double x) {
    return (x >= -9223372036854775808.0 && x < 9223372036854775808.0) ? (int64_t)x : INT64_MIN;
}
SG_DEVICE uint64_t sg_f2u64(double x) {
    if (x >= 9223372036854775808.0)
        return (uint64_t)sg_f2i64(x - 9223372036854775808.0) ^ ((uint64_t)1 << 63);
    return (uint64_t)sg_f2i64(x);
}

SG_DEVICE int64_t sg_idiv(int64_t a, int64_t b) {
    if (b == 0) return 0;
    if (b == -1) return (int64_t)(0 - (uint64_t)a);
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}
SG_DEVICE int64_t sg_imod(int64_t a, int64_t b) {
    if (b == 0 || b == -1) return 0;
    int64_t r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}
SG_DEVICE uint64_t sg_udiv(uint64_t a, uint64_t b) { return b ? a / b : 0; }
SG_DEVICE uint64_t sg_umod(uint64_t a, uint64_t b) { return b ? a % b : 0; }
SG_DEVICE int64_t sg_ipow(int64_t a, int64_t e) {
    if (e < 0) return a == 1 ? 1 : (a == -1 ? ((e & 1) ? -1 : 1) : 0);
    uint64_t r = 1, x = (uint64_t)a;
    while (e) { if (e & 1) r *= x; x *= x; e >>= 1; }
    return (int64_t)r;
}
/* NumPy's npy_divmod: floor division and modulo of floats */
#define SG_FDIVMOD(T, SFX)                                                              \
SG_DEVICE T sg_floordiv##SFX(T a, T b) {                                            \
    if (b == 0) return a / b;                                                           \
    T mod = fmod##SFX(a, b);                                                            \
    T div = (a - mod) / b;                                                              \
    if (mod && ((b < 0) != (mod < 0))) div -= 1;                                        \
    if (div) { T f = floor##SFX(div); if (div - f > (T)0.5) f += 1; return f; }         \
    return copysign##SFX(0, a / b);                                                     \
}                                                                                       \
SG_DEVICE T sg_fmod##SFX(T a, T b) {                                                \
    T mod = fmod##SFX(a, b);                                                            \
    if (!b) return mod;                                                                 \
    if (mod) { if ((b < 0) != (mod < 0)) mod += b; }                                    \
    else mod = copysign##SFX(0, b);                                                     \
    return mod;                                                                         \
}                                                                                       \
SG_DEVICE T sg_sigmoid##SFX(T x) {                                                  \
    T e = exp##SFX(-fabs##SFX(x));                                                      \
    return x >= 0 ? 1 / (1 + e) : e / (1 + e);                                          \
}                                                                                       \
SG_DEVICE T sg_softplus##SFX(T x) {                                                 \
    return (x > 0 ? x : 0) + log1p##SFX(exp##SFX(-fabs##SFX(x)));                       \
}
SG_FDIVMOD(float, f)
SG_FDIVMOD(double, )

#endif /* SG_SCALAR_H */
