/* SPDX-License-Identifier: MIT */
/* Merge layers, reading several nodes of a graph (ML_IFACE_MERGE): add (scale times the sum:
 * residual connections, and averages with scale = 1/n), mul (elementwise product: gates)
 * and concat (along the first axis of an example: channels of [C, H, W], features of
 * [F]). With one input, as an ordinary layer, each is the identity (add: times scale). */
#include <string.h>

#include "nn_common.h"
#include "nn_entries.h"

typedef enum merge_mode { MERGE_ADD, MERGE_MUL, MERGE_CONCAT } merge_mode;

static const char *const merge_names[] = {"add", "mul", "concat"};

typedef struct merge {
    const ml_host *h;
    merge_mode mode;
    float scale;
} merge;

static int merge_create(const ml_host *h, const ml_opts *opts, merge_mode mode, void **self,
                        ml_err *err)
{
    merge *g = h->zalloc(sizeof *g);
    if (!g)
        return h->error(err, ML_ERR_NOMEM, "%s: out of memory", merge_names[mode]);
    g->h = h;
    g->mode = mode;
    g->scale = mode == MERGE_ADD ? (float)h->opt_float(opts, "scale") : 1.0f;
    if (!(g->scale == g->scale) || g->scale > 1e30f || g->scale < -1e30f) {
        h->free(g);
        return h->error(err, ML_ERR_INVALID, "add: scale must be a finite number");
    }
    *self = g;
    return ML_OK;
}

static int add_create(const ml_host *h, ml_ctx *ctx, const ml_opts *opts, const ml_shape *in,
                      void **self, ml_err *err)
{
    (void)ctx, (void)in;
    return merge_create(h, opts, MERGE_ADD, self, err);
}

static int mul_create(const ml_host *h, ml_ctx *ctx, const ml_opts *opts, const ml_shape *in,
                      void **self, ml_err *err)
{
    (void)ctx, (void)in;
    return merge_create(h, opts, MERGE_MUL, self, err);
}

static int concat_create(const ml_host *h, ml_ctx *ctx, const ml_opts *opts,
                         const ml_shape *in, void **self, ml_err *err)
{
    (void)ctx, (void)in;
    return merge_create(h, opts, MERGE_CONCAT, self, err);
}

static void merge_destroy(void *self)
{
    merge *g = self;
    g->h->free(g);
}

static int merge_infer_shapes(void *self, const ml_shape *in, int32_t nin, ml_shape *out,
                              ml_err *err)
{
    const merge *g = self;
    const char *name = merge_names[g->mode];
    char a[64], b[64];
    *out = in[0];
    for (int32_t k = 1; k < nin; k++) {
        int fits = in[k].ndim == in[0].ndim;
        for (int d = g->mode == MERGE_CONCAT; fits && d < in[0].ndim; d++)
            fits = in[k].dim[d] == in[0].dim[d];
        if (g->mode == MERGE_CONCAT && in[0].ndim < 1)
            fits = 0;
        if (!fits) {
            ml_shape_str(&in[0], a, sizeof a);
            ml_shape_str(&in[k], b, sizeof b);
            return g->h->error(err, ML_ERR_SHAPE, "%s: input %d has shape %s but input 1 "
                               "has %s; %s", name, k + 1, b, a,
                               g->mode == MERGE_CONCAT
                                   ? "concat joins along the first axis, the others must agree"
                                   : "its inputs need one shape (project one of them)");
        }
        if (g->mode == MERGE_CONCAT)
            out->dim[0] += in[k].dim[0];
    }
    return ML_OK;
}

static int merge_forward(void *self, ml_ctx *ctx, const ml_view *in, int32_t nin,
                         ml_view *out, ml_err *err)
{
    const merge *g = self;
    int64_t n = ml_shape_numel(&out->shape), total = (int64_t)out->batch * n;
    (void)ctx, (void)err;
    if (g->mode == MERGE_CONCAT) {
        for (int32_t b = 0; b < out->batch; b++) {
            float *y = out->data + (int64_t)b * n;
            for (int32_t k = 0; k < nin; k++) {
                int64_t nk = ml_shape_numel(&in[k].shape);
                memcpy(y, in[k].data + (int64_t)b * nk, (size_t)nk * sizeof(float));
                y += nk;
            }
        }
        return ML_OK;
    }
    memcpy(out->data, in[0].data, (size_t)total * sizeof(float));
    for (int32_t k = 1; k < nin; k++) {
        const float *x = in[k].data;
        if (g->mode == MERGE_ADD)
            for (int64_t i = 0; i < total; i++)
                out->data[i] += x[i];
        else
            for (int64_t i = 0; i < total; i++)
                out->data[i] *= x[i];
    }
    if (g->scale != 1.0f)
        for (int64_t i = 0; i < total; i++)
            out->data[i] *= g->scale;
    return ML_OK;
}

