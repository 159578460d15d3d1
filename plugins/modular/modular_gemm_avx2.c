/* SPDX-License-Identifier: MIT */
/* The small-GEMM kernel with 256-bit vectors (AVX2 + FMA): modular_gemm_tiles.h. */
#include "modular.h"

#if defined(__GNUC__) && defined(__x86_64__)
#define TILE static inline __attribute__((always_inline, target("avx2,fma")))
#include <immintrin.h>

typedef __m256 vec;
typedef __m256i vmask;
enum { VW = 8 };
#define vzero() _mm256_setzero_ps()
#define vload(p) _mm256_loadu_ps(p)
#define vloadm(p, m) _mm256_maskload_ps((p), (m))
#define vfma(a, b, acc) _mm256_fmadd_ps((a), (b), (acc))

TILE vmask vmask_for(int32_t n)
{
    static const int32_t ones[16] = {-1, -1, -1, -1, -1, -1, -1, -1};
    return _mm256_loadu_si256((const __m256i *)(ones + 8 - n));
}

#include "modular_gemm_tiles.h"

TILE __m256 sums8(const vec *acc)
{
    return reduce8(acc);
}

TILE __m128 sums4(const vec *acc)
{
    return reduce4(acc);
}

__attribute__((target("avx2,fma"))) void mod_gemm_nt_avx2(int32_t c, int32_t out, int32_t in,
                                                          const float *x, const float *w,
                                                          float *y)
{
    gemm_nt(c, out, in, x, w, y);
}
#endif
