/* SPDX-License-Identifier: MIT */
/* Adam (Kingma & Ba) with PyTorch 1.13's semantics: L2 weight decay added to the gradient. */
#include <math.h>

#include "adam.h"
#include "optim_entries.h"
#include "optim_util.h"

typedef struct adam {
    const ml_host *host;
    double lr, beta1, beta2, eps, weight_decay;
    int amsgrad;
    int decoupled;      /* AdamW: decay the weights directly instead of the gradient */
} adam;

int ml_optim_adam_create_common(const ml_host *host, const ml_opts *opts, int decoupled,
                                void **self, ml_err *err)
{
    adam a = { .host = host, .decoupled = decoupled };
    int rc;
    /* The ranges PyTorch's constructor enforces, so a typo fails before training. */
    if ((rc = ml_optim_opt_range(host, opts, "lr", 0.0, HUGE_VAL, 0, &a.lr, err)) ||
        (rc = ml_optim_opt_range(host, opts, "beta1", 0.0, 1.0, 1, &a.beta1, err)) ||
        (rc = ml_optim_opt_range(host, opts, "beta2", 0.0, 1.0, 1, &a.beta2, err)) ||
        (rc = ml_optim_opt_range(host, opts, "eps", 0.0, HUGE_VAL, 0, &a.eps, err)) ||
        (rc = ml_optim_opt_range(host, opts, "weight_decay", 0.0, HUGE_VAL, 0,
                                 &a.weight_decay, err)))
        return rc;
    a.amsgrad = host->opt_bool(opts, "amsgrad") != 0;
    return ml_optim_keep(host, &a, sizeof a, self, err);
}

/* exp_avg, exp_avg_sq, and max_exp_avg_sq with amsgrad. */
int32_t ml_optim_adam_state_size(void *self)
{
    const adam *a = self;
    return a->amsgrad ? 3 : 2;
}

/* Scalars of one slot's update, rounded to float as PyTorch hands them to its kernels. */
typedef struct adam_k {
    float b1, omb1, b2, omb2, eps, c2_sqrt, neg_step;
    float l2;     /* Adam: added to the gradient as l2 * param */
    float keep;   /* AdamW: the param is first multiplied by 1 - lr * weight_decay */
} adam_k;

enum { DECAY_NONE, DECAY_L2, DECAY_DECOUPLED };

/* Element i of PyTorch 1.13's _single_tensor_adam (AdamW's with DECAY_DECOUPLED), operation
 * for operation. `decay` and `ams` are constants at every use (see optim_util.h). */
ML_OPTIM_INLINE void adam_elem(float *restrict p, const float *restrict g, float *restrict m,
                               float *restrict v, float *restrict vmax, int64_t i,
                               const adam_k k, const int decay, const int ams)
{
    if (decay == DECAY_DECOUPLED)
        p[i] *= k.keep;
    const float gi = decay == DECAY_L2 ? g[i] + k.l2 * p[i] : g[i];
    const float mi = m[i] * k.b1 + k.omb1 * gi;
    float vi = v[i] * k.b2 + k.omb2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    if (ams) {
        vi = vmax[i] > vi ? vmax[i] : vi;
        vmax[i] = vi;
    }
    const float denom = sqrtf(vi) / k.c2_sqrt + k.eps;
    p[i] += k.neg_step * mi / denom;
}

typedef void adam_kernel_fn(float *restrict p, const float *restrict g, float *restrict m,
                            float *restrict v, float *restrict vmax, int64_t numel,
                            adam_k k);

#define ADAM_KERNEL(name, decay, ams)                                                    \
    ML_OPTIM_NOINLINE void name(float *restrict p, const float *restrict g,              \
                                float *restrict m, float *restrict v,                    \
                                float *restrict vmax, int64_t numel, adam_k k)           \
    {                                                                                    \
        ML_OPTIM_FOR(i, numel, adam_elem(p, g, m, v, vmax, i, k, decay, ams));           \
    }
