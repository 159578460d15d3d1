/* SPDX-License-Identifier: MIT */
/* mp_route_static: a learned allocation that ignores the input, alpha[.][j] = softmax over
 * the sources of a parameter Z (n x n, starting at 0: an even mix). The baseline that
 * tells whether feature dependence matters. */
#include "mp_entries.h"
#include "mp_router.h"

static int static_init(mp_router *r, ml_ctx *ctx, const ml_opts *opts, ml_err *err)
{
    ml_shape s = {2, {r->n, r->n}};
    (void)opts;
    r->z = r->h->param_new(ctx, "logits", &s, ML_PARAM_NO_DECAY, err);
    return r->z ? ML_OK : err->code;
}

/* ws: gz for one example (the batch's gradients are summed into it). */
static size_t static_workspace(const mp_router *r, int32_t batch)
{
    (void)batch;
    return (size_t)r->n * (size_t)r->n * sizeof(float);
}

static int static_alpha(mp_router *r, ml_ctx *ctx, const ml_view *x, float *alpha, void *ws,
                        ml_err *err)
{
    int32_t nn = r->n * r->n;
    (void)ctx, (void)ws, (void)err;
    mp_softmax_sources(r->z->value, r->n, alpha);
    for (int32_t b = 1; b < x->batch; b++)
        memcpy(alpha + (int64_t)b * nn, alpha, (size_t)nn * sizeof(float));
    return ML_OK;
}

static int static_alpha_backward(mp_router *r, ml_ctx *ctx, const ml_view *x,
                                 const float *alpha, const float *galpha, float *gx,
                                 int params, void *ws, ml_err *err)
{
    int32_t n = r->n, nn = n * n;
    float *gz = ws;
    (void)ctx, (void)gx, (void)err;   /* alpha does not depend on x */
    if (!params)
        return ML_OK;
    for (int32_t b = 0; b < x->batch; b++) {
        mp_softmax_sources_backward(alpha + (int64_t)b * nn, galpha + (int64_t)b * nn, n,
                                    gz);
        for (int32_t k = 0; k < nn; k++)
            r->z->grad[k] += gz[k];
    }
    return ML_OK;
}

MP_ROUTER(mp_route_static_entry, static, "static", NULL,
          "multi-path router: a learned allocation that ignores the input");
