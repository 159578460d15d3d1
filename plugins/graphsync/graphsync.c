/* SPDX-License-Identifier: MIT */
/* graphsync.so: the graph-synchronous layer (our formulation of Liu, Fang, Jiang, "Neural
 * Modules", arXiv 2005.04088; see docs/graphsync.md). This file holds the entry: options,
 * create/destroy, shapes, the aux-loss dispatch, checkpoint payload and optional interfaces.
 * The passes are in gs_forward.c, the regularisers in gs_spectral.c and gs_assign.c, the
 * module structure in gs_modules.c. */
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "gs_layer.h"

enum { MAX_UNITS = 8192, MAX_STEPS = 1000 };

static const ml_opt_spec options[] = {
    {"units", ML_OPT_INT, NULL, "N: units in the graph (the output width)", NULL},
    {"steps", ML_OPT_INT, "4", "T: synchronous update steps, >= 1", NULL},
    {"modules", ML_OPT_INT, "4", "K: modules, 1..units", NULL},
    {"activation", ML_OPT_STRING, "tanh", "activation of every step", "tanh|relu|sigmoid"},
    {"reg", ML_OPT_STRING, "spectral",
     "modularity regulariser, added as the layer's aux loss", "spectral|assign|none"},
    {"balance", ML_OPT_FLOAT, "1",
     "weight of the module-size term of reg=assign (spectral balances by normalisation)",
     NULL},
    {"prune_after", ML_OPT_INT, "0",
     "after this many training steps hard-assign modules, drop cross-module edges and run "
     "K block GEMMs; 0 never", NULL},
    {"mask", ML_OPT_STRING, "none",
     "random_blocks: fixed random balanced modules from the start (a baseline; reg=none)",
     "none|random_blocks"},
    {NULL, 0, NULL, NULL, NULL},
};

static void gs_destroy(void *self)
{
    gs_layer *l = self;
    const ml_host *h;
    if (!l)
        return;
    h = l->h;
    void *bufs[] = {l->module, l->perm, l->start, l->s.lap, l->s.evals, l->s.evecs,
                    l->s.work, l->s.iwork, l->s.isuppz, l->s.deg, l->s.gw, l->s.centers,
                    l->s.emb, l->s.label};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        h->free(bufs[i]);
    h->free(l);
}

/* Everything aux_loss, the prune step and reports need, so none of them allocates. */
static int alloc_scratch(gs_layer *l, ml_err *err)
{
    const ml_host *h = l->h;
    size_t n = (size_t)l->n, k = (size_t)l->k;
    float wq;
    lapack_int iq, found, info;
    /* Zeroed: the checkpoint payload holds the table even before any blocking fills it. */
    l->module = h->zalloc(sizeof(int32_t) * n);
    l->perm = h->alloc(sizeof(int32_t) * n);
    l->start = h->alloc(sizeof(int32_t) * (k + 1));
    l->s.lap = h->alloc(sizeof(float) * n * n);
    l->s.evals = h->alloc(sizeof(float) * n);
    l->s.evecs = h->alloc(sizeof(float) * n * k);
    l->s.isuppz = h->alloc(sizeof(int) * 2 * n);
    l->s.deg = h->alloc(sizeof(double) * n);
    l->s.gw = h->alloc(sizeof(double) * (n * n + n + 2 * n * k + k));
    l->s.centers = h->alloc(sizeof(float) * k * k);
    l->s.emb = h->alloc(sizeof(float) * n * k);
    l->s.label = h->alloc(sizeof(int32_t) * n);
    if (!l->module || !l->perm || !l->start || !l->s.lap || !l->s.evals || !l->s.evecs ||
        !l->s.isuppz || !l->s.deg || !l->s.gw || !l->s.centers || !l->s.emb || !l->s.label)
        return h->error(err, ML_ERR_NOMEM, "graphsync: out of memory for %d units", l->n);
    /* ssyevr's workspace query: the sizes depend only on N and the job. */
    memset(l->s.lap, 0, sizeof(float) * n * n);
    info = LAPACKE_ssyevr_work(LAPACK_COL_MAJOR, 'V', 'I', 'U', l->n, l->s.lap, l->n, 0.0f,
                               0.0f, 1, l->k, 0.0f, &found, l->s.evals, l->s.evecs, l->n,
                               l->s.isuppz, &wq, -1, &iq, -1);
    if (info != 0)
        return h->error(err, ML_ERR_INTERNAL, "graphsync: ssyevr workspace query failed "
                        "(info %d)", (int)info);
    l->s.lwork = (int)wq + 1;
    l->s.liwork = (int)iq + 1;
    l->s.work = h->alloc(sizeof(float) * (size_t)l->s.lwork);
    l->s.iwork = h->alloc(sizeof(int) * (size_t)l->s.liwork);
    if (!l->s.work || !l->s.iwork)
        return h->error(err, ML_ERR_NOMEM, "graphsync: out of memory for the eigensolver");
    return ML_OK;
}

