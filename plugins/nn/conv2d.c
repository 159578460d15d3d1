/* SPDX-License-Identifier: MIT */
/* conv2d: {C,H,W} -> {out,OH,OW} via im2col + host sgemm. Small images go through in chunks
 * of examples whose columns sit side by side, so each GEMM is wide (chunk * OH*OW columns);
 * the workspace stays a few MB whatever the batch. */
#include <math.h>

#include "nn_common.h"
#include "nn_entries.h"

typedef struct conv2d {
    const ml_host *host;
    int c, h, w;          /* input */
    int o, k, s, p;       /* out channels, kernel, stride, padding */
    int oh, ow;           /* output spatial size */
    int ckk, ohw;         /* one example's column matrix is ckk x ohw */
    int chunk;            /* examples per GEMM */
    ml_param *weight;     /* {o, c, k, k} */
    ml_param *bias;       /* {o} or NULL */
} conv2d;

static int conv2d_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                         const ml_shape *in, void **self, ml_err *err)
{
    char sb[96];
    int64_t o = host->opt_int(opts, "out"), k = host->opt_int(opts, "kernel");
    int64_t s = host->opt_int(opts, "stride"), p = host->opt_int(opts, "padding");
    conv2d *cv;
    if (in->ndim != 3)
        return host->error(err, ML_ERR_SHAPE,
                           "conv2d: input must be {C,H,W}, got %d dims %s; put a reshape "
                           "before it or use linear for flat inputs",
                           (int)in->ndim, ml_shape_str(in, sb, sizeof sb));
    if (o < 1 || k < 1 || s < 1 || p < 0 || o > 65536 || k > 4096 || s > 4096 || p > 4096)
        return host->error(err, ML_ERR_INVALID,
                           "conv2d: need out >= 1, kernel >= 1, stride >= 1, padding >= 0 "
                           "(got out=%lld kernel=%lld stride=%lld padding=%lld)",
                           (long long)o, (long long)k, (long long)s, (long long)p);
    if (in->dim[0] < 1 || in->dim[1] + 2 * p < k || in->dim[2] + 2 * p < k)
        return host->error(err, ML_ERR_SHAPE,
                           "conv2d: kernel %lld does not fit input %s with padding %lld; use "
                           "a smaller kernel or more padding",
                           (long long)k, ml_shape_str(in, sb, sizeof sb), (long long)p);
    /* sgemm takes int sizes. */
    if ((int64_t)in->dim[0] * k * k > INT32_MAX / 4 ||
        (int64_t)in->dim[1] * in->dim[2] > INT32_MAX / 4)
        return host->error(err, ML_ERR_UNSUPPORTED,
                           "conv2d: input %s with kernel %lld is too large for one GEMM",
                           ml_shape_str(in, sb, sizeof sb), (long long)k);
    cv = host->zalloc(sizeof *cv);
    if (!cv)
        return host->error(err, ML_ERR_NOMEM, "conv2d: out of memory");
    cv->host = host;
    cv->c = in->dim[0];
    cv->h = in->dim[1];
    cv->w = in->dim[2];
    cv->o = (int)o;
    cv->k = (int)k;
    cv->s = (int)s;
    cv->p = (int)p;
    cv->oh = (cv->h + 2 * cv->p - cv->k) / cv->s + 1;
    cv->ow = (cv->w + 2 * cv->p - cv->k) / cv->s + 1;
    cv->ckk = cv->c * cv->k * cv->k;
    cv->ohw = cv->oh * cv->ow;
    /* Enough examples per chunk for GEMMs at least 512 columns wide (small images give
     * skinny GEMMs that run and thread poorly), capped at about 4 MB of columns. Big images
     * get chunks of one, which skip the gather/scatter copies entirely. */
    int64_t per = (int64_t)cv->ckk * cv->ohw, want = (512 + cv->ohw - 1) / cv->ohw;
    int64_t cap = per >= (1 << 20) ? 1 : (1 << 20) / per;
    cv->chunk = (int)(want < cap ? want : cap);

    ml_shape ws_shape = { 4, { cv->o, cv->c, cv->k, cv->k } };
    cv->weight = host->param_new(ctx, "weight", &ws_shape, 0, err);
    if (!cv->weight)
        goto fail;
    /* PyTorch's default: kaiming_uniform(a=sqrt(5)) for the weight, which is
     * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias. */
    float bound = 1.0f / sqrtf((float)cv->ckk);
    host->rng_uniform(ctx, cv->weight->value, cv->weight->numel, -bound, bound);
    if (host->opt_bool(opts, "bias")) {
        ml_shape bs = { 1, { cv->o } };
        cv->bias = host->param_new(ctx, "bias", &bs, ML_PARAM_NO_DECAY, err);
        if (!cv->bias)
            goto fail;
        host->rng_uniform(ctx, cv->bias->value, cv->o, -bound, bound);
    }
    *self = cv;
    return 0;
fail:
    host->free(cv);
    return err->code;
}

