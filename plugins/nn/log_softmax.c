/* SPDX-License-Identifier: MIT */
/* log_softmax over the last dimension: x - logsumexp(x), stable; pairs with the nll loss. */
#include <math.h>

#include "nn_common.h"
#include "nn_entries.h"

typedef nn_rows log_softmax;

static int log_softmax_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                              const ml_shape *in, void **self, ml_err *err)
{
    return nn_rows_create("log_softmax", host, in, self, err);
}

static int log_softmax_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out,
                               void *ws, ml_err *err)
{
    const log_softmax *s = self;
    int64_t rows = s->rows * in->batch, d = s->cols;
    for (int64_t r = 0; r < rows; r++) {
        const float *x = in->data + r * d;
        float *y = out->data + r * d, mx = x[0], sum = 0.0f, ls;
        for (int64_t j = 1; j < d; j++)
            mx = x[j] > mx ? x[j] : mx;
        for (int64_t j = 0; j < d; j++)
            sum += expf(x[j] - mx);
        /* (x - max) - log(sum), not x - (max + log(sum)): near large logits the latter
         * rounds log(sum) to the spacing of floats around max. */
        ls = logf(sum);
        for (int64_t j = 0; j < d; j++)
            y[j] = (x[j] - mx) - ls;
    }
    return 0;
}

/* dx = g - softmax(x) * sum(g), with softmax(x) = exp(y) from the output. */
static int log_softmax_backward(void *self, ml_ctx *ctx, const ml_view *in,
                                const ml_view *out, const ml_view *gout, ml_view *gin,
                                void *ws, ml_err *err)
{
    const log_softmax *s = self;
    int64_t rows = s->rows * in->batch, d = s->cols;
    for (int64_t r = 0; r < rows; r++) {
        const float *y = out->data + r * d, *g = gout->data + r * d;
        float *gx = gin->data + r * d, sum = 0.0f;
        for (int64_t j = 0; j < d; j++)
            sum += g[j];
        for (int64_t j = 0; j < d; j++)
            gx[j] = g[j] - expf(y[j]) * sum;
    }
    return 0;
}

static const ml_gradcheck_case log_softmax_cases[] = {
    { "", { 1, { 7 } }, 0 },
    { "", { 2, { 3, 5 } }, 0 },
};
ML_GRADCHECK_EXTENSION(log_softmax_ext, log_softmax_cases)

const ml_entry ml_nn_log_softmax_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "log_softmax", "1.0.0",
    "Log-softmax over the last dimension (feed it to the nll loss)", NULL, log_softmax_ext,
    ml_layer_vtable, .create = log_softmax_create, .destroy = nn_destroy,
    .infer_shape = ml_infer_same_shape, .forward = log_softmax_forward,
    .backward_input = log_softmax_backward);
