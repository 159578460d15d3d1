/* SPDX-License-Identifier: MIT */
/* The convolutional predictor of cross_prediction (predictor=conv), the router of the
 * papers (Tissera et al.: each source tensor has its own small routing network that
 * convolves its feature map before pooling and predicting). Source i's features are
 * s_i = GAP(relu(conv3x3_i(X_i))) with pc = max(1, C / reduction) channels; the linear
 * head in route_cross.c turns them into its prediction. This is what FDCC set out to
 * make cheaper: FDCC pools first and never convolves in the router.
 *
 * Each source's conv is nn.so's conv2d as a sublayer. The sources' maps are interleaved
 * per example in the block's tensor, so each is first gathered into a contiguous batch. */
#include "cross_conv.h"

int cross_conv_init(mp_router *r, ml_ctx *ctx, int32_t pc, ml_err *err)
{
    const ml_host *h = r->h;
    char o[64], prefix[32];
    snprintf(o, sizeof o, "out=%d kernel=3 padding=1", (int)pc);
    for (int32_t i = 0; i < r->n; i++) {
        snprintf(prefix, sizeof prefix, "conv%d", (int)i);
        if (!(r->pconv[i] = h->sublayer_new(ctx, prefix, "conv2d", o, &r->path, err)))
            return err->code;
    }
    return ML_OK;
}

/* Floats of one example's conv output (pc x H x W). */
static int64_t conv_out_numel(const mp_router *r)
{
    return ml_shape_numel(r->h->sublayer_out_shape(r->pconv[0]));
}

/* ws: xs (n x batch x per, the gathered sources), hc (n x batch x conv out, after relu),
 * then for one source at a time gh (its conv output's gradient) and gxs (its input's),
 * then the convs' own workspaces. */
typedef struct conv_ws {
    float *xs, *hc, *gh, *gxs;
    char *sub[MP_MAX_PATHS];
} conv_ws;

/* Bytes of block k of conv_ws: xs, hc, gh, gxs. */
static size_t bytes(const mp_router *r, int32_t batch, int k)
{
    size_t b = (size_t)batch, per = (size_t)r->per, ho = (size_t)conv_out_numel(r);
    size_t floats[4] = {(size_t)r->n * b * per, (size_t)r->n * b * ho, b * ho, b * per};
    return floats[k] * sizeof(float);
}

static conv_ws carve(const mp_router *r, int32_t batch, void *ws)
{
    char *at = ws;
    conv_ws w;
    float **f[4] = {&w.xs, &w.hc, &w.gh, &w.gxs};
    for (int k = 0; k < 4; k++)
        *f[k] = mp_take(&at, bytes(r, batch, k));
    for (int32_t i = 0; i < r->n; i++)
        w.sub[i] = mp_take(&at, r->h->sublayer_workspace(r->pconv[i], batch));
    return w;
}

size_t cross_conv_workspace(const mp_router *r, int32_t batch)
{
    size_t total = 0;
    for (int k = 0; k < 4; k++)
        total += mp_align(bytes(r, batch, k));
    for (int32_t i = 0; i < r->n; i++)
        total += mp_align(r->h->sublayer_workspace(r->pconv[i], batch));
    return total;
}

static ml_view view(float *d, int32_t batch, const ml_shape *s)
{
    ml_view v = {d, batch, *s};
    return v;
}

int cross_conv_forward(mp_router *r, ml_ctx *ctx, const ml_view *x, float *sp, void *ws,
                       ml_err *err)
{
    conv_ws w = carve(r, x->batch, ws);
    int32_t B = x->batch, n = r->n;
    int64_t per = r->per, ho = conv_out_numel(r), hw = ho / r->pc;
    const ml_shape *os = r->h->sublayer_out_shape(r->pconv[0]);
    for (int32_t i = 0; i < n; i++) {
        float *xs = w.xs + (int64_t)i * B * per, *hc = w.hc + (int64_t)i * B * ho;
        for (int32_t b = 0; b < B; b++)
            memcpy(xs + b * per, x->data + ((int64_t)b * n + i) * per,
                   (size_t)per * sizeof(float));
        ml_view vx = view(xs, B, &r->path), vh = view(hc, B, os);
        int rc = r->h->sublayer_forward(r->pconv[i], ctx, &vx, &vh, w.sub[i], err);
        if (rc)
            return rc;
        for (int64_t k = 0; k < (int64_t)B * ho; k++)
            hc[k] = hc[k] > 0.0f ? hc[k] : 0.0f;
        mp_pool(hc, B, 1, r->pc, hw, sp + (int64_t)i * B * r->pc);
    }
    return ML_OK;
}

int cross_conv_backward(mp_router *r, ml_ctx *ctx, const ml_view *x, const float *gsp,
                        float *gx, int params, void *ws, ml_err *err)
{
    conv_ws w = carve(r, x->batch, ws);
    int32_t B = x->batch, n = r->n, pc = r->pc;
    int64_t per = r->per, ho = conv_out_numel(r), hw = ho / pc;
    const ml_shape *os = r->h->sublayer_out_shape(r->pconv[0]);
    for (int32_t i = 0; i < n; i++) {
        float *xs = w.xs + (int64_t)i * B * per, *hc = w.hc + (int64_t)i * B * ho;
        const float *gs = gsp + (int64_t)i * B * pc;
        /* Through the pooling and the relu (hc holds the relu's output). */
        for (int64_t row = 0; row < (int64_t)B * pc; row++) {
            float g = gs[row] / (float)hw;
            for (int64_t k = row * hw; k < (row + 1) * hw; k++)
                w.gh[k] = hc[k] > 0.0f ? g : 0.0f;
        }
        ml_view vx = view(xs, B, &r->path), vh = view(hc, B, os), gh = view(w.gh, B, os);
        ml_view gxs = view(w.gxs, B, &r->path);
        int rc = r->h->sublayer_backward(r->pconv[i], ctx, &vx, &vh, &gh, gx ? &gxs : NULL,
                                         params, w.sub[i], err);
        if (rc)
            return rc;
        if (gx)
            for (int32_t b = 0; b < B; b++) {
                float *dst = gx + ((int64_t)b * n + i) * per;
                const float *src = w.gxs + b * per;
                for (int64_t k = 0; k < per; k++)
                    dst[k] += src[k];
            }
    }
    return ML_OK;
}
