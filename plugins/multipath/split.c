/* SPDX-License-Identifier: MIT */
/* mp_split: enter multi-path land. {...} -> {n, ...}: every path starts as a copy of the
 * input (the first block's paths then differ by their own weights). */
#include "mp_common.h"
#include "mp_entries.h"

typedef struct split {
    const ml_host *h;
    int32_t n;
    int64_t per;
} split;

static const ml_opt_spec options[] = {
    {"paths", ML_OPT_INT, NULL, "number of paths n (1..64)", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static int split_create(const ml_host *h, ml_ctx *ctx, const ml_opts *opts, const ml_shape *in,
                        void **self, ml_err *err)
{
    int64_t n = h->opt_int(opts, "paths");
    (void)ctx;
    if (n < 1 || n > MP_MAX_PATHS)
        return h->error(err, ML_ERR_INVALID, "mp_split: paths must be in 1..%d, got %lld",
                        MP_MAX_PATHS, (long long)n);
    if (in->ndim >= ML_MAX_DIMS)
        return h->error(err, ML_ERR_SHAPE, "mp_split: input has %d dims; the path dimension "
                        "needs one more (max %d)", (int)in->ndim, ML_MAX_DIMS);
    split *s = h->zalloc(sizeof *s);
    if (!s)
        return h->error(err, ML_ERR_NOMEM, "mp_split: out of memory");
    s->h = h;
    s->n = (int32_t)n;
    s->per = ml_shape_numel(in);
    *self = s;
    return ML_OK;
}

static void split_destroy(void *self)
{
    split *s = self;
    s->h->free(s);
}

static int split_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    (void)err;
    *out = mp_multi_shape(((split *)self)->n, in);
    return ML_OK;
}

static int split_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                         ml_err *err)
{
    split *s = self;
    (void)ctx, (void)ws, (void)err;
    for (int32_t b = 0; b < in->batch; b++)
        for (int32_t j = 0; j < s->n; j++)
            memcpy(out->data + ((int64_t)b * s->n + j) * s->per, in->data + b * s->per,
                   (size_t)s->per * sizeof(float));
    return ML_OK;
}

/* The input feeds every path: its gradient is the sum over paths. */
static int split_backward_input(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                                const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    split *s = self;
    (void)ctx, (void)out, (void)ws, (void)err;
    for (int32_t b = 0; b < in->batch; b++) {
        float *g = gin->data + b * s->per;
        const float *go = gout->data + (int64_t)b * s->n * s->per;
        memcpy(g, go, (size_t)s->per * sizeof(float));
        for (int32_t j = 1; j < s->n; j++)
            for (int64_t k = 0; k < s->per; k++)
                g[k] += go[j * s->per + k];
    }
    return ML_OK;
}

static const ml_gradcheck_case cases[] = {
    {"paths=3", {1, {4}}, 0},
    {"paths=2", {3, {1, 2, 2}}, 0},
};
ML_GRADCHECK_EXTENSION(split_extension, cases)

const ml_entry mp_split_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "mp_split", "1.0.0",
    "enter multi-path land: {...} -> {paths, ...}, every path a copy", options, split_extension,
    ml_layer_vtable, .create = split_create, .destroy = split_destroy,
    .infer_shape = split_infer, .forward = split_forward,
    .backward_input = split_backward_input);
