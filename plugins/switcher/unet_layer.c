/* SPDX-License-Identifier: MIT */
/* switcher_unet: the switcher's U-Net as a layer of its own, {H, W} -> {H, W} (each example
 * one image, its own batch-norm statistics), so its gradients are checked on their own and
 * a recipe can look at what it computes. Output is the pre-activation (no final ReLU). */
#include <string.h>

#include <modlab/plugin.h>

#include "unet.h"

typedef struct unet_layer {
    const ml_host *h;
    unet net;
    int64_t n;   /* pixels of one image */
} unet_layer;

static const ml_opt_spec unet_opts[] = {
    {"depth", ML_OPT_INT, "2", "levels (the image is padded to a multiple of 2^depth)", NULL},
    {"base_channels", ML_OPT_INT, "4", "channels at the top level (doubling down)", NULL},
    {"head_bias", ML_OPT_FLOAT, "0", "initial bias of the 1x1 output conv", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static int ul_create(const ml_host *h, ml_ctx *ctx, const ml_opts *o, const ml_shape *in,
                     void **self, ml_err *err)
{
    unet_layer *u;
    int rc;
    if (in->ndim != 2 || in->dim[0] < 1 || in->dim[1] < 1)
        return h->error(err, ML_ERR_SHAPE, "switcher_unet: input must be one image {H, W}, "
                        "got %d dims", (int)in->ndim);
    if (!(u = h->zalloc(sizeof *u)))
        return h->error(err, ML_ERR_NOMEM, "switcher_unet: out of memory");
    u->h = h;
    u->n = ml_shape_numel(in);
    if ((rc = unet_init(&u->net, h, ctx, in->dim[0], in->dim[1], (int)h->opt_int(o, "depth"),
                        (int)h->opt_int(o, "base_channels"),
                        (float)h->opt_float(o, "head_bias"), err))) {
        h->free(u);
        return rc;
    }
    *self = u;
    return ML_OK;
}

static void ul_destroy(void *self)
{
    unet_layer *u = self;
    u->h->free(u);
}

/* One U-Net workspace per example: backward needs every example's activations. */
static size_t ul_workspace(void *self, int32_t batch)
{
    return (size_t)(batch > 0 ? batch : 1) * unet_workspace(&((unet_layer *)self)->net);
}

static void *slot(unet_layer *u, void *ws, int32_t b)
{
    return (char *)ws + (size_t)b * unet_workspace(&u->net);
}

static int ul_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                      ml_err *err)
{
    unet_layer *u = self;
    for (int32_t b = 0; b < in->batch; b++) {
        int rc = unet_forward(&u->net, ctx, in->data + b * u->n, out->data + b * u->n,
                              slot(u, ws, b), err);
        if (rc)
            return rc;
    }
    return ML_OK;
}

static int ul_bparams(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                      const ml_view *gout, void *ws, ml_err *err)
{
    unet_layer *u = self;
    (void)in, (void)out;
    for (int32_t b = 0; b < gout->batch; b++) {
        int rc = unet_backward(&u->net, ctx, gout->data + b * u->n, NULL, 1, slot(u, ws, b),
                               err);
        if (rc)
            return rc;
    }
    return ML_OK;
}

static int ul_binput(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                     const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    unet_layer *u = self;
    (void)in, (void)out;
    for (int32_t b = 0; b < gout->batch; b++) {
        int rc = unet_backward(&u->net, ctx, gout->data + b * u->n, gin->data + b * u->n, 0,
                               slot(u, ws, b), err);
        if (rc)
            return rc;
    }
    return ML_OK;
}

/* Seeds 1234 + case straddle no kink (see switcher.c's cases; test_switcher checks more). */
static const ml_gradcheck_case ul_cases[] = {
    {"depth=1 base_channels=2", {2, {8, 8}}, 0},
    {"depth=2 base_channels=2", {2, {8, 7}}, 0},
};
ML_GRADCHECK_EXTENSION(ul_extension, ul_cases)

const ml_entry switcher_unet_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "switcher_unet", "1.0.0",
    "the switcher's U-Net on its own: {H,W} image -> {H,W} pre-activation",
    unet_opts, ul_extension, ml_layer_vtable,
    .create = ul_create, .destroy = ul_destroy, .infer_shape = ml_infer_same_shape,
    .workspace = ul_workspace, .forward = ul_forward, .backward_input = ul_binput,
    .backward_params = ul_bparams);
