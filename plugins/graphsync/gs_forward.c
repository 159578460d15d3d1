/* SPDX-License-Identifier: MIT */
/* graphsync forward and backward through the T synchronous steps.
 * Dense: one N x N GEMM per step in the original unit order. Blocked (after pruning, or
 * with a fixed mask): the state is kept in module order (perm), the diagonal blocks of A
 * are gathered once per forward pass, and each step runs K independent n_k x n_k GEMMs, so
 * the cross-module entries of A are neither read nor given a gradient. */
#include <math.h>
#include <string.h>

#include "gs_layer.h"

static size_t align64(size_t bytes)
{
    return (bytes + 63) & ~(size_t)63;
}

size_t gs_workspace(void *self, int32_t batch)
{
    const gs_layer *l = self;
    size_t bn = align64(sizeof(float) * (size_t)batch * l->n);
    size_t nn = align64(sizeof(float) * (size_t)l->n * l->n);
    return align64(sizeof(gs_ws_head)) + 5 * bn + 2 * (size_t)l->t * bn + 2 * nn;
}

void gs_bufs_of(const gs_layer *l, int32_t batch, void *ws, gs_bufs *bf)
{
    size_t bn = align64(sizeof(float) * (size_t)batch * l->n);
    size_t nn = align64(sizeof(float) * (size_t)l->n * l->n);
    char *p = (char *)ws + align64(sizeof(gs_ws_head));
    bf->zx = (float *)p, p += bn;
    bf->zp = (float *)p, p += bn;
    bf->g = (float *)p, p += bn;
    bf->gp = (float *)p, p += bn;
    bf->dzx = (float *)p, p += bn;
    bf->hs = (float *)p, p += (size_t)l->t * bn;
    bf->dz = (float *)p, p += (size_t)l->t * bn;
    bf->ablk = (float *)p, p += nn;
    bf->gblk = (float *)p;
}

static void activate(int act, float *x, int64_t n)
{
    switch (act) {
    case GS_RELU:   /* branch-free: on mixed signs a branch mispredicts half the time */
        for (int64_t i = 0; i < n; i++)
            x[i] *= (float)(x[i] > 0.0f);
        break;
    case GS_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            x[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            x[i] = tanhf(x[i]);
    }
}

/* dz = g * act'(pre), written from the activation's output h (all three allow it). */
static void act_backward(int act, const float *h, const float *g, float *dz, int64_t n)
{
    switch (act) {
    case GS_RELU:
        for (int64_t i = 0; i < n; i++)
            dz[i] = g[i] * (float)(h[i] > 0.0f);
        break;
    case GS_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            dz[i] = g[i] * h[i] * (1.0f - h[i]);
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            dz[i] = g[i] * (1.0f - h[i] * h[i]);
    }
}

/* Offset of module k's block in ablk/gblk: blocks are stored one after another. */
static size_t block_offset(const gs_layer *l, int k)
{
    size_t off = 0;
    for (int j = 0; j < k; j++) {
        size_t nk = (size_t)(l->start[j + 1] - l->start[j]);
        off += nk * nk;
    }
    return off;
}

static void gather_blocks(const gs_layer *l, float *ablk)
{
    const float *a = l->a->value;
    float *dst = ablk;
    for (int k = 0; k < l->k; k++) {
        int s = l->start[k], nk = l->start[k + 1] - s;
        for (int i = 0; i < nk; i++) {
            const float *row = a + (size_t)l->perm[s + i] * l->n;
            for (int j = 0; j < nk; j++)
                *dst++ = row[l->perm[s + j]];
        }
    }
}

/* One step's h_prev -> h_prev A (+ z already in h): dense or per block. */
static void step_gemm(const gs_layer *l, int B, const float *hprev, float *h, const float *ablk)
{
    int n = l->n;
    if (!l->blocked) {
        l->h->sgemm(0, 0, B, n, n, 1.0f, hprev, n, l->a->value, n, 1.0f, h, n);
        return;
    }
    const float *blk = ablk;
    for (int k = 0; k < l->k; k++) {
        int s = l->start[k], nk = l->start[k + 1] - s;
        if (nk > 0)
            l->h->sgemm(0, 0, B, nk, nk, 1.0f, hprev + s, n, blk, nk, 1.0f, h + s, n);
        blk += (size_t)nk * nk;
    }
}

int gs_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
               ml_err *err)
{
    gs_layer *l = self;
    gs_bufs bf;
    int rc, B = in->batch, n = l->n;
    size_t bn = (size_t)B * n;
    /* The prune step is taken here, at the first training forward pass after prune_after
     * backward passes, so that a whole step (forward, backward, optimizer) always sees one
     * structure. */
    if (!l->blocked && l->prune_after > 0 && l->steps_seen >= l->prune_after &&
        l->h->is_training(ctx) && (rc = gs_prune(l, err)))
        return rc;
    gs_bufs_of(l, B, ws, &bf);
    ((gs_ws_head *)ws)->bptt_done = 0;
    for (int r = 0; r < B; r++)
        memcpy(bf.zx + (size_t)r * n, l->b->value, sizeof(float) * (size_t)n);
    l->h->sgemm(0, 0, B, n, l->d, 1.0f, in->data, l->d, l->u->value, n, 1.0f, bf.zx, n);
    const float *z = bf.zx;
    if (l->blocked) {
        for (size_t r = 0; r < (size_t)B; r++)
            for (int j = 0; j < n; j++)
                bf.zp[r * n + j] = bf.zx[r * n + l->perm[j]];
        gather_blocks(l, bf.ablk);
        z = bf.zp;
    }
    for (int t = 0; t < l->t; t++) {
        float *h = bf.hs + (size_t)t * bn;
        memcpy(h, z, sizeof(float) * bn);
        if (t > 0)   /* h_0 = 0: the first step is act(x U + b) */
            step_gemm(l, B, h - bn, h, bf.ablk);
        activate(l->act, h, (int64_t)bn);
    }
    const float *last = bf.hs + (size_t)(l->t - 1) * bn;
    if (!l->blocked) {
        memcpy(out->data, last, sizeof(float) * bn);
    } else {
        for (size_t r = 0; r < (size_t)B; r++)
            for (int j = 0; j < n; j++)
                out->data[r * n + l->perm[j]] = last[r * n + j];
    }
    return ML_OK;
}

