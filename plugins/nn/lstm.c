/* SPDX-License-Identifier: MIT */
/* lstm: one LSTM layer over a sequence, {T, E} -> {T, hidden}, zero initial state, full
 * backpropagation through time. Gate order i, f, g, o and two biases, as PyTorch's nn.LSTM,
 * so weights transfer unchanged. */
#include <math.h>

#include "nn_common.h"
#include "nn_entries.h"

typedef struct lstm {
    const ml_host *host;
    int t, e, h;
    ml_param *w_ih, *w_hh, *b_ih, *b_hh;   /* {4h, e}, {4h, h}, {4h}, {4h} */
} lstm;

/* Workspace header: backward_input and backward_params both need dL/dgates, which takes the
 * whole backward sweep to compute, and either may be called alone (the first layer's input
 * gradient is often skipped). The first caller computes it; `gout_hash` makes sure the
 * other reuses it only for the same gout. */
typedef struct lstm_ws {
    int32_t bptt_done;
    uint64_t gout_hash;
} lstm_ws;

typedef struct lstm_bufs {
    float *gates;    /* B*T*4h, activated i, f, g, o */
    float *cells;    /* B*T*h */
    float *tcells;   /* B*T*h, tanh of cells (backward needs it again) */
    float *dgates;   /* B*T*4h */
    float *dh, *dc;  /* B*h, carried from step t to t-1 */
} lstm_bufs;

static int lstm_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                       const ml_shape *in, void **self, ml_err *err)
{
    char sb[96];
    int64_t hid = host->opt_int(opts, "hidden");
    lstm *l;
    if (in->ndim != 2 || in->dim[0] < 1 || in->dim[1] < 1)
        return host->error(err, ML_ERR_SHAPE,
                           "lstm: input must be a sequence {T, E}, got %s; embed ids first "
                           "or reshape", ml_shape_str(in, sb, sizeof sb));
    if (hid < 1 || hid > (1 << 20))
        return host->error(err, ML_ERR_INVALID, "lstm: hidden must be >= 1 (got %lld)",
                           (long long)hid);
    l = host->zalloc(sizeof *l);
    if (!l)
        return host->error(err, ML_ERR_NOMEM, "lstm: out of memory");
    l->host = host;
    l->t = in->dim[0];
    l->e = in->dim[1];
    l->h = (int)hid;
    ml_shape sih = { 2, { 4 * l->h, l->e } }, shh = { 2, { 4 * l->h, l->h } };
    ml_shape sb4 = { 1, { 4 * l->h } };
    if (!(l->w_ih = host->param_new(ctx, "weight_ih", &sih, 0, err)) ||
        !(l->w_hh = host->param_new(ctx, "weight_hh", &shh, 0, err)) ||
        !(l->b_ih = host->param_new(ctx, "bias_ih", &sb4, ML_PARAM_NO_DECAY, err)) ||
        !(l->b_hh = host->param_new(ctx, "bias_hh", &sb4, ML_PARAM_NO_DECAY, err))) {
        host->free(l);
        return err->code;
    }
    /* PyTorch's init: every weight and bias U(-1/sqrt(hidden), 1/sqrt(hidden)). */
    float k = 1.0f / sqrtf((float)l->h);
    ml_param *ps[4] = { l->w_ih, l->w_hh, l->b_ih, l->b_hh };
    for (int i = 0; i < 4; i++)
        host->rng_uniform(ctx, ps[i]->value, ps[i]->numel, -k, k);
    *self = l;
    return 0;
}

static int lstm_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    const lstm *l = self;
    *out = (ml_shape){ 2, { l->t, l->h } };
    return 0;
}

