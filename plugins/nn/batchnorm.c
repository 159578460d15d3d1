/* SPDX-License-Identifier: MIT */
/* batchnorm: per-feature normalisation of {F} inputs (BatchNorm1d), per-channel of {C,L}
 * (BatchNorm1d over a sequence) and {C,H,W} (BatchNorm2d). Batch statistics in training,
 * running statistics (ML_PARAM_BUFFER) in evaluation, as PyTorch. */
#include <math.h>

#include "nn_common.h"
#include "nn_entries.h"

typedef struct batchnorm {
    const ml_host *host;
    int c;              /* channels (features) */
    int64_t sp;         /* positions per channel in one example (1 for {F}) */
    float momentum, eps;
    ml_param *gamma, *beta, *rmean, *rvar;
} batchnorm;

/* Workspace: header, invstd[c], mean[c], then xhat for the batch. */
typedef struct bn_ws {
    int32_t training;
} bn_ws;

static int bn_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                     const ml_shape *in, void **self, ml_err *err)
{
    char sb[96];
    double mom = host->opt_float(opts, "momentum"), eps = host->opt_float(opts, "eps");
    batchnorm *bn;
    if (in->ndim < 1 || in->ndim > 3 || in->dim[0] < 1)
        return host->error(err, ML_ERR_SHAPE,
                           "batchnorm: input must be {F}, {C,L} or {C,H,W}, got %s",
                           ml_shape_str(in, sb, sizeof sb));
    if (!(mom >= 0.0 && mom <= 1.0) || !(eps > 0.0))
        return host->error(err, ML_ERR_INVALID,
                           "batchnorm: need 0 <= momentum <= 1 and eps > 0 (got momentum=%g "
                           "eps=%g)", mom, eps);
    bn = host->zalloc(sizeof *bn);
    if (!bn)
        return host->error(err, ML_ERR_NOMEM, "batchnorm: out of memory");
    bn->host = host;
    bn->c = in->dim[0];
    bn->sp = ml_shape_numel(in) / in->dim[0];
    bn->momentum = (float)mom;
    bn->eps = (float)eps;
    ml_shape s = { 1, { bn->c } };
    /* PyTorch's init: weight 1, bias 0, running mean 0, running var 1. */
    if (!(bn->gamma = host->param_new(ctx, "weight", &s, ML_PARAM_NO_DECAY, err)) ||
        !(bn->beta = host->param_new(ctx, "bias", &s, ML_PARAM_NO_DECAY, err)) ||
        !(bn->rmean = host->param_new(ctx, "running_mean", &s, ML_PARAM_BUFFER, err)) ||
        !(bn->rvar = host->param_new(ctx, "running_var", &s, ML_PARAM_BUFFER, err))) {
        host->free(bn);
        return err->code;
    }
    for (int i = 0; i < bn->c; i++) {
        bn->gamma->value[i] = 1.0f;
        bn->rvar->value[i] = 1.0f;
    }
    *self = bn;
    return 0;
}

static size_t bn_workspace(void *self, int32_t batch)
{
    const batchnorm *bn = self;
    return nn_align(sizeof(bn_ws)) + 2 * nn_align(sizeof(float) * (size_t)bn->c) +
           sizeof(float) * (size_t)batch * (size_t)bn->c * (size_t)bn->sp;
}

static float *bn_invstd(const batchnorm *bn, void *ws)
{
    return (float *)((char *)ws + nn_align(sizeof(bn_ws)));
}

static float *bn_xhat(const batchnorm *bn, void *ws)
{
    return (float *)((char *)ws + nn_align(sizeof(bn_ws)) +
                     2 * nn_align(sizeof(float) * (size_t)bn->c));
}