static int conv2d_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    const conv2d *cv = self;
    *out = (ml_shape){ 3, { cv->o, cv->oh, cv->ow } };
    return 0;
}

static int conv2d_chunk(const conv2d *cv, int32_t batch)
{
    return batch < cv->chunk ? (batch > 0 ? batch : 1) : cv->chunk;
}

/* Per worker: the columns of one chunk (also reused for their gradient), a chunk of
 * outputs gathered channel-major (o x chunk*ohw) to match the GEMM, and a private weight
 * gradient; then one flag per worker saying its private gradient is in use. */
typedef struct conv2d_scratch {
    float *col, *tmp, *gw;
} conv2d_scratch;

static size_t conv2d_worker_bytes(const conv2d *cv, int32_t batch)
{
    size_t n = (size_t)conv2d_chunk(cv, batch) * (size_t)cv->ohw;
    return nn_align(sizeof(float) * (size_t)cv->ckk * n) +
           nn_align(sizeof(float) * (size_t)cv->o * n) +
           nn_align(sizeof(float) * (size_t)cv->o * cv->ckk);
}

static size_t conv2d_workspace(void *self, int32_t batch)
{
    const conv2d *cv = self;
    size_t workers = (size_t)cv->host->parallel_workers();
    return workers * conv2d_worker_bytes(cv, batch) + nn_align(workers * sizeof(int));
}

static conv2d_scratch conv2d_worker(const conv2d *cv, void *ws, int32_t batch, int w)
{
    size_t n = (size_t)conv2d_chunk(cv, batch) * (size_t)cv->ohw;
    char *base = (char *)ws + (size_t)w * conv2d_worker_bytes(cv, batch);
    conv2d_scratch sc;
    sc.col = (float *)base;
    sc.tmp = (float *)(base + nn_align(sizeof(float) * (size_t)cv->ckk * n));
    sc.gw = (float *)((char *)sc.tmp + nn_align(sizeof(float) * (size_t)cv->o * n));
    return sc;
}

static int *conv2d_gw_used(const conv2d *cv, void *ws, int32_t batch)
{
    return (int *)((char *)ws +
                   (size_t)cv->host->parallel_workers() * conv2d_worker_bytes(cv, batch));
}

/* Valid output range [lo, hi) along one axis for kernel offset kk: in = out*s - p + kk
 * must fall in [0, n). */
static void conv2d_range(int n, int nout, int s, int p, int kk, int *lo, int *hi)
{
    int a = p - kk, b = n + p - kk;   /* need a <= out*s < b */
    int l = a <= 0 ? 0 : (a + s - 1) / s;
    int h = b <= 0 ? 0 : (b + s - 1) / s;
    *lo = l < nout ? l : nout;
    *hi = h < nout ? h : nout;
    if (*hi < *lo)
        *hi = *lo;
}

