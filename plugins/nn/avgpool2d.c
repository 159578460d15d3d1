/* SPDX-License-Identifier: MIT */
/* avgpool2d: {C,H,W} -> {C,OH,OW}, mean over kernel x kernel windows (no padding). */
#include "nn_common.h"
#include "nn_entries.h"
#include "pool2d.h"

typedef nn_pool2d avgpool2d;

static int avgpool2d_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                            const ml_shape *in, void **self, ml_err *err)
{
    return nn_pool2d_create("avgpool2d", host, opts, in, self, err);
}

static int avgpool2d_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out,
                             void *ws, ml_err *err)
{
    const avgpool2d *a = self;
    int64_t planes = (int64_t)in->batch * a->c, hw = (int64_t)a->h * a->w;
    float inv = 1.0f / (float)(a->k * a->k), *y = out->data;
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *x = in->data + pl * hw;
        for (int oy = 0; oy < a->oh; oy++) {
            for (int ox = 0; ox < a->ow; ox++) {
                const float *win = x + oy * a->s * a->w + ox * a->s;
                float sum = 0.0f;
                for (int ky = 0; ky < a->k; ky++)
                    for (int kx = 0; kx < a->k; kx++)
                        sum += win[ky * a->w + kx];
                *y++ = sum * inv;
            }
        }
    }
    return 0;
}

static int avgpool2d_backward(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                              const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    const avgpool2d *a = self;
    int64_t planes = (int64_t)in->batch * a->c, hw = (int64_t)a->h * a->w;
    float inv = 1.0f / (float)(a->k * a->k);
    const float *g = gout->data;
    memset(gin->data, 0, sizeof(float) * (size_t)(planes * hw));
    for (int64_t pl = 0; pl < planes; pl++) {
        float *gx = gin->data + pl * hw;
        for (int oy = 0; oy < a->oh; oy++) {
            for (int ox = 0; ox < a->ow; ox++) {
                float *win = gx + oy * a->s * a->w + ox * a->s, v = *g++ * inv;
                for (int ky = 0; ky < a->k; ky++)
                    for (int kx = 0; kx < a->k; kx++)
                        win[ky * a->w + kx] += v;
            }
        }
    }
    return 0;
}

static const ml_gradcheck_case avgpool2d_cases[] = {
    { "kernel=2", { 3, { 2, 4, 5 } }, 0 },
    { "kernel=3 stride=1", { 3, { 2, 5, 4 } }, 0 },
};
ML_GRADCHECK_EXTENSION(avgpool2d_ext, avgpool2d_cases)

const ml_entry ml_nn_avgpool2d_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "avgpool2d", "1.0.0",
    "2-d average pooling over {C,H,W} (square window, no padding)", nn_pool2d_options,
    avgpool2d_ext, ml_layer_vtable, .create = avgpool2d_create, .destroy = nn_destroy,
    .infer_shape = nn_pool2d_infer, .forward = avgpool2d_forward,
    .backward_input = avgpool2d_backward);
