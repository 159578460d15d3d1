/* SPDX-License-Identifier: MIT */
/* sigmoid: elementwise 1 / (1 + exp(-x)); backward reuses the output (y (1 - y)). */
#include <math.h>

#include "nn_common.h"
#include "nn_entries.h"

typedef nn_numel sigmoid;

static int sigmoid_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                          const ml_shape *in, void **self, ml_err *err)
{
    return nn_numel_create("sigmoid", host, in, self, err);
}

static int sigmoid_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out,
                           void *ws, ml_err *err)
{
    const sigmoid *s = self;
    const float *x = in->data;
    float *y = out->data;
    int64_t n = s->numel * in->batch;
    for (int64_t i = 0; i < n; i++)
        y[i] = 1.0f / (1.0f + expf(-x[i]));
    return 0;
}

static int sigmoid_backward(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                            const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    const sigmoid *s = self;
    const float *y = out->data, *g = gout->data;
    float *gx = gin->data;
    int64_t n = s->numel * in->batch;
    for (int64_t i = 0; i < n; i++)
        gx[i] = g[i] * y[i] * (1.0f - y[i]);
    return 0;
}

static const ml_gradcheck_case sigmoid_cases[] = {
    { "", { 2, { 3, 4 } }, 0 },
};
ML_GRADCHECK_EXTENSION(sigmoid_ext, sigmoid_cases)

const ml_entry ml_nn_sigmoid_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "sigmoid", "1.0.0",
    "Logistic sigmoid, elementwise", NULL, sigmoid_ext, ml_layer_vtable,
    .create = sigmoid_create, .destroy = nn_destroy, .infer_shape = ml_infer_same_shape,
    .forward = sigmoid_forward, .backward_input = sigmoid_backward);
