/* SPDX-License-Identifier: MIT */
/* sigmoid and tanh: the saturating elementwise activations. Both differentiate through their
 * output alone (y (1 - y) and 1 - y^2), so backward never reads the input. */
#include <math.h>

#include "nn_common.h"
#include "nn_entries.h"

typedef nn_numel saturating;
enum { SIGMOID, TANH };   /* its variant */

static int sigmoid_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                          const ml_shape *in, void **self, ml_err *err)
{
    return nn_numel_create("sigmoid", SIGMOID, host, in, self, err);
}

static int tanh_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                       const ml_shape *in, void **self, ml_err *err)
{
    return nn_numel_create("tanh", TANH, host, in, self, err);
}

static int saturating_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out,
                              void *ws, ml_err *err)
{
    const saturating *s = self;
    const float *x = in->data;
    float *y = out->data;
    int64_t n = s->numel * in->batch;
    if (s->variant == TANH)
        for (int64_t i = 0; i < n; i++)
            y[i] = nn_tanhf(x[i]);
    else
        for (int64_t i = 0; i < n; i++)
            y[i] = 1.0f / (1.0f + expf(-x[i]));
    return 0;
}

static int saturating_backward(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                               const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    const saturating *s = self;
    const float *y = out->data, *g = gout->data;
    float *gx = gin->data;
    int64_t n = s->numel * in->batch;
    if (s->variant == TANH)
        for (int64_t i = 0; i < n; i++)
            gx[i] = g[i] * (1.0f - y[i] * y[i]);
    else
        for (int64_t i = 0; i < n; i++)
            gx[i] = g[i] * y[i] * (1.0f - y[i]);
    return 0;
}

static const ml_gradcheck_case saturating_cases[] = {
    { "", { 2, { 3, 4 } }, 0 },
};
ML_GRADCHECK_EXTENSION(saturating_ext, saturating_cases)

const ml_entry ml_nn_sigmoid_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "sigmoid", "1.0.0",
    "Logistic sigmoid, elementwise", NULL, saturating_ext, ml_layer_vtable,
    .create = sigmoid_create, .destroy = nn_destroy, .infer_shape = ml_infer_same_shape,
    .forward = saturating_forward, .backward_input = saturating_backward);

const ml_entry ml_nn_tanh_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "tanh", "1.0.0",
    "Hyperbolic tangent, elementwise", NULL, saturating_ext, ml_layer_vtable,
    .create = tanh_create, .destroy = nn_destroy, .infer_shape = ml_infer_same_shape,
    .forward = saturating_forward, .backward_input = saturating_backward);
