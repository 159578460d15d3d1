/* SPDX-License-Identifier: MIT */
/* The BLAS wrapper: row-major sgemm for the host table, and thread control. */
#include <config.h>

#include <cblas.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include <modlab/modlab.h>

/* OpenBLAS's threaded GEMM (0.3.21) mallocs a 512 KB job array on every call and frees it.
 * At the top of the heap, glibc then trims the heap on each free and grows it again on the
 * next call; with glibc.malloc.hugetlb=1 each grow faults in and clears a 2 MB huge page.
 * That cost 2.2x of the MLP's 2-thread training speed (gdb: __brk from systrim under
 * sgemm_thread_tn; perf: clear_page_erms, zap_huge_pmd). Fixed thresholds keep such blocks
 * on the heap and the heap untrimmed - glibc's own dynamic rule, frozen at its ceiling - and
 * only when the user has not set either threshold. modlab's big buffers are their own
 * mappings (ml_alloc_big), so this keeps little memory resident. */
static pthread_once_t malloc_once = PTHREAD_ONCE_INIT;

static void tune_malloc(void)
{
    const char *t = getenv("GLIBC_TUNABLES");
    if ((t && (strstr(t, "mmap_threshold") || strstr(t, "trim_threshold"))) ||
        getenv("MALLOC_MMAP_THRESHOLD_") || getenv("MALLOC_TRIM_THRESHOLD_"))
        return;
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

static int blas_threads;

void ml_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
              int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    if (ml_blas_threads() > 1)
        pthread_once(&malloc_once, tune_malloc);
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}


void ml_blas_set_threads(int n)
{
    if (n < 1)
        n = 1;
    blas_threads = n;
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
    openblas_set_num_threads(n);
#endif
}

int ml_blas_threads(void)
{
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
    if (!blas_threads)
        return openblas_get_num_threads();
#endif
    return blas_threads ? blas_threads : 1;
}

const char *ml_blas_config(void)
{
#ifdef HAVE_OPENBLAS_GET_CONFIG
    return openblas_get_config();
#else
    return "cblas";
#endif
}
