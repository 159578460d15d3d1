/* SPDX-License-Identifier: MIT */
/* The `assign` modularity regulariser (our formulation, see docs/graphsync.md): a learned
 * soft assignment S = softmax(Q) (rows, N x K), M = S S^T the probability that two units
 * share a module, and
 *   R = sum_{i!=j} |A_ij| (1 - M_ij) / sum_{i!=j} |A_ij|          out-of-module mass
 *     + balance * K * sum_k (mean_i S_ik - 1/K)^2                  module sizes
 *     - 1/N sum_ik S_ik log S_ik                                   hard assignments.
 * The first term is METHODS.md's sum |A| (1 - S S^T) divided by the total mass: unscaled it
 * is minimised by shrinking A as a whole, and it would dwarf the data loss (~N^2 |A|);
 * as a fraction it is exactly the soft version of what we report (1 - in-module mass). */
#include <math.h>

#include "gs_layer.h"

static const double TINY = 1e-30;

int gs_assign_loss(gs_layer *l, float scale, double *value)
{
    int n = l->n, kk = l->k;
    const float *a = l->a->value, *qv = l->q->value;
    double *s = l->s.gw, *ds = l->s.gw + (size_t)n * kk, *mean = ds + (size_t)n * kk;
    double tot = TINY, out = 0.0, bal = 0.0, ent = 0.0;
    for (int i = 0; i < n; i++) {
        double mx = qv[(size_t)i * kk], z = 0.0;
        for (int k = 1; k < kk; k++)
            mx = fmax(mx, qv[(size_t)i * kk + k]);
        for (int k = 0; k < kk; k++)
            z += (s[(size_t)i * kk + k] = exp(qv[(size_t)i * kk + k] - mx));
        for (int k = 0; k < kk; k++)
            s[(size_t)i * kk + k] /= z;
    }
    for (int k = 0; k < kk; k++)
        mean[k] = 0.0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < kk; k++) {
            double sik = s[(size_t)i * kk + k];
            mean[k] += sik / n;
            ent -= sik > TINY ? sik * log(sik) / n : 0.0;
        }
    for (int k = 0; k < kk; k++)
        bal += (mean[k] - 1.0 / kk) * (mean[k] - 1.0 / kk);
    bal *= l->balance * kk;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            if (i == j)
                continue;
            double w = fabs((double)a[(size_t)i * n + j]), m = 0.0;
            for (int k = 0; k < kk; k++)
                m += s[(size_t)i * kk + k] * s[(size_t)j * kk + k];
            tot += w;
            out += w * (1.0 - m);
        }
    double frac = out / tot;
    *value = frac + bal + ent;
    if (scale == 0.0f)
        return ML_OK;
    /* dR/dS: -sum_j (Wn_ij + Wn_ji) S_j, the size term, the entropy term. */
    for (int i = 0; i < n; i++)
        for (int k = 0; k < kk; k++) {
            double sik = s[(size_t)i * kk + k];
            ds[(size_t)i * kk + k] = 2.0 * l->balance * kk * (mean[k] - 1.0 / kk) / n -
                                     (log(fmax(sik, TINY)) + 1.0) / n;
        }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            if (i == j)
                continue;
            double w = (fabs((double)a[(size_t)i * n + j]) + fabs((double)a[(size_t)j * n + i]))
                       / tot;
            for (int k = 0; k < kk; k++)
                ds[(size_t)i * kk + k] -= w * s[(size_t)j * kk + k];
        }
    /* Through the softmax: dQ_ik = S_ik (dS_ik - sum_k' S_ik' dS_ik'). */
    for (int i = 0; i < n; i++) {
        double dot = 0.0;
        for (int k = 0; k < kk; k++)
            dot += s[(size_t)i * kk + k] * ds[(size_t)i * kk + k];
        for (int k = 0; k < kk; k++)
            l->q->grad[(size_t)i * kk + k] +=
                scale * (float)(s[(size_t)i * kk + k] * (ds[(size_t)i * kk + k] - dot));
    }
    /* d(out/tot)/d|A_ij| = ((1 - M_ij) - frac) / tot. */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            float aij = a[(size_t)i * n + j];
            if (i == j || aij == 0.0f)
                continue;
            double m = 0.0;
            for (int k = 0; k < kk; k++)
                m += s[(size_t)i * kk + k] * s[(size_t)j * kk + k];
            double g = ((1.0 - m) - frac) / tot;
            l->a->grad[(size_t)i * n + j] += scale * (float)(aij > 0.0f ? g : -g);
        }
    return ML_OK;
}
