/* SPDX-License-Identifier: MIT */
/* mp_merge: leave multi-path land. {n, C, ...} -> {C, ...} (mode=mean, the average of the
 * paths) or {n * C, ...} (mode=concat, the paths side by side along channels; with the
 * path-major layout that is the same bytes, so it only renames the shape). */
#include "mp_common.h"
#include "mp_entries.h"

typedef struct merge {
    const ml_host *h;
    int concat;
    int32_t n;
    int64_t per;
} merge;

static const ml_opt_spec options[] = {
    {"mode", ML_OPT_STRING, "mean", "how paths combine", "mean|concat"},
    {NULL, 0, NULL, NULL, NULL},
};

static int merge_create(const ml_host *h, ml_ctx *ctx, const ml_opts *opts, const ml_shape *in,
                        void **self, ml_err *err)
{
    (void)ctx;
    int rc = mp_check_multi(h, "mp_merge", in, 0, err);
    if (rc)
        return rc;
    merge *m = h->zalloc(sizeof *m);
    if (!m)
        return h->error(err, ML_ERR_NOMEM, "mp_merge: out of memory");
    m->h = h;
    m->concat = strcmp(h->opt_str(opts, "mode"), "concat") == 0;
    m->n = in->dim[0];
    m->per = ml_shape_numel(in) / m->n;
    *self = m;
    return ML_OK;
}

static void merge_destroy(void *self)
{
    merge *m = self;
    m->h->free(m);
}

static int merge_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    merge *m = self;
    (void)err;
    *out = mp_path_shape(in);
    if (m->concat)
        out->dim[0] *= m->n;
    return ML_OK;
}

static int merge_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                         ml_err *err)
{
    merge *m = self;
    (void)ctx, (void)ws, (void)err;
    if (m->concat) {
        memcpy(out->data, in->data, (size_t)in->batch * m->n * m->per * sizeof(float));
        return ML_OK;
    }
    float inv = 1.0f / (float)m->n;
    for (int32_t b = 0; b < in->batch; b++) {
        const float *x = in->data + (int64_t)b * m->n * m->per;
        float *y = out->data + b * m->per;
        for (int64_t k = 0; k < m->per; k++)
            y[k] = x[k];
        for (int32_t j = 1; j < m->n; j++)
            for (int64_t k = 0; k < m->per; k++)
                y[k] += x[j * m->per + k];
        for (int64_t k = 0; k < m->per; k++)
            y[k] *= inv;
    }
    return ML_OK;
}

static int merge_backward_input(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                                const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    merge *m = self;
    (void)ctx, (void)out, (void)ws, (void)err;
    if (m->concat) {
        memcpy(gin->data, gout->data, (size_t)in->batch * m->n * m->per * sizeof(float));
        return ML_OK;
    }
    float inv = 1.0f / (float)m->n;
    for (int32_t b = 0; b < in->batch; b++)
        for (int32_t j = 0; j < m->n; j++)
            for (int64_t k = 0; k < m->per; k++)
                gin->data[((int64_t)b * m->n + j) * m->per + k] =
                    gout->data[b * m->per + k] * inv;
    return ML_OK;
}

static const ml_gradcheck_case cases[] = {
    {"mode=mean", {4, {3, 2, 2, 2}}, 0},
    {"mode=concat", {2, {2, 3}}, 0},
};
ML_GRADCHECK_EXTENSION(merge_extension, cases)

const ml_entry mp_merge_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "mp_merge", "1.0.0",
    "leave multi-path land: {paths, C, ...} -> mean {C, ...} or concat {paths*C, ...}",
    options, merge_extension, ml_layer_vtable, .create = merge_create, .destroy = merge_destroy,
    .infer_shape = merge_infer, .forward = merge_forward,
    .backward_input = merge_backward_input);
