/* SPDX-License-Identifier: MIT */
/* tanh: elementwise hyperbolic tangent; backward reuses the output (1 - y^2). */
#include <math.h>

#include "nn_common.h"
#include "nn_entries.h"

typedef nn_numel tanh_layer;

static int tanh_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                       const ml_shape *in, void **self, ml_err *err)
{
    return nn_numel_create("tanh", host, in, self, err);
}

static int tanh_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                        ml_err *err)
{
    const tanh_layer *t = self;
    const float *x = in->data;
    float *y = out->data;
    int64_t n = t->numel * in->batch;
    for (int64_t i = 0; i < n; i++)
        y[i] = nn_tanhf(x[i]);
    return 0;
}

static int tanh_backward(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                         const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    const tanh_layer *t = self;
    const float *y = out->data, *g = gout->data;
    float *gx = gin->data;
    int64_t n = t->numel * in->batch;
    for (int64_t i = 0; i < n; i++)
        gx[i] = g[i] * (1.0f - y[i] * y[i]);
    return 0;
}

static const ml_gradcheck_case tanh_cases[] = {
    { "", { 2, { 3, 4 } }, 0 },
};
ML_GRADCHECK_EXTENSION(tanh_ext, tanh_cases)

const ml_entry ml_nn_tanh_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "tanh", "1.0.0",
    "Hyperbolic tangent, elementwise", NULL, tanh_ext, ml_layer_vtable, .create = tanh_create,
    .destroy = nn_destroy, .infer_shape = ml_infer_same_shape, .forward = tanh_forward,
    .backward_input = tanh_backward);
