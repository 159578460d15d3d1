/* SPDX-License-Identifier: MIT */
/* leaky_relu: y = x for x > 0, slope * x otherwise (elementwise, any shape). */
#include "nn_common.h"
#include "nn_entries.h"

typedef struct leaky {
    const ml_host *host;
    int64_t numel;
    float slope;
} leaky;

static int leaky_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                        const ml_shape *in, void **self, ml_err *err)
{
    leaky *l = host->alloc(sizeof *l);
    if (!l)
        return host->error(err, ML_ERR_NOMEM, "leaky_relu: out of memory");
    l->host = host;
    l->numel = ml_shape_numel(in);
    l->slope = (float)host->opt_float(opts, "slope");
    *self = l;
    return 0;
}

static int leaky_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                         ml_err *err)
{
    const leaky *l = self;
    const float *x = in->data;
    float *y = out->data, s = l->slope;
    int64_t n = l->numel * in->batch;
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : s * x[i];
    return 0;
}

static int leaky_backward(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                          const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    const leaky *l = self;
    const float *x = in->data, *g = gout->data;
    float *gx = gin->data, s = l->slope;
    int64_t n = l->numel * in->batch;
    for (int64_t i = 0; i < n; i++)
        gx[i] = x[i] > 0.0f ? g[i] : s * g[i];
    return 0;
}

static const ml_opt_spec leaky_opts[] = {
    { "slope", ML_OPT_FLOAT, "0.01", "slope for negative inputs (PyTorch's negative_slope)",
      NULL },
    { NULL, 0, NULL, NULL, NULL },
};

/* Random inputs are almost surely away from the kink at 0, where finite differences lie. */
static const ml_gradcheck_case leaky_cases[] = {
    { "", { 1, { 12 } }, 0 },
    { "slope=0.2", { 2, { 3, 5 } }, 0 },
};
ML_GRADCHECK_EXTENSION(leaky_ext, leaky_cases)

const ml_entry ml_nn_leaky_relu_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "leaky_relu", "1.0.0",
    "Leaky ReLU: x if x > 0 else slope * x", leaky_opts, leaky_ext, ml_layer_vtable,
    .create = leaky_create, .destroy = nn_destroy, .infer_shape = ml_infer_same_shape,
    .forward = leaky_forward, .backward_input = leaky_backward);
