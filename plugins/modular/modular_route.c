/* SPDX-License-Identifier: MIT */
/* The controller: logits of the K categorical heads (or noisy top-k gating logits) and the
 * choice of modules per input row, by mode: stored E-step choice, controller sample,
 * argmax, or noisy top-k. */
#include <math.h>
#include <string.h>

#include "modular.h"

static void softmax_row(const float *z, float *p, int32_t n)
{
    float mx = ml_maxf(z, n);
    double s = ml_sum_exp_shifted(z, n, mx);
    for (int32_t i = 0; i < n; i++)
        p[i] = (float)(exp((double)(z[i] - mx)) / s);
}

static float softplus(float v) { return v > 20.0f ? v : log1pf(expf(v)); }

static void affine(const modular *L, const float *x, int32_t nrows, const ml_param *w,
                   const ml_param *b, int32_t width, float *out)
{
    /* A few logits per row: the sgemm runs at ~60 % of its speed on so narrow an output. */
    if (!(L->small_gemm && mod_small_gemm(nrows, width, L->in, x, w->value, out)))
        L->h->sgemm(0, 1, nrows, width, L->in, 1.0f, x, L->in, w->value, L->in, 0.0f, out,
                    width);
    for (int32_t r = 0; r < nrows; r++)
        for (int32_t j = 0; j < width; j++)
            out[(size_t)r * width + j] += b->value[j];
}

void mod_controller(modular *L, const float *x, int32_t nrows, mod_ws *w)
{
    int32_t hm = L->heads * L->M;
    affine(L, x, nrows, L->cw, L->cb, hm, w->logits);
    if (L->mode == MOD_NOISY_TOPK)
        affine(L, x, nrows, L->nw, L->nb, L->M, w->nlog);
}

/* Softmax per head, only where probabilities are needed (sampling, log priors, the M-step,
 * diagnostics): argmax and stored routing skip it. Noisy top-k fills prob itself. */
void mod_softmax(const modular *L, int32_t nrows, mod_ws *w)
{
    int32_t hm = L->heads * L->M;
    if (L->mode == MOD_NOISY_TOPK)
        return;
    for (int32_t r = 0; r < nrows; r++)
        for (int32_t k = 0; k < L->heads; k++) {
            size_t o = (size_t)r * hm + (size_t)k * L->M;
            softmax_row(w->logits + o, w->prob + o, L->M);
        }
}

