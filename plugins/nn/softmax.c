/* SPDX-License-Identifier: MIT */
/* softmax over the last dimension (max-subtracted, so large logits do not overflow). */
#include <math.h>

#include "nn_common.h"
#include "nn_entries.h"

typedef nn_rows softmax;

static int softmax_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                          const ml_shape *in, void **self, ml_err *err)
{
    return nn_rows_create("softmax", host, in, self, err);
}

static int softmax_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out,
                           void *ws, ml_err *err)
{
    const softmax *s = self;
    int64_t rows = s->rows * in->batch, d = s->cols;
    for (int64_t r = 0; r < rows; r++) {
        const float *x = in->data + r * d;
        float *y = out->data + r * d, mx = x[0], sum = 0.0f, inv;
        for (int64_t j = 1; j < d; j++)
            mx = x[j] > mx ? x[j] : mx;
        for (int64_t j = 0; j < d; j++) {
            y[j] = expf(x[j] - mx);
            sum += y[j];
        }
        inv = 1.0f / sum;
        for (int64_t j = 0; j < d; j++)
            y[j] *= inv;
    }
    return 0;
}

/* dx = y * (g - <g, y>) row by row: the Jacobian is never formed. */
static int softmax_backward(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                            const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    const softmax *s = self;
    int64_t rows = s->rows * in->batch, d = s->cols;
    for (int64_t r = 0; r < rows; r++) {
        const float *y = out->data + r * d, *g = gout->data + r * d;
        float *gx = gin->data + r * d, dot = 0.0f;
        for (int64_t j = 0; j < d; j++)
            dot += g[j] * y[j];
        for (int64_t j = 0; j < d; j++)
            gx[j] = y[j] * (g[j] - dot);
    }
    return 0;
}

static const ml_gradcheck_case softmax_cases[] = {
    { "", { 1, { 7 } }, 0 },
    { "", { 2, { 3, 5 } }, 0 },
};
ML_GRADCHECK_EXTENSION(softmax_ext, softmax_cases)

const ml_entry ml_nn_softmax_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "softmax", "1.0.0",
    "Softmax over the last dimension", NULL, softmax_ext, ml_layer_vtable,
    .create = softmax_create, .destroy = nn_destroy, .infer_shape = ml_infer_same_shape,
    .forward = softmax_forward, .backward_input = softmax_backward);
