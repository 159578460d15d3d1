/* SPDX-License-Identifier: MIT */
/* What every router shares: the mixing U_j = sum_i alpha[i][j] X_i and its gradients, the
 * workspace layout and the diagnostics tallies. See mp_router.h. */
#include <stdarg.h>
#include <stdlib.h>

#include "mp_router.h"

/* Workspace: alpha, galpha (batch x n x n each), then the router's own part. */
static size_t alpha_bytes(const mp_router *r, int32_t batch)
{
    return mp_align((size_t)batch * (size_t)r->n * (size_t)r->n * sizeof(float));
}

typedef struct router_ws {
    float *alpha, *galpha;
    char *own;
} router_ws;

static router_ws router_ws_of(const mp_router *r, void *ws, int32_t batch)
{
    size_t ab = alpha_bytes(r, batch);
    return (router_ws){ws, (float *)((char *)ws + ab), (char *)ws + 2 * ab};
}

/* Per example, dst_j = sum_i alpha[i][j] src_i (the forward mixing), or with the alpha
 * matrix transposed dst_i = sum_j alpha[i][j] src_j (its gradient to the paths). */
static void mix(const mp_router *r, int32_t batch, const float *alpha, const float *src,
                float *dst, int transposed)
{
    int32_t n = r->n;
    int64_t per = r->per;
    for (int32_t b = 0; b < batch; b++) {
        const float *x = src + (int64_t)b * n * per, *a = alpha + (int64_t)b * n * n;
        float *u = dst + (int64_t)b * n * per;
        for (int32_t d = 0; d < n; d++)
            for (int32_t s = 0; s < n; s++)
                mp_axpy(u + d * per, x + s * per, transposed ? a[d * n + s] : a[s * n + d],
                        per, s == 0);
    }
}

int mp_router_create(const mp_router_ops *ops, const ml_host *h, ml_ctx *ctx,
                     const ml_opts *opts, const ml_shape *in, void **self, ml_err *err)
{
    char who[64];
    snprintf(who, sizeof who, "mp_route_%s", ops->name);
    int rc = mp_check_multi(h, who, in, 0, err);
    if (rc)
        return rc;
    mp_router *r = h->zalloc(sizeof *r);
    if (!r)
        return h->error(err, ML_ERR_NOMEM, "%s: out of memory", who);
    r->magic = MP_ROUTER_MAGIC;
    r->h = h;
    r->ops = ops;
    r->n = in->dim[0];
    r->path = mp_path_shape(in);
    mp_channels(&r->path, &r->c, &r->hw);
    r->per = ml_shape_numel(&r->path);
    /* Tallies are allocated here so that observe allocates nothing. */
    size_t nn = (size_t)r->n * (size_t)r->n;
    r->class_sum = h->zalloc((MP_DIAG_CLASSES + 2) * nn * sizeof(double));
    if (!r->class_sum) {
        h->free(r);
        return h->error(err, ML_ERR_NOMEM, "%s: out of memory", who);
    }
    r->sum = r->class_sum + MP_DIAG_CLASSES * nn;
    r->sumsq = r->sum + nn;
    if (ops->init && (rc = ops->init(r, ctx, opts, err))) {
        mp_router_destroy(r);
        return rc;
    }
    *self = r;
    return ML_OK;
}

void mp_router_destroy(void *self)
{
    mp_router *r = self;
    r->h->free(r->class_sum);
    r->h->free(r);
}

size_t mp_router_workspace(void *self, int32_t batch)
{
    mp_router *r = self;
    return 2 * alpha_bytes(r, batch) + (r->ops->workspace ? r->ops->workspace(r, batch) : 0);
}

int mp_router_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                      ml_err *err)
{
    mp_router *r = self;
    router_ws w = router_ws_of(r, ws, in->batch);
    int rc = r->ops->alpha(r, ctx, in, w.alpha, w.own, err);
    if (rc)
        return rc;
    mix(r, in->batch, w.alpha, in->data, out->data, 0);
    r->last_alpha = w.alpha;
    r->last_batch = in->batch;
    return ML_OK;
}

/* galpha[b][i][j] = <gout_j, x_i>. */
static void alpha_grad(const mp_router *r, const ml_view *in, const ml_view *gout,
                       float *galpha)
{
    int32_t n = r->n;
    int64_t per = r->per;
    for (int32_t b = 0; b < in->batch; b++) {
        const float *x = in->data + (int64_t)b * n * per;
        const float *g = gout->data + (int64_t)b * n * per;
        for (int32_t i = 0; i < n; i++)
            for (int32_t j = 0; j < n; j++)
                galpha[((int64_t)b * n + i) * n + j] = mp_dot(x + i * per, g + j * per, per);
    }
}

int mp_router_backward_params(void *self, ml_ctx *ctx, const ml_view *in,
                              const ml_view *out, const ml_view *gout, void *ws, ml_err *err)
{
    mp_router *r = self;
    (void)out;
    router_ws w = router_ws_of(r, ws, in->batch);
    alpha_grad(r, in, gout, w.galpha);
    return r->ops->alpha_backward(r, ctx, in, w.alpha, w.galpha, NULL, 1, w.own, err);
}

