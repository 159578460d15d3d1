/* SPDX-License-Identifier: MIT */
/* gelu: x * Phi(x), exact (erf, PyTorch's default) or the tanh approximation. */
#include <math.h>

#include "nn_common.h"
#include "nn_entries.h"

typedef struct gelu {
    const ml_host *host;
    int64_t numel;
    int use_tanh;
} gelu;

#define GELU_K 0.7978845608028654f   /* sqrt(2 / pi) */
#define GELU_C 0.044715f
#define GELU_INV_SQRT2 0.7071067811865476f
#define GELU_INV_SQRT_2PI 0.3989422804014327f

static int gelu_create(const ml_host *host, ml_ctx *ctx, const ml_opts *opts,
                       const ml_shape *in, void **self, ml_err *err)
{
    gelu *g = host->alloc(sizeof *g);
    if (!g)
        return host->error(err, ML_ERR_NOMEM, "gelu: out of memory");
    g->host = host;
    g->numel = ml_shape_numel(in);
    g->use_tanh = strcmp(host->opt_str(opts, "approximate"), "tanh") == 0;
    *self = g;
    return 0;
}

static int gelu_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                        ml_err *err)
{
    const gelu *g = self;
    const float *x = in->data;
    float *y = out->data;
    int64_t n = g->numel * in->batch;
    if (g->use_tanh) {
        for (int64_t i = 0; i < n; i++) {
            float v = x[i];
            y[i] = 0.5f * v * (1.0f + nn_tanhf(GELU_K * (v + GELU_C * v * v * v)));
        }
    } else {
        for (int64_t i = 0; i < n; i++)
            y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * GELU_INV_SQRT2));
    }
    return 0;
}

/* Recomputes from the input instead of keeping Phi(x) in a workspace: the transcendental
 * costs less than the extra memory traffic of a stored buffer. */
static int gelu_backward(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                         const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    const gelu *g = self;
    const float *x = in->data, *go = gout->data;
    float *gx = gin->data;
    int64_t n = g->numel * in->batch;
    if (g->use_tanh) {
        for (int64_t i = 0; i < n; i++) {
            float v = x[i], v2 = v * v;
            float t = nn_tanhf(GELU_K * (v + GELU_C * v2 * v));
            float dt = (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * v2);
            gx[i] = go[i] * (0.5f * (1.0f + t) + 0.5f * v * dt);
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            float v = x[i];
            float cdf = 0.5f * (1.0f + erff(v * GELU_INV_SQRT2));
            float pdf = GELU_INV_SQRT_2PI * expf(-0.5f * v * v);
            gx[i] = go[i] * (cdf + v * pdf);
        }
    }
    return 0;
}

static const ml_opt_spec gelu_opts[] = {
    { "approximate", ML_OPT_STRING, "none",
      "none: exact x*Phi(x) with erf; tanh: the tanh approximation (as PyTorch's GELU)",
      "none|tanh" },
    { NULL, 0, NULL, NULL, NULL },
};

static const ml_gradcheck_case gelu_cases[] = {
    { "", { 2, { 3, 4 } }, 0 },
    { "approximate=tanh", { 1, { 10 } }, 0 },
};
ML_GRADCHECK_EXTENSION(gelu_ext, gelu_cases)

const ml_entry ml_nn_gelu_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "gelu", "1.0.0",
    "GELU activation, exact (erf) or tanh approximation", gelu_opts, gelu_ext, ml_layer_vtable,
    .create = gelu_create, .destroy = nn_destroy, .infer_shape = ml_infer_same_shape,
    .forward = gelu_forward, .backward_input = gelu_backward);
