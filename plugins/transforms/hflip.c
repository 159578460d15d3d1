/* SPDX-License-Identifier: MIT */
/* hflip: mirror the image left-right (the last axis) with probability p.
 * Draws: one tf_u01; the image flips when it is < p (so p = 1 always flips, p = 0 never). */
#include "tf_common.h"
#include "tf_entries.h"

static const char *const WHO = "hflip";

typedef struct hflip {
    tf_base b;
    float p;
} hflip;

static int hflip_create(const ml_host *host, const ml_opts *opts, const ml_shape *in,
                        int32_t dtype, void **self, ml_err *err)
{
    tf_base b;
    double p = host->opt_float(opts, "p");
    int rc = tf_check_dtype(WHO, host, dtype, 0, err);
    if (rc || (rc = tf_base_init(WHO, host, in, dtype, 1, &b, err)) ||
        (rc = tf_check_prob(WHO, host, "p", p, err)))
        return rc;
    hflip *h = tf_new(WHO, &b, sizeof *h, err);
    if (!h)
        return ML_ERR_NOMEM;
    h->p = (float)p;
    *self = h;
    return ML_OK;
}

static int hflip_apply(void *self, ml_ctx *ctx, void *x, float *y, void *ws, ml_err *err)
{
    const hflip *h = self;
    const tf_base *b = &h->b;
    const size_t es = b->esize;
    unsigned char tmp[4];
    (void)y, (void)ws, (void)err;
    if (!(tf_u01(b->host, ctx) < h->p))
        return ML_OK;
    /* Swap values pairwise from both ends of every row, in place. */
    for (int64_t r = 0; r < (int64_t)b->c * b->h; r++) {
        unsigned char *row = (unsigned char *)x + (size_t)r * b->w * es;
        for (int32_t j = 0, k = b->w - 1; j < k; j++, k--) {
            tf_copy1(tmp, row + (size_t)j * es, es);
            tf_copy1(row + (size_t)j * es, row + (size_t)k * es, es);
            tf_copy1(row + (size_t)k * es, tmp, es);
        }
    }
    return ML_OK;
}

static const ml_opt_spec hflip_opts[] = {
    { "p", ML_OPT_FLOAT, "0.5", "probability of flipping an example (0 <= p <= 1)", NULL },
    { NULL, 0, NULL, NULL, NULL },
};

static const ml_gradcheck_case hflip_cases[] = {
    { "", { 3, { 3, 5, 6 } }, 0 },
    { "p=1", { 2, { 4, 7 } }, 0 },
};
ML_GRADCHECK_EXTENSION(hflip_ext, hflip_cases)

const ml_entry ml_tf_hflip_entry = ML_ENTRY_INIT(ML_KIND_TRANSFORM, "hflip", "1.0.0",
    "Mirror the image left-right with probability p", hflip_opts, hflip_ext,
    ml_transform_vtable, .create = hflip_create, .destroy = tf_destroy, .flags = 0,
    .workspace = NULL, .apply = hflip_apply);
