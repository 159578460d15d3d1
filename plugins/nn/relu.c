/* SPDX-License-Identifier: MIT */
/* relu: max(x, 0), elementwise. */
#include <modlab/plugin.h>

typedef struct relu {
    const ml_host *h;
} relu;

static int relu_create(const ml_host *h, ml_ctx *ctx, const ml_opts *opts, const ml_shape *in,
                       void **self, ml_err *err)
{
    relu *r = h->zalloc(sizeof *r);
    if (!r)
        return h->error(err, ML_ERR_NOMEM, "relu: out of memory");
    r->h = h;
    *self = r;
    return ML_OK;
}

static void relu_destroy(void *self)
{
    relu *r = self;
    r->h->free(r);
}

static int relu_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    *out = *in;
    return ML_OK;
}

static int relu_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                        ml_err *err)
{
    int64_t n = in->batch * ml_shape_numel(&in->shape);
    const float *x = in->data;
    float *y = out->data;
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    return ML_OK;
}

static int relu_backward_input(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                               const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    int64_t n = in->batch * ml_shape_numel(&in->shape);
    const float *x = in->data, *g = gout->data;
    float *d = gin->data;
    for (int64_t i = 0; i < n; i++)
        d[i] = x[i] > 0.0f ? g[i] : 0.0f;
    return ML_OK;
}

static const ml_layer_vtable vtable = {
    ML_ABI_INIT(ml_layer_vtable),
    .create = relu_create,
    .destroy = relu_destroy,
    .infer_shape = relu_infer,
    .forward = relu_forward,
    .backward_input = relu_backward_input,
};

const ml_entry ml_nn_relu_entry = {
    ML_ABI_INIT(ml_entry),
    .kind = ML_KIND_LAYER,
    .name = "relu",
    .version = "1.0.0",
    .summary = "rectified linear unit, max(x, 0)",
    .options = NULL,
    .vtable = &vtable,
};
