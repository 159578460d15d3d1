/* SPDX-License-Identifier: MIT */
/* normalize: x = (x - mean[c]) / std[c] per channel c, in float (ML_TRANSFORM_FLOAT).
 * Channels are the first dimension of {C,H,W} examples, and a single one for every other
 * shape (as ml_dataset_channels counts them). mean and std are text: one number for all
 * channels ("0.5") or one per channel ("0.49,0.48,0.45"; in the "k=v k=v" form, where a
 * comma separates options, write "0.49/0.48/0.45"). No draws. */
#include <errno.h>
#include <stdlib.h>

#include "tf_common.h"
#include "tf_entries.h"

static const char *const WHO = "normalize";
/* More values than this in one option is not a channel list. */
enum { MAX_CHANNELS = 4096 };

typedef struct normalize {
    tf_base b;
    int64_t plane;     /* values per channel */
    float *mean, *std; /* c each, in the same block as the struct */
} normalize;

/* Parse the list in `text` into out[0..c): c values, or one repeated. */
static int parse_list(const ml_host *host, const char *name, const char *text, int32_t c,
                      int positive, float *out, ml_err *err)
{
    int32_t n = 0;
    const char *p = text;
    for (;;) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);   /* skips leading blanks itself */
        while (end != p && (*end == ' ' || *end == '\t'))
            end++;
        if (end == p || errno || !isfinite(v) || (*end && *end != ',' && *end != '/'))
            return host->error(err, ML_ERR_INVALID, "%s: %s='%s' is not a list of numbers; "
                               "write one number for all channels or one per channel, "
                               "separated by ',' or '/' (\"0.5\" or \"0.49,0.48,0.45\")",
                               WHO, name, text);
        if (positive && !(v > 0))
            return host->error(err, ML_ERR_INVALID, "%s: %s value %g in '%s' is not > 0; "
                               "a standard deviation must be positive", WHO, name, v, text);
        if (n < c)
            out[n] = (float)v;
        n++;
        if (!*end || n > c)   /* more than c values is an error whatever follows */
            break;
        p = end + 1;
    }
    if (n == 1)
        for (int32_t i = 1; i < c; i++)
            out[i] = out[0];
    else if (n != c)
        return host->error(err, ML_ERR_INVALID, "%s: %s='%s' has %s%d values for %d "
                           "channel%s; give one value for all channels or exactly %d", WHO,
                           name, text, n > c ? "more than " : "", n > c ? c : n, c,
                           c == 1 ? "" : "s", c);
    return ML_OK;
}

static int normalize_create(const ml_host *host, const ml_opts *opts, const ml_shape *in,
                            int32_t dtype, void **self, ml_err *err)
{
    tf_base b;
    int rc = tf_check_dtype(WHO, host, dtype, 1, err);
    if (rc || (rc = tf_base_init(WHO, host, in, dtype, 0, &b, err)))
        return rc;
    int32_t c = b.c;   /* tf_base_init: dim[0] of {C,H,W}, else 1 */
    if (c > MAX_CHANNELS)
        return host->error(err, ML_ERR_SHAPE, "%s: %d channels is more than %d; is the "
                           "example shape {C,H,W}?", WHO, c, (int)MAX_CHANNELS);
    normalize *nz = tf_new(WHO, &b, sizeof *nz + 2 * (size_t)c * sizeof(float), err);
    if (!nz)
        return ML_ERR_NOMEM;
    nz->mean = (float *)(nz + 1);
    nz->std = nz->mean + c;
    nz->plane = b.numel / c;
    if ((rc = parse_list(host, "mean", host->opt_str(opts, "mean"), c, 0, nz->mean, err)) ||
        (rc = parse_list(host, "std", host->opt_str(opts, "std"), c, 1, nz->std, err))) {
        tf_destroy(nz);
        return rc;
    }
    *self = nz;
    return ML_OK;
}

static int normalize_apply(void *self, ml_ctx *ctx, void *x, float *y, void *ws, ml_err *err)
{
    const normalize *nz = self;
    float *v = x;
    (void)ctx, (void)y, (void)ws, (void)err;
    for (int32_t c = 0; c < nz->b.c; c++) {
        float m = nz->mean[c], s = nz->std[c];
        float *p = v + (size_t)c * nz->plane;
        for (int64_t i = 0; i < nz->plane; i++)
            p[i] = (p[i] - m) / s;
    }
    return ML_OK;
}

static const ml_opt_spec normalize_opts[] = {
    { "mean", ML_OPT_STRING, NULL, "subtracted: one number for all channels, or one per "
      "channel (\"0.49,0.48,0.45\"; '/' also separates)", NULL },
    { "std", ML_OPT_STRING, NULL, "divided by, after the mean: one number > 0 for all "
      "channels, or one per channel", NULL },
    { NULL, 0, NULL, NULL, NULL },
};

static const ml_gradcheck_case normalize_cases[] = {
    { "mean=0.5 std=0.25", { 3, { 3, 4, 4 } }, 0 },
    { "mean=0.1/0.2/0.3 std=0.5/1/2", { 3, { 3, 2, 5 } }, 0 },
};
ML_GRADCHECK_EXTENSION(normalize_ext, normalize_cases)

const ml_entry ml_tf_normalize_entry = ML_ENTRY_INIT(ML_KIND_TRANSFORM, "normalize",
    "1.0.0", "(x - mean) / std per channel (float values)", normalize_opts, normalize_ext,
    ml_transform_vtable, .create = normalize_create, .destroy = tf_destroy,
    .flags = ML_TRANSFORM_FLOAT, .workspace = NULL, .apply = normalize_apply);
