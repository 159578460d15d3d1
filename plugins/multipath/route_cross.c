/* SPDX-License-Identifier: MIT */
/* mp_route_cross_prediction: each source path predicts its allocation to the next paths
 * (Tissera et al., NCA 2023): p_i = softmax_j(W_i s_i + b_i), alpha[i][j] = p_i[j] /
 * sum_k p_k[j], with one predictor per source path. What the predictor sees:
 *   predictor=conv    s_i = GAP(relu(conv3x3_i(X_i))), the papers' router (cross_conv.c);
 *   predictor=linear  s_i = GAP(X_i), METHODS.md section 2's formula: as cheap as fdcc;
 *   predictor=auto    (default) conv when the paths are feature maps {C, H, W}, else linear.
 * The heads W_i are nn.so's linear, as sublayers. */
#include "cross_conv.h"
#include "mp_entries.h"

static const ml_opt_spec options[] = {
    {"predictor", ML_OPT_STRING, "auto", "what each source's predictor sees: conv (conv3x3, "
     "relu, pooled), linear (pooled input), auto (conv for {C,H,W} paths)",
     "auto|conv|linear"},
    {"reduction", ML_OPT_INT, "4", "predictor=conv: channels = max(1, channels / "
     "reduction)", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static int uses_conv(const mp_router *r)
{
    return r->pconv[0] != NULL;
}

static int cross_init(mp_router *r, ml_ctx *ctx, const ml_opts *opts, ml_err *err)
{
    const ml_host *h = r->h;
    const char *pred = h->opt_str(opts, "predictor");
    int64_t red = h->opt_int(opts, "reduction");
    int spatial = r->path.ndim == 3, conv = strcmp(pred, "conv") == 0;
    char o[32], prefix[32], sb[96];
    if (conv && !spatial)
        return h->error(err, ML_ERR_INVALID, "mp_route_cross_prediction: predictor=conv "
                        "needs feature-map paths {C, H, W}, these are %s; use "
                        "predictor=linear", ml_shape_str(&r->path, sb, sizeof sb));
    if (red < 1)
        return h->error(err, ML_ERR_INVALID, "mp_route_cross_prediction: reduction must be "
                        ">= 1, got %lld", (long long)red);
    r->pc = r->c;
    if (conv || (spatial && strcmp(pred, "auto") == 0)) {
        r->pc = (int32_t)(r->c / red > 0 ? r->c / red : 1);
        int rc = cross_conv_init(r, ctx, r->pc, err);
        if (rc)
            return rc;
    }
    ml_shape s = {1, {r->pc}};
    snprintf(o, sizeof o, "out=%d", (int)r->n);
    for (int32_t i = 0; i < r->n; i++) {
        snprintf(prefix, sizeof prefix, "pred%d", (int)i);
        if (!(r->sub[i] = h->sublayer_new(ctx, prefix, "linear", o, &s, err)))
            return err->code;
    }
    return ML_OK;
}

/* ws (path-major: source i's rows are contiguous): features sp, logits z, predictions p,
 * their gradients gp, gz and gsp (n x batch x {pc, n, n, n, n, pc}), then the heads'
 * workspaces, then the conv predictor's. */
typedef struct cross_ws {
    float *sp, *z, *p, *gp, *gz, *gsp;
    char *sub[MP_MAX_PATHS], *conv;
} cross_ws;

static size_t buf_bytes(const mp_router *r, int32_t batch, int k)
{
    size_t rows = (size_t)r->n * (size_t)batch;
    return rows * (size_t)(k == 0 || k == 5 ? r->pc : r->n) * sizeof(float);
}

static cross_ws carve(const mp_router *r, int32_t batch, void *ws)
{
    char *at = ws;
    cross_ws w;
    float **f[6] = {&w.sp, &w.z, &w.p, &w.gp, &w.gz, &w.gsp};
    for (int k = 0; k < 6; k++)
        *f[k] = mp_take(&at, buf_bytes(r, batch, k));
    for (int32_t i = 0; i < r->n; i++)
        w.sub[i] = mp_take(&at, r->h->sublayer_workspace(r->sub[i], batch));
    w.conv = at;
    return w;
}

static size_t cross_workspace(const mp_router *r, int32_t batch)
{
    size_t total = 0;
    for (int k = 0; k < 6; k++)
        total += mp_align(buf_bytes(r, batch, k));
    for (int32_t i = 0; i < r->n; i++)
        total += mp_align(r->h->sublayer_workspace(r->sub[i], batch));
    return total + (uses_conv(r) ? cross_conv_workspace(r, batch) : 0);
}

static ml_view view(float *d, int32_t batch, int32_t n)
{
    ml_view v = {d, batch, {1, {n}}};
    return v;
}

static int cross_alpha(mp_router *r, ml_ctx *ctx, const ml_view *x, float *alpha, void *ws,
                       ml_err *err)
{
    cross_ws w = carve(r, x->batch, ws);
    int32_t B = x->batch, n = r->n, c = r->c, pc = r->pc;
    if (uses_conv(r)) {
        int rc = cross_conv_forward(r, ctx, x, w.sp, w.conv, err);
        if (rc)
            return rc;
    } else
        for (int32_t b = 0; b < B; b++)
            for (int32_t i = 0; i < n; i++)
                mp_pool(x->data + ((int64_t)b * n + i) * r->per, 1, 1, c, r->hw,
                        w.sp + ((int64_t)i * B + b) * c);
    for (int32_t i = 0; i < n; i++) {
        ml_view vs = view(w.sp + (int64_t)i * B * pc, B, pc);
        ml_view vz = view(w.z + (int64_t)i * B * n, B, n);
        int rc = r->h->sublayer_forward(r->sub[i], ctx, &vs, &vz, w.sub[i], err);
        if (rc)
            return rc;
    }
    /* p_i: a softmax over destinations, one row per (source, example). */
    for (int64_t row = 0; row < (int64_t)n * B; row++) {
        const float *z = w.z + row * n;
        float *p = w.p + row * n, m = z[0], sum = 0.0f;
        for (int32_t j = 1; j < n; j++)
            m = z[j] > m ? z[j] : m;
        for (int32_t j = 0; j < n; j++)
            sum += p[j] = expf(z[j] - m);
        for (int32_t j = 0; j < n; j++)
            p[j] /= sum;
    }
    for (int32_t b = 0; b < B; b++) {
        float *a = alpha + (int64_t)b * n * n;
        for (int32_t j = 0; j < n; j++) {
            float s = 0.0f;
            for (int32_t i = 0; i < n; i++)
                s += w.p[((int64_t)i * B + b) * n + j];
            for (int32_t i = 0; i < n; i++)
                a[i * n + j] = w.p[((int64_t)i * B + b) * n + j] / s;
        }
    }
    return ML_OK;
}

static int cross_alpha_backward(mp_router *r, ml_ctx *ctx, const ml_view *x,
                                const float *alpha, const float *galpha, float *gx,
                                int params, void *ws, ml_err *err)
{
    cross_ws w = carve(r, x->batch, ws);
    int32_t B = x->batch, n = r->n, c = r->c, pc = r->pc;
    /* The conv predictor needs the features' gradient for its own parameters too. */
    int want_gs = gx || uses_conv(r);
    /* alpha[i][j] = p_i[j] / S_j: dL/dp_k[j] = (galpha[k][j] - sum_i galpha alpha) / S_j. */
    for (int32_t b = 0; b < B; b++) {
        const float *a = alpha + (int64_t)b * n * n, *ga = galpha + (int64_t)b * n * n;
        for (int32_t j = 0; j < n; j++) {
            float s = 0.0f, dot = 0.0f;
            for (int32_t i = 0; i < n; i++) {
                s += w.p[((int64_t)i * B + b) * n + j];
                dot += ga[i * n + j] * a[i * n + j];
            }
            for (int32_t k = 0; k < n; k++)
                w.gp[((int64_t)k * B + b) * n + j] = (ga[k * n + j] - dot) / s;
        }
    }
    for (int64_t row = 0; row < (int64_t)n * B; row++) {
        const float *p = w.p + row * n, *gp = w.gp + row * n;
        float *gz = w.gz + row * n, dot = 0.0f;
        for (int32_t j = 0; j < n; j++)
            dot += gp[j] * p[j];
        for (int32_t j = 0; j < n; j++)
            gz[j] = p[j] * (gp[j] - dot);
    }
    for (int32_t i = 0; i < n; i++) {
        ml_view vs = view(w.sp + (int64_t)i * B * pc, B, pc);
        ml_view vz = view(w.z + (int64_t)i * B * n, B, n);
        ml_view gz = view(w.gz + (int64_t)i * B * n, B, n);
        ml_view gs = view(w.gsp + (int64_t)i * B * pc, B, pc);
        int rc = r->h->sublayer_backward(r->sub[i], ctx, &vs, &vz, &gz, want_gs ? &gs : NULL,
                                         params, w.sub[i], err);
        if (rc)
            return rc;
    }
    if (uses_conv(r))
        return cross_conv_backward(r, ctx, x, w.gsp, gx, params, w.conv, err);
    if (gx)
        for (int32_t b = 0; b < B; b++)
            for (int32_t i = 0; i < n; i++)
                mp_pool_backward(w.gsp + ((int64_t)i * B + b) * c, 1, 1, c, r->hw,
                                 gx + ((int64_t)b * n + i) * r->per);
    return ML_OK;
}

MP_ROUTER(mp_route_cross_prediction_entry, cross, "cross_prediction",
          options, "multi-path router: each source path predicts its allocation");
