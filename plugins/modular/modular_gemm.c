/* SPDX-License-Identifier: MIT */
/* y = x W^T for a module's few gathered rows, without the BLAS's packing. With M modules
 * and K = 1 each module sees about batch/M rows; an sgemm on so few rows spends most of its
 * time copying the module's whole weight matrix into its packed layout (perf, batch 64:
 * sgemm_incopy 35 % of the forward), a copy a single dense layer pays once per batch for
 * M times the rows. This kernel reads W in place: tiles of 4 rows x 3 outputs, 12 vector
 * accumulators over the input dimension. Below ~32 rows it beats the sgemm (scratch at
 * in=out=512: 8 rows 0.60 vs 0.96 ms for 8 modules, 16 rows 1.08 vs 1.37; equal at 32).
 * x86-64 with AVX2+FMA only (checked at run time); elsewhere mod_small_gemm says no. */
#include <string.h>

#include "modular.h"

#if defined(__GNUC__) && defined(__x86_64__)
typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));   /* unaligned loads */

__attribute__((target("avx2,fma"))) static float hsum(v8 v)
{
    float s = 0.0f;
    for (int e = 0; e < 8; e++)
        s += v[e];
    return s;
}

__attribute__((target("avx2,fma"))) static void
gemm_nt(int32_t c, int32_t out, int32_t in, const float *x, const float *w, float *y)
{
    int32_t in8 = in & ~7;
    /* Rows and outputs past the end are clamped to the last one: the tile computes them
     * again and the store below skips them. */
    for (int32_t j = 0; j < c; j += 4) {
        const float *x0 = x + (size_t)j * in;
        const float *x1 = x + (size_t)(j + 1 < c ? j + 1 : j) * in;
        const float *x2 = x + (size_t)(j + 2 < c ? j + 2 : j) * in;
        const float *x3 = x + (size_t)(j + 3 < c ? j + 3 : j) * in;
        const float *xr[4] = {x0, x1, x2, x3};
        for (int32_t o = 0; o < out; o += 3) {
            const float *w0 = w + (size_t)o * in;
            const float *w1 = w + (size_t)(o + 1 < out ? o + 1 : o) * in;
            const float *w2 = w + (size_t)(o + 2 < out ? o + 2 : o) * in;
            const float *wr[3] = {w0, w1, w2};
            v8 a00 = {0}, a01 = {0}, a02 = {0}, a10 = {0}, a11 = {0}, a12 = {0};
            v8 a20 = {0}, a21 = {0}, a22 = {0}, a30 = {0}, a31 = {0}, a32 = {0};
            for (int32_t i = 0; i < in8; i += 8) {
                v8 b0 = *(const v8u *)(w0 + i), b1 = *(const v8u *)(w1 + i);
                v8 b2 = *(const v8u *)(w2 + i), v = *(const v8u *)(x0 + i);
                a00 += v * b0, a01 += v * b1, a02 += v * b2;
                v = *(const v8u *)(x1 + i);
                a10 += v * b0, a11 += v * b1, a12 += v * b2;
                v = *(const v8u *)(x2 + i);
                a20 += v * b0, a21 += v * b1, a22 += v * b2;
                v = *(const v8u *)(x3 + i);
                a30 += v * b0, a31 += v * b1, a32 += v * b2;
            }
            float s[4][3] = {{hsum(a00), hsum(a01), hsum(a02)},
                             {hsum(a10), hsum(a11), hsum(a12)},
                             {hsum(a20), hsum(a21), hsum(a22)},
                             {hsum(a30), hsum(a31), hsum(a32)}};
            for (int32_t a = 0; a < 4 && j + a < c; a++)
                for (int32_t b = 0; b < 3 && o + b < out; b++) {
                    float t = s[a][b];
                    for (int32_t i = in8; i < in; i++)
                        t += xr[a][i] * wr[b][i];
                    y[(size_t)(j + a) * out + o + b] = t;
                }
        }
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
    if (!have || c >= MOD_SMALL_ROWS || in < 8)
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
