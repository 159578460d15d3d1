/* SPDX-License-Identifier: MIT */
/* dropout: in training, zero each element with probability p and scale the rest by
 * 1/(1-p) (inverted dropout, as PyTorch); identity in evaluation. */
#include "nn_common.h"
#include "nn_entries.h"

typedef struct dropout {
    const ml_host *host;
    int64_t numel;
    float p;
} dropout;

/* Workspace: a 64-byte header saying whether forward ran in training mode (backward must
 * follow the mode of its forward, not the current one), then the mask, already scaled. */
typedef struct dropout_ws {
    int32_t training;
} dropout_ws;

static int dropout_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                          const ml_shape *in, void **self, ml_err *err)
{
    dropout *d;
    double p = host->opt_float(opts, "p");
    if (!(p >= 0.0 && p <= 1.0))
        return host->error(err, ML_ERR_INVALID,
                           "dropout: p=%g is not a probability; use 0 <= p <= 1", p);
    d = host->alloc(sizeof *d);
    if (!d)
        return host->error(err, ML_ERR_NOMEM, "dropout: out of memory");
    d->host = host;
    d->numel = ml_shape_numel(in);
    d->p = (float)p;
    *self = d;
    return 0;
}

static size_t dropout_workspace(void *self, int32_t batch)
{
    const dropout *d = self;
    return nn_align(sizeof(dropout_ws)) + sizeof(float) * (size_t)(d->numel * batch);
}

static float *dropout_mask(void *ws)
{
    return (float *)((char *)ws + nn_align(sizeof(dropout_ws)));
}

static int dropout_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out,
                           void *ws, ml_err *err)
{
    const dropout *d = self;
    dropout_ws *h = ws;
    int64_t n = d->numel * in->batch;
    const float *x = in->data;
    float *y = out->data, *mask = dropout_mask(ws);
    h->training = d->host->is_training(ctx) && d->p > 0.0f;
    if (!h->training) {
        memcpy(y, x, sizeof(float) * (size_t)n);
        return 0;
    }
    /* One RNG call for the whole batch, then a branch-free threshold. p = 1 drops all. */
    float p = d->p, scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    d->host->rng_uniform(ctx, mask, n, 0.0f, 1.0f);
    for (int64_t i = 0; i < n; i++) {
        mask[i] = mask[i] >= p ? scale : 0.0f;
        y[i] = x[i] * mask[i];
    }
    return 0;
}

static int dropout_backward(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                            const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    const dropout *d = self;
    const dropout_ws *h = ws;
    int64_t n = d->numel * in->batch;
    const float *g = gout->data, *mask = dropout_mask(ws);
    float *gx = gin->data;
    if (!h->training) {
        memcpy(gx, g, sizeof(float) * (size_t)n);
        return 0;
    }
    for (int64_t i = 0; i < n; i++)
        gx[i] = g[i] * mask[i];
    return 0;
}

static const ml_opt_spec dropout_opts[] = {
    { "p", ML_OPT_FLOAT, "0.5", "probability of zeroing an element in training", NULL },
    { NULL, 0, NULL, NULL, NULL },
};

static const ml_gradcheck_case dropout_cases[] = {
    { "p=0.3", { 2, { 3, 4 } }, 0 },
};
ML_GRADCHECK_EXTENSION(dropout_ext, dropout_cases)

const ml_entry ml_nn_dropout_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "dropout", "1.0.0",
    "Inverted dropout (scale 1/(1-p) in training, identity in evaluation)", dropout_opts,
    dropout_ext, ml_layer_vtable, .create = dropout_create, .destroy = nn_destroy,
    .infer_shape = ml_infer_same_shape, .workspace = dropout_workspace,
    .forward = dropout_forward, .backward_input = dropout_backward);
