/* SPDX-License-Identifier: MIT */
/* multipath: a block of n parallel paths. Input {n, ...} (from mp_split or the previous
 * block), output {n, ...}. The router (routing=<name>, the layer mp_route_<name>) first
 * mixes the incoming paths, U = router(X); then path j computes
 * X'_j = act(bn(op_j(U_j))) with its own weights. op, batchnorm and the activation are
 * registered layers (nn.so's conv2d/linear, batchnorm, relu...) used as sublayers. */
#include "mp_entries.h"
#include "mp_router.h"

enum { STAGES = 3 };   /* op, batchnorm, activation; absent stages are NULL */

typedef struct block {
    const ml_host *h;
    int32_t n;
    int64_t per_in, per_out;     /* floats per path */
    ml_shape in_path, out_path;  /* one path's shapes */
    ml_shape stage_out[STAGES];
    ml_sublayer *router;         /* NULL for routing=none */
    ml_sublayer *stage[MP_MAX_PATHS][STAGES];
    char routing[48];
} block;

static const ml_opt_spec options[] = {
    {"paths", ML_OPT_INT, "2", "number of parallel paths n (must match the input's)", NULL},
    {"op", ML_OPT_STRING, "conv2d", "each path's op", "conv2d|linear"},
    {"out", ML_OPT_INT, NULL, "output channels (conv2d) or features (linear) per path", NULL},
    {"kernel", ML_OPT_INT, "3", "conv2d: square kernel size", NULL},
    {"stride", ML_OPT_INT, "1", "conv2d: stride", NULL},
    {"padding", ML_OPT_INT, "1", "conv2d: zero padding", NULL},
    {"batchnorm", ML_OPT_BOOL, "false", "batchnorm after each path's op", NULL},
    {"activation", ML_OPT_STRING, "relu", "a registered layer applied per path, or none",
     NULL},
    {"routing", ML_OPT_STRING, "none", "router before the paths: fdcc, cross_prediction, "
     "static, none, or any other registered mp_route_<name> layer", NULL},
    {"reduction", ML_OPT_INT, "4", "fdcc: hidden units = paths * channels / reduction; "
     "cross_prediction with a conv predictor: its channels = channels / reduction", NULL},
    {"predictor", ML_OPT_STRING, "auto", "cross_prediction: what each source's predictor "
     "sees: conv (conv3x3, relu, pooled), linear (pooled input), auto (conv for conv paths)",
     "auto|conv|linear"},
    {NULL, 0, NULL, NULL, NULL},
};

static void block_destroy(void *self)
{
    block *k = self;
    k->h->free(k);
}

static int make_router(block *k, ml_ctx *ctx, const ml_opts *opts, const ml_shape *in,
                       ml_err *err)
{
    const ml_host *h = k->h;
    const char *routing = h->opt_str(opts, "routing");
    const char *pred = h->opt_str(opts, "predictor");
    char layer[64], o[64] = "";
    size_t len = strlen(routing);
    if (strcmp(routing, "none") == 0)
        return ML_OK;
    if (len == 0 || len >= sizeof k->routing || strspn(routing, "abcdefghijklmnopqrstuvwxyz"
                                                        "0123456789_") != len)
        return h->error(err, ML_ERR_INVALID, "multipath: unknown routing '%s'; use fdcc, "
                        "cross_prediction, static or none", routing);
    snprintf(k->routing, sizeof k->routing, "%s", routing);
    snprintf(layer, sizeof layer, "mp_route_%s", routing);
    long long red = (long long)h->opt_int(opts, "reduction");
    int cross = strcmp(routing, "cross_prediction") == 0;
    if (strcmp(pred, "auto") != 0 && !cross)
        return h->error(err, ML_ERR_INVALID, "multipath: predictor=%s applies to "
                        "routing=cross_prediction only (this block has routing=%s)", pred,
                        routing);
    if (strcmp(routing, "fdcc") == 0)
        snprintf(o, sizeof o, "reduction=%lld", red);
    else if (cross)
        snprintf(o, sizeof o, "reduction=%lld predictor=%s", red, pred);
    if (!(k->router = h->sublayer_new(ctx, "router", layer, o, in, err))) {
        /* Only when the router itself is missing, not a layer the router builds on. */
        if (err->code == ML_ERR_NOT_FOUND && strstr(err->msg, "no layer named 'mp_route_"))
            return h->error(err, ML_ERR_INVALID, "multipath: unknown routing '%s' (no layer "
                            "%s is registered); use fdcc, cross_prediction, static or none",
                            routing, layer);
        return err->code;
    }
    return ML_OK;
}