/* Backward through the steps: dz of every step and their sum dzx (original order). */
static void bptt(const gs_layer *l, const ml_view *gout, void *ws, gs_bufs *bf)
{
    gs_ws_head *hd = ws;
    int B = gout->batch, n = l->n;
    size_t bn = (size_t)B * n;
    uint64_t hsh = ml_fnv1a64_floats(gout->data, (int64_t)bn);
    gs_bufs_of(l, B, ws, bf);
    if (hd->bptt_done && hd->gout_hash == hsh)
        return;
    if (l->blocked)
        for (size_t r = 0; r < (size_t)B; r++)
            for (int j = 0; j < n; j++)
                bf->g[r * n + j] = gout->data[r * n + l->perm[j]];
    else
        memcpy(bf->g, gout->data, sizeof(float) * bn);
    for (int t = l->t - 1; t >= 0; t--) {
        float *dz = bf->dz + (size_t)t * bn;
        act_backward(l->act, bf->hs + (size_t)t * bn, bf->g, dz, (int64_t)bn);
        if (t == 0)
            break;
        /* dL/dh_{t-1} = dz_t A^T, over the same blocks the forward pass used. */
        if (!l->blocked) {
            l->h->sgemm(0, 1, B, n, n, 1.0f, dz, n, l->a->value, n, 0.0f, bf->g, n);
        } else {
            const float *blk = bf->ablk;
            for (int k = 0; k < l->k; k++) {
                int s = l->start[k], nk = l->start[k + 1] - s;
                if (nk > 0)
                    l->h->sgemm(0, 1, B, nk, nk, 1.0f, dz + s, n, blk, nk, 0.0f, bf->g + s,
                                n);
                blk += (size_t)nk * nk;
            }
        }
    }
    /* Every step reads the same x U + b, so its gradient is the sum over steps. */
    float *sum = l->blocked ? bf->gp : bf->dzx;
    memcpy(sum, bf->dz, sizeof(float) * bn);
    for (int t = 1; t < l->t; t++) {
        const float *dz = bf->dz + (size_t)t * bn;
        for (size_t i = 0; i < bn; i++)
            sum[i] += dz[i];
    }
    if (l->blocked)
        for (size_t r = 0; r < (size_t)B; r++)
            for (int j = 0; j < n; j++)
                bf->dzx[r * n + l->perm[j]] = sum[r * n + j];
    hd->bptt_done = 1;
    hd->gout_hash = hsh;
}

int gs_backward_input(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                      const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    const gs_layer *l = self;
    gs_bufs bf;
    bptt(l, gout, ws, &bf);
    l->h->sgemm(0, 1, in->batch, l->d, l->n, 1.0f, bf.dzx, l->n, l->u->value, l->n, 0.0f,
                gin->data, l->d);
    return ML_OK;
}

int gs_backward_params(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                       const ml_view *gout, void *ws, ml_err *err)
{
    gs_layer *l = self;
    gs_bufs bf;
    int B = in->batch, n = l->n;
    size_t bn = (size_t)B * n;
    bptt(l, gout, ws, &bf);
    l->h->sgemm(1, 0, l->d, n, B, 1.0f, in->data, l->d, bf.dzx, n, 1.0f, l->u->grad, n);
    for (size_t r = 0; r < (size_t)B; r++)
        for (int j = 0; j < n; j++)
            l->b->grad[j] += bf.dzx[r * n + j];
    /* dA = sum_{t>=2} h_{t-1}^T dz_t: the steps are stacked rows, so one GEMM covers all. */
    int rows = (l->t - 1) * B;
    if (rows > 0 && !l->blocked) {
        l->h->sgemm(1, 0, n, n, rows, 1.0f, bf.hs, n, bf.dz + bn, n, 1.0f, l->a->grad, n);
    } else if (rows > 0) {
        for (int k = 0; k < l->k; k++) {
            int s = l->start[k], nk = l->start[k + 1] - s;
            float *gb = bf.gblk + block_offset(l, k);
            if (nk == 0)
                continue;
            l->h->sgemm(1, 0, nk, nk, rows, 1.0f, bf.hs + s, n, bf.dz + bn + s, n, 0.0f, gb,
                        nk);
            for (int i = 0; i < nk; i++) {
                float *row = l->a->grad + (size_t)l->perm[s + i] * n;
                for (int j = 0; j < nk; j++)
                    row[l->perm[s + j]] += gb[(size_t)i * nk + j];
            }
        }
    }
    if (l->h->is_training(ctx))
        l->steps_seen++;
    return ML_OK;
}
