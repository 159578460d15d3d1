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
    return ml_optim_keep(host, &r, sizeof r, self, err);
}

/* Planes: square_avg, then momentum_buffer (momentum > 0), then grad_avg (centered). */
static int32_t rmsprop_state_size(void *self)
{
    const rmsprop *r = self;
    return 1 + (r->momentum > 0.0) + (r->centered != 0);
}

/* Scalars of one slot's update, rounded to float as PyTorch hands them to its kernels. */
typedef struct rms_k {
    float alpha, oma, eps, mom, neg_lr, wd;
} rms_k;

/* Element i of PyTorch 1.13's _single_tensor_rmsprop, operation for operation. The flags
 * are constants at every call site (see optim_util.h). */
ML_OPTIM_INLINE void rms_elem(float *restrict p, const float *restrict g, float *restrict sq,
                              float *restrict buf, float *restrict gavg, int64_t i,
                              const rms_k k, const int use_l2, const int use_mom,
                              const int centered)
{
    const float gi = use_l2 ? g[i] + k.wd * p[i] : g[i];
    const float sqi = sq[i] * k.alpha + k.oma * gi * gi;
    sq[i] = sqi;
    float avg;
    if (centered) {
        const float ga = gavg[i] * k.alpha + k.oma * gi;
        gavg[i] = ga;
        avg = sqrtf(sqi + -1.0f * ga * ga) + k.eps;
    } else {
        avg = sqrtf(sqi) + k.eps;
    }
    if (use_mom) {
        /* PyTorch starts this buffer at zero (unlike SGD's): no first-step case. */
        const float b = buf[i] * k.mom + gi / avg;
        buf[i] = b;
        p[i] += k.neg_lr * b;
    } else {
        p[i] += k.neg_lr * gi / avg;
    }
}

typedef void rms_kernel_fn(float *restrict p, const float *restrict g, float *restrict sq,
                           float *restrict buf, float *restrict gavg, int64_t numel,
                           rms_k k);

#define RMS_KERNEL(name, l2, mom, centered)                                              \
    ML_OPTIM_NOINLINE void name(float *restrict p, const float *restrict g,              \
                                float *restrict sq, float *restrict buf,                 \
                                float *restrict gavg, int64_t numel, rms_k k)            \
    {                                                                                    \
        ML_OPTIM_FOR(i, numel, rms_elem(p, g, sq, buf, gavg, i, k, l2, mom, centered));  \
    }
RMS_KERNEL(rms_plain, 0, 0, 0)
RMS_KERNEL(rms_l2, 1, 0, 0)
RMS_KERNEL(rms_mom, 0, 1, 0)
RMS_KERNEL(rms_l2_mom, 1, 1, 0)
RMS_KERNEL(rms_c, 0, 0, 1)
RMS_KERNEL(rms_l2_c, 1, 0, 1)
RMS_KERNEL(rms_mom_c, 0, 1, 1)
RMS_KERNEL(rms_l2_mom_c, 1, 1, 1)

/* Indexed by [centered][momentum][l2]. */
static rms_kernel_fn *const rms_kernels[2][2][2] = {
    { { rms_plain, rms_l2 }, { rms_mom, rms_l2_mom } },
    { { rms_c, rms_l2_c }, { rms_mom_c, rms_l2_mom_c } },
};

static int rmsprop_step(void *self, ml_opt_slot *slots, int32_t n, float lr_factor,
                        int64_t t, ml_err *err)
{
    const rmsprop *r = self;
    /* t is unused by the math, but a host passing 0 is confused about resumes: say so. */
    if (t < 1)
        return r->host->error(err, ML_ERR_INVALID,
                              "step count t=%lld must be >= 1 (it is 1-based: the host "
                              "passes steps done + 1)", (long long)t);
    rms_k k = { .alpha = (float)r->alpha, .oma = (float)(1.0 - r->alpha),
                .eps = (float)r->eps, .mom = (float)r->momentum };
    const int use_mom = r->momentum > 0.0;
    for (int32_t s = 0; s < n; s++) {
        ml_opt_slot *sl = &slots[s];
        if (ml_optim_skip(sl))
            continue;
        const int64_t numel = sl->numel;
        k.neg_lr = (float)-(r->lr * (double)lr_factor * (double)sl->lr_scale);
        k.wd = (float)(r->weight_decay * (double)sl->decay_scale);
        float *p = sl->value, *sq = sl->state;
        const float *g = sl->grad;
        float *buf = use_mom ? sl->state + numel : NULL;
        float *gavg = r->centered ? sl->state + (1 + use_mom) * numel : NULL;
        /* PyTorch adds the L2 term only when weight_decay != 0 (0 * inf would be NaN). */
        rms_kernels[r->centered != 0][use_mom][k.wd != 0.0f](p, g, sq, buf, gavg, numel, k);
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

const ml_entry ml_optim_rmsprop_entry = ML_ENTRY_INIT(ML_KIND_OPTIMIZER, "rmsprop", "1.0.0",
    "RMSprop with optional momentum and centering (PyTorch torch.optim.RMSprop semantics)",
    rmsprop_options, NULL, ml_optimizer_vtable, .create = rmsprop_create,
    .destroy = ml_optim_free, .state_size = rmsprop_state_size, .step = rmsprop_step);