static size_t lstm_sizes(const lstm *l, int32_t batch, lstm_bufs *b, void *ws)
{
    size_t bt = (size_t)batch * (size_t)l->t, h = (size_t)l->h;
    size_t sz[6] = { bt * 4 * h, bt * h, bt * h, bt * 4 * h, (size_t)batch * h,
                     (size_t)batch * h };
    size_t off = nn_align(sizeof(lstm_ws));
    float **dst[6] = { NULL, NULL, NULL, NULL, NULL, NULL };
    if (b) {
        dst[0] = &b->gates;
        dst[1] = &b->cells;
        dst[2] = &b->tcells;
        dst[3] = &b->dgates;
        dst[4] = &b->dh;
        dst[5] = &b->dc;
    }
    for (int i = 0; i < 6; i++) {
        if (b)
            *dst[i] = (float *)((char *)ws + off);
        off += nn_align(sizeof(float) * sz[i]);
    }
    return off;
}

static size_t lstm_workspace(void *self, int32_t batch)
{
    return lstm_sizes(self, batch, NULL, NULL);
}

static inline float sigm(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

static int lstm_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                        ml_err *err)
{
    const lstm *l = self;
    const ml_host *host = l->host;
    lstm_bufs bf;
    int B = in->batch, T = l->t, H = l->h, G = 4 * l->h;
    lstm_sizes(l, B, &bf, ws);
    ((lstm_ws *)ws)->bptt_done = 0;

    /* The input projection of every step at once: one big GEMM instead of T small ones. */
    host->sgemm(0, 1, B * T, G, l->e, 1.0f, in->data, l->e, l->w_ih->value, l->e, 0.0f,
                bf.gates, G);
    for (int64_t r = 0; r < (int64_t)B * T; r++) {
        float *g = bf.gates + r * G;
        for (int j = 0; j < G; j++)
            g[j] += l->b_ih->value[j] + l->b_hh->value[j];
    }
    for (int t = 0; t < T; t++) {
        if (t > 0)   /* h_{t-1} is the previous output column: strided rows, no copy */
            host->sgemm(0, 1, B, G, H, 1.0f, out->data + (size_t)(t - 1) * H, T * H,
                        l->w_hh->value, H, 1.0f, bf.gates + (size_t)t * G, T * G);
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)b * T + t;
            float *g = bf.gates + r * G, *c = bf.cells + r * H, *tc = bf.tcells + r * H;
            float *hh = out->data + r * H;
            const float *cp = t > 0 ? bf.cells + (r - 1) * H : NULL;
            for (int j = 0; j < H; j++) {
                float gi = sigm(g[j]), gf = sigm(g[H + j]);
                float gg = nn_tanhf(g[2 * H + j]), go = sigm(g[3 * H + j]);
                g[j] = gi;
                g[H + j] = gf;
                g[2 * H + j] = gg;
                g[3 * H + j] = go;
                c[j] = gi * gg + (cp ? gf * cp[j] : 0.0f);
                tc[j] = nn_tanhf(c[j]);
                hh[j] = go * tc[j];
            }
        }
    }
    return 0;
}

/* Backward through time, filling dgates; needs gout and the forward's workspace. */
static void lstm_bptt(const lstm *l, const ml_view *gout, void *ws)
{
    lstm_ws *hd = ws;
    lstm_bufs bf;
    int B = gout->batch, T = l->t, H = l->h, G = 4 * l->h;
    uint64_t hsh = ml_fnv1a64_floats(gout->data, (int64_t)B * T * H);
    if (hd->bptt_done && hd->gout_hash == hsh)
        return;
    lstm_sizes(l, B, &bf, ws);
    memset(bf.dh, 0, sizeof(float) * (size_t)B * H);
    memset(bf.dc, 0, sizeof(float) * (size_t)B * H);
    for (int t = T - 1; t >= 0; t--) {
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)b * T + t;
            const float *g = bf.gates + r * G, *tcs = bf.tcells + r * H;
            const float *cp = t > 0 ? bf.cells + (r - 1) * H : NULL;
            const float *go = gout->data + r * H;
            float *dg = bf.dgates + r * G, *dh = bf.dh + (size_t)b * H;
            float *dc = bf.dc + (size_t)b * H;
            for (int j = 0; j < H; j++) {
                float gi = g[j], gf = g[H + j], gg = g[2 * H + j], o = g[3 * H + j];
                float tc = tcs[j], dhj = go[j] + dh[j];
                float dcj = dc[j] + dhj * o * (1.0f - tc * tc);
                float cpj = cp ? cp[j] : 0.0f;
                dg[j] = dcj * gg * gi * (1.0f - gi);
                dg[H + j] = dcj * cpj * gf * (1.0f - gf);
                dg[2 * H + j] = dcj * gi * (1.0f - gg * gg);
                dg[3 * H + j] = dhj * tc * o * (1.0f - o);
                dc[j] = dcj * gf;
            }
        }
        /* dh_{t-1} = dgates_t W_hh, for all examples at once. */
        if (t > 0)
            l->host->sgemm(0, 0, B, H, G, 1.0f, bf.dgates + (size_t)t * G, T * G,
                           l->w_hh->value, H, 0.0f, bf.dh, H);
    }
    hd->bptt_done = 1;
    hd->gout_hash = hsh;
}

