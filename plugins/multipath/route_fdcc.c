/* SPDX-License-Identifier: MIT */
/* mp_route_fdcc: feature-dependent cross-connections (Tissera et al., ICPR 2020, in our
 * formulation, METHODS.md section 2). s = concat_i GAP(X_i); Z = W2 relu(W1 s + b1) + b2
 * reshaped n x n; alpha[.][j] = softmax over the sources. One small MLP for all n x n
 * weights: two GEMMs per batch whatever n. W1, relu and W2 are nn.so's layers used as
 * sublayers. */
#include "mp_entries.h"
#include "mp_router.h"

static const ml_opt_spec options[] = {
    {"reduction", ML_OPT_INT, "4", "hidden units = max(1, paths * channels / reduction)",
     NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static int fdcc_init(mp_router *r, ml_ctx *ctx, const ml_opts *opts, ml_err *err)
{
    const ml_host *h = r->h;
    int64_t red = h->opt_int(opts, "reduction"), nc = (int64_t)r->n * r->c;
    char o[64];
    if (red < 1)
        return h->error(err, ML_ERR_INVALID, "mp_route_fdcc: reduction must be >= 1, got "
                        "%lld", (long long)red);
    r->hidden = (int32_t)(nc / red > 0 ? nc / red : 1);
    ml_shape s = {1, {(int32_t)nc}}, hs = {1, {r->hidden}};
    snprintf(o, sizeof o, "out=%d", (int)r->hidden);
    if (!(r->sub[0] = h->sublayer_new(ctx, "fc1", "linear", o, &s, err)) ||
        !(r->sub[1] = h->sublayer_new(ctx, "act", "relu", "", &hs, err)))
        return err->code;
    snprintf(o, sizeof o, "out=%d", (int)(r->n * r->n));
    if (!(r->sub[2] = h->sublayer_new(ctx, "fc2", "linear", o, &hs, err)))
        return err->code;
    return ML_OK;
}

/* ws: s, h1, h2, z, gz, gh2, gh1, gs, then the three sublayers' workspaces. */
enum { FDCC_BLOCKS = 11 };
typedef struct fdcc_ws {
    float *s, *h1, *h2, *z, *gz, *gh2, *gh1, *gs;
    char *sub[3];
} fdcc_ws;

static void sizes(const mp_router *r, int32_t batch, size_t sz[FDCC_BLOCKS])
{
    size_t b = (size_t)batch, f = sizeof(float), nc = b * (size_t)r->n * (size_t)r->c;
    size_t hid = b * (size_t)r->hidden, nn = b * (size_t)r->n * (size_t)r->n;
    size_t floats[8] = {nc, hid, hid, nn, nn, hid, hid, nc};
    for (int k = 0; k < 8; k++)
        sz[k] = floats[k] * f;
    for (int k = 0; k < 3; k++)
        sz[8 + k] = r->h->sublayer_workspace(r->sub[k], batch);
}

static fdcc_ws carve(const mp_router *r, int32_t batch, void *ws)
{
    size_t sz[FDCC_BLOCKS];
    char *at = ws;
    fdcc_ws w;
    float **f[8] = {&w.s, &w.h1, &w.h2, &w.z, &w.gz, &w.gh2, &w.gh1, &w.gs};
    sizes(r, batch, sz);
    for (int k = 0; k < 8; k++)
        *f[k] = mp_take(&at, sz[k]);
    for (int k = 0; k < 3; k++)
        w.sub[k] = mp_take(&at, sz[8 + k]);
    return w;
}

static size_t fdcc_workspace(const mp_router *r, int32_t batch)
{
    size_t sz[FDCC_BLOCKS], total = 0;
    sizes(r, batch, sz);
    for (int k = 0; k < FDCC_BLOCKS; k++)
        total += mp_align(sz[k]);
    return total;
}

static ml_view view(float *d, int32_t batch, int32_t n)
{
    ml_view v = {d, batch, {1, {n}}};
    return v;
}

static int fdcc_alpha(mp_router *r, ml_ctx *ctx, const ml_view *x, float *alpha, void *ws,
                      ml_err *err)
{
    const ml_host *h = r->h;
    fdcc_ws w = carve(r, x->batch, ws);
    int32_t B = x->batch, n = r->n;
    ml_view vs = view(w.s, B, n * r->c), v1 = view(w.h1, B, r->hidden);
    ml_view v2 = view(w.h2, B, r->hidden), vz = view(w.z, B, n * n);
    int rc;
    mp_pool(x->data, B, n, r->c, r->hw, w.s);
    if ((rc = h->sublayer_forward(r->sub[0], ctx, &vs, &v1, w.sub[0], err)) ||
        (rc = h->sublayer_forward(r->sub[1], ctx, &v1, &v2, w.sub[1], err)) ||
        (rc = h->sublayer_forward(r->sub[2], ctx, &v2, &vz, w.sub[2], err)))
        return rc;
    for (int32_t b = 0; b < B; b++)
        mp_softmax_sources(w.z + (int64_t)b * n * n, n, alpha + (int64_t)b * n * n);
    return ML_OK;
}

static int fdcc_alpha_backward(mp_router *r, ml_ctx *ctx, const ml_view *x,
                               const float *alpha, const float *galpha, float *gx,
                               int params, void *ws, ml_err *err)
{
    const ml_host *h = r->h;
    fdcc_ws w = carve(r, x->batch, ws);
    int32_t B = x->batch, n = r->n;
    ml_view vs = view(w.s, B, n * r->c), v1 = view(w.h1, B, r->hidden);
    ml_view v2 = view(w.h2, B, r->hidden), vz = view(w.z, B, n * n);
    ml_view gz = view(w.gz, B, n * n), g2 = view(w.gh2, B, r->hidden);
    ml_view g1 = view(w.gh1, B, r->hidden), gs = view(w.gs, B, n * r->c);
    int rc;
    for (int32_t b = 0; b < B; b++)
        mp_softmax_sources_backward(alpha + (int64_t)b * n * n, galpha + (int64_t)b * n * n,
                                    n, w.gz + (int64_t)b * n * n);
    if ((rc = h->sublayer_backward(r->sub[2], ctx, &v2, &vz, &gz, &g2, params, w.sub[2],
                                   err)) ||
        (rc = h->sublayer_backward(r->sub[1], ctx, &v1, &v2, &g2, &g1, 0, w.sub[1], err)) ||
        (rc = h->sublayer_backward(r->sub[0], ctx, &vs, &v1, &g1, gx ? &gs : NULL, params,
                                   w.sub[0], err)))
        return rc;
    if (gx)
        mp_pool_backward(w.gs, B, n, r->c, r->hw, gx);
    return ML_OK;
}

MP_ROUTER(mp_route_fdcc_entry, fdcc, "fdcc", options,
          "multi-path router: feature-dependent cross-connections from pooled paths");