static int make_path(block *k, ml_ctx *ctx, const ml_opts *opts, int32_t j, ml_err *err)
{
    const ml_host *h = k->h;
    const char *op = h->opt_str(opts, "op"), *act = h->opt_str(opts, "activation");
    char o[128], prefix[32];
    const ml_shape *s = &k->in_path;
    if (strcmp(op, "conv2d") == 0)
        snprintf(o, sizeof o, "out=%lld kernel=%lld stride=%lld padding=%lld",
                 (long long)h->opt_int(opts, "out"), (long long)h->opt_int(opts, "kernel"),
                 (long long)h->opt_int(opts, "stride"), (long long)h->opt_int(opts, "padding"));
    else
        snprintf(o, sizeof o, "out=%lld", (long long)h->opt_int(opts, "out"));
    snprintf(prefix, sizeof prefix, "p%d.op", (int)j);
    if (!(k->stage[j][0] = h->sublayer_new(ctx, prefix, op, o, s, err)))
        return err->code;
    s = h->sublayer_out_shape(k->stage[j][0]);
    if (h->opt_bool(opts, "batchnorm")) {
        snprintf(prefix, sizeof prefix, "p%d.bn", (int)j);
        if (!(k->stage[j][1] = h->sublayer_new(ctx, prefix, "batchnorm", "", s, err)))
            return err->code;
        s = h->sublayer_out_shape(k->stage[j][1]);
    }
    if (strcmp(act, "none") != 0) {
        snprintf(prefix, sizeof prefix, "p%d.act", (int)j);
        if (!(k->stage[j][2] = h->sublayer_new(ctx, prefix, act, "", s, err)))
            return err->code;
        s = h->sublayer_out_shape(k->stage[j][2]);
    }
    k->out_path = *s;
    for (int t = 0; t < STAGES; t++)
        k->stage_out[t] = k->stage[j][t] ? *h->sublayer_out_shape(k->stage[j][t])
                                         : (t ? k->stage_out[t - 1] : k->in_path);
    return ML_OK;
}

static int block_create(const ml_host *h, ml_ctx *ctx, const ml_opts *opts, const ml_shape *in,
                        void **self, ml_err *err)
{
    int64_t n = h->opt_int(opts, "paths");
    int rc;
    if (n < 1 || n > MP_MAX_PATHS)
        return h->error(err, ML_ERR_INVALID, "multipath: paths must be in 1..%d, got %lld",
                        MP_MAX_PATHS, (long long)n);
    if ((rc = mp_check_multi(h, "multipath", in, (int32_t)n, err)))
        return rc;
    block *k = h->zalloc(sizeof *k);
    if (!k)
        return h->error(err, ML_ERR_NOMEM, "multipath: out of memory");
    k->h = h;
    k->n = (int32_t)n;
    k->in_path = mp_path_shape(in);
    k->per_in = ml_shape_numel(&k->in_path);
    if ((rc = make_router(k, ctx, opts, in, err)))
        goto fail;
    for (int32_t j = 0; j < k->n; j++)
        if ((rc = make_path(k, ctx, opts, j, err)))
            goto fail;
    if (k->out_path.ndim >= ML_MAX_DIMS) {
        rc = h->error(err, ML_ERR_SHAPE, "multipath: path output has too many dims");
        goto fail;
    }
    k->per_out = ml_shape_numel(&k->out_path);
    *self = k;
    return ML_OK;
fail:
    block_destroy(k);
    return rc;
}

static int block_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    block *k = self;
    (void)in, (void)err;
    *out = mp_multi_shape(k->n, &k->out_path);
    return ML_OK;
}

/* Workspace. Forward keeps (for backward): the router's output U (batch x n x per_in), the
 * paths' gathered inputs and every stage's output, path-major (n x batch x per), and each
 * sublayer's own workspace. Backward scratch: a flag and the input gradient computed by
 * backward_params (so backward_input need not run the paths again), gU, and per-path
 * gradients of one path at a time. */
typedef struct block_ws {
    int32_t *gin_ready;
    float *u, *x, *y[STAGES], *gin, *gu, *gx, *gy[2];
    char *router_ws, *stage_ws[MP_MAX_PATHS][STAGES];
} block_ws;

static int64_t stage_numel(const block *k, int t)
{
    return ml_shape_numel(&k->stage_out[t]);
}