static int parse_options(const ml_host *h, const ml_opts *opts, gs_layer *l, ml_err *err)
{
    int64_t n = h->opt_int(opts, "units"), t = h->opt_int(opts, "steps");
    int64_t k = h->opt_int(opts, "modules"), prune = h->opt_int(opts, "prune_after");
    double bal = h->opt_float(opts, "balance");
    const char *act = h->opt_str(opts, "activation"), *reg = h->opt_str(opts, "reg");
    if (n < 1 || n > MAX_UNITS)
        return h->error(err, ML_ERR_INVALID, "graphsync: units must be in 1..%d, got %lld",
                        MAX_UNITS, (long long)n);
    if (t < 1 || t > MAX_STEPS)
        return h->error(err, ML_ERR_INVALID, "graphsync: steps must be in 1..%d, got %lld",
                        MAX_STEPS, (long long)t);
    if (k < 1 || k > n)
        return h->error(err, ML_ERR_INVALID, "graphsync: modules must be in 1..units (%lld), "
                        "got %lld", (long long)n, (long long)k);
    if (!(bal >= 0.0) || !isfinite(bal))
        return h->error(err, ML_ERR_INVALID, "graphsync: balance must be >= 0, got %g", bal);
    if (prune < 0)
        return h->error(err, ML_ERR_INVALID, "graphsync: prune_after must be >= 0 (0: never),"
                        " got %lld", (long long)prune);
    l->n = (int32_t)n, l->t = (int32_t)t, l->k = (int32_t)k;
    l->balance = (float)bal;
    l->prune_after = prune;
    l->act = !strcmp(act, "relu") ? GS_RELU : !strcmp(act, "sigmoid") ? GS_SIGMOID : GS_TANH;
    l->reg = !strcmp(reg, "none") ? GS_REG_NONE
             : !strcmp(reg, "assign") ? GS_REG_ASSIGN : GS_REG_SPECTRAL;
    l->fixed_mask = !strcmp(h->opt_str(opts, "mask"), "random_blocks");
    if (l->fixed_mask && l->reg != GS_REG_NONE)
        return h->error(err, ML_ERR_INVALID, "graphsync: mask=random_blocks fixes the modules "
                        "from the start, so a modularity regulariser has nothing to do: add "
                        "reg=none");
    return ML_OK;
}

/* mask=random_blocks: a uniformly random balanced partition (sizes differ by at most 1). */
static void random_blocks(gs_layer *l, ml_ctx *ctx)
{
    int32_t *order = l->s.label, *label = l->perm;
    for (int i = 0; i < l->n; i++)
        order[i] = i;
    for (int i = l->n - 1; i > 0; i--) {
        int j = (int)(l->h->rng_u64(ctx) % (uint64_t)(i + 1));
        int32_t tmp = order[i];
        order[i] = order[j], order[j] = tmp;
    }
    for (int i = 0; i < l->n; i++)
        label[order[i]] = (int32_t)((int64_t)i * l->k / l->n);
    memcpy(l->s.label, label, sizeof(int32_t) * (size_t)l->n);
    gs_set_blocks(l, l->s.label);
    l->blocked = 1;
    /* The cross-module entries are never read: zero them so |A| shows the real graph. */
    for (int i = 0; i < l->n; i++)
        for (int j = 0; j < l->n; j++)
            if (l->module[i] != l->module[j])
                l->a->value[(size_t)i * l->n + j] = 0.0f;
}

