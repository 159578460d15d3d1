/* SPDX-License-Identifier: MIT */
/* random_crop: pad the image by `padding` on every side with `fill`, then take the window of
 * the image's own size at a random offset; that is, shift the image by (dy, dx), each drawn
 * uniformly from [-padding, padding], filling what comes in from outside. The output keeps
 * the input's shape (a transform never changes it), so there is no crop size option: the
 * window is always H x W, and the meaningful bound is on padding, which may not exceed the
 * image's height or width (beyond that a window could lie wholly outside the image).
 * Draws, in order: dy = tf_below(2p+1) - p, then dx likewise. */
#include "tf_common.h"
#include "tf_entries.h"

static const char *const WHO = "random_crop";

typedef struct crop {
    tf_base b;
    int32_t padding;
} crop;

static int crop_create(const ml_host *host, const ml_opts *opts, const ml_shape *in,
                       int32_t dtype, void **self, ml_err *err)
{
    tf_base b;
    int64_t p = host->opt_int(opts, "padding");
    int rc = tf_check_dtype(WHO, host, dtype, 0, err);
    if (rc || (rc = tf_base_init(WHO, host, in, dtype, 1, &b, err)))
        return rc;
    if (p < 0)
        return host->error(err, ML_ERR_INVALID, "%s: padding=%lld is negative; use padding "
                           ">= 0 (0 leaves the image as it is)", WHO, (long long)p);
    if (p > b.h || p > b.w)
        return host->error(err, ML_ERR_INVALID, "%s: padding=%lld is larger than the %dx%d "
                           "image (the window could move off the image entirely); use 0 <= "
                           "padding <= %d", WHO, (long long)p,
                           b.h, b.w, b.h < b.w ? b.h : b.w);
    if ((rc = tf_set_fill(WHO, host, host->opt_float(opts, "fill"), &b, err)))
        return rc;
    crop *c = tf_new(WHO, &b, sizeof *c, err);
    if (!c)
        return ML_ERR_NOMEM;
    c->padding = (int32_t)p;
    *self = c;
    return ML_OK;
}

/* The unshifted example, to read from while x is rewritten. */
static size_t crop_workspace(void *self)
{
    const crop *c = self;
    return (size_t)c->b.numel * c->b.esize;
}

static int crop_apply(void *self, ml_ctx *ctx, void *x, float *y, void *ws, ml_err *err)
{
    const crop *c = self;
    const tf_base *b = &c->b;
    const size_t es = b->esize;
    (void)y, (void)err;
    if (c->padding == 0)
        return ML_OK;   /* and no draws: a zero-padding crop is the identity */
    int32_t span = 2 * c->padding + 1;
    int32_t dy = (int32_t)tf_below(b->host, ctx, span) - c->padding;
    int32_t dx = (int32_t)tf_below(b->host, ctx, span) - c->padding;
    if (dy == 0 && dx == 0)
        return ML_OK;
    unsigned char *out = x;
    const unsigned char *src = ws;
    memcpy(ws, x, (size_t)b->numel * es);
    /* Output (i, j) reads input (i + dy, j + dx): rows [i0, i1) and columns [j0, j1) of
     * the output have a source pixel, the rest is fill. */
    int32_t i0 = dy < 0 ? -dy : 0, i1 = dy > 0 ? b->h - dy : b->h;
    int32_t j0 = dx < 0 ? -dx : 0, j1 = dx > 0 ? b->w - dx : b->w;
    for (int32_t ch = 0; ch < b->c; ch++)
        for (int32_t i = 0; i < b->h; i++) {
            unsigned char *row = out + ((size_t)ch * b->h + i) * b->w * es;
            int inside = i >= i0 && i < i1;
            for (int32_t j = 0; j < b->w; j++)
                if (!inside || j < j0 || j >= j1)
                    tf_copy1(row + (size_t)j * es, b->fill, es);
            if (inside)
                memcpy(row + (size_t)j0 * es,
                       src + (((size_t)ch * b->h + i + dy) * b->w + j0 + dx) * es,
                       (size_t)(j1 - j0) * es);
        }
    return ML_OK;
}

static const ml_opt_spec crop_opts[] = {
    { "padding", ML_OPT_INT, "4", "pixels of fill around the image; the shift is drawn from "
      "[-padding, padding] on each axis (0 <= padding <= H and W)", NULL },
    { "fill", ML_OPT_FLOAT, "0", "value of the pixels from outside, in the stored units "
      "(0..255 for uint8 images)", NULL },
    { NULL, 0, NULL, NULL, NULL },
};

static const ml_gradcheck_case crop_cases[] = {
    { "padding=2", { 3, { 3, 8, 8 } }, 0 },
    { "padding=1 fill=1", { 2, { 5, 4 } }, 0 },
};
ML_GRADCHECK_EXTENSION(crop_ext, crop_cases)

const ml_entry ml_tf_random_crop_entry = ML_ENTRY_INIT(ML_KIND_TRANSFORM, "random_crop",
    "1.0.0", "Shift the image by up to `padding` pixels each way, filling the border (the "
    "padded random crop)", crop_opts, crop_ext, ml_transform_vtable, .create = crop_create,
    .destroy = tf_destroy, .flags = 0, .workspace = crop_workspace, .apply = crop_apply);
