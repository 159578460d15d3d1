/* SPDX-License-Identifier: MIT */
/* linear: y = x W^T + b over the last dimension (leading dimensions are rows). */
#include <math.h>

#include <modlab/plugin.h>

typedef struct linear {
    const ml_host *h;
    ml_param *w, *b;   /* w: out x in (PyTorch's layout), b: out or NULL */
    int32_t in, out;
    int64_t rows;      /* rows per example: product of the leading dims */
} linear;

static const ml_opt_spec options[] = {
    {"out", ML_OPT_INT, NULL, "number of output features", NULL},
    {"bias", ML_OPT_BOOL, "true", "add a learned bias", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static int lin_create(const ml_host *h, ml_ctx *ctx, const ml_opts *opts, const ml_shape *in,
                      void **self, ml_err *err)
{
    int64_t out = h->opt_int(opts, "out");
    linear *l;
    if (in->ndim < 1)
        return h->error(err, ML_ERR_SHAPE, "linear: input needs at least one dimension "
                        "(add a flatten layer before it)");
    if (out < 1 || out > (1 << 24))
        return h->error(err, ML_ERR_INVALID, "linear: option 'out' must be in 1..16777216, "
                        "got %lld", (long long)out);
    if (!(l = h->zalloc(sizeof *l)))
        return h->error(err, ML_ERR_NOMEM, "linear: out of memory");
    l->h = h;
    l->in = in->dim[in->ndim - 1];
    l->out = (int32_t)out;
    l->rows = ml_shape_numel(in) / l->in;
    ml_shape ws = {2, {l->out, l->in}}, bs = {1, {l->out}};
    if (!(l->w = h->param_new(ctx, "weight", &ws, 0, err)))
        goto fail;
    /* PyTorch's default: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias. */
    float bound = 1.0f / sqrtf((float)l->in);
    h->rng_uniform(ctx, l->w->value, l->w->numel, -bound, bound);
    if (h->opt_bool(opts, "bias")) {
        if (!(l->b = h->param_new(ctx, "bias", &bs, ML_PARAM_NO_DECAY, err)))
            goto fail;
        h->rng_uniform(ctx, l->b->value, l->b->numel, -bound, bound);
    }
    *self = l;
    return ML_OK;
fail:
    h->free(l);
    return err->code;
}

static void lin_destroy(void *self)
{
    linear *l = self;
    l->h->free(l);
}

static int lin_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    linear *l = self;
    *out = *in;
    out->dim[out->ndim - 1] = l->out;
    return ML_OK;
}

static int lin_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                       ml_err *err)
{
    linear *l = self;
    int m = (int)(in->batch * l->rows);
    if (l->b)
        for (int r = 0; r < m; r++)
            for (int j = 0; j < l->out; j++)
                out->data[(int64_t)r * l->out + j] = l->b->value[j];
    l->h->sgemm(0, 1, m, l->out, l->in, 1.0f, in->data, l->in, l->w->value, l->in,
                l->b ? 1.0f : 0.0f, out->data, l->out);
    return ML_OK;
}

static int lin_backward_input(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                              const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    linear *l = self;
    int m = (int)(in->batch * l->rows);
    l->h->sgemm(0, 0, m, l->in, l->out, 1.0f, gout->data, l->out, l->w->value, l->in, 0.0f,
                gin->data, l->in);
    return ML_OK;
}

static int lin_backward_params(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                               const ml_view *gout, void *ws, ml_err *err)
{
    linear *l = self;
    int m = (int)(in->batch * l->rows);
    l->h->sgemm(1, 0, l->out, l->in, m, 1.0f, gout->data, l->out, in->data, l->in, 1.0f,
                l->w->grad, l->in);
    if (l->b)
        for (int r = 0; r < m; r++)
            for (int j = 0; j < l->out; j++)
                l->b->grad[j] += gout->data[(int64_t)r * l->out + j];
    return ML_OK;
}

static const ml_gradcheck_case cases[] = {
    {"out=3", {1, {4}}, 0},
    {"out=2 bias=false", {2, {3, 5}}, 0},
};
ML_GRADCHECK_EXTENSION(lin_extension, cases)

const ml_entry ml_nn_linear_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "linear", "1.0.0",
    "fully connected layer over the last dimension: y = x W^T + b", options, lin_extension,
    ml_layer_vtable, .create = lin_create, .destroy = lin_destroy, .infer_shape = lin_infer,
    .forward = lin_forward, .backward_input = lin_backward_input,
    .backward_params = lin_backward_params);