/* One example's columns into col, whose rows are ld floats apart. */
static void im2col(const conv2d *cv, const float *x, float *col, size_t ld)
{
    int k = cv->k, s = cv->s, p = cv->p, oh = cv->oh, ow = cv->ow;
    for (int c = 0; c < cv->c; c++) {
        const float *xc = x + (size_t)c * cv->h * cv->w;
        for (int ki = 0; ki < k; ki++) {
            int y0, y1;
            conv2d_range(cv->h, oh, s, p, ki, &y0, &y1);
            for (int kj = 0; kj < k; kj++) {
                int x0, x1;
                float *row = col + ((size_t)(c * k + ki) * k + kj) * ld;
                conv2d_range(cv->w, ow, s, p, kj, &x0, &x1);
                memset(row, 0, sizeof(float) * (size_t)y0 * ow);
                for (int y = y0; y < y1; y++) {
                    const float *restrict src = xc + (size_t)(y * s - p + ki) * cv->w;
                    float *restrict dst = row + (size_t)y * ow;
                    for (int xo = 0; xo < x0; xo++)
                        dst[xo] = 0.0f;
                    /* Rows are short (OW floats): an inline loop beats a memcpy call. */
                    if (s == 1) {
                        const float *restrict sp = src - p + kj;
                        for (int xo = x0; xo < x1; xo++)
                            dst[xo] = sp[xo];
                    } else {
                        for (int xo = x0; xo < x1; xo++)
                            dst[xo] = src[xo * s - p + kj];
                    }
                    for (int xo = x1; xo < ow; xo++)
                        dst[xo] = 0.0f;
                }
                memset(row + (size_t)y1 * ow, 0, sizeof(float) * (size_t)(oh - y1) * ow);
            }
        }
    }
}

/* The adjoint of im2col: scatter-add one example's columns into a zeroed image. */
static void col2im(const conv2d *cv, const float *col, size_t ld, float *gx)
{
    int k = cv->k, s = cv->s, p = cv->p, ow = cv->ow;
    memset(gx, 0, sizeof(float) * (size_t)cv->c * cv->h * cv->w);
    for (int c = 0; c < cv->c; c++) {
        float *gc = gx + (size_t)c * cv->h * cv->w;
        for (int ki = 0; ki < k; ki++) {
            int y0, y1;
            conv2d_range(cv->h, cv->oh, s, p, ki, &y0, &y1);
            for (int kj = 0; kj < k; kj++) {
                int x0, x1;
                const float *row = col + ((size_t)(c * k + ki) * k + kj) * ld;
                conv2d_range(cv->w, ow, s, p, kj, &x0, &x1);
                for (int y = y0; y < y1; y++) {
                    float *restrict dst = gc + (size_t)(y * s - p + ki) * cv->w;
                    const float *restrict src = row + (size_t)y * ow;
                    if (s == 1) {   /* unit stride: let the compiler vectorise */
                        float *restrict d1 = dst - p + kj;
                        for (int xo = x0; xo < x1; xo++)
                            d1[xo] += src[xo];
                    } else {
                        for (int xo = x0; xo < x1; xo++)
                            dst[xo * s - p + kj] += src[xo];
                    }
                }
            }
        }
    }
}

/* Copy gout of examples [b0, b0+n) into channel-major tmp (o x n*ohw). */
static void conv2d_gather(const conv2d *cv, const float *g, int n, float *tmp)
{
    size_t ohw = (size_t)cv->ohw, ld = (size_t)n * ohw;
    for (int j = 0; j < n; j++)
        for (int oc = 0; oc < cv->o; oc++)
            memcpy(tmp + oc * ld + j * ohw, g + ((size_t)j * cv->o + oc) * ohw,
                   sizeof(float) * ohw);
}

/* One pass over a batch, a chunk of examples per task. */
typedef struct conv2d_pass {
    const conv2d *cv;
    const ml_view *in, *gout;
    float *y, *gx;
    void *ws;
} conv2d_pass;

/* Task t's examples [b0, b0 + n) and worker w's scratch. */
typedef struct conv2d_span {
    int32_t b0;
    int n;
    size_t ld;              /* n * ohw: the chunk's GEMM width */
    conv2d_scratch sc;
} conv2d_span;

static conv2d_span conv2d_span_of(const conv2d_pass *ps, int32_t t, int32_t w)
{
    const conv2d *cv = ps->cv;
    int32_t batch = ps->in->batch, chunk = conv2d_chunk(cv, batch);
    conv2d_span sp;
    sp.b0 = t * chunk;
    sp.n = batch - sp.b0 < chunk ? batch - sp.b0 : chunk;
    sp.ld = (size_t)sp.n * (size_t)cv->ohw;
    sp.sc = conv2d_worker(cv, ps->ws, batch, w);
    return sp;
}

