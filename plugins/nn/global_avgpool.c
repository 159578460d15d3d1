/* SPDX-License-Identifier: MIT */
/* global_avgpool: {C,H,W} -> {C}, the mean of each channel plane. */
#include "nn_common.h"
#include "nn_entries.h"

typedef struct gap {
    const ml_host *host;
    int c;
    int64_t hw;
} gap;

static int gap_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                      const ml_shape *in, void **self, ml_err *err)
{
    char sb[96];
    gap *g;
    if (in->ndim != 3 || in->dim[1] < 1 || in->dim[2] < 1)
        return host->error(err, ML_ERR_SHAPE,
                           "global_avgpool: input must be a non-empty {C,H,W}, got %s",
                           ml_shape_str(in, sb, sizeof sb));
    g = host->alloc(sizeof *g);
    if (!g)
        return host->error(err, ML_ERR_NOMEM, "global_avgpool: out of memory");
    g->host = host;
    g->c = in->dim[0];
    g->hw = (int64_t)in->dim[1] * in->dim[2];
    *self = g;
    return 0;
}

static int gap_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    *out = (ml_shape){ 1, { ((const gap *)self)->c } };
    return 0;
}

static int gap_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                       ml_err *err)
{
    const gap *g = self;
    int64_t planes = (int64_t)in->batch * g->c;
    float inv = 1.0f / (float)g->hw;
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *x = in->data + pl * g->hw;
        float sum = 0.0f;
        for (int64_t i = 0; i < g->hw; i++)
            sum += x[i];
        out->data[pl] = sum * inv;
    }
    return 0;
}

static int gap_backward(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                        const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    const gap *g = self;
    int64_t planes = (int64_t)in->batch * g->c;
    float inv = 1.0f / (float)g->hw;
    for (int64_t pl = 0; pl < planes; pl++) {
        float *gx = gin->data + pl * g->hw, v = gout->data[pl] * inv;
        for (int64_t i = 0; i < g->hw; i++)
            gx[i] = v;
    }
    return 0;
}

static const ml_gradcheck_case gap_cases[] = {
    { "", { 3, { 3, 4, 5 } }, 0 },
};
ML_GRADCHECK_EXTENSION(gap_ext, gap_cases)

const ml_entry ml_nn_global_avgpool_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "global_avgpool",
    "1.0.0", "Global average pooling: {C,H,W} -> {C}", NULL, gap_ext, ml_layer_vtable,
    .create = gap_create, .destroy = nn_destroy, .infer_shape = gap_infer,
    .forward = gap_forward, .backward_input = gap_backward);