ADAM_KERNEL(adam_plain, DECAY_NONE, 0)
ADAM_KERNEL(adam_plain_ams, DECAY_NONE, 1)
ADAM_KERNEL(adam_l2, DECAY_L2, 0)
ADAM_KERNEL(adam_l2_ams, DECAY_L2, 1)
ADAM_KERNEL(adam_decoupled, DECAY_DECOUPLED, 0)
ADAM_KERNEL(adam_decoupled_ams, DECAY_DECOUPLED, 1)

static adam_kernel_fn *const adam_kernels[3][2] = {
    [DECAY_NONE] = { adam_plain, adam_plain_ams },
    [DECAY_L2] = { adam_l2, adam_l2_ams },
    [DECAY_DECOUPLED] = { adam_decoupled, adam_decoupled_ams },
};

/* A big tensor (a CNN's fc1024 weight: 3.2M floats) is updated in slices across the
 * host's workers; the update is elementwise, so the result is the same bit for bit. */
enum { ADAM_SLICE = 1 << 16 };

typedef struct adam_pass {
    adam_kernel_fn *fn;
    float *p, *m, *v, *vmax;
    const float *g;
    int64_t numel;
    adam_k k;
} adam_pass;

static void adam_slice(void *arg, int32_t t, int32_t w)
{
    const adam_pass *a = arg;
    int64_t lo = (int64_t)t * ADAM_SLICE;
    int64_t n = a->numel - lo < ADAM_SLICE ? a->numel - lo : ADAM_SLICE;
    (void)w;
    a->fn(a->p + lo, a->g + lo, a->m + lo, a->v + lo, a->vmax ? a->vmax + lo : NULL, n, a->k);
}

static void adam_run(const ml_host *host, adam_pass *a)
{
    int64_t slices = (a->numel + ADAM_SLICE - 1) / ADAM_SLICE;
    if (slices < 2 || !ML_HAS_FIELD(host, ml_host, parallel_for) || !host->parallel_for)
        a->fn(a->p, a->g, a->m, a->v, a->vmax, a->numel, a->k);
    else
        host->parallel_for((int32_t)slices, adam_slice, a);
}

int ml_optim_adam_step(void *self, ml_opt_slot *slots, int32_t n, float lr_factor, int64_t t,
                       ml_err *err)
{
    const adam *a = self;
    if (t < 1)
        return a->host->error(err, ML_ERR_INVALID,
                              "step count t=%lld must be >= 1 (it is 1-based: the host "
                              "passes steps done + 1)", (long long)t);
    /* Scalars in double and rounded once to float, as PyTorch passes them to its float
     * kernels, so the results match its to rounding. */
    const double bc1 = 1.0 - pow(a->beta1, (double)t);
    adam_k k = {
        .b1 = (float)a->beta1, .omb1 = (float)(1.0 - a->beta1),
        .b2 = (float)a->beta2, .omb2 = (float)(1.0 - a->beta2),
        .eps = (float)a->eps, .c2_sqrt = (float)sqrt(1.0 - pow(a->beta2, (double)t)),
    };
    for (int32_t s = 0; s < n; s++) {
        ml_opt_slot *sl = &slots[s];
        if (ml_optim_skip(sl))
            continue;
        const int64_t numel = sl->numel;
        const double lr = a->lr * (double)lr_factor * (double)sl->lr_scale;
        const double wd = a->weight_decay * (double)sl->decay_scale;
        float *p = sl->value, *m = sl->state, *v = sl->state + numel;
        float *vmax = a->amsgrad ? sl->state + 2 * numel : NULL;
        k.neg_step = (float)(-(lr / bc1));
        k.l2 = (float)wd;
        k.keep = (float)(1.0 - lr * wd);
        /* PyTorch decays only when weight_decay != 0 (0 * inf would be NaN). */
        const int decay = wd == 0.0 ? DECAY_NONE : a->decoupled ? DECAY_DECOUPLED : DECAY_L2;
        adam_pass ap = {adam_kernels[decay][vmax != NULL], p, m, v, vmax, sl->grad, numel, k};
        adam_run(a->host, &ap);
    }
    return 0;
}

ML_OPTIM_ADAM_ENTRY(ml_optim_adam_entry, "adam", 0, "0",
                    "L2 penalty added to the gradient (for decoupled decay use adamw)",
                    "Adam with L2 weight decay (PyTorch torch.optim.Adam semantics)");
