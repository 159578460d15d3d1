/* SPDX-License-Identifier: MIT */
/* nll: negative log-likelihood of log-probabilities (PyTorch's NLLLoss, mean reduction).
 * pred {..., V}, target {...} class ids held in floats; the mean runs over every position
 * of the batch ({T, V} with {T}: over batch * T). */
#include <math.h>

#include "nn_common.h"
#include "nn_entries.h"

typedef struct nll {
    const ml_host *host;
    int64_t positions;   /* per example */
    int32_t classes;
} nll;

static int nll_create(const ml_host *host, const ml_opts *opts, const ml_shape *pred,
                      const ml_shape *target, void **self, ml_err *err)
{
    char sp[96], st[96];
    int same = pred->ndim >= 1 && target->ndim == pred->ndim - 1;
    for (int32_t i = 0; same && i < target->ndim; i++)
        same = target->dim[i] == pred->dim[i];
    if (!same || pred->dim[pred->ndim - 1] < 1)
        return host->error(err, ML_ERR_SHAPE,
                           "nll: target %s must be pred %s without its last (class) "
                           "dimension: one class id per position",
                           ml_shape_str(target, st, sizeof st),
                           ml_shape_str(pred, sp, sizeof sp));
    nll *n = host->alloc(sizeof *n);
    if (!n)
        return host->error(err, ML_ERR_NOMEM, "nll: out of memory");
    n->host = host;
    n->classes = pred->dim[pred->ndim - 1];
    n->positions = ml_shape_numel(target);
    *self = n;
    return 0;
}

static int nll_forward(void *self, const ml_view *pred, const ml_view *target, double *loss,
                       ml_view *gpred, ml_err *err)
{
    const nll *n = self;
    int64_t pos = n->positions * pred->batch, v = n->classes;
    double sum = 0.0;
    float scale = pos ? -1.0f / (float)pos : 0.0f;
    if (gpred)
        memset(gpred->data, 0, sizeof(float) * (size_t)(pos * v));
    for (int64_t i = 0; i < pos; i++) {
        float t = target->data[i];
        if (!(t >= 0.0f && t < (float)v) || t != floorf(t))
            return n->host->error(err, ML_ERR_INVALID,
                                  "nll: target %lld is %g, not a class id in [0, %lld); check "
                                  "the labels or the model's output size",
                                  (long long)i, (double)t, (long long)v);
        int64_t c = (int64_t)t;
        sum -= pred->data[i * v + c];
        if (gpred)
            gpred->data[i * v + c] = scale;
    }
    *loss = pos ? sum / (double)pos : 0.0;
    return 0;
}

const ml_entry ml_nn_nll_entry = ML_ENTRY_INIT(ML_KIND_LOSS, "nll", "1.0.0",
    "Negative log-likelihood of log-probabilities (mean over positions)", NULL, NULL,
    ml_loss_vtable, .create = nll_create, .destroy = nn_destroy, .forward = nll_forward);
