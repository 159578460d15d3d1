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
 * The tiles are written once (modular_gemm_tiles.h) for two vector widths: 256-bit
 * (AVX2+FMA, modular_gemm_avx2.c) and 512-bit (AVX-512F, modular_gemm_avx512.c), the
 * latter where the CPU has it and the input is 256 wide or more. Same tiles, half the
 * instructions per multiply-add: ratio 1.08 -> 1.01 (batch 64), 1.12 -> 0.99 (256),
 * 1.15 -> 1.10 (1024), 1.19 -> 1.12 (784->32) against the Haswell sgemm, one
 * interleaved run each at load 0.9.
 * Elsewhere (no AVX2, not x86-64) mod_small_gemm says no and the sgemm does it all. */
#include <stdlib.h>
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

/* The kernels this CPU runs (NULL where it lacks the instructions). Read-only after the
 * first call: the CPU does not change. MODLAB_MODULAR_KERNEL=avx2 keeps the 256-bit one
 * everywhere (for measuring the two). */
typedef void (*gemm_fn)(int32_t, int32_t, int32_t, const float *, const float *, float *);
static gemm_fn narrow_fn, wide_fn;

static void pick(void)
{
#if defined(__GNUC__) && defined(__x86_64__)
    const char *force = getenv("MODLAB_MODULAR_KERNEL");
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        narrow_fn = mod_gemm_nt_avx2;
    int keep256 = force && strcmp(force, "avx2") == 0;
    if (narrow_fn && __builtin_cpu_supports("avx512f") && !keep256)
        wide_fn = mod_gemm_nt_avx512;
#endif
}

int mod_small_gemm(int32_t c, int32_t out, int32_t in, const float *x, const float *w,
                   float *y)
{
    static int picked;
    if (!picked) {
        pick();
        picked = 1;
    }
    if (!narrow_fn || !mod_small_gemm_takes(c, out, in))
        return 0;
    /* The 512-bit tiles pay from 16 steps along the input; below, their longer sums cost
     * more than the halved steps save (ratio to one module, 256-bit / 512-bit kernel:
     * in=32 2.76 / 3.37, 64 1.23 / 1.71, 128 1.05 / 1.21, 256 1.04 / 1.00, 512 1.08 / 1.01). */
    (in >= MOD_WIDE_MIN_IN && wide_fn ? wide_fn : narrow_fn)(c, out, in, x, w, y);
    return 1;
}