static int gs_create(const ml_host *h, ml_ctx *ctx, const ml_opts *opts, const ml_shape *in,
                     void **self, ml_err *err)
{
    gs_layer *l;
    int rc;
    if (in->ndim < 1)
        return h->error(err, ML_ERR_SHAPE, "graphsync: input needs at least one dimension");
    if (!(l = h->zalloc(sizeof *l)))
        return h->error(err, ML_ERR_NOMEM, "graphsync: out of memory");
    l->h = h;
    l->d = (int32_t)ml_shape_numel(in);
    if ((rc = parse_options(h, opts, l, err)) || (rc = alloc_scratch(l, err)))
        goto fail;
    ml_shape sa = {2, {l->n, l->n}}, su = {2, {l->d, l->n}}, sb = {1, {l->n}};
    ml_shape sq = {2, {l->n, l->k}};
    if (!(l->a = h->param_new(ctx, "adjacency", &sa, 0, err)) ||
        !(l->u = h->param_new(ctx, "input_weight", &su, 0, err)) ||
        !(l->b = h->param_new(ctx, "bias", &sb, ML_PARAM_NO_DECAY, err)) ||
        (l->reg == GS_REG_ASSIGN &&
         !(l->q = h->param_new(ctx, "assign_logits", &sq, ML_PARAM_NO_DECAY, err))) ||
        !(l->assignment = h->param_new(ctx, "assignment", &sb, ML_PARAM_BUFFER, err)) ||
        !(l->snapshot = h->param_new(ctx, "adjacency_at_prune", &sa, ML_PARAM_BUFFER, err))) {
        rc = err->code;
        goto fail;
    }
    /* Linear-layer scales: U ~ U(+-1/sqrt(D)); A's magnitudes ~ U(0.1, 1)/sqrt(N) with a
     * random sign, whose spectral radius (~0.6) keeps the T-step recurrence contracting at
     * the start. No edge starts at (or near) zero, where |A| in both regularisers has its
     * kink: a finite-difference check there would measure the kink, not our gradient. */
    float bu = 1.0f / sqrtf((float)l->d), ba = 1.0f / sqrtf((float)l->n);
    h->rng_uniform(ctx, l->u->value, l->u->numel, -bu, bu);
    h->rng_uniform(ctx, l->b->value, l->b->numel, -bu, bu);
    h->rng_uniform(ctx, l->a->value, l->a->numel, -1.0f, 1.0f);
    for (int64_t i = 0; i < l->a->numel; i++)
        l->a->value[i] = copysignf(ba * (0.1f + 0.9f * fabsf(l->a->value[i])), l->a->value[i]);
    if (l->q)   /* near-uniform assignment; the small noise breaks the symmetry */
        h->rng_normal(ctx, l->q->value, l->q->numel, 0.0f, 0.1f);
    for (int i = 0; i < l->n; i++)
        l->assignment->value[i] = -1.0f;
    if (l->fixed_mask)
        random_blocks(l, ctx);   /* after A's init, whose cross-module part it zeroes */
    *self = l;
    return ML_OK;
fail:
    gs_destroy(l);
    return rc;
}

static int gs_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    const gs_layer *l = self;
    memset(out, 0, sizeof *out);
    out->ndim = 1;
    out->dim[0] = l->n;
    return ML_OK;
}

/* Once the layer runs blocked the modules are fixed by construction: no regulariser. */
static int gs_aux_loss(void *self, ml_ctx *ctx, float scale, double *value, ml_err *err)
{
    gs_layer *l = self;
    *value = 0.0;
    if (l->blocked || l->reg == GS_REG_NONE)
        return ML_OK;
    if (l->reg == GS_REG_ASSIGN)
        return gs_assign_loss(l, scale, value);
    return gs_spectral_loss(l, scale, value, err);
}

/* Checkpoint payload: version, steps seen, blocked flag, then each unit's module. */
enum { PAYLOAD_VERSION = 1 };
typedef struct payload_head {
    uint32_t version;
    int32_t blocked;
    int64_t steps_seen;
} payload_head;

