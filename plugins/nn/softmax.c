/* SPDX-License-Identifier: MIT */
/* softmax and log_softmax over the last dimension, row by row. Both subtract the row's
 * maximum first, so large logits do not overflow; log_softmax pairs with the nll loss. */
#include <math.h>

#include "nn_common.h"
#include "nn_entries.h"

typedef nn_rows softmax;
enum { SOFTMAX, LOG_SOFTMAX };   /* its variant */

static int softmax_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                          const ml_shape *in, void **self, ml_err *err)
{
    return nn_rows_create("softmax", SOFTMAX, host, in, self, err);
}

static int log_softmax_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                              const ml_shape *in, void **self, ml_err *err)
{
    return nn_rows_create("log_softmax", LOG_SOFTMAX, host, in, self, err);
}

static int softmax_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out,
                           void *ws, ml_err *err)
{
    const softmax *s = self;
    int64_t rows = s->rows * in->batch, d = s->cols;
    for (int64_t r = 0; r < rows; r++) {
        const float *x = in->data + r * d;
        float *y = out->data + r * d, mx = ml_maxf(x, d);
        /* nn_expf in eight lanes, summed in double (nn_common.h): libm's expf is a call
         * per element and keeps the loop scalar. */
        if (s->variant == LOG_SOFTMAX) {
            /* (x - max) - log(sum), not x - (max + log(sum)): near large logits the latter
             * rounds log(sum) to the spacing of floats around max. */
            float ls = (float)log(nn_exp_shifted(x, NULL, d, mx));
            for (int64_t j = 0; j < d; j++)
                y[j] = (x[j] - mx) - ls;
        } else {
            float inv = (float)(1.0 / nn_exp_shifted(x, y, d, mx));
            for (int64_t j = 0; j < d; j++)
                y[j] *= inv;
        }
    }
    return 0;
}

/* From the output y, row by row, the Jacobian never formed: softmax's dx = y (g - <g, y>);
 * log_softmax's dx = g - softmax(x) sum(g), with softmax(x) = exp(y). */
static int softmax_backward(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                            const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    const softmax *s = self;
    int64_t rows = s->rows * in->batch, d = s->cols;
    for (int64_t r = 0; r < rows; r++) {
        const float *y = out->data + r * d, *g = gout->data + r * d;
        float *gx = gin->data + r * d, acc = 0.0f;
        if (s->variant == LOG_SOFTMAX) {
            for (int64_t j = 0; j < d; j++)
                acc += g[j];
            int64_t j = 0;   /* y <= 0, in nn_expf's range; four at a time */
            for (; j + 4 <= d; j += 4)
                nn_v4f_store(gx + j, nn_v4f_load(g + j) - nn_expf4(nn_v4f_load(y + j)) * acc);
            for (; j < d; j++)
                gx[j] = g[j] - nn_expf(y[j]) * acc;
        } else {
            for (int64_t j = 0; j < d; j++)
                acc += g[j] * y[j];
            for (int64_t j = 0; j < d; j++)
                gx[j] = y[j] * (g[j] - acc);
        }
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

const ml_entry ml_nn_log_softmax_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "log_softmax", "1.0.0",
    "Log-softmax over the last dimension (feed it to the nll loss)", NULL, softmax_ext,
    ml_layer_vtable, .create = log_softmax_create, .destroy = nn_destroy,
    .infer_shape = ml_infer_same_shape, .forward = softmax_forward,
    .backward_input = softmax_backward);
