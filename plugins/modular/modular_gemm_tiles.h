/* SPDX-License-Identifier: MIT */
/* The small-GEMM kernel's body, written once for any vector width (modular_gemm.c has the
 * design and its numbers). Included by modular_gemm_avx2.c and modular_gemm_avx512.c,
 * each first defining:
 *   TILE            static inline always_inline with the file's target attribute
 *   vec, vmask      the vector and its tail-mask types; VW floats per vector
 *   vzero() vload(p) vloadm(p, m) vfma(a, b, acc) vmask_for(n)   (n = in % VW)
 * and, after including it, sums8 and sums4 (declared below; reduce8 and reduce4 do the
 * work for 256-bit vectors), then calling gemm_nt(). Both are x86-64 only. */
#ifndef MODLAB_PLUGINS_MODULAR_GEMM_TILES_H
#define MODLAB_PLUGINS_MODULAR_GEMM_TILES_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

/* Loops over a tile's rows and outputs, fully unrolled once R and Q are constants, so that
 * the accumulators live in registers (clang needs its own spelling of the pragma). */
#if defined(__clang__)
#define UNROLL _Pragma("clang loop unroll(full)")
#else
#define UNROLL _Pragma("GCC unroll 12")
#endif

/* The 8 horizontal sums of a[0..8) as one vector, in order. */
TILE __m256 reduce8(const __m256 *a)
{
    __m256 t0 = _mm256_hadd_ps(a[0], a[1]), t1 = _mm256_hadd_ps(a[2], a[3]);
    __m256 t2 = _mm256_hadd_ps(a[4], a[5]), t3 = _mm256_hadd_ps(a[6], a[7]);
    __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
                         _mm256_permute2f128_ps(u0, u1, 0x31));
}

/* The 4 horizontal sums of a[0..4). */
TILE __m128 reduce4(const __m256 *a)
{
    __m256 u = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
    return _mm_add_ps(_mm256_castps256_ps128(u), _mm256_extractf128_ps(u, 1));
}

/* The 8 horizontal sums of acc[0..8) as one __m256, in order; the 4 of acc[0..4). */
TILE __m256 sums8(const vec *acc);
TILE __m128 sums4(const vec *acc);

TILE vec load(const float *p, int masked, vmask mask)
{
    return masked ? vloadm(p, mask) : vload(p);
}

/* acc[a*Q+b] += x row a . W row b over inputs i..i+VW. With 16 vector registers (AVX2),
 * R*Q accumulators leave room for either the R x vectors or the Q W vectors of a step, not
 * both: the wider side is the one loaded for each use (4x3 keeps its 3 W vectors). */
TILE void step(int R, int Q, int32_t i, const float *const *xr, const float *const *wr,
               vec *acc, int masked, vmask mask)
{
    if (R > Q) {
        vec wv[12];
        UNROLL for (int b = 0; b < Q; b++)
            wv[b] = load(wr[b] + i, masked, mask);
        UNROLL for (int a = 0; a < R; a++) {
            vec xv = load(xr[a] + i, masked, mask);
            UNROLL for (int b = 0; b < Q; b++)
                acc[a * Q + b] = vfma(xv, wv[b], acc[a * Q + b]);
        }
    } else {
        vec xv[4];
        UNROLL for (int a = 0; a < R; a++)
            xv[a] = load(xr[a] + i, masked, mask);
        UNROLL for (int b = 0; b < Q; b++) {
            vec wv = load(wr[b] + i, masked, mask);
            UNROLL for (int a = 0; a < R; a++)
                acc[a * Q + b] = vfma(xv[a], wv, acc[a * Q + b]);
        }
    }
}

/* One tile: rows j..j+R of x (all there) against outputs o..o+Q of W (R*Q = 8 or 12
 * accumulators), R and Q constants once inlined. Outputs past the end are clamped to the
 * last one (computed again, not stored). The last in % VW inputs go through a masked load. */
TILE void tile(int R, int Q, int32_t j, int32_t o, int32_t out, int32_t in,
               const float *x, const float *w, float *y, vmask mask)
{
    const float *xr[4], *wr[12];
    vec acc[12];
    UNROLL for (int a = 0; a < R; a++)
        xr[a] = x + (size_t)(j + a) * in;
    UNROLL for (int b = 0; b < Q; b++)
        wr[b] = w + (size_t)(o + b < out ? o + b : out - 1) * in;
    UNROLL for (int t = 0; t < R * Q; t++)
        acc[t] = vzero();
    int32_t i = 0;
    for (; i + VW <= in; i += VW)
        step(R, Q, i, xr, wr, acc, 0, mask);
    if (i < in)
        step(R, Q, i, xr, wr, acc, 1, mask);
    float s[12];
    _mm256_storeu_ps(s, sums8(acc));
    if (R * Q == 12)
        _mm_storeu_ps(s + 8, sums4(acc + 8));
    /* A whole tile with a constant count: a variable one became a memcpy call per row
     * (clang), a third of the time of a small tile. */
    if (o + Q <= out) {
        UNROLL for (int a = 0; a < R; a++)
            UNROLL for (int b = 0; b < Q; b++)
                y[(size_t)(j + a) * out + o + b] = s[a * Q + b];
    } else {
        for (int a = 0; a < R; a++)
            for (int b = 0; o + b < out; b++)
                y[(size_t)(j + a) * out + o + b] = s[a * Q + b];
    }
}

/* Blocks of 12 outputs, whose W rows stay in L1 while every row of x goes past them: W is
 * read from memory once, x (few rows) is re-read from cache. 4-row tiles, and a narrower
 * tile with as many accumulators for the last 1-3 rows. */
TILE void gemm_nt(int32_t c, int32_t out, int32_t in, const float *x, const float *w,
                  float *y)
{
    vmask mask = vmask_for(in % VW);
    int32_t c4 = c & ~3, tail = c - c4;
    for (int32_t o = 0; o < out; o += 12) {
        for (int32_t j = 0; j < c4; j += 4)
            for (int32_t q = o; q < o + 12 && q < out; q += 3)
                tile(4, 3, j, q, out, in, x, w, y, mask);
        if (tail == 3)
            for (int32_t q = o; q < o + 12 && q < out; q += 4)
                tile(3, 4, c4, q, out, in, x, w, y, mask);
        else if (tail == 2)
            for (int32_t q = o; q < o + 12 && q < out; q += 6)
                tile(2, 6, c4, q, out, in, x, w, y, mask);
        else if (tail == 1)
            tile(1, 12, c4, o, out, in, x, w, y, mask);
    }
}

#endif
