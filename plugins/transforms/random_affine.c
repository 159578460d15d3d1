/* SPDX-License-Identifier: MIT */
/* random_affine: rotate the image about its centre by an angle drawn from [-degrees,
 * degrees] and shift it by whole pixels drawn from [-shift*W, shift*W] and [-shift*H,
 * shift*H], filling what comes in from outside. Nearest-neighbour resampling: every output
 * value is a copy of an input value or the fill, so it works on any stored dtype (uint8
 * images stay uint8) and needs no ML_TRANSFORM_FLOAT.
 * Draws, in order: angle = tf_uniform(-degrees, degrees), tx = round(tf_uniform(-shift*W,
 * shift*W)), ty = round(tf_uniform(-shift*H, shift*H)).
 * Geometry (rows i, columns j, centre (cy, cx) = ((H-1)/2, (W-1)/2), positive angles turn
 * the picture counter-clockwise as displayed, row 0 on top): output (i, j) takes input
 * (round(ys), round(xs)) with u = j - cx - tx, v = i - cy - ty, xs = cx + u cos a - v sin a,
 * ys = cy + u sin a + v cos a, rounding halves up (floor(. + 0.5)). */
#include "tf_common.h"
#include "tf_entries.h"

static const char *const WHO = "random_affine";

typedef struct affine {
    tf_base b;
    float degrees, shift;
} affine;

static int affine_create(const ml_host *host, const ml_opts *opts, const ml_shape *in,
                         int32_t dtype, void **self, ml_err *err)
{
    tf_base b;
    double deg = host->opt_float(opts, "degrees"), shift = host->opt_float(opts, "shift");
    int rc = tf_check_dtype(WHO, host, dtype, 0, err);
    if (rc || (rc = tf_base_init(WHO, host, in, dtype, 1, &b, err)))
        return rc;
    if (!(deg >= 0 && deg <= 180))
        return host->error(err, ML_ERR_INVALID, "%s: degrees=%g is out of range; use 0 <= "
                           "degrees <= 180 (the largest rotation either way)", WHO, deg);
    if (!(shift >= 0 && shift <= 1))
        return host->error(err, ML_ERR_INVALID, "%s: shift=%g is out of range; use 0 <= "
                           "shift <= 1 (the largest shift as a fraction of the image's "
                           "height and width)", WHO, shift);
    if ((rc = tf_set_fill(WHO, host, host->opt_float(opts, "fill"), &b, err)))
        return rc;
    affine *a = tf_new(WHO, &b, sizeof *a, err);
    if (!a)
        return ML_ERR_NOMEM;
    a->degrees = (float)deg;
    a->shift = (float)shift;
    *self = a;
    return ML_OK;
}

/* The untransformed example, to read from while x is rewritten. */
static size_t affine_workspace(void *self)
{
    const affine *a = self;
    return (size_t)a->b.numel * a->b.esize;
}

static int affine_apply(void *self, ml_ctx *ctx, void *x, float *y, void *ws, ml_err *err)
{
    const affine *a = self;
    const tf_base *b = &a->b;
    const ml_host *host = b->host;
    const size_t es = b->esize;
    (void)y, (void)err;
    double angle = tf_uniform(host, ctx, -a->degrees, a->degrees) * (3.14159265358979323846 / 180.0);
    double tx = round((double)tf_uniform(host, ctx, -a->shift * b->w, a->shift * b->w));
    double ty = round((double)tf_uniform(host, ctx, -a->shift * b->h, a->shift * b->h));
    if (angle == 0 && tx == 0 && ty == 0)
        return ML_OK;
    double ca = cos(angle), sa = sin(angle), cy = (b->h - 1) * 0.5, cx = (b->w - 1) * 0.5;
    const size_t plane = (size_t)b->h * b->w * es;
    unsigned char *out = x;
    const unsigned char *src = ws;
    memcpy(ws, x, (size_t)b->numel * es);
    for (int32_t i = 0; i < b->h; i++) {
        double v = i - cy - ty;
        for (int32_t j = 0; j < b->w; j++) {
            double u = j - cx - tx;
            double xs = floor(cx + u * ca - v * sa + 0.5), ys = floor(cy + u * sa + v * ca + 0.5);
            int in = xs >= 0 && xs < b->w && ys >= 0 && ys < b->h;
            size_t to = ((size_t)i * b->w + j) * es;
            size_t from = in ? ((size_t)ys * b->w + (size_t)xs) * es : 0;
            /* The same source position in every channel: one mapping per pixel. */
            for (int32_t ch = 0; ch < b->c; ch++)
                tf_copy1(out + ch * plane + to, in ? src + ch * plane + from : b->fill, es);
        }
    }
    return ML_OK;
}

static const ml_opt_spec affine_opts[] = {
    { "degrees", ML_OPT_FLOAT, "10", "largest rotation either way, in degrees (0..180)",
      NULL },
    { "shift", ML_OPT_FLOAT, "0.1", "largest shift either way, as a fraction of the "
      "image's height and width (0..1; rounded to whole pixels)", NULL },
    { "fill", ML_OPT_FLOAT, "0", "value of the pixels from outside, in the stored units "
      "(0..255 for uint8 images)", NULL },
    { NULL, 0, NULL, NULL, NULL },
};

static const ml_gradcheck_case affine_cases[] = {
    { "", { 3, { 3, 8, 8 } }, 0 },
    { "degrees=45 shift=0.25 fill=1", { 2, { 7, 6 } }, 0 },
};
ML_GRADCHECK_EXTENSION(affine_ext, affine_cases)

const ml_entry ml_tf_random_affine_entry = ML_ENTRY_INIT(ML_KIND_TRANSFORM,
    "random_affine", "1.0.0", "Rotate and shift the image at random (nearest neighbour, "
    "any dtype)", affine_opts, affine_ext, ml_transform_vtable, .create = affine_create,
    .destroy = tf_destroy, .flags = 0, .workspace = affine_workspace, .apply = affine_apply);
