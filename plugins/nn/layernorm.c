/* SPDX-License-Identifier: MIT */
/* layernorm: normalise over the last dimension, then an optional per-feature affine. */
#include <math.h>

#include "nn_common.h"
#include "nn_entries.h"

typedef struct layernorm {
    const ml_host *host;
    int64_t rows;   /* per example */
    int d;          /* the last dimension */
    float eps;
    ml_param *gamma, *beta;   /* NULL without affine */
} layernorm;

static int ln_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                     const ml_shape *in, void **self, ml_err *err)
{
    double eps = host->opt_float(opts, "eps");
    layernorm *ln;
    if (in->ndim < 1 || in->dim[in->ndim - 1] < 1)
        return host->error(err, ML_ERR_SHAPE,
                           "layernorm: input needs a non-empty last dimension to normalise "
                           "over (got %d dims)", (int)in->ndim);
    if (!(eps > 0.0))
        return host->error(err, ML_ERR_INVALID, "layernorm: eps must be > 0 (got %g)", eps);
    ln = host->zalloc(sizeof *ln);
    if (!ln)
        return host->error(err, ML_ERR_NOMEM, "layernorm: out of memory");
    ln->host = host;
    ln->d = in->dim[in->ndim - 1];
    ln->rows = ml_shape_numel(in) / ln->d;
    ln->eps = (float)eps;
    if (host->opt_bool(opts, "affine")) {
        ml_shape s = { 1, { ln->d } };
        if (!(ln->gamma = host->param_new(ctx, "weight", &s, ML_PARAM_NO_DECAY, err)) ||
            !(ln->beta = host->param_new(ctx, "bias", &s, ML_PARAM_NO_DECAY, err))) {
            host->free(ln);
            return err->code;
        }
        /* PyTorch's init: weight 1, bias 0. */
        for (int i = 0; i < ln->d; i++)
            ln->gamma->value[i] = 1.0f;
    }
    *self = ln;
    return 0;
}

/* xhat for every element, then invstd per row. */
static size_t ln_workspace(void *self, int32_t batch)
{
    const layernorm *ln = self;
    size_t rows = (size_t)ln->rows * (size_t)batch;
    return nn_align(sizeof(float) * rows * (size_t)ln->d) + sizeof(float) * rows;
}

static float *ln_invstd(const layernorm *ln, void *ws, int32_t batch)
{
    size_t rows = (size_t)ln->rows * (size_t)batch;
    return (float *)((char *)ws + nn_align(sizeof(float) * rows * (size_t)ln->d));
}

static int ln_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                      ml_err *err)
{
    const layernorm *ln = self;
    int64_t rows = ln->rows * in->batch, d = ln->d;
    float *xhat = ws, *invstd = ln_invstd(ln, ws, in->batch);
    for (int64_t r = 0; r < rows; r++) {
        const float *x = in->data + r * d;
        float *xh = xhat + r * d, *y = out->data + r * d;
        float sum = 0.0f, sq = 0.0f, m, is;
        for (int64_t j = 0; j < d; j++)
            sum += x[j];
        m = sum / (float)d;
        for (int64_t j = 0; j < d; j++)
            sq += (x[j] - m) * (x[j] - m);
        is = 1.0f / sqrtf(sq / (float)d + ln->eps);
        invstd[r] = is;
        for (int64_t j = 0; j < d; j++)
            xh[j] = (x[j] - m) * is;
        if (ln->gamma) {
            const float *g = ln->gamma->value, *b = ln->beta->value;
            for (int64_t j = 0; j < d; j++)
                y[j] = g[j] * xh[j] + b[j];
        } else {
            memcpy(y, xh, sizeof(float) * (size_t)d);
        }
    }
    return 0;
}

/* dx = invstd (gh - mean(gh) - xhat mean(gh xhat)) with gh = g * gamma. */
static int ln_backward_input(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                             const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    const layernorm *ln = self;
    int64_t rows = ln->rows * in->batch, d = ln->d;
    const float *xhat = ws, *invstd = ln_invstd(ln, ws, in->batch);
    const float *gamma = ln->gamma ? ln->gamma->value : NULL;
    for (int64_t r = 0; r < rows; r++) {
        const float *g = gout->data + r * d, *xh = xhat + r * d;
        float *gx = gin->data + r * d, sg = 0.0f, sgx = 0.0f, inv = 1.0f / (float)d;
        for (int64_t j = 0; j < d; j++) {
            float gh = gamma ? g[j] * gamma[j] : g[j];
            gx[j] = gh;   /* stash gh; rewritten below */
            sg += gh;
            sgx += gh * xh[j];
        }
        sg *= inv;
        sgx *= inv;
        for (int64_t j = 0; j < d; j++)
            gx[j] = invstd[r] * (gx[j] - sg - xh[j] * sgx);
    }
    return 0;
}

static int ln_backward_params(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                              const ml_view *gout, void *ws, ml_err *err)
{
    const layernorm *ln = self;
    int64_t rows = ln->rows * in->batch, d = ln->d;
    const float *xhat = ws;
    if (!ln->gamma)
        return 0;
    float *gg = ln->gamma->grad, *gb = ln->beta->grad;
    for (int64_t r = 0; r < rows; r++) {
        const float *g = gout->data + r * d, *xh = xhat + r * d;
        for (int64_t j = 0; j < d; j++) {
            gg[j] += g[j] * xh[j];
            gb[j] += g[j];
        }
    }
    return 0;
}

static const ml_opt_spec ln_opts[] = {
    { "eps", ML_OPT_FLOAT, "1e-5", "added to the variance before the square root", NULL },
    { "affine", ML_OPT_BOOL, "true", "learn a per-feature scale (weight) and shift (bias)",
      NULL },
    { NULL, 0, NULL, NULL, NULL },
};

static const ml_gradcheck_case ln_cases[] = {
    { "", { 2, { 3, 6 } }, 0 },
    { "affine=false", { 1, { 7 } }, 0 },
};
ML_GRADCHECK_EXTENSION(ln_ext, ln_cases)

const ml_entry ml_nn_layernorm_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "layernorm", "1.0.0",
    "Layer normalisation over the last dimension, optional affine", ln_opts, ln_ext,
    ml_layer_vtable, .create = ln_create, .destroy = nn_destroy,
    .infer_shape = ml_infer_same_shape, .workspace = ln_workspace, .forward = ln_forward,
    .backward_input = ln_backward_input, .backward_params = ln_backward_params);
