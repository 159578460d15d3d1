/* SPDX-License-Identifier: MIT */
/* A plugin as built against ABI 1.0 (tests/abi/v1.0/modlab/plugin.h, a frozen copy): a
 * layer, an optimizer and a dataset that use the host services of 1.0. Every later modlab,
 * with fields appended to its structs, must load it and pass `plugin check` on it. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include <modlab/plugin.h>

_Static_assert(ML_ABI_MAJOR == 1 && ML_ABI_MINOR == 0,
               "fx_abi10 must be compiled against the frozen ABI 1.0 header (tests/abi/v1.0)");

/* ---- layer: y = x W^T + b through the host's sgemm ---------------------------------- */

typedef struct dense {
    const ml_host *h;
    ml_param *w, *b;
    int32_t in, out;
} dense;

static const ml_opt_spec dense_opts[] = {
    {"out", ML_OPT_INT, "3", "output features", NULL},
    {"init", ML_OPT_STRING, "uniform", "weight initialisation", "uniform|normal"},
    {NULL, 0, NULL, NULL, NULL},
};

static int de_create(const ml_host *h, ml_ctx *ctx, const ml_opts *opts, const ml_shape *in,
                     void **self, ml_err *err)
{
    dense *d;
    if (in->ndim != 1)
        return h->error(err, ML_ERR_SHAPE, "fx_abi10_dense: wants 1-D inputs");
    if (!(d = h->zalloc(sizeof *d)))
        return h->error(err, ML_ERR_NOMEM, "fx_abi10_dense: out of memory");
    d->h = h;
    d->in = in->dim[0];
    d->out = (int32_t)h->opt_int(opts, "out");
    ml_shape ws = {2, {d->out, d->in}}, bs = {1, {d->out}};
    if (!(d->w = h->param_new(ctx, "weight", &ws, 0, err)) ||
        !(d->b = h->param_new(ctx, "bias", &bs, ML_PARAM_NO_DECAY, err))) {
        h->free(d);
        return err->code;
    }
    if (!strcmp(h->opt_str(opts, "init"), "normal"))
        h->rng_normal(ctx, d->w->value, d->w->numel, 0.0f, 0.5f);
    else
        h->rng_uniform(ctx, d->w->value, d->w->numel, -0.5f, 0.5f);
    h->rng_uniform(ctx, d->b->value, d->b->numel, -0.1f, 0.1f);
    *self = d;
    return ML_OK;
}

static void de_destroy(void *self)
{
    dense *d = self;
    d->h->free(d);
}

static int de_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    dense *d = self;
    (void)in, (void)err;
    out->ndim = 1;
    out->dim[0] = d->out;
    return ML_OK;
}

static int de_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                      ml_err *err)
{
    dense *d = self;
    (void)ctx, (void)ws, (void)err;
    for (int32_t r = 0; r < in->batch; r++)
        memcpy(out->data + (int64_t)r * d->out, d->b->value, (size_t)d->out * sizeof(float));
    d->h->sgemm(0, 1, in->batch, d->out, d->in, 1.0f, in->data, d->in, d->w->value, d->in,
                1.0f, out->data, d->out);
    return ML_OK;
}

static int de_backward_input(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                             const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    dense *d = self;
    (void)ctx, (void)out, (void)ws, (void)err;
    d->h->sgemm(0, 0, in->batch, d->in, d->out, 1.0f, gout->data, d->out, d->w->value, d->in,
                0.0f, gin->data, d->in);
    return ML_OK;
}

static int de_backward_params(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                              const ml_view *gout, void *ws, ml_err *err)
{
    dense *d = self;
    (void)ctx, (void)out, (void)ws, (void)err;
    d->h->sgemm(1, 0, d->out, d->in, in->batch, 1.0f, gout->data, d->out, in->data, d->in,
                1.0f, d->w->grad, d->in);
    for (int32_t r = 0; r < in->batch; r++)
        for (int32_t j = 0; j < d->out; j++)
            d->b->grad[j] += gout->data[(int64_t)r * d->out + j];
    return ML_OK;
}

static const ml_layer_vtable dense_vt = {
    ML_ABI_INIT(ml_layer_vtable),
    .create = de_create,
    .destroy = de_destroy,
    .infer_shape = de_infer,
    .forward = de_forward,
    .backward_input = de_backward_input,
    .backward_params = de_backward_params,
};

static const ml_gradcheck_case dense_cases[] = {
    {"", {1, {4}}, 0},
    {"out=2 init=normal", {1, {3}}, 0},
};
static const ml_gradcheck_iface dense_gc = {ML_ABI_INIT(ml_gradcheck_iface), 2, dense_cases};

static const void *de_extension(const char *iface)
{
    return iface && !strcmp(iface, ML_IFACE_GRADCHECK) ? &dense_gc : NULL;
}

/* ---- optimizer: plain SGD ----------------------------------------------------------- */

