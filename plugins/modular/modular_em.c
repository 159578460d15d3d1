/* SPDX-License-Identifier: MIT */
/* Training the controller. EM (generalised Viterbi EM, Kirsch et al. 2018): a stored choice
 * a* per (training example, row); every estep_every-th batch the trainer scores the stored
 * choice and S-1 controller samples (modlab.estep/1) and the best joint score is kept, so the
 * stored score never decreases; the M-step trains the modules on a* (the ordinary forward)
 * and the controller as a classifier toward a* (the aux loss below). REINFORCE: one scored
 * pass per batch samples the choice and yields the reward; the aux loss is the
 * score-function surrogate with a moving-average baseline. */
#include <math.h>
#include <string.h>

#include "modular.h"

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Grow the store to cover ids < id_limit; new entries start uniformly at random. Runs in
 * begin_batch (before the step), never in forward or backward. */
static int grow_store(modular *L, int64_t id_limit)
{
    size_t per = (size_t)L->rows * (size_t)L->K;
    if (id_limit <= L->store_ids)
        return 0;
    int32_t *s = L->h->alloc((size_t)id_limit * per * sizeof(int32_t));
    if (!s)
        return -1;
    if (L->store)
        memcpy(s, L->store, (size_t)L->store_ids * per * sizeof(int32_t));
    for (size_t i = (size_t)L->store_ids * per; i < (size_t)id_limit * per; i++)
        s[i] = (int32_t)(mix64(L->store_seed ^ mix64(i)) % (uint64_t)L->M);
    L->h->free(L->store);
    L->store = s;
    L->store_ids = id_limit;
    return 0;
}

static int grow_batch(modular *L, int32_t batch)
{
    if (batch <= L->ids_cap)
        return 0;
    size_t rows = (size_t)batch * (size_t)L->rows;
    L->h->free(L->ids);
    L->h->free(L->best_sel);
    L->h->free(L->best);
    L->h->free(L->reward);
    L->ids = L->h->alloc((size_t)batch * sizeof(int64_t));
    L->best_sel = L->h->alloc(rows * (size_t)L->K * sizeof(int32_t));
    L->best = L->h->alloc(rows * sizeof(double));
    L->reward = L->h->alloc(rows * sizeof(double));
    if (!L->ids || !L->best_sel || !L->best || !L->reward) {
        L->ids_cap = 0;
        return -1;
    }
    L->ids_cap = batch;
    return 0;
}

static int32_t begin_batch(void *self, const int64_t *ids, int32_t batch, int64_t id_limit)
{
    modular *L = self;
    L->nids = 0;
    L->ncand = 0;
    L->have_reward = 0;
    L->candidate = ML_ESTEP_TRAIN;
    if (L->mode == MOD_NOISY_TOPK)
        return 0;
    /* Out of memory here fails the step (the host says so): training on without the
     * E-step would be a different method than the run says. */
    if (grow_store(L, id_limit) || grow_batch(L, batch))
        return ML_ERR_NOMEM;
    memcpy(L->ids, ids, (size_t)batch * sizeof(int64_t));
    L->nids = batch;
    L->steps++;
    if (L->mode == MOD_REINFORCE)
        L->ncand = 1;
    else if ((L->steps - 1) % L->estep_every == 0)
        L->ncand = L->samples;
    return L->ncand;
}

static void set_candidate(void *self, int32_t k)
{
    modular *L = self;
    /* The candidates are done: EM keeps the best joint score of each unit. */
    if (k == ML_ESTEP_TRAIN && L->mode == MOD_EM && L->ncand > 0 && L->nids > 0) {
        int32_t rows = L->rows, K = L->K;
        for (int32_t b = 0; b < L->nids; b++)
            memcpy(L->store + (size_t)L->ids[b] * rows * K,
                   L->best_sel + (size_t)b * rows * K, (size_t)rows * K * sizeof(int32_t));
    }
    L->candidate = k;
}

static void add_log_prior(void *self, double *score, int32_t batch, int32_t rows)
{
    modular *L = self;
    mod_ws w;
    if (!L->last_training || L->mode == MOD_NOISY_TOPK || L->last_batch != batch)
        return;
    mod_ws_layout(L, L->last_ws, batch, &w);
    mod_softmax(L, batch * L->rows, &w);
    for (int32_t b = 0; b < batch; b++)
        for (int32_t r = 0; r < L->rows; r++) {
            double lp = mod_row_log_prior(L, &w, b * L->rows + r);
            /* Per scored row when the rows line up, else on the example's first row (the
             * example's sum is what a per-example unit compares). */
            score[(size_t)b * rows + (rows == L->rows ? r : 0)] += lp;
        }
}

