/* SPDX-License-Identifier: MIT */
/* Row-major sgemm (the host table's) and BLAS facts. */
#ifndef MODLAB_CORE_BLAS_H
#define MODLAB_CORE_BLAS_H

void mli_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
              int lda, const float *b, int ldb, float beta, float *c, int ldc);
const char *mli_blas_config(void);

#endif