static int gs_save(void *self, void *buf, size_t cap, size_t *len, ml_err *err)
{
    const gs_layer *l = self;
    size_t need = sizeof(payload_head) + sizeof(int32_t) * (size_t)l->n;
    *len = need;
    if (!buf)
        return ML_OK;
    if (cap < need)
        return l->h->error(err, ML_ERR_INVALID, "graphsync: save buffer too small");
    payload_head hd = {PAYLOAD_VERSION, l->blocked, l->steps_seen};
    memcpy(buf, &hd, sizeof hd);
    memcpy((char *)buf + sizeof hd, l->module, sizeof(int32_t) * (size_t)l->n);
    return ML_OK;
}

static int gs_load(void *self, const void *buf, size_t len, const char *saved_version,
                   ml_err *err)
{
    gs_layer *l = self;
    payload_head hd;
    const int32_t *mod = (const int32_t *)((const char *)buf + sizeof hd);
    if (len != sizeof hd + sizeof(int32_t) * (size_t)l->n)
        return l->h->error(err, ML_ERR_FORMAT, "graphsync: checkpoint payload of %zu bytes, "
                           "want %zu for %d units", len,
                           sizeof hd + sizeof(int32_t) * (size_t)l->n, l->n);
    memcpy(&hd, buf, sizeof hd);
    if (hd.version != PAYLOAD_VERSION || hd.steps_seen < 0)
        return l->h->error(err, ML_ERR_FORMAT, "graphsync: unknown checkpoint payload "
                           "version %u", hd.version);
    for (int i = 0; hd.blocked && i < l->n; i++) {
        int32_t m;
        memcpy(&m, mod + i, sizeof m);
        if (m < 0 || m >= l->k)
            return l->h->error(err, ML_ERR_FORMAT, "graphsync: checkpoint assigns unit %d "
                               "to module %d of %d", i, (int)m, l->k);
        l->s.label[i] = m;
    }
    l->steps_seen = hd.steps_seen;
    l->blocked = hd.blocked != 0;
    if (l->blocked)
        gs_set_blocks(l, l->s.label);
    return ML_OK;
}

static void gs_reset(void *self)
{
    (void)self;   /* the report is about the graph, not about batches: nothing to tally */
}

static void gs_observe(void *self, const float *targets, int32_t batch, int32_t numel)
{
    (void)self, (void)targets, (void)batch, (void)numel;
}

static const ml_diagnostics_iface diagnostics = {
    ML_ABI_INIT(ml_diagnostics_iface), gs_reset, gs_observe, gs_report,
};

/* Every option path: both regularisers (their aux gradients are checked too), no
 * regulariser, each activation, the blocked passes (random_blocks), one step, K = 1. */
static const ml_gradcheck_case cases[] = {
    {"units=6 steps=3 modules=2", {1, {4}}, 0},
    {"units=6 steps=3 modules=3 reg=assign balance=0.5", {1, {4}}, 0},
    {"units=5 steps=2 modules=2 reg=none activation=sigmoid", {2, {2, 3}}, 0},
    {"units=7 steps=3 modules=3 reg=none mask=random_blocks activation=relu", {1, {4}}, 0},
    {"units=6 steps=2 modules=2 reg=none mask=random_blocks", {1, {3}}, 0},
    {"units=5 steps=1 modules=1 activation=relu", {1, {3}}, 0},
    {"units=8 steps=2 modules=4 reg=spectral activation=sigmoid", {1, {3}}, 0},
    {"units=8 steps=2 modules=2 reg=assign balance=0 prune_after=1000", {1, {3}}, 0},
};
static const ml_gradcheck_iface gradcheck = ML_GRADCHECK_IFACE(cases);
ML_EXTENSIONS(gs_extension, { ML_IFACE_GRADCHECK, &gradcheck },
              { ML_IFACE_DIAGNOSTICS, &diagnostics })

static const ml_entry entry = ML_ENTRY_INIT(ML_KIND_LAYER, "graphsync", "0.1.0",
    "graph-synchronous layer: T steps h = act(h A + x U + b) on a learned N x N graph, "
    "modularity regulariser, block-diagonal pruning",
    options, gs_extension, ml_layer_vtable, .create = gs_create, .destroy = gs_destroy,
    .infer_shape = gs_infer, .workspace = gs_workspace, .forward = gs_forward,
    .backward_input = gs_backward_input, .backward_params = gs_backward_params,
    .aux_loss = gs_aux_loss, .save = gs_save, .load = gs_load);

ML_PLUGIN_INIT(graphsync, &entry)
