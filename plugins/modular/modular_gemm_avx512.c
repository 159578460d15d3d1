/* SPDX-License-Identifier: MIT */
/* The small-GEMM kernel with 512-bit vectors (AVX-512F): modular_gemm_tiles.h. Where the
 * host's sgemm runs AVX-512 kernels (OpenBLAS picks them on such CPUs unless
 * OPENBLAS_CORETYPE says otherwise) the 256-bit kernel lost to it; this one halves the
 * instructions per multiply-add and keeps up. */
#include "modular.h"

#if defined(__GNUC__) && defined(__x86_64__)
#define TILE static inline __attribute__((always_inline, target("avx512f,avx2,fma")))
#include <immintrin.h>

typedef __m512 vec;
typedef __mmask16 vmask;
enum { VW = 16 };
#define vzero() _mm512_setzero_ps()
#define vload(p) _mm512_loadu_ps(p)
#define vloadm(p, m) _mm512_maskz_loadu_ps((m), (p))
#define vfma(a, b, acc) _mm512_fmadd_ps((a), (b), (acc))

TILE vmask vmask_for(int32_t n)
{
    return (vmask)((1u << n) - 1u);
}

#include "modular_gemm_tiles.h"

/* A 512-bit vector's two halves added: the same sums in a 256-bit vector. */
TILE __m256 fold(__m512 v)
{
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    return _mm256_add_ps(_mm512_castps512_ps256(v), hi);
}

TILE __m256 sums8(const vec *acc)
{
    __m256 f[8];
    for (int k = 0; k < 8; k++)
        f[k] = fold(acc[k]);
    return reduce8(f);
}

TILE __m128 sums4(const vec *acc)
{
    __m256 f[4];
    for (int k = 0; k < 4; k++)
        f[k] = fold(acc[k]);
    return reduce4(f);
}

__attribute__((target("avx512f,avx2,fma"))) void
mod_gemm_nt_avx512(int32_t c, int32_t out, int32_t in, const float *x, const float *w,
                   float *y)
{
    gemm_nt(c, out, in, x, w, y);
}
#endif
