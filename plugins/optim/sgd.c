/* SPDX-License-Identifier: MIT */
/* sgd: stochastic gradient descent with momentum (PyTorch's formulation). */
#include <modlab/plugin.h>

typedef struct sgd {
    const ml_host *h;
    float lr, momentum;
} sgd;

static const ml_opt_spec options[] = {
    {"lr", ML_OPT_FLOAT, "0.01", "learning rate", NULL},
    {"momentum", ML_OPT_FLOAT, "0", "momentum factor (0 = plain SGD)", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static int sgd_create(const ml_host *h, const ml_opts *opts, void **self, ml_err *err)
{
    sgd *s;
    double lr = h->opt_float(opts, "lr"), mom = h->opt_float(opts, "momentum");
    if (lr < 0 || mom < 0 || mom >= 1)
        return h->error(err, ML_ERR_INVALID, "sgd: need lr >= 0 and 0 <= momentum < 1");
    if (!(s = h->zalloc(sizeof *s)))
        return h->error(err, ML_ERR_NOMEM, "sgd: out of memory");
    s->h = h;
    s->lr = (float)lr;
    s->momentum = (float)mom;
    *self = s;
    return ML_OK;
}

static void sgd_destroy(void *self)
{
    sgd *s = self;
    s->h->free(s);
}

static int32_t sgd_state_size(void *self)
{
    sgd *s = self;
    return s->momentum > 0.0f ? 1 : 0;
}

static int sgd_step(void *self, ml_opt_slot *slots, int32_t n, float lr_factor, int64_t t,
                    ml_err *err)
{
    sgd *s = self;
    for (int32_t i = 0; i < n; i++) {
        ml_opt_slot *p = &slots[i];
        float lr = s->lr * lr_factor * p->lr_scale;
        if (!p->grad || lr == 0.0f || (p->flags & (ML_PARAM_BUFFER | ML_PARAM_STRUCTURAL)))
            continue;
        if (s->momentum > 0.0f) {
            float *v = p->state;
            for (int64_t j = 0; j < p->numel; j++) {
                /* The first step takes the gradient as the buffer, as PyTorch does. */
                v[j] = t == 1 ? p->grad[j] : s->momentum * v[j] + p->grad[j];
                p->value[j] -= lr * v[j];
            }
        } else {
            for (int64_t j = 0; j < p->numel; j++)
                p->value[j] -= lr * p->grad[j];
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
    .version = "1.0.0",
    .summary = "stochastic gradient descent with momentum",
    .options = options,
    .vtable = &vtable,
};
