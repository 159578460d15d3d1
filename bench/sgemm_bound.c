/* SPDX-License-Identifier: MIT */
/* The sgemm-only bound of `make bench`: the time of exactly the GEMMs one training step of
 * each issue-4 model needs (forward, weight gradients, input gradients where a layer below
 * trains), with cblas_sgemm alone, so training figures can be read as a fraction of what the
 * BLAS allows. Convolutions count as one im2col GEMM over the whole batch.
 *   sgemm_bound --model mlp|cnn --threads N --reps R
 * Prints one "bound ..." line of key=value (train_sps: samples/s of the GEMMs alone). */
#include <cblas.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

typedef struct gemm {
    int ta, tb, m, n, k;   /* row-major C[m,n] = op(A)[m,k] op(B)[k,n] */
} gemm;

enum { MAX_GEMMS = 16, MAX_REPS = 64 };

/* Linear in -> out at batch B: forward x W^T, dW = g^T x, and dx = g W when `dgrad`. */
static int add_linear(gemm *g, int n, int B, int in, int out, int dgrad)
{
    g[n++] = (gemm){0, 1, B, out, in};
    g[n++] = (gemm){1, 0, out, in, B};
    if (dgrad)
        g[n++] = (gemm){0, 0, B, in, out};
    return n;
}

/* Conv as im2col: W[o,ckk] cols[ckk,B*ohw]; dW = g cols^T; dcols = W^T g when `dgrad`. */
static int add_conv(gemm *g, int n, int B, int c, int k, int o, int ohw, int dgrad)
{
    int ckk = c * k * k, cols = B * ohw;
    g[n++] = (gemm){0, 0, o, cols, ckk};
    g[n++] = (gemm){0, 1, o, ckk, cols};
    if (dgrad)
        g[n++] = (gemm){1, 0, ckk, cols, o};
    return n;
}

/* One training step's GEMMs; returns their count and sets *batch. */
static int step_gemms(const char *model, gemm *g, int *batch)
{
    int n = 0;
    if (strcmp(model, "mlp") == 0) {
        *batch = 128;
        n = add_linear(g, n, 128, 784, 256, 0);
        n = add_linear(g, n, 128, 256, 128, 1);
        n = add_linear(g, n, 128, 128, 10, 1);
    } else if (strcmp(model, "cnn") == 0) {
        *batch = 64;
        n = add_conv(g, n, 64, 1, 5, 32, 28 * 28, 0);
        n = add_conv(g, n, 64, 32, 5, 64, 14 * 14, 1);
        n = add_linear(g, n, 64, 7 * 7 * 64, 1024, 1);
        n = add_linear(g, n, 64, 1024, 10, 1);
    }
    return n;
}

/* The same malloc thresholds modlab's core/base/blas.c sets when threading (and, like it, not
 * when the user set either): OpenBLAS's threaded GEMM mallocs a job array per call, and
 * glibc's heap trimming around it (2 MB huge-page clears under glibc.malloc.hugetlb=1) is
 * not what the BLAS allows. */
static void tune_malloc(void)
{
    const char *t = getenv("GLIBC_TUNABLES");
    if ((t && (strstr(t, "mmap_threshold") || strstr(t, "trim_threshold"))) ||
        getenv("MALLOC_MMAP_THRESHOLD_") || getenv("MALLOC_TRIM_THRESHOLD_"))
        return;
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

static float *filled(size_t n)
{
    float *v = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    if (!v) {
        fprintf(stderr, "sgemm_bound: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        v[i] = (float)((i * 7919) % 13) * 0.01f;
    return v;
}

int main(int argc, char **argv)
{
    const char *model = bench_arg(argc, argv, "--model", "mlp");
    int threads = bench_arg_int(argc, argv, "--threads", 1);
    int reps = bench_arg_int(argc, argv, "--reps", 5), batch = 0;
    gemm g[MAX_GEMMS];
    float *a[MAX_GEMMS], *b[MAX_GEMMS], *c[MAX_GEMMS];
    double sps[MAX_REPS], flops = 0;
    int n = step_gemms(model, g, &batch);
    if (n == 0 || reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "usage: sgemm_bound --model mlp|cnn --threads N --reps R\n");
        return 2;
    }
    openblas_set_num_threads(threads);
    if (threads > 1)
        tune_malloc();
    /* Separate operands per GEMM, as in a real step (no artificial cache reuse). */
    for (int i = 0; i < n; i++) {
        a[i] = filled((size_t)g[i].m * g[i].k);
        b[i] = filled((size_t)g[i].k * g[i].n);
        c[i] = filled((size_t)g[i].m * g[i].n);
        flops += 2.0 * g[i].m * g[i].n * g[i].k;
    }
    /* Steps per repetition: about as long as a training repetition (~0.3 s of GEMMs). */
    int steps = 0;
    double t0 = bench_now();
    while (bench_now() - t0 < 0.3 || steps < 3) {
        for (int i = 0; i < n; i++)
            cblas_sgemm(CblasRowMajor, g[i].ta ? CblasTrans : CblasNoTrans,
                        g[i].tb ? CblasTrans : CblasNoTrans, g[i].m, g[i].n, g[i].k, 1.0f,
                        a[i], g[i].ta ? g[i].m : g[i].k, b[i], g[i].tb ? g[i].k : g[i].n,
                        0.0f, c[i], g[i].n);
        steps++;
    }
    for (int r = 0; r < reps; r++) {
        t0 = bench_now();
        for (int s = 0; s < steps; s++)
            for (int i = 0; i < n; i++)
                cblas_sgemm(CblasRowMajor, g[i].ta ? CblasTrans : CblasNoTrans,
                            g[i].tb ? CblasTrans : CblasNoTrans, g[i].m, g[i].n, g[i].k, 1.0f,
                            a[i], g[i].ta ? g[i].m : g[i].k, b[i], g[i].tb ? g[i].k : g[i].n,
                            0.0f, c[i], g[i].n);
        sps[r] = (double)steps * batch / (bench_now() - t0);
    }
    printf("bound model=%s threads=%d gemms=%d step_gflop=%.3f", model, threads, n,
           flops * 1e-9);
    bench_print_list("train_reps", sps, reps);
    double med = bench_median(sps, reps);
    printf(" train_sps=%.0f gflops=%.1f\n", med, med / batch * flops * 1e-9);
    for (int i = 0; i < n; i++) {
        free(a[i]);
        free(b[i]);
        free(c[i]);
    }
    return 0;
}
