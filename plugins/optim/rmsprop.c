/* SPDX-License-Identifier: MIT */
/* RMSprop (Hinton) with PyTorch 1.13's semantics: optional momentum and centering. */
#include <math.h>

#include "optim_entries.h"
#include "optim_util.h"

typedef struct rmsprop {
    const ml_host *host;
    double lr, alpha, eps, momentum, weight_decay;
    int centered;
} rmsprop;

static int rmsprop_create(const ml_host *host, const ml_opts *opts, void **self, ml_err *err)
{
    rmsprop r = { .host = host };
    int rc;
    if ((rc = ml_optim_opt_range(host, opts, "lr", 0.0, HUGE_VAL, 0, &r.lr, err)) ||
        (rc = ml_optim_opt_range(host, opts, "alpha", 0.0, 1.0, 0, &r.alpha, err)) ||
        (rc = ml_optim_opt_range(host, opts, "eps", 0.0, HUGE_VAL, 0, &r.eps, err)) ||
        (rc = ml_optim_opt_range(host, opts, "momentum", 0.0, HUGE_VAL, 0, &r.momentum,
                                 err)) ||
        (rc = ml_optim_opt_range(host, opts, "weight_decay", 0.0, HUGE_VAL, 0,
                                 &r.weight_decay, err)))
        return rc;
    r.centered = host->opt_bool(opts, "centered") != 0;
    rmsprop *p = host->alloc(sizeof *p);
    if (!p)
        return host->error(err, ML_ERR_NOMEM, "out of memory creating the optimizer");
    *p = r;
    *self = p;
    return 0;
}

static void rmsprop_destroy(void *self)
{
    rmsprop *r = self;
    if (r)
        r->host->free(r);
}

/* Planes: square_avg, then momentum_buffer (momentum > 0), then grad_avg (centered). */
static int32_t rmsprop_state_size(void *self)
{
    const rmsprop *r = self;
    return 1 + (r->momentum > 0.0) + (r->centered != 0);
}

static int rmsprop_step(void *self, ml_opt_slot *slots, int32_t n, float lr_factor,
                        int64_t t, ml_err *err)
{
    const rmsprop *r = self;
    /* t is unused by the math, but a host passing 0 is confused about resumes: say so. */
    if (t < 1)
        return r->host->error(err, ML_ERR_INVALID,
                              "step count t=%lld must be >= 1 (it is 1-based: the host "
                              "passes steps done + 1)", (long long)t);
    const float alpha = (float)r->alpha, oma = (float)(1.0 - r->alpha);
    const float eps = (float)r->eps, mom = (float)r->momentum;
    const int use_mom = r->momentum > 0.0;
    for (int32_t s = 0; s < n; s++) {
        ml_opt_slot *sl = &slots[s];
        if (ml_optim_skip(sl))
            continue;
        const int64_t numel = sl->numel;
        const float lr = (float)(r->lr * (double)lr_factor * (double)sl->lr_scale);
        const float wd = (float)(r->weight_decay * (double)sl->decay_scale);
        float *restrict p = sl->value;
        const float *restrict g = sl->grad;
        float *restrict sq = sl->state;
        float *restrict buf = use_mom ? sl->state + numel : NULL;
        float *restrict gavg = r->centered ? sl->state + (1 + use_mom) * numel : NULL;
        for (int64_t i = 0; i < numel; i++) {
            const float gi = wd != 0.0f ? g[i] + wd * p[i] : g[i];
            const float sqi = sq[i] * alpha + oma * gi * gi;
            sq[i] = sqi;
            float avg;
            if (gavg) {
                const float ga = gavg[i] * alpha + oma * gi;
                gavg[i] = ga;
                avg = sqrtf(sqi + -1.0f * ga * ga) + eps;
            } else {
                avg = sqrtf(sqi) + eps;
            }
            if (buf) {
                /* PyTorch starts the buffer at zero (unlike SGD's), so no first-step case. */
                const float b = buf[i] * mom + gi / avg;
                buf[i] = b;
                p[i] += -lr * b;
            } else {
                p[i] += -lr * gi / avg;
            }
        }
    }
    return 0;
}

static const ml_opt_spec rmsprop_options[] = {
    { "lr", ML_OPT_FLOAT, "0.01", "learning rate (multiplied by the schedule's factor)",
      NULL },
    { "alpha", ML_OPT_FLOAT, "0.99", "smoothing constant of the squared-gradient average, "
      "in [0, 1]", NULL },
    { "eps", ML_OPT_FLOAT, "1e-08", "added to the denominator for numerical stability",
      NULL },
    { "momentum", ML_OPT_FLOAT, "0", "momentum factor (0 = none)", NULL },
    { "weight_decay", ML_OPT_FLOAT, "0", "L2 penalty added to the gradient", NULL },
    { "centered", ML_OPT_BOOL, "false", "normalise by the estimated variance of the "
      "gradient instead of its second moment", NULL },
    { NULL, 0, NULL, NULL, NULL },
};

static const ml_optimizer_vtable rmsprop_vtable = {
    ML_ABI_INIT(ml_optimizer_vtable),
    .create = rmsprop_create,
    .destroy = rmsprop_destroy,
    .state_size = rmsprop_state_size,
    .step = rmsprop_step,
};

const ml_entry ml_optim_rmsprop_entry = {
    ML_ABI_INIT(ml_entry),
    .kind = ML_KIND_OPTIMIZER,
    .name = "rmsprop",
    .version = "1.0.0",
    .summary = "RMSprop with optional momentum and centering (PyTorch torch.optim.RMSprop "
               "semantics)",
    .options = rmsprop_options,
    .vtable = &rmsprop_vtable,
};
