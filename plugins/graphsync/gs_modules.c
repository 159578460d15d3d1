/* SPDX-License-Identifier: MIT */
/* Modules of a graphsync layer: the hard assignment of units to K modules, the block
 * structure that lets the layer run as K independent GEMMs, the prune step, and the
 * statistics a report shows (module sizes, fraction of |A| inside modules).
 * The hard assignment is never forced to be balanced: `assign` takes each unit's most
 * likely module, the others cluster the graph itself (normalised spectral clustering:
 * the K smallest eigenvectors of the Laplacian, rows scaled to unit length, k-means with a
 * deterministic farthest-point start). So balance and in-module mass are measured, not
 * imposed, and a graph trained without the regulariser shows it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gs_layer.h"

enum { KMEANS_ITERS = 50 };

static double dist2(const float *x, const float *y, int k)
{
    double s = 0.0;
    for (int i = 0; i < k; i++)
        s += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
    return s;
}

/* The spectral embedding, rows scaled to unit length, into emb (N x K). */
static void embed_rows(const gs_layer *l, float *emb)
{
    for (int i = 0; i < l->n; i++) {
        float *row = emb + (size_t)i * l->k;
        double nrm = 0.0;
        for (int k = 0; k < l->k; k++) {
            row[k] = l->s.evecs[(size_t)k * l->n + i];
            nrm += (double)row[k] * row[k];
        }
        nrm = nrm > 0.0 ? 1.0 / sqrt(nrm) : 0.0;
        for (int k = 0; k < l->k; k++)
            row[k] = (float)(row[k] * nrm);
    }
}

static int spectral_clusters(gs_layer *l, int32_t *label, ml_err *err)
{
    int rc, n = l->n, kk = l->k;
    float *c = l->s.centers, *emb = l->s.emb;
    double *sum = l->s.gw;
    if ((rc = gs_spectral_embed(l, err)))
        return rc;
    embed_rows(l, emb);
    /* Farthest-point start from unit 0: deterministic, and spreads the centres. */
    memcpy(c, emb, sizeof(float) * (size_t)kk);
    for (int j = 1; j < kk; j++) {
        double best = -1.0;
        int arg = 0;
        for (int i = 0; i < n; i++) {
            double m = INFINITY;
            for (int p = 0; p < j; p++)
                m = fmin(m, dist2(emb + (size_t)i * kk, c + (size_t)p * kk, kk));
            if (m > best)
                best = m, arg = i;
        }
        memcpy(c + (size_t)j * kk, emb + (size_t)arg * kk, sizeof(float) * (size_t)kk);
    }
    for (int it = 0; it < KMEANS_ITERS; it++) {
        int changed = 0;
        for (int i = 0; i < n; i++) {
            double best = INFINITY;
            int arg = 0;
            for (int j = 0; j < kk; j++) {
                double d = dist2(emb + (size_t)i * kk, c + (size_t)j * kk, kk);
                if (d < best)
                    best = d, arg = j;
            }
            changed += it == 0 || label[i] != arg;
            label[i] = arg;
        }
        if (!changed)
            break;
        /* New centres: the means (an empty cluster keeps its centre). */
        for (int j = 0; j < kk; j++) {
            int cnt = 0;
            for (int p = 0; p < kk; p++)
                sum[p] = 0.0;
            for (int i = 0; i < n; i++) {
                if (label[i] != j)
                    continue;
                for (int p = 0; p < kk; p++)
                    sum[p] += emb[(size_t)i * kk + p];
                cnt++;
            }
            for (int p = 0; cnt && p < kk; p++)
                c[(size_t)j * kk + p] = (float)(sum[p] / cnt);
        }
    }
    return ML_OK;
}

