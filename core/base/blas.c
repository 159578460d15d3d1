/* SPDX-License-Identifier: MIT */
/* The BLAS wrapper: row-major sgemm for the host table, and thread control. */
#include <config.h>

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/blas.h"
#include "base/parallel.h"
#include <modlab/modlab.h>

/* modlab threads GEMMs itself (core/base/parallel.c) and keeps OpenBLAS at one thread: when
 * OpenBLAS threads a GEMM, its idle workers spin in sched_yield afterwards, and on a
 * 2-core machine they took the cores from modlab's own workers splitting a CNN's batch
 * (perf: 29% in sched_yield and the kernel's irq_enable; 2 threads ran 1.13x 1 thread).
 * Single-threaded OpenBLAS also no longer mallocs a 512 KB job array per GEMM, which made
 * glibc trim and regrow its heap around every call. */
static int blas_threads;
static pthread_once_t single_once = PTHREAD_ONCE_INIT;

static void openblas_single(void)
{
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
    if (!blas_threads)
        blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
#endif
}

static void gemm1(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                  int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}

/* One GEMM split into row or column blocks of C, one per worker. */
typedef struct gemm_split {
    int trans_a, trans_b, m, n, k, lda, ldb, ldc, parts, by_rows;
    float alpha, beta;
    const float *a, *b;
    float *c;
} gemm_split;

static void gemm_part(void *arg, int32_t p, int32_t w)
{
    const gemm_split *g = arg;
    int len = g->by_rows ? g->m : g->n;
    int lo = (int)((int64_t)len * p / g->parts), hi = (int)((int64_t)len * (p + 1) / g->parts);
    (void)w;
    if (hi <= lo)
        return;
    if (g->by_rows)   /* rows lo..hi of op(A) and C */
        gemm1(g->trans_a, g->trans_b, hi - lo, g->n, g->k, g->alpha,
              g->a + (size_t)lo * (g->trans_a ? 1 : (size_t)g->lda), g->lda, g->b, g->ldb,
              g->beta, g->c + (size_t)lo * g->ldc, g->ldc);
    else              /* columns lo..hi of op(B) and C */
        gemm1(g->trans_a, g->trans_b, g->m, hi - lo, g->k, g->alpha, g->a, g->lda,
              g->b + (size_t)lo * (g->trans_b ? (size_t)g->ldb : 1), g->ldb, g->beta,
              g->c + lo, g->ldc);
}

enum { SPLIT_MIN_MACS = 1 << 20, SPLIT_MIN_LEN = 32 };

void mli_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
              int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    int threads;
    if (m <= 0 || n <= 0)
        return;
    pthread_once(&single_once, openblas_single);
    threads = ml_blas_threads();
    if (threads > 1 && !mli_parallel_in_region() &&
        (double)m * n * (k > 0 ? k : 1) >= SPLIT_MIN_MACS &&
        (m >= n ? m : n) >= SPLIT_MIN_LEN * 2) {
        gemm_split g = {trans_a, trans_b, m, n, k, lda, ldb, ldc, threads, m >= n,
                        alpha, beta, a, b, c};
        mli_parallel_for(threads, gemm_part, &g);
        return;
    }
    gemm1(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}


/* The thread count modlab uses: set here, else what OpenBLAS was started with
 * (OPENBLAS_NUM_THREADS, or the CPU count). */
void ml_blas_set_threads(int n)
{
    pthread_once(&single_once, openblas_single);
    blas_threads = n < 1 ? 1 : n;
}

int ml_blas_threads(void)
{
    pthread_once(&single_once, openblas_single);
    return blas_threads ? blas_threads : 1;
}

const char *mli_blas_config(void)
{
#ifdef HAVE_OPENBLAS_GET_CONFIG
    return openblas_get_config();
#else
    return "cblas";
#endif
}