static void conv2d_forward_chunk(void *arg, int32_t t, int32_t w)
{
    const conv2d_pass *ps = arg;
    const conv2d *cv = ps->cv;
    const conv2d_span sp = conv2d_span_of(ps, t, w);
    const int32_t b0 = sp.b0;
    const int n = sp.n;
    const size_t in_n = (size_t)cv->c * cv->h * cv->w, ohw = (size_t)cv->ohw, ld = sp.ld;
    const conv2d_scratch sc = sp.sc;
    size_t out_n = (size_t)cv->o * ohw;
    float *y = ps->y + b0 * out_n;
    for (int j = 0; j < n; j++)
        im2col(cv, ps->in->data + (b0 + j) * in_n, sc.col + j * ohw, ld);
    /* A single example's output already is channel-major: no scatter needed. */
    float *dst = n == 1 ? y : sc.tmp;
    cv->host->sgemm(0, 0, cv->o, (int)ld, cv->ckk, 1.0f, cv->weight->value, cv->ckk, sc.col,
                    (int)ld, 0.0f, dst, (int)ld);
    for (int j = 0; j < n; j++) {
        for (int oc = 0; oc < cv->o; oc++) {
            float bv = cv->bias ? cv->bias->value[oc] : 0.0f;
            float *yr = y + j * out_n + oc * ohw;
            const float *tr = dst + oc * ld + j * ohw;
            for (size_t i = 0; i < ohw; i++)
                yr[i] = tr[i] + bv;
        }
    }
}

static int32_t conv2d_nchunks(const conv2d *cv, int32_t batch)
{
    int32_t chunk = conv2d_chunk(cv, batch);
    return (batch + chunk - 1) / chunk;
}

static int conv2d_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out,
                          void *ws, ml_err *err)
{
    const conv2d *cv = self;
    conv2d_pass ps = {cv, in, NULL, out->data, NULL, ws};
    (void)ctx, (void)err;
    cv->host->parallel_for(conv2d_nchunks(cv, in->batch), conv2d_forward_chunk, &ps);
    return 0;
}

/* The chunk's output gradient channel-major (o x n*ohw), as the GEMMs take it: gathered
 * into the worker's scratch, or in place for a single example. */
static const float *conv2d_gout_of(const conv2d_pass *ps, const conv2d_span *sp)
{
    const conv2d *cv = ps->cv;
    const float *g = ps->gout->data + sp->b0 * (size_t)cv->o * (size_t)cv->ohw;
    if (sp->n == 1)
        return g;
    conv2d_gather(cv, g, sp->n, sp->sc.tmp);
    return sp->sc.tmp;
}

static void conv2d_backward_input_chunk(void *arg, int32_t t, int32_t w)
{
    const conv2d_pass *ps = arg;
    const conv2d *cv = ps->cv;
    const conv2d_span sp = conv2d_span_of(ps, t, w);
    const int32_t b0 = sp.b0;
    const int n = sp.n;
    const size_t in_n = (size_t)cv->c * cv->h * cv->w, ohw = (size_t)cv->ohw, ld = sp.ld;
    const conv2d_scratch sc = sp.sc;
    const float *g = conv2d_gout_of(ps, &sp);
    cv->host->sgemm(1, 0, cv->ckk, (int)ld, cv->o, 1.0f, cv->weight->value, cv->ckk, g,
                    (int)ld, 0.0f, sc.col, (int)ld);
    for (int j = 0; j < n; j++)
        col2im(cv, sc.col + j * ohw, ld, ps->gx + (b0 + j) * in_n);
}

static int conv2d_backward_input(void *self, ml_ctx *ctx, const ml_view *in,
                                 const ml_view *out, const ml_view *gout, ml_view *gin,
                                 void *ws, ml_err *err)
{
    const conv2d *cv = self;
    conv2d_pass ps = {cv, in, gout, NULL, gin->data, ws};
    (void)ctx, (void)out, (void)err;
    cv->host->parallel_for(conv2d_nchunks(cv, in->batch), conv2d_backward_input_chunk, &ps);
    return 0;
}

/* Worker 0 accumulates straight into the weight gradient, the others into their own
 * (zeroed on first use), summed in worker order afterwards. */