static int lstm_backward_input(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                               const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    const lstm *l = self;
    lstm_bufs bf;
    int B = in->batch, G = 4 * l->h;
    lstm_bptt(l, gout, ws);
    lstm_sizes(l, B, &bf, ws);
    l->host->sgemm(0, 0, B * l->t, l->e, G, 1.0f, bf.dgates, G, l->w_ih->value, l->e, 0.0f,
                   gin->data, l->e);
    return 0;
}

static int lstm_backward_params(void *self, ml_ctx *ctx, const ml_view *in,
                                const ml_view *out, const ml_view *gout, void *ws, ml_err *err)
{
    const lstm *l = self;
    const ml_host *host = l->host;
    lstm_bufs bf;
    int B = in->batch, T = l->t, H = l->h, G = 4 * l->h;
    lstm_bptt(l, gout, ws);
    lstm_sizes(l, B, &bf, ws);
    host->sgemm(1, 0, G, l->e, B * T, 1.0f, bf.dgates, G, in->data, l->e, 1.0f,
                l->w_ih->grad, l->e);
    /* dW_hh = sum over t >= 1 of dgates_t^T h_{t-1}: per example (contiguous rows) or per
     * step (strided rows), whichever needs fewer GEMM calls. */
    if (T > 1) {
        if (B <= T) {
            for (int b = 0; b < B; b++)
                host->sgemm(1, 0, G, H, T - 1, 1.0f, bf.dgates + ((size_t)b * T + 1) * G, G,
                            out->data + (size_t)b * T * H, H, 1.0f, l->w_hh->grad, H);
        } else {
            for (int t = 1; t < T; t++)
                host->sgemm(1, 0, G, H, B, 1.0f, bf.dgates + (size_t)t * G, T * G,
                            out->data + (size_t)(t - 1) * H, T * H, 1.0f, l->w_hh->grad, H);
        }
    }
    for (int64_t r = 0; r < (int64_t)B * T; r++) {
        const float *dg = bf.dgates + r * G;
        for (int j = 0; j < G; j++) {
            l->b_ih->grad[j] += dg[j];
            l->b_hh->grad[j] += dg[j];
        }
    }
    return 0;
}

static const ml_opt_spec lstm_opts[] = {
    { "hidden", ML_OPT_INT, NULL, "size of the hidden and cell state (the output features)",
      NULL },
    { NULL, 0, NULL, NULL, NULL },
};

static const ml_gradcheck_case lstm_cases[] = {
    { "hidden=3", { 2, { 3, 4 } }, 0 },
    { "hidden=2", { 2, { 1, 3 } }, 0 },
};
ML_GRADCHECK_EXTENSION(lstm_ext, lstm_cases)

const ml_entry ml_nn_lstm_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "lstm", "1.0.0",
    "One LSTM layer over a sequence: {T, E} -> {T, hidden} (PyTorch gate order)", lstm_opts,
    lstm_ext, ml_layer_vtable, .create = lstm_create, .destroy = nn_destroy,
    .infer_shape = lstm_infer, .workspace = lstm_workspace, .forward = lstm_forward,
    .backward_input = lstm_backward_input, .backward_params = lstm_backward_params);
