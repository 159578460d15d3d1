/* SPDX-License-Identifier: MIT */
/* modular.so: the `modular` layer. Entry, options, create, shapes, workspace, and the
 * forward/backward that tie the controller (modular_route.c) to the bucketed module GEMMs
 * (modular_dense.c, dense or conv modules). */
#include <math.h>
#include <string.h>

#include "modular.h"

static const ml_opt_spec options[] = {
    {"out", ML_OPT_INT, NULL, "output features (conv: channels) of every module", NULL},
    {"modules", ML_OPT_INT, "8", "M: modules in the pool", NULL},
    {"select", ML_OPT_INT, "1", "K: controllers per input row, one module each", NULL},
    {"op", ML_OPT_STRING, "dense", "module type (conv: input {C,H,W})", "dense|conv"},
    {"kernel", ML_OPT_INT, "3", "conv modules: kernel size", NULL},
    {"stride", ML_OPT_INT, "1", "conv modules: stride", NULL},
    {"padding", ML_OPT_INT, "0", "conv modules: zero padding", NULL},
    {"chunk", ML_OPT_INT, "0", "conv modules: examples per patch GEMM (0: ~4 MB of patches)",
     NULL},
    {"train", ML_OPT_STRING, "em", "how the controller learns", "em|reinforce|noisy_topk"},
    {"samples", ML_OPT_INT, "10", "S: E-step candidates (stored choice + S-1 samples)", NULL},
    {"estep_every", ML_OPT_INT, "10", "run the E-step on every n-th training batch", NULL},
    {"baseline_decay", ML_OPT_FLOAT, "0.9", "REINFORCE: moving-average baseline decay", NULL},
    {"bias", ML_OPT_BOOL, "true", "modules have a bias", NULL},
    {"small_gemm", ML_OPT_BOOL, "true", "few-row buckets skip the sgemm's packing "
     "(x86-64 AVX2+FMA; false: always the sgemm, for comparison)", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* Every region is sized for `batch`; the same batch gives the same layout in forward and
 * backward, and a smaller batch fits in a workspace made for a larger one. */
static size_t layout(const modular *L, char *base, int32_t batch, mod_ws *w)
{
    size_t n = (size_t)batch * (size_t)L->rows, a = n * (size_t)L->K;
    size_t hm = (size_t)L->heads * (size_t)L->M, off = 0;
    mod_ws tmp;
    if (!w)
        w = &tmp;
#define REGION(field, type, count)                                  \
    w->field = base ? (type *)(void *)(base + off) : NULL;         \
    off += align64((count) * sizeof(type))
    REGION(logits, float, n * hm);
    REGION(prob, float, n * hm);
    REGION(nlog, float, n * (size_t)L->M);
    REGION(eps, float, n * (size_t)L->M);
    REGION(dlog, float, n * hm);
    REGION(dnoise, float, n * (size_t)L->M);
    REGION(sel, int32_t, a);
    REGION(gate, float, a);
    REGION(dgate, float, a);
    REGION(start, int32_t, (size_t)L->M + 1);
    REGION(fill, int32_t, (size_t)L->M);
    REGION(order, int32_t, a);
    /* Conv buckets go through in chunks: room for one chunk's patch rows. */
    if (L->op == OP_CONV && (size_t)L->chunk < a)
        a = (size_t)L->chunk;
    a *= (size_t)L->mrows;
    REGION(xg, float, a * (size_t)L->min);
    REGION(yg, float, a * (size_t)L->mout);
    REGION(gg, float, a * (size_t)L->mout);
    REGION(gx, float, a * (size_t)L->min);
#undef REGION
    return off;
}

void mod_ws_layout(const modular *L, void *base, int32_t batch, mod_ws *w)
{
    layout(L, base, batch, w);
}

size_t mod_ws_bytes(const modular *L, int32_t batch) { return layout(L, NULL, batch, NULL); }

/* Conv geometry from the options and the {C,H,W} input; fills L's module GEMM sizes. */
static int conv_geometry(const ml_host *h, const ml_opts *o, const ml_shape *in, modular *L,
                         ml_err *err)
{
    int64_t k = h->opt_int(o, "kernel"), s = h->opt_int(o, "stride");
    int64_t p = h->opt_int(o, "padding");
    if (in->ndim != 3 || in->dim[0] < 1)
        return h->error(err, ML_ERR_SHAPE, "modular: op=conv needs a {C,H,W} input (got %d "
                        "dims); put a reshape before it, or use op=dense for flat inputs",
                        (int)in->ndim);
    if (k < 1 || s < 1 || p < 0 || k > 64 || s > 64 || p > 64 || in->dim[1] + 2 * p < k ||
        in->dim[2] + 2 * p < k)
        return h->error(err, ML_ERR_INVALID, "modular: conv modules need 1 <= kernel <= 64 "
                        "fitting the padded input, 1 <= stride <= 64, 0 <= padding <= 64 "
                        "(got kernel=%lld stride=%lld padding=%lld on %dx%d)", (long long)k,
                        (long long)s, (long long)p, in->dim[1], in->dim[2]);
    mod_conv *cv = &L->cv;
    cv->c = in->dim[0];
    cv->h = in->dim[1];
    cv->w = in->dim[2];
    cv->k = (int32_t)k;
    cv->s = (int32_t)s;
    cv->p = (int32_t)p;
    cv->oh = (int32_t)((cv->h + 2 * p - k) / s + 1);
    cv->ow = (int32_t)((cv->w + 2 * p - k) / s + 1);
    /* One choice per example: the controller reads the whole (flattened) image. */
    L->in = (int32_t)ml_shape_numel(in);
    L->rows = 1;
    L->mrows = cv->oh * cv->ow;
    L->min = cv->c * cv->k * cv->k;
    L->ynum = L->out * L->mrows;
    int64_t chunk = h->opt_int(o, "chunk"), per = (int64_t)L->mrows * L->min;
    if (chunk < 0)
        return h->error(err, ML_ERR_INVALID, "modular: chunk must be >= 0 (0: automatic), "
                        "got %lld", (long long)chunk);
    L->chunk = chunk ? (int32_t)(chunk < 1 << 20 ? chunk : 1 << 20)
                     : (int32_t)(per >= 1 << 20 ? 1 : (1 << 20) / per);
    return ML_OK;
}

static int mod_create(const ml_host *h, ml_ctx *ctx, const ml_opts *o, const ml_shape *in,
                      void **self, ml_err *err)
{
    int64_t out = h->opt_int(o, "out"), M = h->opt_int(o, "modules");
    int64_t K = h->opt_int(o, "select");
    int64_t S = h->opt_int(o, "samples"), every = h->opt_int(o, "estep_every");
    const char *train = h->opt_str(o, "train");
    if (in->ndim < 1 || in->dim[in->ndim - 1] < 1)
        return h->error(err, ML_ERR_SHAPE, "modular: the input needs a last dimension of "
                        "features (flatten images first)");
    if (out < 1 || out > 1 << 24 || M < 1 || M > 4096 || K < 1 || K > M)
        return h->error(err, ML_ERR_INVALID, "modular: need out >= 1, 1 <= modules <= 4096 "
                        "and 1 <= select <= modules (got out=%lld modules=%lld select=%lld)",
                        (long long)out, (long long)M, (long long)K);
    if (S < 1 || every < 1)
        return h->error(err, ML_ERR_INVALID, "modular: samples and estep_every must be >= 1");
    modular *L = h->zalloc(sizeof *L);
    if (!L)
        return h->error(err, ML_ERR_NOMEM, "modular: out of memory");
    L->h = h;
    L->M = (int32_t)M;
    L->K = (int32_t)K;
    L->out = (int32_t)out;
    L->op = !strcmp(h->opt_str(o, "op"), "conv") ? OP_CONV : OP_DENSE;
    L->small_gemm = h->opt_bool(o, "small_gemm");
    L->mout = L->out;
    if (L->op == OP_CONV) {
        if (conv_geometry(h, o, in, L, err)) {
            h->free(L);
            return err->code;
        }
    } else {
        L->in = in->dim[in->ndim - 1];
        L->rows = (int32_t)(ml_shape_numel(in) / L->in);
        L->mrows = 1;
        L->min = L->in;
        L->ynum = L->out;
    }
    L->mode = !strcmp(train, "reinforce") ? MOD_REINFORCE
            : !strcmp(train, "noisy_topk") ? MOD_NOISY_TOPK : MOD_EM;
    L->heads = L->mode == MOD_NOISY_TOPK ? 1 : L->K;
    L->samples = (int32_t)S;
    L->estep_every = (int32_t)every;
    L->baseline_decay = (float)h->opt_float(o, "baseline_decay");
    L->candidate = ML_ESTEP_TRAIN;
    L->store_seed = h->rng_u64(ctx);
    ml_shape ws = {3, {L->M, L->out, L->in}}, bs = {2, {L->M, L->out}};
    if (L->op == OP_CONV)
        ws = (ml_shape){5, {L->M, L->out, L->cv.c, L->cv.k, L->cv.k}};
    ml_shape cs = {2, {L->heads * L->M, L->in}}, cbs = {1, {L->heads * L->M}};
    ml_shape ns = {2, {L->M, L->in}}, nbs = {1, {L->M}};
    float bound = 1.0f / sqrtf((float)L->min), cbound = 1.0f / sqrtf((float)L->in);
    if (!(L->w = h->param_new(ctx, "modules.weight", &ws, 0, err)) ||
        (h->opt_bool(o, "bias") &&
         !(L->b = h->param_new(ctx, "modules.bias", &bs, ML_PARAM_NO_DECAY, err))) ||
        !(L->cw = h->param_new(ctx, "controller.weight", &cs, 0, err)) ||
        !(L->cb = h->param_new(ctx, "controller.bias", &cbs, ML_PARAM_NO_DECAY, err)) ||
        (L->mode == MOD_NOISY_TOPK &&
         (!(L->nw = h->param_new(ctx, "noise.weight", &ns, 0, err)) ||
          !(L->nb = h->param_new(ctx, "noise.bias", &nbs, ML_PARAM_NO_DECAY, err))))) {
        h->free(L);
        return err->code;
    }
    h->rng_uniform(ctx, L->w->value, L->w->numel, -bound, bound);
    if (L->b)
        h->rng_uniform(ctx, L->b->value, L->b->numel, -bound, bound);
    /* Noisy top-k starts from zero gating weights (Shazeer et al.): routing is by the noise
     * until the gates learn. The EM/REINFORCE controllers start small and random. */
    if (L->mode != MOD_NOISY_TOPK)
        h->rng_uniform(ctx, L->cw->value, L->cw->numel, -cbound, cbound);
    L->diag_use = h->zalloc((size_t)L->M * sizeof(double));
    L->diag_q = h->zalloc((size_t)L->M * sizeof(double));
    L->diag_cooc = h->zalloc((size_t)L->M * DIAG_CLASSES * sizeof(double));
    L->diag_runs = h->zalloc((size_t)L->M * sizeof(double));
    if (!L->diag_use || !L->diag_q || !L->diag_cooc || !L->diag_runs) {
        h->free(L->diag_use);
        h->free(L->diag_q);
        h->free(L->diag_cooc);
        h->free(L->diag_runs);
        h->free(L);
        return h->error(err, ML_ERR_NOMEM, "modular: out of memory");
    }
    *self = L;
    return ML_OK;
}

static void mod_destroy(void *self)
{
    modular *L = self;
    const ml_host *h = L->h;
    h->free(L->store);
    h->free(L->ids);
    h->free(L->best_sel);
    h->free(L->best);
    h->free(L->reward);
    h->free(L->diag_use);
    h->free(L->diag_q);
    h->free(L->diag_cooc);
    h->free(L->diag_runs);
    h->free(L);
}

static int mod_shape(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    const modular *L = self;
    (void)err;
    *out = *in;
    if (L->op == OP_CONV)
        *out = (ml_shape){3, {L->out, L->cv.oh, L->cv.ow}};
    else
        out->dim[out->ndim - 1] = L->out;
    return ML_OK;
}

static size_t mod_workspace(void *self, int32_t batch) { return mod_ws_bytes(self, batch); }

static int mod_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                       ml_err *err)
{
    modular *L = self;
    mod_ws w;
    int32_t n = in->batch * L->rows;
    int training = L->h->is_training(ctx);
    mod_ws_layout(L, ws, in->batch, &w);
    mod_controller(L, in->data, n, &w);
    if (mod_select(L, ctx, in->batch, training, &w))
        return L->h->error(err, ML_ERR_INTERNAL, "modular: the batch's example ids do not "
                           "match the forward batch (%d)", in->batch);
    mod_buckets(L, n, &w);
    mod_modules_forward(L, in->data, out->data, n, &w);
    L->last_in = in->data;
    L->last_ws = ws;
    L->last_batch = in->batch;
    L->last_training = training;
    return ML_OK;
}

static int mod_backward_params(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                               const ml_view *gout, void *ws, ml_err *err)
{
    modular *L = self;
    mod_ws w;
    int32_t n = in->batch * L->rows;
    (void)ctx, (void)out, (void)err;
    mod_ws_layout(L, ws, in->batch, &w);
    mod_modules_backward(L, in->data, gout->data, NULL, 1, &w);
    if (L->mode == MOD_NOISY_TOPK) {
        int32_t M = L->M;
        mod_noisy_gate_grad(L, n, &w);
        L->h->sgemm(1, 0, M, L->in, n, 1.0f, w.dlog, M, in->data, L->in, 1.0f, L->cw->grad,
                    L->in);
        L->h->sgemm(1, 0, M, L->in, n, 1.0f, w.dnoise, M, in->data, L->in, 1.0f, L->nw->grad,
                    L->in);
        for (int32_t r = 0; r < n; r++)
            for (int32_t m = 0; m < M; m++) {
                L->cb->grad[m] += w.dlog[(size_t)r * M + m];
                L->nb->grad[m] += w.dnoise[(size_t)r * M + m];
            }
    }
    return ML_OK;
}

static int mod_backward_input(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                              const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    modular *L = self;
    mod_ws w;
    int32_t n = in->batch * L->rows;
    (void)ctx, (void)out, (void)err;
    mod_ws_layout(L, ws, in->batch, &w);
    memset(gin->data, 0, (size_t)n * (size_t)L->in * sizeof(float));
    mod_modules_backward(L, in->data, gout->data, gin->data, 0, &w);
    if (L->mode == MOD_NOISY_TOPK) {
        mod_noisy_gate_grad(L, n, &w);
        L->h->sgemm(0, 0, n, L->in, L->M, 1.0f, w.dlog, L->M, L->cw->value, L->in, 1.0f,
                    gin->data, L->in);
        L->h->sgemm(0, 0, n, L->in, L->M, 1.0f, w.dnoise, L->M, L->nw->value, L->in, 1.0f,
                    gin->data, L->in);
    }
    return ML_OK;
}

/* Fixed selections in the check: without example ids the EM/REINFORCE controllers take
 * their argmax, and noisy top-k replays its noise (the forward count is held fixed). The
 * aux-loss check covers the controller's M-step gradient. */
static const ml_gradcheck_case cases[] = {
    {"out=3 modules=4 select=1 train=em", {1, {5}}, 0},
    {"out=3 modules=4 select=2 train=em bias=false", {2, {3, 4}}, 0},
    {"out=3 modules=3 select=1 train=reinforce", {1, {5}}, 0},
    {"out=3 modules=4 select=2 train=noisy_topk", {1, {5}}, 0},
    {"out=2 modules=5 select=3 train=noisy_topk", {2, {2, 3}}, 0},
    {"out=7 modules=3 select=2", {1, {19}}, 0},   /* the small-row kernel, with a tail */
    {"op=conv out=2 modules=3 select=1 kernel=2", {3, {2, 4, 4}}, 0},
    {"op=conv out=2 modules=4 select=2 kernel=3 stride=2 padding=1 bias=false",
     {3, {1, 5, 4}}, 0},
    {"op=conv out=2 modules=3 select=1 kernel=2 train=reinforce", {3, {2, 3, 3}}, 0},
    {"op=conv out=3 modules=4 select=2 kernel=2 padding=1 train=noisy_topk",
     {3, {1, 3, 3}}, 0},
    /* One example per patch GEMM: the chunked path, with noisy top-k's recomputation. */
    {"op=conv out=2 modules=2 select=2 kernel=2 chunk=1 train=noisy_topk", {3, {2, 3, 3}}, 0},
    {"op=conv out=2 modules=2 select=1 kernel=3 padding=1 chunk=1", {3, {1, 4, 4}}, 0},
};
static const ml_gradcheck_iface gradcheck = ML_GRADCHECK_IFACE(cases);
ML_EXTENSIONS(extension, { ML_IFACE_GRADCHECK, &gradcheck }, { ML_IFACE_ESTEP, &mod_estep_iface },
              { ML_IFACE_DIAGNOSTICS, &mod_diag_iface })

static const ml_entry entry = ML_ENTRY_INIT(ML_KIND_LAYER, "modular", "1.0.0",
    "M dense or conv modules, a controller picks K per row; EM, REINFORCE or noisy top-k",
    options, extension, ml_layer_vtable, .create = mod_create, .destroy = mod_destroy,
    .infer_shape = mod_shape, .workspace = mod_workspace, .forward = mod_forward,
    .backward_input = mod_backward_input, .backward_params = mod_backward_params,
    .aux_loss = mod_aux_loss, .save = mod_save, .load = mod_load);

ML_PLUGIN_INIT(modular, &entry)