static int32_t argmax(const float *v, int32_t n)
{
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

static int32_t sample(const float *p, int32_t n, float u)
{
    float c = 0.0f;
    for (int32_t i = 0; i < n - 1; i++) {
        c += p[i];
        if (u < c)
            return i;
    }
    return n - 1;
}

/* Noisy top-k (Shazeer et al. 2017): H = clean + eps * softplus(noise logits) while
 * training, the clean logits in evaluation; the K largest, gates softmax over them.
 * prob becomes softmax(H) over all M, for the diagnostics. */
static void noisy_topk(modular *L, ml_ctx *ctx, int32_t nrows, int training, mod_ws *w)
{
    int32_t M = L->M, K = L->K;
    float *H = w->dlog;   /* scratch until backward */
    if (training)
        L->h->rng_normal(ctx, w->eps, (int64_t)nrows * M, 0.0f, 1.0f);
    for (int32_t r = 0; r < nrows; r++) {
        float *h = H + (size_t)r * M;
        const float *z = w->logits + (size_t)r * M, *nl = w->nlog + (size_t)r * M;
        for (int32_t m = 0; m < M; m++)
            h[m] = training ? z[m] + w->eps[(size_t)r * M + m] * softplus(nl[m]) : z[m];
        int32_t *sel = w->sel + (size_t)r * K;
        float *g = w->gate + (size_t)r * K;
        for (int32_t k = 0; k < K; k++) {   /* K passes of selection: K is small */
            int32_t best = -1;
            for (int32_t m = 0; m < M; m++) {
                int taken = 0;
                for (int32_t j = 0; j < k; j++)
                    taken |= sel[j] == m;
                if (!taken && (best < 0 || h[m] > h[best]))
                    best = m;
            }
            sel[k] = best;
            g[k] = h[best];
        }
        softmax_row(g, g, K);
        softmax_row(h, w->prob + (size_t)r * M, M);
    }
}

int mod_select(modular *L, ml_ctx *ctx, int32_t batch, int training, mod_ws *w)
{
    int32_t K = L->K, M = L->M, hm = L->heads * M, nrows = batch * L->rows;
    if (L->mode == MOD_NOISY_TOPK) {
        noisy_topk(L, ctx, nrows, training, w);
        return 0;
    }
    int have_ids = training && L->nids > 0;
    if (have_ids && L->nids != batch)
        return 1;
    /* Candidate passes k >= 1 of EM, and REINFORCE's pass 0, sample from the controller;
     * EM's pass 0 and the training pass use the stored choice. */
    int fresh = have_ids && L->candidate >= 0 &&
                (L->mode == MOD_REINFORCE ? L->candidate == 0 : L->candidate >= 1);
    float *u = w->dlog;
    if (fresh) {
        mod_softmax(L, nrows, w);
        L->h->rng_uniform(ctx, u, (int64_t)nrows * K, 0.0f, 1.0f);
    }
    for (int32_t r = 0; r < nrows; r++) {
        int32_t *sel = w->sel + (size_t)r * K;
        const float *p = w->prob + (size_t)r * hm, *z = w->logits + (size_t)r * hm;
        const int32_t *stored = NULL;
        if (have_ids) {
            int64_t id = L->ids[r / L->rows];
            stored = L->store + ((size_t)id * L->rows + (size_t)(r % L->rows)) * K;
        }
        for (int32_t k = 0; k < K; k++) {
            if (fresh)
                sel[k] = sample(p + (size_t)k * M, M, u[(size_t)r * K + k]);
            else if (stored)
                sel[k] = stored[k];
            else
                sel[k] = argmax(z + (size_t)k * M, M);
            /* The output sums the distinct chosen modules: a repeat gets gate 0. */
            float g = 1.0f;
            for (int32_t j = 0; j < k; j++)
                if (sel[j] == sel[k])
                    g = 0.0f;
            w->gate[(size_t)r * K + k] = g;
        }
        if (fresh && L->mode == MOD_REINFORCE && stored)
            memcpy((int32_t *)stored, sel, (size_t)K * sizeof(int32_t));
    }
    return 0;
}

double mod_row_log_prior(const modular *L, const mod_ws *w, int32_t row)
{
    if (L->mode == MOD_NOISY_TOPK)
        return 0.0;
    int32_t hm = L->heads * L->M;
    double lp = 0.0;
    for (int32_t k = 0; k < L->K; k++) {
        float p = w->prob[(size_t)row * hm + (size_t)k * L->M + w->sel[(size_t)row * L->K + k]];
        lp += log(p > 1e-30f ? (double)p : 1e-30);
    }
    return lp;
}

void mod_noisy_gate_grad(const modular *L, int32_t nrows, mod_ws *w)
{
    int32_t M = L->M, K = L->K;
    memset(w->dlog, 0, (size_t)nrows * M * sizeof(float));
    memset(w->dnoise, 0, (size_t)nrows * M * sizeof(float));
    for (int32_t r = 0; r < nrows; r++) {
        const float *g = w->gate + (size_t)r * K, *dg = w->dgate + (size_t)r * K;
        double dot = 0.0;
        for (int32_t k = 0; k < K; k++)
            dot += (double)g[k] * dg[k];
        for (int32_t k = 0; k < K; k++) {
            int32_t m = w->sel[(size_t)r * K + k];
            size_t o = (size_t)r * M + m;
            float dh = g[k] * (float)(dg[k] - dot);
            w->dlog[o] = dh;
            /* dH/dnoise-logit = eps * softplus' = eps * sigmoid (zero when not training:
             * evaluation has no backward). */
            w->dnoise[o] = dh * w->eps[o] / (1.0f + expf(-w->nlog[o]));
        }
    }
}
