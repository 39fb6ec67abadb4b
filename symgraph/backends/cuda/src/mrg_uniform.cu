// parameters: SG_T SG_MRG_F64
//
// MRG31k3p uniform draws, bit for bit those of the reference backend (rng.py says which
// stream draws which element). One thread runs one stream: for s < used = min(n_streams, n)
// it draws elements s, s + used, s + 2 used, ... in order, then stores its new state;
// streams >= used are copied unchanged. state == new_state when the op is in place.
//
// Instantiated by dialect.instantiate("mrg_uniform.cu", SG_T=..., SG_MRG_F64=0 or 1); the
// lowering names the kernel (${name}) when it registers it.
#if !defined(SG_T) || !defined(SG_MRG_F64)
#error "define SG_T (float or double) and SG_MRG_F64 (0 or 1) before this file"
#endif

extern "C" __global__ void ${name}(const long long n_streams, const long long n, const int* state,
                                  int* new_state, SG_T* __restrict__ out)
{
  const long long M1 = 2147483647LL, M2 = 2147462579LL;
  const long long used = n_streams < n ? n_streams : n;
  for (long long s = (blockIdx.x * blockDim.x + threadIdx.x); s < n_streams; s += (blockDim.x * gridDim.x)) {
    const int* st = state + 6LL * s;
    long long x11 = st[0], x12 = st[1], x13 = st[2], x21 = st[3], x22 = st[4], x23 = st[5];
    if (s < used) {
      for (long long i = s; i < n; i += used) {
        long long y1 = ((x12 & 511) << 22) + (x12 >> 9) + ((x13 & 16777215) << 7) + (x13 >> 24);
        if (y1 >= M1) y1 -= M1;
        y1 += x13;
        if (y1 >= M1) y1 -= M1;
        long long z1 = ((x21 & 65535) << 15) + 21069 * (x21 >> 16);
        if (z1 >= M2) z1 -= M2;
        long long z2 = ((x23 & 65535) << 15) + 21069 * (x23 >> 16);
        if (z2 >= M2) z2 -= M2;
        z2 += x23;
        if (z2 >= M2) z2 -= M2;
        z2 += z1;
        if (z2 >= M2) z2 -= M2;
        x13 = x12; x12 = x11; x11 = y1;
        x23 = x22; x22 = x21; x21 = z2;
        long long k = x11 - x21;
        if (k <= 0) k += M1;
        // one rounded multiply, as NumPy's multiply of the dtype
#if SG_MRG_F64
        out[i] = __dmul_rn((double)k, 4.656612873077392578125e-10);
#else
        out[i] = __fmul_rn((float)k, 4.6566126e-10f);
#endif
      }
    }
    int* ns = new_state + 6LL * s;
    ns[0] = (int)x11; ns[1] = (int)x12; ns[2] = (int)x13;
    ns[3] = (int)x21; ns[4] = (int)x22; ns[5] = (int)x23;
  }
}
