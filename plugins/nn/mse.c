/* SPDX-License-Identifier: MIT */
/* mse: mean squared error over every element of the batch (PyTorch's MSELoss, mean). */
#include "nn_common.h"
#include "nn_entries.h"

typedef struct mse {
    const ml_host *host;
    int64_t numel;   /* per example */
} mse;

static int mse_create(const ml_host *host, const ml_opts *opts, const ml_shape *pred,
                      const ml_shape *target, void **self, ml_err *err)
{
    char sp[96], st[96];
    /* Same element count is enough ({1} vs scalar targets); layout must agree. */
    if (ml_shape_numel(pred) != ml_shape_numel(target))
        return host->error(err, ML_ERR_SHAPE,
                           "mse: target %s and pred %s must have the same number of values "
                           "per example", ml_shape_str(target, st, sizeof st),
                           ml_shape_str(pred, sp, sizeof sp));
    mse *m = host->alloc(sizeof *m);
    if (!m)
        return host->error(err, ML_ERR_NOMEM, "mse: out of memory");
    m->host = host;
    m->numel = ml_shape_numel(pred);
    *self = m;
    return 0;
}

static int mse_forward(void *self, const ml_view *pred, const ml_view *target, double *loss,
                       ml_view *gpred, ml_err *err)
{
    const mse *m = self;
    int64_t n = m->numel * pred->batch;
    double sum = 0.0;
    const float *p = pred->data, *t = target->data;
    float k = n ? 2.0f / (float)n : 0.0f;
    for (int64_t i = 0; i < n; i++) {
        float d = p[i] - t[i];
        sum += (double)d * d;
        if (gpred)
            gpred->data[i] = k * d;
    }
    *loss = n ? sum / (double)n : 0.0;
    return 0;
}

const ml_entry ml_nn_mse_entry = ML_ENTRY_INIT(ML_KIND_LOSS, "mse", "1.0.0",
    "Mean squared error over all elements", NULL, NULL, ml_loss_vtable, .create = mse_create,
    .destroy = nn_destroy, .forward = mse_forward);