static void conv2d_backward_params_chunk(void *arg, int32_t t, int32_t w)
{
    const conv2d_pass *ps = arg;
    const conv2d *cv = ps->cv;
    const conv2d_span sp = conv2d_span_of(ps, t, w);
    const int32_t b0 = sp.b0;
    const int n = sp.n;
    const size_t in_n = (size_t)cv->c * cv->h * cv->w, ohw = (size_t)cv->ohw, ld = sp.ld;
    const conv2d_scratch sc = sp.sc;
    size_t nw = (size_t)cv->o * cv->ckk;
    int *used = conv2d_gw_used(cv, ps->ws, ps->in->batch);
    float *gw = w ? sc.gw : cv->weight->grad;
    if (w && !used[w]) {
        memset(gw, 0, sizeof(float) * nw);
        used[w] = 1;
    }
    for (int j = 0; j < n; j++)
        im2col(cv, ps->in->data + (b0 + j) * in_n, sc.col + j * ohw, ld);
    const float *g = conv2d_gout_of(ps, &sp);
    cv->host->sgemm(0, 1, cv->o, cv->ckk, (int)ld, 1.0f, g, (int)ld, sc.col, (int)ld, 1.0f,
                    gw, cv->ckk);
}

/* Rebuilds the columns instead of keeping the whole batch's from forward: im2col is cheap
 * next to the GEMM, and the workspace stays one chunk per worker. */
static int conv2d_backward_params(void *self, ml_ctx *ctx, const ml_view *in,
                                  const ml_view *out, const ml_view *gout, void *ws,
                                  ml_err *err)
{
    const conv2d *cv = self;
    size_t ohw = (size_t)cv->ohw, out_n = (size_t)cv->o * ohw;
    size_t nw = (size_t)cv->o * cv->ckk;
    int32_t workers = cv->host->parallel_workers();
    int *used = conv2d_gw_used(cv, ws, in->batch);
    conv2d_pass ps = {cv, in, gout, NULL, NULL, ws};
    (void)ctx, (void)out, (void)err;
    memset(used, 0, sizeof(int) * (size_t)workers);
    cv->host->parallel_for(conv2d_nchunks(cv, in->batch), conv2d_backward_params_chunk, &ps);
    for (int32_t w = 1; w < workers; w++) {
        const float *gw = conv2d_worker(cv, ws, in->batch, w).gw;
        float *restrict dst = cv->weight->grad;
        if (used[w])
            for (size_t i = 0; i < nw; i++)
                dst[i] += gw[i];
    }
    if (cv->bias) {
        for (int32_t b = 0; b < in->batch; b++)
            for (int oc = 0; oc < cv->o; oc++)
                cv->bias->grad[oc] += (float)nn_sum(gout->data + b * out_n + oc * ohw,
                                                    (int64_t)ohw);
    }
    return 0;
}

static const ml_opt_spec conv2d_opts[] = {
    { "out", ML_OPT_INT, NULL, "output channels", NULL },
    { "kernel", ML_OPT_INT, NULL, "square kernel size", NULL },
    { "stride", ML_OPT_INT, "1", "stride in both directions", NULL },
    { "padding", ML_OPT_INT, "0", "zero padding on every side", NULL },
    { "bias", ML_OPT_BOOL, "true", "add a learned bias per output channel", NULL },
    { NULL, 0, NULL, NULL, NULL },
};

static const ml_gradcheck_case conv2d_cases[] = {
    { "out=3 kernel=3", { 3, { 2, 5, 5 } }, 0 },
    { "out=2 kernel=3 stride=2 padding=1 bias=false", { 3, { 2, 6, 5 } }, 0 },
    { "out=3 kernel=1", { 3, { 2, 3, 3 } }, 0 },
};
ML_GRADCHECK_EXTENSION(conv2d_ext, conv2d_cases)

const ml_entry ml_nn_conv2d_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "conv2d", "1.0.0",
    "2-d convolution over {C,H,W} (square kernel, stride, zero padding)", conv2d_opts,
    conv2d_ext, ml_layer_vtable, .create = conv2d_create, .destroy = nn_destroy,
    .infer_shape = conv2d_infer, .workspace = conv2d_workspace, .forward = conv2d_forward,
    .backward_input = conv2d_backward_input, .backward_params = conv2d_backward_params);
