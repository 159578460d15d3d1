/* SPDX-License-Identifier: MIT */
/* The BLAS wrapper: row-major sgemm for the host table, and thread control. */
#include <config.h>

#include <cblas.h>

#include "blas.h"
#include <modlab/modlab.h>

void ml_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
              int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}

static int blas_threads;

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
