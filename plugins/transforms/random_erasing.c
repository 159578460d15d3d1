/* SPDX-License-Identifier: MIT */
/* random_erasing (cutout; Zhong et al. 2017, as torchvision's RandomErasing): with
 * probability p, fill one axis-aligned box of the image, in every channel, with `fill`.
 * The box covers a fraction of the image's area drawn from [scale_min, scale_max] and has
 * an aspect ratio (height / width) drawn log-uniformly from [ratio_min, ratio_max]; a box
 * that does not fit is drawn again, up to 10 times, and then nothing is erased.
 * Draws, in order: tf_u01 (erase when < p); then per attempt: area fraction s =
 * tf_uniform(scale_min, scale_max), log-ratio l = tf_uniform(log ratio_min, log ratio_max),
 * box h = round(sqrt(s*H*W*e^l)), w = round(sqrt(s*H*W/e^l)); if 1 <= h <= H and
 * 1 <= w <= W: top = tf_below(H-h+1), left = tf_below(W-w+1), and stop. */
#include "tf_common.h"
#include "tf_entries.h"

static const char *const WHO = "random_erasing";
enum { ATTEMPTS = 10 };

typedef struct erasing {
    tf_base b;
    float p, scale_min, scale_max, logr_min, logr_max;
} erasing;

static int erasing_create(const ml_host *host, const ml_opts *opts, const ml_shape *in,
                          int32_t dtype, void **self, ml_err *err)
{
    tf_base b;
    double p = host->opt_float(opts, "p");
    double s0 = host->opt_float(opts, "scale_min"), s1 = host->opt_float(opts, "scale_max");
    double r0 = host->opt_float(opts, "ratio_min"), r1 = host->opt_float(opts, "ratio_max");
    int rc = tf_check_dtype(WHO, host, dtype, 0, err);
    if (rc || (rc = tf_base_init(WHO, host, in, dtype, 1, &b, err)) ||
        (rc = tf_check_prob(WHO, host, "p", p, err)))
        return rc;
    if (!(s0 > 0 && s0 <= s1 && s1 <= 1))
        return host->error(err, ML_ERR_INVALID, "%s: scale_min=%g scale_max=%g is not a "
                           "range of area fractions; use 0 < scale_min <= scale_max <= 1",
                           WHO, s0, s1);
    if (!(r0 > 0 && r0 <= r1))
        return host->error(err, ML_ERR_INVALID, "%s: ratio_min=%g ratio_max=%g is not a "
                           "range of aspect ratios; use 0 < ratio_min <= ratio_max", WHO, r0,
                           r1);
    if ((rc = tf_set_fill(WHO, host, host->opt_float(opts, "fill"), &b, err)))
        return rc;
    erasing *e = tf_new(WHO, &b, sizeof *e, err);
    if (!e)
        return ML_ERR_NOMEM;
    e->p = (float)p;
    e->scale_min = (float)s0;
    e->scale_max = (float)s1;
    e->logr_min = (float)log(r0);
    e->logr_max = (float)log(r1);
    *self = e;
    return ML_OK;
}

static int erasing_apply(void *self, ml_ctx *ctx, void *x, float *y, void *ws, ml_err *err)
{
    const erasing *e = self;
    const tf_base *b = &e->b;
    const ml_host *host = b->host;
    const size_t es = b->esize;
    (void)y, (void)ws, (void)err;
    if (!(tf_u01(host, ctx) < e->p))
        return ML_OK;
    double area = (double)b->h * b->w;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        double s = tf_uniform(host, ctx, e->scale_min, e->scale_max);
        double ratio = exp((double)tf_uniform(host, ctx, e->logr_min, e->logr_max));
        double bh = round(sqrt(s * area * ratio)), bw = round(sqrt(s * area / ratio));
        if (!(bh >= 1 && bh <= b->h && bw >= 1 && bw <= b->w))
            continue;
        int32_t h = (int32_t)bh, w = (int32_t)bw;
        int32_t top = (int32_t)tf_below(host, ctx, b->h - h + 1);
        int32_t left = (int32_t)tf_below(host, ctx, b->w - w + 1);
        for (int32_t ch = 0; ch < b->c; ch++)
            for (int32_t i = top; i < top + h; i++) {
                unsigned char *row = (unsigned char *)x +
                                     (((size_t)ch * b->h + i) * b->w + left) * es;
                for (int32_t j = 0; j < w; j++)
                    tf_copy1(row + (size_t)j * es, b->fill, es);
            }
        return ML_OK;
    }
    return ML_OK;
}

static const ml_opt_spec erasing_opts[] = {
    { "p", ML_OPT_FLOAT, "0.5", "probability of erasing a box (0 <= p <= 1)", NULL },
    { "scale_min", ML_OPT_FLOAT, "0.02", "smallest box area, as a fraction of the image's",
      NULL },
    { "scale_max", ML_OPT_FLOAT, "0.33", "largest box area, as a fraction of the image's "
      "(<= 1)", NULL },
    { "ratio_min", ML_OPT_FLOAT, "0.3", "smallest aspect ratio height/width of the box (> 0)",
      NULL },
    { "ratio_max", ML_OPT_FLOAT, "3.3", "largest aspect ratio height/width of the box", NULL },
    { "fill", ML_OPT_FLOAT, "0", "value written into the box, in the stored units (0..255 "
      "for uint8 images)", NULL },
    { NULL, 0, NULL, NULL, NULL },
};

static const ml_gradcheck_case erasing_cases[] = {
    { "p=1", { 3, { 3, 8, 8 } }, 0 },
    { "p=0.5 scale_min=0.1 scale_max=0.5 fill=2", { 2, { 6, 5 } }, 0 },
};
ML_GRADCHECK_EXTENSION(erasing_ext, erasing_cases)

const ml_entry ml_tf_random_erasing_entry = ML_ENTRY_INIT(ML_KIND_TRANSFORM,
    "random_erasing", "1.0.0", "With probability p, fill one random box of the image "
    "(cutout / random erasing)", erasing_opts, erasing_ext, ml_transform_vtable,
    .create = erasing_create, .destroy = tf_destroy, .flags = 0, .workspace = NULL,
    .apply = erasing_apply);