int mp_router_backward_input(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                             const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    mp_router *r = self;
    (void)out;
    router_ws w = router_ws_of(r, ws, in->batch);
    mix(r, in->batch, w.alpha, gout->data, gin->data, 1);
    /* Through alpha, for routers whose alpha depends on the input. */
    alpha_grad(r, in, gout, w.galpha);
    return r->ops->alpha_backward(r, ctx, in, w.alpha, w.galpha, gin->data, 0, w.own, err);
}

/* ---- modlab.diagnostics/1 ------------------------------------------------------------ */

static void diag_reset(void *self)
{
    mp_router *r = self;
    size_t nn = (size_t)r->n * (size_t)r->n;
    memset(r->class_sum, 0, (MP_DIAG_CLASSES + 2) * nn * sizeof(double));
    memset(r->class_count, 0, sizeof r->class_count);
    r->count = r->unlabelled = 0;
    r->entropy_sum = 0.0;
}

/* Tallies the allocation of the last forward pass. Entropy of an example: the mean over
 * destinations j of the entropy (nats) of the column alpha[.][j]. */
static void diag_observe(void *self, const float *targets, int32_t batch, int32_t tnumel)
{
    mp_router *r = self;
    int32_t n = r->n, nn = n * n;
    if (!r->last_alpha || batch != r->last_batch)
        return;
    for (int32_t b = 0; b < batch; b++) {
        const float *a = r->last_alpha + (int64_t)b * nn;
        long cls = targets && tnumel == 1 ? lrintf(targets[b]) : -1;
        double *cs = cls >= 0 && cls < MP_DIAG_CLASSES ? r->class_sum + cls * nn : NULL;
        double h = 0.0;
        for (int32_t k = 0; k < nn; k++) {
            r->sum[k] += a[k];
            r->sumsq[k] += (double)a[k] * a[k];
            if (cs)
                cs[k] += a[k];
            if (a[k] > 0.0f)
                h -= (double)a[k] * log((double)a[k]);
        }
        r->entropy_sum += h / n;
        if (cs)
            r->class_count[cls]++;
        else
            r->unlabelled++;
        r->count++;
    }
}

/* Appends printf output at buf + *len, keeping *len the length needed (like snprintf). */
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    ML_PRINTF(4, 5);
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(*len < cap ? buf + *len : NULL, *len < cap ? cap - *len : 0, fmt, ap);
    va_end(ap);
    if (k > 0)
        *len += (size_t)k;
}

static void put_matrix(char *buf, size_t cap, size_t *len, const double *sum, int64_t count,
                       int32_t nn)
{
    put(buf, cap, len, "[");
    for (int32_t k = 0; k < nn; k++)
        put(buf, cap, len, "%s%.4f", k ? "," : "", count ? sum[k] / (double)count : 0.0);
    put(buf, cap, len, "]");
}

/* {"routing","paths","examples","entropy","entropy_max","spread","mean":[n*n],
 *  "per_class":{"<class>":[n*n],...}}; matrices are row-major alpha[source][destination]
 * and "spread" is the mean over the n*n entries of their standard deviation across
 * examples (0 for an input-independent router). */
static size_t diag_report(void *self, char *buf, size_t cap)
{
    mp_router *r = self;
    int32_t nn = r->n * r->n;
    size_t len = 0;
    double spread = 0.0;
    for (int32_t k = 0; r->count && k < nn; k++) {
        double m = r->sum[k] / (double)r->count;
        double v = r->sumsq[k] / (double)r->count - m * m;
        spread += v > 0.0 ? sqrt(v) : 0.0;
    }
    if (cap)
        buf[0] = '\0';
    put(buf, cap, &len, "{\"routing\":\"%s\",\"paths\":%d,\"examples\":%lld,"
        "\"entropy\":%.5f,\"entropy_max\":%.5f,\"spread\":%.6f,\"mean\":", r->ops->name,
        (int)r->n, (long long)r->count, r->count ? r->entropy_sum / (double)r->count : 0.0,
        log((double)r->n), spread / nn);
    put_matrix(buf, cap, &len, r->sum, r->count, nn);
    put(buf, cap, &len, ",\"per_class\":{");
    int first = 1;
    for (int32_t c = 0; c < MP_DIAG_CLASSES; c++) {
        if (!r->class_count[c])
            continue;
        put(buf, cap, &len, "%s\"%d\":", first ? "" : ",", (int)c);
        put_matrix(buf, cap, &len, r->class_sum + (int64_t)c * nn, r->class_count[c], nn);
        first = 0;
    }
    put(buf, cap, &len, "}}");
    return len;
}

const ml_diagnostics_iface mp_router_diagnostics = {
    ML_ABI_INIT(ml_diagnostics_iface),
    .reset = diag_reset,
    .observe = diag_observe,
    .report = diag_report,
};

/* Every router is checked on conv-like and dense multi-path inputs, n = 1, 2, 3. */
static const ml_gradcheck_case router_cases[] = {
    {"", {4, {2, 3, 2, 2}}, 0},
    {"", {2, {3, 4}}, 0},
    {"", {2, {1, 3}}, 0},
};
static const ml_gradcheck_iface router_gradcheck = ML_GRADCHECK_IFACE(router_cases);

const void *mp_router_extension(const char *iface)
{
    static const ml_iface_ref refs[] = {
        { ML_IFACE_GRADCHECK, &router_gradcheck },
        { ML_IFACE_DIAGNOSTICS, &mp_router_diagnostics },
    };
    return ml_iface_find(iface, refs, sizeof refs / sizeof refs[0]);
}