int gs_hard_assign(gs_layer *l, int32_t *label, ml_err *err)
{
    if (l->blocked) {
        memcpy(label, l->module, sizeof(int32_t) * (size_t)l->n);
        return ML_OK;
    }
    if (l->k == 1) {
        memset(label, 0, sizeof(int32_t) * (size_t)l->n);
        return ML_OK;
    }
    if (l->reg == GS_REG_ASSIGN) {
        for (int i = 0; i < l->n; i++) {
            const float *q = l->q->value + (size_t)i * l->k;
            int arg = 0;
            for (int k = 1; k < l->k; k++)
                if (q[k] > q[arg])
                    arg = k;
            label[i] = arg;
        }
        return ML_OK;
    }
    return spectral_clusters(l, label, err);
}

void gs_set_blocks(gs_layer *l, const int32_t *label)
{
    int pos = 0;
    for (int k = 0; k < l->k; k++) {
        l->start[k] = pos;
        for (int i = 0; i < l->n; i++)
            if (label[i] == k)
                l->perm[pos++] = i;
    }
    l->start[l->k] = pos;
    for (int i = 0; i < l->n; i++) {
        l->module[i] = label[i];
        l->assignment->value[i] = (float)label[i];
    }
}

double gs_in_module_mass(const gs_layer *l, const float *a, const int32_t *label)
{
    double in = 0.0, tot = 0.0;
    for (int i = 0; i < l->n; i++)
        for (int j = 0; j < l->n; j++) {
            if (i == j)
                continue;
            double w = fabs((double)a[(size_t)i * l->n + j]);
            tot += w;
            in += label[i] == label[j] ? w : 0.0;
        }
    return tot > 0.0 ? in / tot : 1.0;
}

int gs_prune(gs_layer *l, ml_err *err)
{
    int rc, n = l->n;
    int32_t *label = l->s.label;
    char sizes[256];
    size_t used = 0;
    if ((rc = gs_hard_assign(l, label, err)))
        return rc;
    memcpy(l->snapshot->value, l->a->value, sizeof(float) * (size_t)n * n);
    double mass = gs_in_module_mass(l, l->a->value, label);
    gs_set_blocks(l, label);
    /* Drop the cross-module edges. The blocked passes never read them again, so they stay
     * out of the function even if an optimizer's momentum later moves the stored values. */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (label[i] != label[j])
                l->a->value[(size_t)i * n + j] = 0.0f;
    l->blocked = 1;
    sizes[0] = '\0';
    for (int k = 0; k < l->k && used < sizeof sizes; k++)
        used += (size_t)snprintf(sizes + used, sizeof sizes - used, k ? ",%d" : "%d",
                                 l->start[k + 1] - l->start[k]);
    l->h->log(ML_LOG_INFO, "graphsync: pruned after %lld steps: module sizes [%s], "
              "in-module |A| mass %.4f", (long long)l->steps_seen, sizes, mass);
    return ML_OK;
}

/* The diagnostics report: one JSON object. When the layer runs blocked its mass is that of
 * the snapshot taken when it was pruned (afterwards it is 1 by construction). */
size_t gs_report(void *self, char *buf, size_t cap)
{
    gs_layer *l = self;
    ml_err err;
    int32_t *label = l->s.label;
    char tmp[1];
    if (!buf || cap == 0)
        buf = tmp, cap = sizeof tmp;
    if (gs_hard_assign(l, label, &err))
        return (size_t)snprintf(buf, cap, "{\"error\":\"assignment failed\"}");
    const float *a = l->blocked && !l->fixed_mask ? l->snapshot->value : l->a->value;
    size_t len = (size_t)snprintf(buf, cap, "{\"blocked\":%s,\"steps\":%lld,"
                                  "\"in_module_mass\":%.6f,\"module_sizes\":[",
                                  l->blocked ? "true" : "false", (long long)l->steps_seen,
                                  gs_in_module_mass(l, a, label));
    for (int k = 0; k < l->k; k++) {
        int cnt = 0;
        for (int i = 0; i < l->n; i++)
            cnt += label[i] == k;
        len += (size_t)snprintf(len < cap ? buf + len : NULL, len < cap ? cap - len : 0,
                                k ? ",%d" : "%d", cnt);
    }
    len += (size_t)snprintf(len < cap ? buf + len : NULL, len < cap ? cap - len : 0, "]}");
    return len;
}
