/* SPDX-License-Identifier: MIT */
/* cross_entropy: softmax over the last dimension + negative log-likelihood of class ids,
 * averaged over every row of the batch (one target per row). Fused for stability. */
#include <math.h>

#include <modlab/plugin.h>

#include "nn_common.h"

typedef struct xent {
    const ml_host *h;
    int32_t classes;
    int64_t rows;          /* rows per example */
    float smoothing;
} xent;

static const ml_opt_spec options[] = {
    {"label_smoothing", ML_OPT_FLOAT, "0", "mix the one-hot target with uniform (0..1)", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static int xe_create(const ml_host *h, const ml_opts *opts, const ml_shape *pred,
                     const ml_shape *target, void **self, ml_err *err)
{
    xent *x;
    double s = h->opt_float(opts, "label_smoothing");
    if (pred->ndim < 1 || pred->dim[pred->ndim - 1] < 2)
        return h->error(err, ML_ERR_SHAPE, "cross_entropy: predictions need a last dimension "
                        "of at least 2 classes");
    int64_t rows = ml_shape_numel(pred) / pred->dim[pred->ndim - 1];
    if (ml_shape_numel(target) != rows)
        return h->error(err, ML_ERR_SHAPE, "cross_entropy: wants one class id per prediction "
                        "row (%lld per example), the targets have %lld values; use mse for "
                        "regression targets", (long long)rows, (long long)ml_shape_numel(target));
    if (s < 0 || s >= 1)
        return h->error(err, ML_ERR_INVALID, "cross_entropy: label_smoothing must be in [0, 1)");
    if (!(x = h->zalloc(sizeof *x)))
        return h->error(err, ML_ERR_NOMEM, "cross_entropy: out of memory");
    x->h = h;
    x->classes = pred->dim[pred->ndim - 1];
    x->rows = rows;
    x->smoothing = (float)s;
    *self = x;
    return ML_OK;
}

static void xe_destroy(void *self)
{
    xent *x = self;
    x->h->free(x);
}

static int xe_forward(void *self, const ml_view *pred, const ml_view *target, double *loss,
                      ml_view *gpred, ml_err *err)
{
    xent *x = self;
    int64_t rows = x->rows * pred->batch;
    int32_t C = x->classes;
    double total = 0.0;
    float off = x->smoothing / C, on = 1.0f - x->smoothing + off;
    for (int64_t r = 0; r < rows; r++) {
        const float *p = pred->data + r * C;
        float t = target->data[r];
        int32_t y = (int32_t)t;
        if (!(t >= 0.0f) || y >= C || (float)y != t)
            return x->h->error(err, ML_ERR_INVALID, "cross_entropy: target %g is not a class "
                               "id in 0..%d", (double)t, C - 1);
        /* One pass of float exps (vectorised, nn_expf) summed in double: with a gradient
         * the terms land in g and are scaled there, so no exp is computed twice. */
        float mx = ml_maxf(p, C);
        float *g = gpred ? gpred->data + r * C : NULL;
        double sum = nn_exp_shifted(p, g, C, mx);
        double lse = log(sum) + mx;
        if (x->smoothing > 0.0f) {
            double mean = nn_sum(p, C);
            total += lse - (1.0 - x->smoothing) * p[y] - x->smoothing * mean / C;
        } else {
            total += lse - p[y];
        }
        if (g) {
            /* softmax / rows - target / rows: e / sum * scale, less the smoothed one-hot. */
            double scale = 1.0 / (double)rows;
            float k = (float)(scale / sum), goff = (float)(off * scale);
            float gy = g[y] * k - (float)(on * scale);
            nn_scale_shift(g, C, k, goff);
            g[y] = gy;
        }
    }
    *loss = total / (double)rows;
    return ML_OK;
}

const ml_entry ml_nn_cross_entropy_entry = ML_ENTRY_INIT(ML_KIND_LOSS, "cross_entropy", "1.0.0",
    "softmax cross-entropy over the last dimension with class-id targets", options, NULL,
    ml_loss_vtable, .create = xe_create, .destroy = xe_destroy, .forward = xe_forward);
