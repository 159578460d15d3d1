/* SPDX-License-Identifier: MIT */
/* gaussian_noise: add independent N(0, std^2) noise to every value. Float only
 * (ML_TRANSFORM_FLOAT): noise on uint8 would be rounded away or wrap, so the pipeline
 * converts first, and std is in the float units the dataset reads as.
 * Draws: host->rng_normal for all prod(shape) values at once, in order (none when std = 0). */
#include "tf_common.h"
#include "tf_entries.h"

static const char *const WHO = "gaussian_noise";

typedef struct noise {
    tf_base b;
    float std;
} noise;

static int noise_create(const ml_host *host, const ml_opts *opts, const ml_shape *in,
                        int32_t dtype, void **self, ml_err *err)
{
    tf_base b;
    double sd = host->opt_float(opts, "std");
    int rc = tf_check_dtype(WHO, host, dtype, 1, err);
    if (rc || (rc = tf_base_init(WHO, host, in, dtype, 0, &b, err)))
        return rc;
    if (!(sd >= 0 && sd <= 1e30))
        return host->error(err, ML_ERR_INVALID, "%s: std=%g is out of range; use std >= 0 "
                           "(0 adds nothing)", WHO, sd);
    noise *n = tf_new(WHO, &b, sizeof *n, err);
    if (!n)
        return ML_ERR_NOMEM;
    n->std = (float)sd;
    *self = n;
    return ML_OK;
}

/* The noise of one example, drawn in one call. */
static size_t noise_workspace(void *self)
{
    const noise *n = self;
    return (size_t)n->b.numel * sizeof(float);
}

static int noise_apply(void *self, ml_ctx *ctx, void *x, float *y, void *ws, ml_err *err)
{
    const noise *n = self;
    float *v = x, *z = ws;
    (void)y, (void)err;
    if (n->std == 0)
        return ML_OK;
    n->b.host->rng_normal(ctx, z, n->b.numel, 0.0f, n->std);
    for (int64_t i = 0; i < n->b.numel; i++)
        v[i] += z[i];
    return ML_OK;
}

static const ml_opt_spec noise_opts[] = {
    { "std", ML_OPT_FLOAT, "0.1", "standard deviation of the noise, in the float units of "
      "the values (>= 0)", NULL },
    { NULL, 0, NULL, NULL, NULL },
};

static const ml_gradcheck_case noise_cases[] = {
    { "", { 3, { 3, 4, 4 } }, 0 },
    { "std=0.5", { 1, { 17 } }, 0 },
};
ML_GRADCHECK_EXTENSION(noise_ext, noise_cases)

const ml_entry ml_tf_gaussian_noise_entry = ML_ENTRY_INIT(ML_KIND_TRANSFORM,
    "gaussian_noise", "1.0.0", "Add Gaussian noise of standard deviation std to every value",
    noise_opts, noise_ext, ml_transform_vtable, .create = noise_create,
    .destroy = tf_destroy, .flags = ML_TRANSFORM_FLOAT, .workspace = noise_workspace,
    .apply = noise_apply);
