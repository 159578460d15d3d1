/* SPDX-License-Identifier: MIT */
/* avgpool2d: {C,H,W} -> {C,OH,OW}, mean over kernel x kernel windows (no padding). */
#include "nn_common.h"
#include "nn_entries.h"

typedef struct avgpool2d {
    const ml_host *host;
    int c, h, w, k, s, oh, ow;
} avgpool2d;

static int avgpool2d_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                            const ml_shape *in, void **self, ml_err *err)
{
    char sb[96];
    int64_t k = host->opt_int(opts, "kernel"), s = host->opt_int(opts, "stride");
    avgpool2d *a;
    if (s == 0)
        s = k;
    if (in->ndim != 3)
        return host->error(err, ML_ERR_SHAPE,
                           "avgpool2d: input must be {C,H,W}, got %d dims %s", (int)in->ndim,
                           ml_shape_str(in, sb, sizeof sb));
    if (k < 1 || s < 1 || k > 4096 || s > 4096)
        return host->error(err, ML_ERR_INVALID,
                           "avgpool2d: need kernel >= 1 and stride >= 1 (0 = kernel), got "
                           "kernel=%lld stride=%lld", (long long)k, (long long)s);
    if (in->dim[1] < k || in->dim[2] < k)
        return host->error(err, ML_ERR_SHAPE,
                           "avgpool2d: kernel %lld is bigger than the input %s; use a smaller "
                           "kernel or pool earlier",
                           (long long)k, ml_shape_str(in, sb, sizeof sb));
    a = host->alloc(sizeof *a);
    if (!a)
        return host->error(err, ML_ERR_NOMEM, "avgpool2d: out of memory");
    a->host = host;
    a->c = in->dim[0];
    a->h = in->dim[1];
    a->w = in->dim[2];
    a->k = (int)k;
    a->s = (int)s;
    a->oh = (a->h - a->k) / a->s + 1;
    a->ow = (a->w - a->k) / a->s + 1;
    *self = a;
    return 0;
}

static int avgpool2d_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    const avgpool2d *a = self;
    memset(out, 0, sizeof *out);
    out->ndim = 3;
    out->dim[0] = a->c;
    out->dim[1] = a->oh;
    out->dim[2] = a->ow;
    return 0;
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

static const ml_layer_vtable avgpool2d_vt = {
    ML_ABI_INIT(ml_layer_vtable),
    .create = avgpool2d_create,
    .destroy = nn_destroy,
    .infer_shape = avgpool2d_infer,
    .forward = avgpool2d_forward,
    .backward_input = avgpool2d_backward,
};

static const ml_opt_spec avgpool2d_opts[] = {
    { "kernel", ML_OPT_INT, NULL, "square window size", NULL },
    { "stride", ML_OPT_INT, "0", "step between windows; 0 means the kernel size", NULL },
    { NULL, 0, NULL, NULL, NULL },
};

static const ml_gradcheck_case avgpool2d_cases[] = {
    { "kernel=2", { 3, { 2, 4, 5 } }, 0 },
    { "kernel=3 stride=1", { 3, { 2, 5, 4 } }, 0 },
};
ML_GRADCHECK_EXTENSION(avgpool2d_ext, avgpool2d_cases)

const ml_entry ml_nn_avgpool2d_entry = {
    ML_ABI_INIT(ml_entry),
    .kind = ML_KIND_LAYER,
    .name = "avgpool2d",
    .version = "1.0.0",
    .summary = "2-d average pooling over {C,H,W} (square window, no padding)",
    .options = avgpool2d_opts,
    .vtable = &avgpool2d_vt,
    .extension = avgpool2d_ext,
};