/* Score of the unit holding row r of example b: the row's own when the scored rows line up
 * with the layer's rows, else the example's total. */
static double unit_value(const double *v, int32_t b, int32_t r, int32_t rows, int32_t lrows)
{
    if (rows == lrows)
        return v[(size_t)b * rows + r];
    double s = 0.0;
    for (int32_t i = 0; i < rows; i++)
        s += v[(size_t)b * rows + i];
    return s;
}

static void take_scores(void *self, const double *loglik, const double *score, int32_t batch,
                        int32_t rows)
{
    modular *L = self;
    mod_ws w;
    int32_t K = L->K;
    if (L->candidate < 0 || L->candidate >= L->ncand || L->nids != batch ||
        L->last_batch != batch)
        return;
    mod_ws_layout(L, L->last_ws, batch, &w);
    for (int32_t b = 0; b < batch; b++)
        for (int32_t r = 0; r < L->rows; r++) {
            size_t u = (size_t)b * L->rows + r;
            if (L->mode == MOD_REINFORCE) {
                L->reward[u] = unit_value(loglik, b, r, rows, L->rows);
                continue;
            }
            double s = unit_value(score, b, r, rows, L->rows);
            if (L->candidate == 0 || s > L->best[u]) {
                L->best[u] = s;
                memcpy(L->best_sel + u * K, w.sel + u * K, (size_t)K * sizeof(int32_t));
            }
        }
    if (L->mode == MOD_REINFORCE)
        L->have_reward = 1;
}

static void end_batch(void *self)
{
    modular *L = self;
    if (L->mode == MOD_REINFORCE && L->have_reward) {
        int32_t n = L->nids * L->rows;
        double mean = 0.0;
        for (int32_t u = 0; u < n; u++)
            mean += L->reward[u];
        mean /= n > 0 ? n : 1;
        L->baseline = L->baseline_set ? L->baseline_decay * L->baseline +
                                        (1.0 - L->baseline_decay) * mean
                                      : mean;
        L->baseline_set = 1;
    }
    L->nids = 0;
    L->ncand = 0;
    L->have_reward = 0;
    L->candidate = ML_ESTEP_TRAIN;
}

const ml_estep_iface mod_estep_iface = {
    ML_ABI_INIT(ml_estep_iface),
    .begin_batch = begin_batch,
    .set_candidate = set_candidate,
    .add_log_prior = add_log_prior,
    .take_scores = take_scores,
    .end_batch = end_batch,
};

/* EM's M-step for the controller: mean over rows of -sum_k log p(a_k | x), a the choice the
 * last training forward used (a*, or the argmax without example ids). REINFORCE: the same
 * with each row weighted by -(reward - baseline). The controller's input is treated as a
 * constant (its gradient goes to the controller only). Recomputes the logits from the
 * current parameters so the gradient check can perturb them. */
int mod_aux_loss(void *self, ml_ctx *ctx, float scale, double *value, ml_err *err)
{
    modular *L = self;
    mod_ws w;
    (void)ctx, (void)err;
    *value = 0.0;
    if (!L->last_training || !L->last_ws || L->mode == MOD_NOISY_TOPK ||
        (L->mode == MOD_REINFORCE && !L->have_reward))
        return ML_OK;
    int32_t n = L->last_batch * L->rows, M = L->M, hm = L->heads * M;
    mod_ws_layout(L, L->last_ws, L->last_batch, &w);
    mod_controller(L, L->last_in, n, &w);
    mod_softmax(L, n, &w);
    double total = 0.0;
    for (int32_t r = 0; r < n; r++) {
        double weight = L->mode == MOD_REINFORCE ? -(L->reward[r] - L->baseline) : 1.0;
        total += weight * -mod_row_log_prior(L, &w, r);
        if (scale == 0.0f)
            continue;
        float c = (float)(weight * scale / n);
        for (int32_t k = 0; k < L->K; k++) {
            size_t o = (size_t)r * hm + (size_t)k * M;
            int32_t a = w.sel[(size_t)r * L->K + k];
            for (int32_t m = 0; m < M; m++)
                w.dlog[o + m] = c * (w.prob[o + m] - (m == a ? 1.0f : 0.0f));
        }
    }
    *value = total / n;
    if (scale != 0.0f) {
        L->h->sgemm(1, 0, hm, L->in, n, 1.0f, w.dlog, hm, L->last_in, L->in, 1.0f,
                    L->cw->grad, L->in);
        for (int32_t r = 0; r < n; r++)
            for (int32_t j = 0; j < hm; j++)
                L->cb->grad[j] += w.dlog[(size_t)r * hm + j];
    }
    return ML_OK;
}