/* Lays the workspace out from `at` (NULL: only measures) and returns its size. */
static size_t layout(const block *k, int32_t batch, char *at, block_ws *w)
{
    size_t B = (size_t)batch, n = (size_t)k->n, f = sizeof(float), total = 0;
    size_t mid = 0;
    for (int t = 0; t < STAGES; t++)
        mid = (size_t)stage_numel(k, t) > mid ? (size_t)stage_numel(k, t) : mid;
#define TAKE(ptr, bytes)                                                                  \
    do {                                                                                  \
        size_t b_ = mp_align(bytes);                                                      \
        if (at)                                                                           \
            *(void **)&(ptr) = at + total;                                                \
        total += b_;                                                                      \
    } while (0)
    TAKE(w->gin_ready, sizeof(int32_t));
    TAKE(w->u, k->router ? B * n * (size_t)k->per_in * f : 0);
    TAKE(w->x, n * B * (size_t)k->per_in * f);
    for (int t = 0; t < STAGES; t++)
        TAKE(w->y[t], k->stage[0][t] ? n * B * (size_t)stage_numel(k, t) * f : 0);
    TAKE(w->gin, B * n * (size_t)k->per_in * f);
    TAKE(w->gu, k->router ? B * n * (size_t)k->per_in * f : 0);
    TAKE(w->gx, B * (size_t)k->per_in * f);
    TAKE(w->gy[0], B * mid * f);
    TAKE(w->gy[1], B * mid * f);
    TAKE(w->router_ws, k->router ? k->h->sublayer_workspace(k->router, batch) : 0);
    for (int32_t j = 0; j < k->n; j++)
        for (int t = 0; t < STAGES; t++)
            TAKE(w->stage_ws[j][t],
                 k->stage[j][t] ? k->h->sublayer_workspace(k->stage[j][t], batch) : 0);
#undef TAKE
    return total;
}

static size_t block_workspace(void *self, int32_t batch)
{
    block_ws w;
    return layout(self, batch, NULL, &w);
}

static ml_view view(float *d, int32_t batch, const ml_shape *s)
{
    ml_view v = {d, batch, *s};
    return v;
}

/* Path j's rows of a batch x n x per tensor <-> a contiguous batch x per buffer. */
static void gather(const float *src, int32_t batch, int32_t n, int32_t j, int64_t per,
                   float *dst)
{
    for (int32_t b = 0; b < batch; b++)
        memcpy(dst + b * per, src + ((int64_t)b * n + j) * per, (size_t)per * sizeof(float));
}

static void scatter(const float *src, int32_t batch, int32_t n, int32_t j, int64_t per,
                    float *dst)
{
    for (int32_t b = 0; b < batch; b++)
        memcpy(dst + ((int64_t)b * n + j) * per, src + b * per, (size_t)per * sizeof(float));
}

static int block_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                         ml_err *err)
{
    block *k = self;
    const ml_host *h = k->h;
    block_ws w;
    int32_t B = in->batch;
    int rc;
    layout(k, B, ws, &w);
    *w.gin_ready = 0;
    const float *u = in->data;
    if (k->router) {
        ml_view vu = view(w.u, B, &in->shape);
        if ((rc = h->sublayer_forward(k->router, ctx, in, &vu, w.router_ws, err)))
            return rc;
        u = w.u;
    }
    for (int32_t j = 0; j < k->n; j++) {
        float *x = w.x + (int64_t)j * B * k->per_in;
        gather(u, B, k->n, j, k->per_in, x);
        ml_view cur = view(x, B, &k->in_path);
        for (int t = 0; t < STAGES; t++) {
            if (!k->stage[j][t])
                continue;
            ml_view next = view(w.y[t] + (int64_t)j * B * stage_numel(k, t), B,
                                &k->stage_out[t]);
            if ((rc = h->sublayer_forward(k->stage[j][t], ctx, &cur, &next,
                                          w.stage_ws[j][t], err)))
                return rc;
            cur = next;
        }
        scatter(cur.data, B, k->n, j, k->per_out, out->data);
    }
    return ML_OK;
}

/* The whole backward pass: parameter gradients when `params`, and dL/din into gin. */
static int backward(block *k, ml_ctx *ctx, const ml_view *in, const ml_view *gout, float *gin,
                    int params, block_ws *w, ml_err *err)
{
    const ml_host *h = k->h;
    int32_t B = in->batch;
    float *gu = k->router ? w->gu : gin;
    int rc;
    for (int32_t j = 0; j < k->n; j++) {
        /* Stage inputs, from the last stage back to the op. */
        const ml_view x = view(w->x + (int64_t)j * B * k->per_in, B, &k->in_path);
        ml_view ins[STAGES], outs[STAGES];
        ml_view cur = x;
        int last = -1;
        for (int t = 0; t < STAGES; t++) {
            if (!k->stage[j][t])
                continue;
            ins[t] = cur;
            outs[t] = view(w->y[t] + (int64_t)j * B * stage_numel(k, t), B, &k->stage_out[t]);
            cur = outs[t];
            last = t;
        }
        ml_view g = view(w->gy[0], B, &k->stage_out[last]);
        gather(gout->data, B, k->n, j, k->per_out, g.data);
        int flip = 1;
        for (int t = last; t >= 0; t--) {
            if (!k->stage[j][t])
                continue;
            ml_view gprev = t == 0 ? view(w->gx, B, &k->in_path)
                                   : view(w->gy[flip], B, &ins[t].shape);
            if ((rc = h->sublayer_backward(k->stage[j][t], ctx, &ins[t], &outs[t], &g, &gprev,
                                           params, w->stage_ws[j][t], err)))
                return rc;
            g = gprev;
            flip ^= 1;
        }
        scatter(w->gx, B, k->n, j, k->per_in, gu);
    }
    if (k->router) {
        ml_view vu = view(w->u, B, &in->shape), vgu = view(w->gu, B, &in->shape);
        ml_view vgin = view(gin, B, &in->shape);
        return h->sublayer_backward(k->router, ctx, in, &vu, &vgu, &vgin, params,
                                    w->router_ws, err);
    }
    return ML_OK;
}

