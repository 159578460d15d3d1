/* SPDX-License-Identifier: MIT */
/* The spectral modularity regulariser (our formulation of Liu et al., see docs/graphsync.md):
 * W = |A| + |A|^T without the diagonal (self-loops never join two modules), degrees
 * d = W 1 (+ a tiny floor so an isolated unit cannot divide by zero),
 * L = I - D^-1/2 W D^-1/2 and R = sum of the K smallest eigenvalues of L, which is zero
 * exactly when the graph falls into >= K components and, being normalised, prefers parts
 * of balanced volume. With V the K eigenvectors and P = V V^T, R = K - tr(P S) for
 * S = D^-1/2 W D^-1/2, and (eigenvalue perturbation, P held fixed)
 *   dR/dW_ab = -P_ab / sqrt(d_a d_b) + q_a / d_a,   q_a = sum_b P_ab S_ab,
 * the second term coming through the degrees. dR/dA_ij = sign(A_ij) (G_ij + G_ji).
 * The eigenvectors come from LAPACK's ssyevr (only the K wanted ones are computed), with
 * work arrays sized once in create. */
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "gs_layer.h"

static const double DEG_FLOOR = 1e-12;

/* W_ij = |A_ij| + |A_ji| off the diagonal. */
static inline double weight(const float *a, int n, int i, int j)
{
    if (i == j)
        return 0.0;
    return fabs((double)a[(size_t)i * n + j]) + fabs((double)a[(size_t)j * n + i]);
}

static void build_laplacian(gs_layer *l)
{
    int n = l->n;
    const float *a = l->a->value;
    for (int i = 0; i < n; i++) {
        double d = DEG_FLOOR;
        for (int j = 0; j < n; j++)
            d += weight(a, n, i, j);
        l->s.deg[i] = d;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double w = weight(a, n, i, j) / sqrt(l->s.deg[i] * l->s.deg[j]);
            l->s.lap[(size_t)i * n + j] = (float)((i == j ? 1.0 : 0.0) - w);
        }
}

int gs_spectral_embed(gs_layer *l, ml_err *err)
{
    int n = l->n, found = 0;
    for (int64_t i = 0; i < l->a->numel; i++)
        if (!isfinite(l->a->value[i]))
            return l->h->error(err, ML_ERR_NUMERIC, "graphsync: the adjacency matrix holds "
                               "NaN or Inf (lower the learning rate or aux_scale)");
    build_laplacian(l);
    /* Column-major on purpose: L is symmetric, and LAPACKE's row-major path would allocate
     * transposed copies. */
    lapack_int info = LAPACKE_ssyevr_work(LAPACK_COL_MAJOR, 'V', 'I', 'U', n, l->s.lap, n,
                                          0.0f, 0.0f, 1, l->k, 0.0f, &found, l->s.evals,
                                          l->s.evecs, n, l->s.isuppz, l->s.work, l->s.lwork,
                                          l->s.iwork, l->s.liwork);
    if (info != 0 || found != l->k)
        return l->h->error(err, ML_ERR_NUMERIC, "graphsync: ssyevr failed on the %dx%d "
                           "Laplacian (info %d, %d of %d eigenvalues)", n, n, (int)info,
                           (int)found, (int)l->k);
    return ML_OK;
}

/* P_ab = sum_k v_k[a] v_k[b]. */
static inline double proj(const gs_layer *l, int a, int b)
{
    double p = 0.0;
    for (int k = 0; k < l->k; k++)
        p += (double)l->s.evecs[(size_t)k * l->n + a] * l->s.evecs[(size_t)k * l->n + b];
    return p;
}

int gs_spectral_loss(gs_layer *l, float scale, double *value, ml_err *err)
{
    int rc, n = l->n;
    if ((rc = gs_spectral_embed(l, err)))
        return rc;
    double r = 0.0;
    for (int k = 0; k < l->k; k++)
        r += l->s.evals[k];
    *value = r;
    if (scale == 0.0f)
        return ML_OK;
    const float *a = l->a->value;
    double *q = l->s.gw;            /* q_a */
    double *g = l->s.gw + n;        /* G = dR/dW, N x N */
    const double *d = l->s.deg;
    for (int i = 0; i < n; i++) {
        double s = 0.0;
        for (int j = 0; j < n; j++)
            if (j != i)
                s += proj(l, i, j) * weight(a, n, i, j) / sqrt(d[i] * d[j]);
        q[i] = s;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            g[(size_t)i * n + j] =
                i == j ? 0.0 : -proj(l, i, j) / sqrt(d[i] * d[j]) + q[i] / d[i];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            float aij = a[(size_t)i * n + j];
            if (i == j || aij == 0.0f)
                continue;
            double gij = g[(size_t)i * n + j] + g[(size_t)j * n + i];
            l->a->grad[(size_t)i * n + j] += scale * (float)(aij > 0.0f ? gij : -gij);
        }
    return ML_OK;
}
