/* SPDX-License-Identifier: MIT */
/* embedding: integer ids (held in floats) -> rows of a {vocab, dim} table; shape {...} ->
 * {..., dim}. Not differentiable w.r.t. its input, so it comes first in a model. */
#include <math.h>

#include "nn_common.h"
#include "nn_entries.h"

typedef struct embedding {
    const ml_host *host;
    int64_t ids;    /* ids per example */
    int vocab, dim;
    ml_param *weight;
} embedding;

static int emb_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                      const ml_shape *in, void **self, ml_err *err)
{
    int64_t vocab = host->opt_int(opts, "vocab"), dim = host->opt_int(opts, "dim");
    embedding *e;
    if (vocab < 1 || dim < 1 || vocab > INT32_MAX || dim > INT32_MAX)
        return host->error(err, ML_ERR_INVALID,
                           "embedding: need vocab >= 1 and dim >= 1 (got vocab=%lld "
                           "dim=%lld)", (long long)vocab, (long long)dim);
    if (in->ndim >= ML_MAX_DIMS)
        return host->error(err, ML_ERR_SHAPE,
                           "embedding: input has %d dims; the output adds one and at most %d "
                           "are allowed", (int)in->ndim, ML_MAX_DIMS);
    e = host->zalloc(sizeof *e);
    if (!e)
        return host->error(err, ML_ERR_NOMEM, "embedding: out of memory");
    e->host = host;
    e->ids = ml_shape_numel(in);
    e->vocab = (int)vocab;
    e->dim = (int)dim;
    ml_shape s = { 2, { e->vocab, e->dim } };
    e->weight = host->param_new(ctx, "weight", &s, 0, err);
    if (!e->weight) {
        host->free(e);
        return err->code;
    }
    /* PyTorch's init: N(0, 1). */
    host->rng_normal(ctx, e->weight->value, e->weight->numel, 0.0f, 1.0f);
    *self = e;
    return 0;
}

static int emb_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    *out = *in;
    out->dim[out->ndim++] = ((const embedding *)self)->dim;
    return 0;
}

/* Checks every id, so a bad dataset fails loudly instead of reading out of bounds. */
static int emb_id(const embedding *e, float v, int64_t pos, int32_t *id, ml_err *err)
{
    if (!(v >= 0.0f && v < (float)e->vocab) || v != floorf(v))
        return e->host->error(err, ML_ERR_INVALID,
                              "embedding: input %lld is %g, not an integer id in [0, %d); "
                              "check the data or raise vocab", (long long)pos, (double)v,
                              e->vocab);
    *id = (int32_t)v;
    return 0;
}

/* Each position's row of the table (ids checked): copied into out (forward), or, with g,
 * the position's gradient added to the row's (backward: a scatter-add, so repeated ids
 * accumulate, as the gradient of a gather must). */
static int emb_rows(const embedding *e, const ml_view *in, float *out, const float *g,
                    ml_err *err)
{
    int64_t n = e->ids * in->batch;
    for (int64_t i = 0; i < n; i++) {
        int32_t id = 0;
        int rc = emb_id(e, in->data[i], i, &id, err);
        if (rc)
            return rc;
        if (g) {
            float *row = e->weight->grad + (int64_t)id * e->dim;
            for (int j = 0; j < e->dim; j++)
                row[j] += g[i * e->dim + j];
        } else {
            memcpy(out + i * e->dim, e->weight->value + (int64_t)id * e->dim,
                   sizeof(float) * (size_t)e->dim);
        }
    }
    return 0;
}

static int emb_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                       ml_err *err)
{
    return emb_rows(self, in, out->data, NULL, err);
}

static int emb_backward_params(void *self, ml_ctx *ctx, const ml_view *in,
                               const ml_view *out, const ml_view *gout, void *ws, ml_err *err)
{
    return emb_rows(self, in, NULL, gout->data, err);
}

static const ml_opt_spec emb_opts[] = {
    { "vocab", ML_OPT_INT, NULL, "number of ids (rows of the table); ids are 0..vocab-1",
      NULL },
    { "dim", ML_OPT_INT, NULL, "size of each embedding vector", NULL },
    { NULL, 0, NULL, NULL, NULL },
};

static const ml_gradcheck_case emb_cases[] = {
    { "vocab=7 dim=3", { 1, { 5 } }, 7 },
    { "vocab=4 dim=2", { 2, { 2, 3 } }, 4 },
};
ML_GRADCHECK_EXTENSION(emb_ext, emb_cases)

const ml_entry ml_nn_embedding_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "embedding", "1.0.0",
    "Lookup table: integer ids {...} -> vectors {..., dim}", emb_opts, emb_ext, ml_layer_vtable,
    .create = emb_create, .destroy = nn_destroy, .infer_shape = emb_infer,
    .forward = emb_forward, .backward_input = NULL, .backward_params = emb_backward_params);
