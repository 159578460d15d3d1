/* SPDX-License-Identifier: MIT */
/* flatten: {d0,d1,...} -> {d0*d1*...}, a copy (views are borrowed, so no aliasing). */
#include "nn_common.h"
#include "nn_entries.h"

typedef nn_numel flatten;

static int flatten_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                          const ml_shape *in, void **self, ml_err *err)
{
    return nn_numel_create("flatten", 0, host, in, self, err);
}

static int flatten_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    int64_t n = ml_shape_numel(in);
    if (n > INT32_MAX)
        return ((flatten *)self)->host->error(err, ML_ERR_SHAPE,
                                              "flatten: %lld elements per example do not "
                                              "fit one dimension; reduce the input first",
                                              (long long)n);
    memset(out, 0, sizeof *out);
    out->ndim = 1;
    out->dim[0] = (int32_t)n;
    return 0;
}

static int flatten_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out,
                           void *ws, ml_err *err)
{
    flatten *f = self;
    memcpy(out->data, in->data, sizeof(float) * (size_t)(f->numel * in->batch));
    return 0;
}

static int flatten_backward(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                            const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    flatten *f = self;
    memcpy(gin->data, gout->data, sizeof(float) * (size_t)(f->numel * in->batch));
    return 0;
}

static const ml_gradcheck_case flatten_cases[] = {
    { "", { 3, { 2, 3, 4 } }, 0 },
};
ML_GRADCHECK_EXTENSION(flatten_ext, flatten_cases)

const ml_entry ml_nn_flatten_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "flatten", "1.0.0",
    "Flatten each example to one dimension: {d0,d1,...} -> {d0*d1*...}", NULL, flatten_ext,
    ml_layer_vtable, .create = flatten_create, .destroy = nn_destroy,
    .infer_shape = flatten_infer, .forward = flatten_forward,
    .backward_input = flatten_backward);
