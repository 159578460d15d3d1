/* SPDX-License-Identifier: MIT */
/* y = x W^T for a module's few gathered rows, and for the controller's few logits, without
 * the BLAS's packing. With M modules and K = 1 each module sees about batch/M rows; an
 * sgemm on so few rows spends most of its time copying the module's whole weight matrix
 * into its packed layout (perf, batch 64: sgemm_incopy 35 % of the forward), a copy a
 * single dense layer pays once per batch for M times the rows. This kernel reads W in place
 * as dot products along the input:
 * - Blocks of 12 outputs: the block's W rows stay in L1 while every row of x goes past
 *   them, so W comes from memory once (rows outermost, it came once per 4 rows).
 * - Tiles of 4 rows x 3 outputs (12 accumulators); the last 1-3 rows get a tile with as
 *   many accumulators (3x4, 2x6, 1x12) instead of a 4-row tile of clamped duplicates.
 * - The sums of a tile come out of one hadd/permute tree; the last in % 8 inputs go through
 *   a masked load.
 * - Written so that gcc and clang both keep the accumulators in registers (see step, tile).
 * Scratch, 8 modules' weights at in=out=512, W 64-aligned, medians of 15 interleaved, load
 * 0.6, ms for 8 GEMMs of c rows (the sgemm / the kernel before / this one): c=1 0.61 / 0.19
 * / 0.11, 5 0.76 / 0.38 / 0.21, 8 0.94 / 0.54 / 0.43, 16 1.23 / 0.93 / 0.79, 31 2.00 / 1.62 /
 * 1.24, 64 2.83 / - / 2.48, 127 6.00 / - / 5.23. bench/modular_bench (one modular layer
 * against one module, eval, 512x512): batch 64 ratio 1.38 -> 1.01, 256 1.34 -> 1.09-1.12;
 * 784->32 batch 32 1.79 -> 1.17-1.21 (recipes/modular/README.md). Prefetching the next
 * block's W was tried: no gain from 8 rows up, 10-30 % slower below (not kept).
 * x86-64 with AVX2+FMA only (checked at run time); elsewhere mod_small_gemm says no. */
#include <string.h>

#include "modular.h"

/* Measured against OpenBLAS's Haswell sgemm, 8 modules' weights (tests of 2-192 rows, 8-2048
 * outputs, 16-2048 inputs): the kernel's cost per tile beyond the FMAs (sums, stores) weighs
 * ~1/in, the sgemm's packing of W ~1/c, so it wins while c is small against in (3c <= in:
 * in=32 up to 8-10 rows, 64 up to ~24, 128 up to ~48, 256 past 96; in=out=512 still 5-10 %
 * faster at 127 rows). For narrow outputs (the controller's logits) the sgemm never gets
 * efficient (58-63 GFLOP/s at 8 outputs, any c; the kernel 83-94) once in >= 64. */
int mod_small_gemm_takes(int32_t c, int32_t out, int32_t in)
{
    if (c < 1 || out < 1 || in < 1)
        return 0;
    return (c < MOD_SMALL_ROWS && 3 * c <= in) || (out <= MOD_NARROW_OUT && in >= 64);
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#define KERNEL __attribute__((target("avx2,fma")))
#define TILE static inline __attribute__((always_inline, target("avx2,fma")))

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

/* Loops over a tile's rows and outputs, fully unrolled once R and Q are constants, so that
 * the accumulators live in registers (clang needs its own spelling of the pragma). */
#if defined(__clang__)
#define UNROLL _Pragma("clang loop unroll(full)")
#else
#define UNROLL _Pragma("GCC unroll 12")
#endif

TILE __m256 load(const float *p, int masked, __m256i mask)
{
    return masked ? _mm256_maskload_ps(p, mask) : _mm256_loadu_ps(p);
}

/* acc[a*Q+b] += x row a . W row b over inputs i..i+8. With 16 vector registers, R*Q
 * accumulators leave room for either the R x vectors or the Q W vectors of a step, not
 * both: the wider side is the one loaded for each use (4x3 keeps its 3 W vectors). */
TILE void step(int R, int Q, int32_t i, const float *const *xr, const float *const *wr,
               __m256 *acc, int masked, __m256i mask)
{
    if (R > Q) {
        __m256 wv[12];
        UNROLL for (int b = 0; b < Q; b++)
            wv[b] = load(wr[b] + i, masked, mask);
        UNROLL for (int a = 0; a < R; a++) {
            __m256 xv = load(xr[a] + i, masked, mask);
            UNROLL for (int b = 0; b < Q; b++)
                acc[a * Q + b] = _mm256_fmadd_ps(xv, wv[b], acc[a * Q + b]);
        }
    } else {
        __m256 xv[4];
        UNROLL for (int a = 0; a < R; a++)
            xv[a] = load(xr[a] + i, masked, mask);
        UNROLL for (int b = 0; b < Q; b++) {
            __m256 wv = load(wr[b] + i, masked, mask);
            UNROLL for (int a = 0; a < R; a++)
                acc[a * Q + b] = _mm256_fmadd_ps(xv[a], wv, acc[a * Q + b]);
        }
    }
}

/* One tile: rows j..j+R of x (all there) against outputs o..o+Q of W (R*Q = 8 or 12
 * accumulators), R and Q constants once inlined. Outputs past the end are clamped to the
 * last one (computed again, not stored). The last in % 8 inputs go through a masked load. */
TILE void tile(int R, int Q, int32_t j, int32_t o, int32_t out, int32_t in,
               const float *x, const float *w, float *y, __m256i mask)
{
    const float *xr[4], *wr[12];
    __m256 acc[12];
    UNROLL for (int a = 0; a < R; a++)
        xr[a] = x + (size_t)(j + a) * in;
    UNROLL for (int b = 0; b < Q; b++)
        wr[b] = w + (size_t)(o + b < out ? o + b : out - 1) * in;
    UNROLL for (int t = 0; t < R * Q; t++)
        acc[t] = _mm256_setzero_ps();
    int32_t i = 0;
    for (; i + 8 <= in; i += 8)
        step(R, Q, i, xr, wr, acc, 0, mask);
    if (i < in)
        step(R, Q, i, xr, wr, acc, 1, mask);
    float s[12];
    _mm256_storeu_ps(s, reduce8(acc));
    if (R * Q == 12)
        _mm_storeu_ps(s + 8, reduce4(acc + 8));
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
KERNEL static void gemm_nt(int32_t c, int32_t out, int32_t in, const float *x,
                           const float *w, float *y)
{
    static const int32_t ones[16] = {-1, -1, -1, -1, -1, -1, -1, -1};
    __m256i mask = _mm256_loadu_si256((const __m256i *)(ones + 8 - (in & 7)));
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

int mod_small_gemm(int32_t c, int32_t out, int32_t in, const float *x, const float *w,
                   float *y)
{
    static int have = -1;   /* read-only after the first call: the CPU does not change */
    if (have < 0) {
        __builtin_cpu_init();
        have = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    if (!have || !mod_small_gemm_takes(c, out, in))
        return 0;
    gemm_nt(c, out, in, x, w, y);
    return 1;
}
#else
int mod_small_gemm(int32_t c, int32_t out, int32_t in, const float *x, const float *w,
                   float *y)
{
    (void)c, (void)out, (void)in, (void)x, (void)w, (void)y;
    return 0;
}
#endif