static const ml_opt_spec sgd_opts[] = {
    {"lr", ML_OPT_FLOAT, "0.1", "learning rate", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

typedef struct sgd {
    const ml_host *h;
    float lr;
} sgd;

static int sg_create(const ml_host *h, const ml_opts *opts, void **self, ml_err *err)
{
    sgd *s = h->alloc(sizeof *s);
    if (!s)
        return h->error(err, ML_ERR_NOMEM, "fx_abi10_sgd: out of memory");
    s->h = h;
    s->lr = (float)h->opt_float(opts, "lr");
    *self = s;
    return ML_OK;
}

static void sg_destroy(void *self)
{
    sgd *s = self;
    s->h->free(s);
}

static int sg_step(void *self, ml_opt_slot *slots, int32_t n, float lr_factor, int64_t t,
                   ml_err *err)
{
    sgd *s = self;
    (void)t, (void)err;
    for (int32_t i = 0; i < n; i++)
        for (int64_t j = 0; j < slots[i].numel; j++)
            slots[i].value[j] -= s->lr * lr_factor * slots[i].lr_scale * slots[i].grad[j];
    return ML_OK;
}

static const ml_optimizer_vtable sgd_vt = {
    ML_ABI_INIT(ml_optimizer_vtable),
    .create = sg_create,
    .destroy = sg_destroy,
    .step = sg_step,
};

/* ---- dataset: two Gaussian-ish blobs from a hash (deterministic, no files) ------------ */

static const ml_opt_spec blob_opts[] = {
    {"size", ML_OPT_INT, "200", "examples", NULL},
    {"split", ML_OPT_STRING, "train", "split", "train|test"},
    {NULL, 0, NULL, NULL, NULL},
};

typedef struct blobs {
    const ml_host *h;
    int64_t size;
    uint64_t salt;
} blobs;

static int bl_open(const ml_host *h, const ml_opts *opts, void **self, ml_err *err)
{
    blobs *b = h->zalloc(sizeof *b);
    if (!b)
        return h->error(err, ML_ERR_NOMEM, "fx_abi10_blobs: out of memory");
    b->h = h;
    b->size = h->opt_int(opts, "size");
    b->salt = strcmp(h->opt_str(opts, "split"), "train") ? 77 : 11;
    *self = b;
    return ML_OK;
}

static void bl_close(void *self)
{
    blobs *b = self;
    b->h->free(b);
}

static int bl_info(void *self, ml_data_info *info, ml_err *err)
{
    blobs *b = self;
    (void)err;
    memset(info, 0, sizeof *info);
    info->size = b->size;
    info->x_shape.ndim = 1;
    info->x_shape.dim[0] = 4;
    info->classes = 2;
    return ML_OK;
}

static float unit(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (float)((z ^ (z >> 31)) >> 11) * (1.0f / 9007199254740992.0f);
}

static int bl_read(void *self, const int64_t *idx, int32_t n, float *x, float *y, ml_err *err)
{
    blobs *b = self;
    for (int32_t i = 0; i < n; i++) {
        int64_t k = idx[i];
        if (k < 0 || k >= b->size)
            return b->h->error(err, ML_ERR_INVALID, "fx_abi10_blobs: index %lld outside "
                               "0..%lld", (long long)k, (long long)b->size - 1);
        int c = (int)(k % 2);
        y[i] = (float)c;
        for (int d = 0; d < 4; d++)
            x[i * 4 + d] = (c ? 1.0f : -1.0f) + unit(b->salt * 1000003u + (uint64_t)k * 8 + d)
                           - 0.5f;
    }
    return ML_OK;
}

static const ml_dataset_vtable blob_vt = {
    ML_ABI_INIT(ml_dataset_vtable),
    .open = bl_open,
    .close = bl_close,
    .info = bl_info,
    .read = bl_read,
};

static const ml_entry entries[] = {
    {ML_ABI_INIT(ml_entry), .kind = ML_KIND_LAYER, .name = "fx_abi10_dense", .version = "1.0.0",
     .summary = "ABI 1.0 fixture: dense layer", .options = dense_opts, .vtable = &dense_vt,
     .extension = de_extension},
    {ML_ABI_INIT(ml_entry), .kind = ML_KIND_OPTIMIZER, .name = "fx_abi10_sgd",
     .version = "1.0.0", .summary = "ABI 1.0 fixture: SGD", .options = sgd_opts,
     .vtable = &sgd_vt},
    {ML_ABI_INIT(ml_entry), .kind = ML_KIND_DATASET, .name = "fx_abi10_blobs",
     .version = "1.0.0", .summary = "ABI 1.0 fixture: two blobs", .options = blob_opts,
     .vtable = &blob_vt},
};

ML_PLUGIN_EXPORT int ml_plugin_fx_abi10_init(const ml_host *host, ml_registry *reg,
                                             ml_err *err);

int ml_plugin_fx_abi10_init(const ml_host *host, ml_registry *reg, ml_err *err)
{
    /* A 1.0 plugin may only use the host services 1.0 had; the host's table is at least
     * that long (fields are only appended). */
    if (!ML_HAS_FIELD(host, ml_host, sgemm))
        return host->error(err, ML_ERR_ABI, "fx_abi10: host table too short");
    for (size_t i = 0; i < sizeof entries / sizeof *entries; i++) {
        int rc = host->register_entry(reg, &entries[i], err);
        if (rc)
            return rc;
    }
    return ML_OK;
}