static int merge_backward(void *self, ml_ctx *ctx, const ml_view *in, int32_t nin,
                          const ml_view *out, const ml_view *gout, ml_view *gin, ml_err *err)
{
    const merge *g = self;
    int64_t n = ml_shape_numel(&out->shape), total = (int64_t)out->batch * n, off = 0;
    (void)ctx, (void)err;
    for (int32_t k = 0; k < nin; k++) {
        int64_t nk = ml_shape_numel(&in[k].shape);
        float *d = gin[k].data;
        if (g->mode == MERGE_CONCAT) {
            for (int32_t b = 0; d && b < out->batch; b++)
                memcpy(d + (int64_t)b * nk, gout->data + (int64_t)b * n + off,
                       (size_t)nk * sizeof(float));
            off += nk;
            continue;
        }
        if (!d)
            continue;
        for (int64_t i = 0; i < total; i++)
            d[i] = g->scale * gout->data[i];
        /* mul: times the product of the other inputs (recomputed: no state kept). */
        for (int32_t j = 0; g->mode == MERGE_MUL && j < nin; j++)
            for (int64_t i = 0; j != k && i < total; i++)
                d[i] *= in[j].data[i];
    }
    return ML_OK;
}

/* The one-input case, as an ordinary layer. */
static int merge_forward1(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                          ml_err *err)
{
    (void)ws;
    return merge_forward(self, ctx, in, 1, out, err);
}

static int merge_backward1(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                           const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    (void)ws;
    return merge_backward(self, ctx, in, 1, out, gout, gin, err);
}

static const ml_merge_iface merge_iface = {
    ML_ABI_INIT(ml_merge_iface),
    .infer_shapes = merge_infer_shapes,
    .forward = merge_forward,
    .backward = merge_backward,
};

/* The registry walk checks a merge reading the model's input three times. */
static const ml_gradcheck_case merge_cases[] = {
    {"", {3, {2, 3, 3}}, 0},
    {"", {1, {4}}, 0},
};
static const ml_gradcheck_iface merge_gc = {ML_ABI_INIT(ml_gradcheck_iface), 2, merge_cases};
static const ml_gradcheck_case add_cases[] = {
    {"scale=0.5", {3, {2, 3, 3}}, 0},
};
static const ml_gradcheck_iface add_gc = {ML_ABI_INIT(ml_gradcheck_iface), 1, add_cases};

static const void *merge_extension(const char *iface)
{
    return !strcmp(iface, ML_IFACE_MERGE) ? (const void *)&merge_iface
           : !strcmp(iface, ML_IFACE_GRADCHECK) ? (const void *)&merge_gc : NULL;
}

static const void *add_extension(const char *iface)
{
    return !strcmp(iface, ML_IFACE_GRADCHECK) ? &add_gc : merge_extension(iface);
}

static const ml_opt_spec add_opts[] = {
    {"scale", ML_OPT_FLOAT, "1", "multiplies the sum (1/n: the mean of n inputs)", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

#define MERGE_ENTRY(var, name, summary, options, extension, create_fn)                     \
    const ml_entry var = ML_ENTRY_INIT(ML_KIND_LAYER, name, "1.0.0", summary, options,     \
        extension, ml_layer_vtable, .create = create_fn, .destroy = merge_destroy,   \
        .infer_shape = ml_infer_same_shape, .forward = merge_forward1,                     \
        .backward_input = merge_backward1)

MERGE_ENTRY(ml_nn_add_entry, "add", "merge: scale times the sum of its inputs (residuals)",
            add_opts, add_extension, add_create);
MERGE_ENTRY(ml_nn_mul_entry, "mul", "merge: elementwise product of its inputs (gates)", NULL,
            merge_extension, mul_create);
MERGE_ENTRY(ml_nn_concat_entry, "concat",
            "merge: its inputs joined along the first axis (channels, or features)", NULL,
            merge_extension, concat_create);
