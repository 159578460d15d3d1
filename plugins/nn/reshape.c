/* SPDX-License-Identifier: MIT */
/* reshape: give each example a new shape with the same number of elements ("1x28x28" turns
 * a flat image into conv2d's {C,H,W}); one dimension may be -1 and is inferred. Sizes are
 * separated by 'x' or ',' ("key=v1,v2" does not survive ml_opts_parse's k=v lists). */
#include <stdlib.h>

#include "nn_common.h"
#include "nn_entries.h"

typedef struct reshape {
    const ml_host *host;
    int64_t numel;
    ml_shape out;
} reshape;

/* Parse "d0xd1x..." (or with commas) into s; -1 marks the inferred dimension. */
static int reshape_parse(const ml_host *host, const char *text, ml_shape *s, int *infer,
                         ml_err *err)
{
    const char *p = text;
    memset(s, 0, sizeof *s);
    *infer = -1;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',' && *end != 'x') || s->ndim == ML_MAX_DIMS ||
            (v < 1 && !(v == -1 && *infer < 0)) || v > INT32_MAX)
            return host->error(err, ML_ERR_INVALID,
                               "reshape: shape '%s' is not a list of up to %d positive "
                               "sizes separated by x (one may be -1), e.g. 1x28x28",
                               text, ML_MAX_DIMS);
        if (v == -1)
            *infer = s->ndim;
        s->dim[s->ndim++] = (int32_t)v;
        p = *end ? end + 1 : end;
    }
    if (s->ndim == 0)
        return host->error(err, ML_ERR_INVALID, "reshape: shape is empty; give e.g. 1x28x28");
    return 0;
}

static int reshape_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                          const ml_shape *in, void **self, ml_err *err)
{
    char sb[96];
    ml_shape s;
    int infer, rc = reshape_parse(host, host->opt_str(opts, "shape"), &s, &infer, err);
    int64_t n = ml_shape_numel(in), known = 1;
    if (rc)
        return rc;
    for (int32_t i = 0; i < s.ndim; i++)
        if (i != infer)
            known *= s.dim[i];
    if (infer >= 0 && known > 0 && n % known == 0 && n / known <= INT32_MAX)
        s.dim[infer] = (int32_t)(n / known);
    if (ml_shape_numel(&s) != n || (infer >= 0 && s.dim[infer] < 1))
        return host->error(err, ML_ERR_SHAPE,
                           "reshape: input %s has %lld elements per example, which shape %s "
                           "cannot hold", ml_shape_str(in, sb, sizeof sb), (long long)n,
                           host->opt_str(opts, "shape"));
    reshape *r = host->alloc(sizeof *r);
    if (!r)
        return host->error(err, ML_ERR_NOMEM, "reshape: out of memory");
    r->host = host;
    r->numel = n;
    r->out = s;
    *self = r;
    return 0;
}

static int reshape_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    *out = ((const reshape *)self)->out;
    return 0;
}

static int reshape_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out,
                           void *ws, ml_err *err)
{
    const reshape *r = self;
    memcpy(out->data, in->data, sizeof(float) * (size_t)(r->numel * in->batch));
    return 0;
}

static int reshape_backward(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                            const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    const reshape *r = self;
    memcpy(gin->data, gout->data, sizeof(float) * (size_t)(r->numel * in->batch));
    return 0;
}

static const ml_opt_spec reshape_opts[] = {
    { "shape", ML_OPT_STRING, NULL,
      "new shape of one example, sizes separated by x (1x28x28); one size may be -1",
      NULL },
    { NULL, 0, NULL, NULL, NULL },
};

static const ml_gradcheck_case reshape_cases[] = {
    { "shape=2x-1x3", { 1, { 12 } }, 0 },
};
ML_GRADCHECK_EXTENSION(reshape_ext, reshape_cases)

const ml_entry ml_nn_reshape_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "reshape", "1.0.0",
    "Give each example a new shape with the same elements (e.g. {784} -> {1,28,28})",
    reshape_opts, reshape_ext, ml_layer_vtable, .create = reshape_create, .destroy = nn_destroy,
    .infer_shape = reshape_infer, .forward = reshape_forward,
    .backward_input = reshape_backward);
