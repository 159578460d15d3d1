/* SPDX-License-Identifier: MIT */
/* The switcher's U-Net: reads a weight matrix as a one-channel image and returns one
 * pre-activation value per pixel (the caller collapses and rectifies). Built from nn.so's
 * conv2d, batchnorm and maxpool2d through the host's sublayer services; the 2x2 stride-2
 * transposed convolutions, the ReLUs, the skip concatenation and the 1x1 head are ours. */
#ifndef MODLAB_PLUGINS_SWITCHER_UNET_H
#define MODLAB_PLUGINS_SWITCHER_UNET_H

#include <modlab/plugin.h>

enum { UNET_MAX_DEPTH = 4 };

typedef struct unet_level {
    int ch, h, w;                       /* channels and size of this level's activations */
    ml_sublayer *enc_conv, *enc_bn, *pool, *dec_conv, *dec_bn;
    ml_param *up_w, *up_b;              /* transposed conv from the level below {cin,ch,2,2} */
    size_t ec, eb, ea, pooled, cat, dc, db, da, g_skip;   /* workspace offsets (bytes) */
    size_t ws_enc_bn, ws_pool, ws_dec_bn;                 /* sublayer workspace offsets */
} unet_level;

typedef struct unet {
    const ml_host *h;
    int depth, base, rows, cols, hp, wp;  /* image rows x cols, padded to hp x wp */
    unet_level lv[UNET_MAX_DEPTH + 1];    /* lv[depth] is the bottom (no pool, no decoder) */
    ml_param *head_w, *head_b;            /* 1x1 conv to one channel */
    size_t in_off, p_off, g0, g1, gcat, conv_ws, ws_bytes;
} unet;

/* Build for a rows x cols image under parameter prefix "unet". head_bias starts the output
 * near that value (so gates start open). */
int unet_init(unet *u, const ml_host *h, ml_ctx *ctx, int rows, int cols, int depth, int base,
              float head_bias, ml_err *err);
/* Bytes of workspace (fixed: the U-Net always sees one image). */
size_t unet_workspace(const unet *u);
/* image: rows x cols, row-major. out: rows x cols pre-activations. */
int unet_forward(unet *u, ml_ctx *ctx, const float *image, float *out, void *ws, ml_err *err);
/* gout: dL/dout (rows x cols). Accumulates parameter gradients when params != 0; writes
 * dL/dimage into gimage when it is not NULL. Uses the activations forward left in ws. */
int unet_backward(unet *u, ml_ctx *ctx, const float *gout, float *gimage, int params,
                  void *ws, ml_err *err);

/* The U-Net as a layer of its own (unet_layer.c), registered next to the switcher. */
extern const ml_entry switcher_unet_entry;

#endif
