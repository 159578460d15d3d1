/* SPDX-License-Identifier: MIT */
/* sgd: stochastic gradient descent with momentum (PyTorch's formulation). */
#include <math.h>

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
        (rc = ml_optim_opt_range(h, opts, "momentum", 0.0, 1.0, 1, &v.momentum,
                                 err)) ||
        (rc = ml_optim_opt_range(h, opts, "dampening", 0.0, 1.0, 0, &v.dampening,
                                 err)) ||
        (rc = ml_optim_opt_range(h, opts, "weight_decay", 0.0, HUGE_VAL, 0,
                                 &v.weight_decay, err)))
        return rc;
    v.nesterov = h->opt_bool(opts, "nesterov") != 0;
    /* PyTorch's rule: Nesterov's look-ahead is only defined for undamped momentum. */
    if (v.nesterov && (v.momentum <= 0.0 || v.dampening != 0.0))
        return h->error(err, ML_ERR_INVALID,
                        "nesterov=true needs momentum > 0 and dampening = 0 (got "
                        "momentum=%g, dampening=%g); set momentum=0.9 or drop nesterov",
                        v.momentum, v.dampening);
    sgd *s = h->alloc(sizeof *s);
    if (!s)
        return h->error(err, ML_ERR_NOMEM, "out of memory creating the optimizer");
    *s = v;
    *self = s;
    return ML_OK;
}

static void sgd_destroy(void *self)
{
    sgd *s = self;
    if (s)
        s->h->free(s);
}

static int32_t sgd_state_size(void *self)
{
    sgd *s = self;
    return s->momentum > 0.0 ? 1 : 0;
}

static int sgd_step(void *self, ml_opt_slot *slots, int32_t n, float lr_factor, int64_t t,
                    ml_err *err)
{
    sgd *s = self;
    if (t < 1)
        return s->h->error(err, ML_ERR_INVALID,
                           "step count t=%lld must be >= 1 (it is 1-based: the host "
                           "passes steps done + 1)", (long long)t);
    const float mom = (float)s->momentum, keep = (float)(1.0 - s->dampening);
    const int first = t == 1;
    for (int32_t i = 0; i < n; i++) {
        ml_opt_slot *p = &slots[i];
        if (ml_optim_skip(p))
            continue;
        const float neg_lr = (float)(-(s->lr * (double)lr_factor * (double)p->lr_scale));
        const float wd = (float)(s->weight_decay * (double)p->decay_scale);
        float *restrict w = p->value;
        const float *restrict g = p->grad;
        const int64_t numel = p->numel;
        if (s->momentum > 0.0) {
            float *restrict v = p->state;
            for (int64_t j = 0; j < numel; j++) {
                const float d = wd != 0.0f ? g[j] + wd * w[j] : g[j];
                /* PyTorch starts the buffer as a copy of the first gradient (no dampening);
                 * t tells us which step that is, since the state must live in the slot. */
                const float b = first ? d : v[j] * mom + keep * d;
                v[j] = b;
                w[j] += neg_lr * (s->nesterov ? d + mom * b : b);
            }
        } else {
            for (int64_t j = 0; j < numel; j++) {
                const float d = wd != 0.0f ? g[j] + wd * w[j] : g[j];
                w[j] += neg_lr * d;
            }
        }
    }
    return ML_OK;
}

static const ml_optimizer_vtable vtable = {
    ML_ABI_INIT(ml_optimizer_vtable),
    .create = sgd_create,
    .destroy = sgd_destroy,
    .state_size = sgd_state_size,
    .step = sgd_step,
};

const ml_entry ml_optim_sgd_entry = {
    ML_ABI_INIT(ml_entry),
    .kind = ML_KIND_OPTIMIZER,
    .name = "sgd",
    .version = "1.1.0",
    .summary = "stochastic gradient descent with momentum, Nesterov, dampening and L2 decay "
               "(PyTorch torch.optim.SGD semantics)",
    .options = options,
    .vtable = &vtable,
};