static int bn_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                      ml_err *err)
{
    const batchnorm *bn = self;
    bn_ws *h = ws;
    float *invstd = bn_invstd(bn, ws), *mean = invstd + nn_align(sizeof(float) * bn->c) / 4;
    float *xhat = bn_xhat(bn, ws);
    int64_t sp = bn->sp, stride = (int64_t)bn->c * sp, nb = in->batch;
    int64_t count = nb * sp;
    h->training = bn->host->is_training(ctx);
    for (int c = 0; c < bn->c; c++) {
        if (h->training) {
            /* Two passes: one-pass E[x^2]-E[x]^2 cancels badly. */
            double sum = 0.0, sq = 0.0, m, var;
            for (int64_t b = 0; b < nb; b++)
                sum += nn_sum(in->data + b * stride + c * sp, sp);
            m = sum / (double)count;
            for (int64_t b = 0; b < nb; b++)
                sq += nn_sumsq_centered(in->data + b * stride + c * sp, sp, (float)m);
            var = sq / (double)count;
            mean[c] = (float)m;
            invstd[c] = (float)(1.0 / sqrt(var + bn->eps));
            /* The running variance is unbiased, as PyTorch's. A single value per channel
             * (batch 1 of {F}) says nothing about the variance: PyTorch refuses it; we
             * leave the running statistics alone rather than fail a last partial batch. */
            float mo = bn->momentum;
            if (count > 1) {
                double uvar = sq / (double)(count - 1);
                bn->rmean->value[c] = (1.0f - mo) * bn->rmean->value[c] + mo * (float)m;
                bn->rvar->value[c] = (1.0f - mo) * bn->rvar->value[c] + mo * (float)uvar;
            }
        } else {
            mean[c] = bn->rmean->value[c];
            invstd[c] = 1.0f / sqrtf(bn->rvar->value[c] + bn->eps);
        }
        float m = mean[c], is = invstd[c], g = bn->gamma->value[c], be = bn->beta->value[c];
        for (int64_t b = 0; b < nb; b++) {
            const float *x = in->data + b * stride + c * sp;
            float *xh = xhat + b * stride + c * sp, *y = out->data + b * stride + c * sp;
            for (int64_t i = 0; i < sp; i++) {
                xh[i] = (x[i] - m) * is;
                y[i] = g * xh[i] + be;
            }
        }
    }
    return 0;
}

static int bn_backward_input(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                             const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    const batchnorm *bn = self;
    const bn_ws *h = ws;
    const float *invstd = bn_invstd(bn, ws), *xhat = bn_xhat(bn, ws);
    int64_t sp = bn->sp, stride = (int64_t)bn->c * sp, nb = in->batch;
    double count = (double)(nb * sp);
    for (int c = 0; c < bn->c; c++) {
        float k = bn->gamma->value[c] * invstd[c], a = 0.0f, bb = 0.0f;
        if (h->training) {
            /* dx = gamma invstd (g - mean(g) - xhat mean(g xhat)): the batch statistics
             * depend on x too. */
            double sg = 0.0, sgx = 0.0;
            for (int64_t b = 0; b < nb; b++) {
                const float *g = gout->data + b * stride + c * sp;
                sg += nn_sum(g, sp);
                sgx += nn_dot(g, xhat + b * stride + c * sp, sp);
            }
            a = (float)(sg / count);
            bb = (float)(sgx / count);
        }
        for (int64_t b = 0; b < nb; b++) {
            const float *g = gout->data + b * stride + c * sp;
            const float *xh = xhat + b * stride + c * sp;
            float *gx = gin->data + b * stride + c * sp;
            for (int64_t i = 0; i < sp; i++)
                gx[i] = k * (g[i] - a - xh[i] * bb);
        }
    }
    return 0;
}

static int bn_backward_params(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                              const ml_view *gout, void *ws, ml_err *err)
{
    const batchnorm *bn = self;
    const float *xhat = bn_xhat(bn, ws);
    int64_t sp = bn->sp, stride = (int64_t)bn->c * sp, nb = in->batch;
    for (int c = 0; c < bn->c; c++) {
        double sg = 0.0, sgx = 0.0;
        for (int64_t b = 0; b < nb; b++) {
            const float *g = gout->data + b * stride + c * sp;
            sg += nn_sum(g, sp);
            sgx += nn_dot(g, xhat + b * stride + c * sp, sp);
        }
        bn->gamma->grad[c] += (float)sgx;
        bn->beta->grad[c] += (float)sg;
    }
    return 0;
}

static const ml_opt_spec bn_opts[] = {
    { "momentum", ML_OPT_FLOAT, "0.1", "weight of the new batch in the running statistics",
      NULL },
    { "eps", ML_OPT_FLOAT, "1e-5", "added to the variance before the square root", NULL },
    { NULL, 0, NULL, NULL, NULL },
};

static const ml_gradcheck_case bn_cases[] = {
    { "", { 1, { 5 } }, 0 },
    { "momentum=0.2", { 3, { 3, 2, 3 } }, 0 },
    { "eps=1e-3", { 2, { 3, 4 } }, 0 },
};
ML_GRADCHECK_EXTENSION(bn_ext, bn_cases)

const ml_entry ml_nn_batchnorm_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "batchnorm", "1.0.0",
    "Batch normalisation over {F} (1d), {C,L} or {C,H,W} (2d) inputs", bn_opts, bn_ext,
    ml_layer_vtable, .create = bn_create, .destroy = nn_destroy,
    .infer_shape = ml_infer_same_shape, .workspace = bn_workspace, .forward = bn_forward,
    .backward_input = bn_backward_input, .backward_params = bn_backward_params);
