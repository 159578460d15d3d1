/* SPDX-License-Identifier: MIT */
/* sgd: stochastic gradient descent with momentum, Nesterov, dampening and L2 decay
 * (PyTorch 1.13's torch.optim.SGD). */
#include <math.h>

#include "optim_entries.h"
#include "optim_util.h"

typedef struct sgd {
    const ml_host *h;
    double lr, momentum, dampening, weight_decay;
    int nesterov;
} sgd;

static const ml_opt_spec options[] = {
    {"lr", ML_OPT_FLOAT, "0.01", "learning rate (multiplied by the schedule's factor)", NULL},
    {"momentum", ML_OPT_FLOAT, "0", "momentum factor in [0, 1) (0 = plain SGD)", NULL},
    {"dampening", ML_OPT_FLOAT, "0", "scales the gradient added to the momentum buffer by "
     "1 - dampening, in [0, 1]", NULL},
    {"nesterov", ML_OPT_BOOL, "false", "Nesterov momentum (needs momentum > 0 and dampening "
     "0)", NULL},
    {"weight_decay", ML_OPT_FLOAT, "0", "L2 penalty added to the gradient", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static int sgd_create(const ml_host *h, const ml_opts *opts, void **self, ml_err *err)
{
    sgd v = { .h = h };
    int rc;
    if ((rc = ml_optim_opt_range(h, opts, "lr", 0.0, HUGE_VAL, 0, &v.lr, err)) ||
        (rc = ml_optim_opt_range(h, opts, "momentum", 0.0, 1.0, 1, &v.momentum, err)) ||
        (rc = ml_optim_opt_range(h, opts, "dampening", 0.0, 1.0, 0, &v.dampening, err)) ||
        (rc = ml_optim_opt_range(h, opts, "weight_decay", 0.0, HUGE_VAL, 0, &v.weight_decay,
                                 err)))
        return rc;
    v.nesterov = h->opt_bool(opts, "nesterov") != 0;
    /* PyTorch's rule: Nesterov's look-ahead is only defined for undamped momentum. */
    if (v.nesterov && (v.momentum <= 0.0 || v.dampening != 0.0))
        return h->error(err, ML_ERR_INVALID,
                        "nesterov=true needs momentum > 0 and dampening = 0 (got "
                        "momentum=%g, dampening=%g); set momentum=0.9 or drop nesterov",
                        v.momentum, v.dampening);
    return ml_optim_keep(h, &v, sizeof v, self, err);
}

static int32_t sgd_state_size(void *self)
{
    sgd *s = self;
    return s->momentum > 0.0 ? 1 : 0;
}

/* Scalars of one slot's update, rounded to float as PyTorch hands them to its kernels. */
typedef struct sgd_k {
    float neg_lr, wd, mom, decay, keep;   /* buffer update: v * decay + keep * d */
} sgd_k;

/* Element j of PyTorch 1.13's _single_tensor_sgd, operation for operation; `mode` 0 plain,
 * 1 momentum, 2 Nesterov. The flags are constants at every call site (optim_util.h). */
ML_OPTIM_INLINE void sgd_elem(float *restrict w, const float *restrict g, float *restrict v,
                              int64_t j, const sgd_k k, const int use_l2, const int mode)
{
    const float d = use_l2 ? g[j] + k.wd * w[j] : g[j];
    if (mode == 0) {
        w[j] += k.neg_lr * d;
    } else {
        const float b = v[j] * k.decay + k.keep * d;
        v[j] = b;
        w[j] += k.neg_lr * (mode == 2 ? d + k.mom * b : b);
    }
}

typedef void sgd_kernel_fn(float *restrict w, const float *restrict g, float *restrict v,
                           int64_t numel, sgd_k k);

#define SGD_KERNEL(name, l2, mode)                                                       \
    ML_OPTIM_NOINLINE void name(float *restrict w, const float *restrict g,              \
                                float *restrict v, int64_t numel, sgd_k k)               \
    {                                                                                    \
        ML_OPTIM_FOR(j, numel, sgd_elem(w, g, v, j, k, l2, mode));                       \
    }
SGD_KERNEL(sgd_plain, 0, 0)
SGD_KERNEL(sgd_l2, 1, 0)
SGD_KERNEL(sgd_mom, 0, 1)
SGD_KERNEL(sgd_l2_mom, 1, 1)
SGD_KERNEL(sgd_nesterov, 0, 2)
SGD_KERNEL(sgd_l2_nesterov, 1, 2)

/* Indexed by [mode][l2]. */
static sgd_kernel_fn *const sgd_kernels[3][2] = {
    { sgd_plain, sgd_l2 }, { sgd_mom, sgd_l2_mom }, { sgd_nesterov, sgd_l2_nesterov },
};

static int sgd_step(void *self, ml_opt_slot *slots, int32_t n, float lr_factor, int64_t t,
                    ml_err *err)
{
    sgd *s = self;
    if (t < 1)
        return s->h->error(err, ML_ERR_INVALID,
                           "step count t=%lld must be >= 1 (it is 1-based: the host "
                           "passes steps done + 1)", (long long)t);
    /* PyTorch starts the buffer as a copy of the first gradient, undamped. The buffer is
     * zero then (state starts zeroed), so v * 0 + 1 * d is exactly that copy, without a
     * branch in the loop; t says which step is the first, as the state lives in the slot. */
    const int first = t == 1;
    sgd_k k = { .mom = (float)s->momentum,
                .decay = first ? 0.0f : (float)s->momentum,
                .keep = first ? 1.0f : (float)(1.0 - s->dampening) };
    const int mode = s->momentum > 0.0 ? (s->nesterov ? 2 : 1) : 0;
    for (int32_t i = 0; i < n; i++) {
        ml_opt_slot *p = &slots[i];
        if (ml_optim_skip(p))
            continue;
        k.neg_lr = (float)(-(s->lr * (double)lr_factor * (double)p->lr_scale));
        k.wd = (float)(s->weight_decay * (double)p->decay_scale);
        /* PyTorch adds the L2 term only when weight_decay != 0 (0 * inf would be NaN). */
        sgd_kernels[mode][k.wd != 0.0f](p->value, p->grad, p->state, p->numel, k);
    }
    return ML_OK;
}

const ml_entry ml_optim_sgd_entry = ML_ENTRY_INIT(ML_KIND_OPTIMIZER, "sgd", "1.1.0",
    "stochastic gradient descent with momentum, Nesterov, dampening and L2 decay "
    "(PyTorch torch.optim.SGD semantics)",
    options, NULL, ml_optimizer_vtable, .create = sgd_create, .destroy = ml_optim_free,
    .state_size = sgd_state_size, .step = sgd_step);