static int block_backward_params(void *self, ml_ctx *ctx, const ml_view *in,
                                 const ml_view *out, const ml_view *gout, void *ws, ml_err *err)
{
    block *k = self;
    block_ws w;
    (void)out;
    layout(k, in->batch, ws, &w);
    int rc = backward(k, ctx, in, gout, w.gin, 1, &w, err);
    *w.gin_ready = rc == ML_OK;
    return rc;
}

static int block_backward_input(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                                const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    block *k = self;
    block_ws w;
    (void)out;
    layout(k, in->batch, ws, &w);
    if (*w.gin_ready) {
        *w.gin_ready = 0;
        memcpy(gin->data, w.gin, (size_t)in->batch * k->n * k->per_in * sizeof(float));
        return ML_OK;
    }
    return backward(k, ctx, in, gout, gin->data, 0, &w, err);
}

/* ---- diagnostics: the router's, when it is one of ours ---------------------------------- */

static mp_router *router_of(block *k)
{
    return k->router ? mp_router_of(k->h->sublayer_self(k->router)) : NULL;
}

static void diag_reset(void *self)
{
    mp_router *r = router_of(self);
    if (r)
        mp_router_diagnostics.reset(r);
}

static void diag_observe(void *self, const float *targets, int32_t batch, int32_t tnumel)
{
    mp_router *r = router_of(self);
    if (r)
        mp_router_diagnostics.observe(r, targets, batch, tnumel);
}

static size_t diag_report(void *self, char *buf, size_t cap)
{
    block *k = self;
    mp_router *r = router_of(k);
    if (r)
        return mp_router_diagnostics.report(r, buf, cap);
    int len = snprintf(buf, cap, "{\"routing\":\"%s\",\"paths\":%d%s}",
                       k->router ? k->routing : "none", (int)k->n,
                       k->router ? ",\"note\":\"the router reports nothing\"" : "");
    return len > 0 ? (size_t)len : 0;
}

static const ml_diagnostics_iface diagnostics = {
    ML_ABI_INIT(ml_diagnostics_iface),
    .reset = diag_reset,
    .observe = diag_observe,
    .report = diag_report,
};

static const ml_gradcheck_case cases[] = {
    {"paths=2 out=3 routing=fdcc activation=tanh", {4, {2, 2, 4, 4}}, 0},
    {"paths=2 out=2 routing=cross_prediction batchnorm=true activation=tanh",
     {4, {2, 2, 3, 3}}, 0},
    {"paths=3 op=linear out=4 routing=static activation=sigmoid", {2, {3, 5}}, 0},
    {"paths=2 op=linear out=3 routing=none activation=none", {2, {2, 4}}, 0},
    {"paths=4 op=linear out=2 routing=fdcc reduction=2 activation=tanh", {2, {4, 3}}, 0},
    {"paths=1 out=2 kernel=3 padding=0 stride=2 routing=cross_prediction activation=tanh",
     {4, {1, 1, 5, 5}}, 0},
    {"paths=2 out=2 routing=cross_prediction predictor=linear activation=tanh",
     {4, {2, 3, 3, 3}}, 0},
    {"paths=3 out=2 routing=cross_prediction predictor=conv reduction=1 activation=tanh",
     {4, {3, 2, 3, 3}}, 0},
};
static const ml_gradcheck_iface gradcheck = ML_GRADCHECK_IFACE(cases);
ML_EXTENSIONS(block_extension, { ML_IFACE_GRADCHECK, &gradcheck },
              { ML_IFACE_DIAGNOSTICS, &diagnostics })

const ml_entry mp_block_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "multipath", "1.0.0",
    "a block of n parallel paths (conv2d or linear, batchnorm, activation) behind a router",
    options, block_extension, ml_layer_vtable, .create = block_create, .destroy = block_destroy,
    .infer_shape = block_infer, .workspace = block_workspace, .forward = block_forward,
    .backward_input = block_backward_input, .backward_params = block_backward_params);
