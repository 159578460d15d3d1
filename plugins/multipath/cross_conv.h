/* SPDX-License-Identifier: MIT */
/* cross_prediction's convolutional predictor features (cross_conv.c), used by
 * route_cross.c when predictor=conv. Features are source-major: sp is n x batch x pc. */
#ifndef MODLAB_PLUGINS_MULTIPATH_CROSS_CONV_H
#define MODLAB_PLUGINS_MULTIPATH_CROSS_CONV_H

#include "mp_router.h"

/* One conv3x3 (padding 1, pc output channels) per source path, named conv<i>. */
int cross_conv_init(mp_router *r, ml_ctx *ctx, int32_t pc, ml_err *err);
size_t cross_conv_workspace(const mp_router *r, int32_t batch);
/* sp[i][b] = GAP(relu(conv_i(X_i[b]))). */
int cross_conv_forward(mp_router *r, ml_ctx *ctx, const ml_view *x, float *sp, void *ws,
                       ml_err *err);
/* From gsp (dL/dsp): the convs' parameter gradients when `params`, and dL/dx added into gx
 * when gx != NULL. Uses what the forward left in ws. */
int cross_conv_backward(mp_router *r, ml_ctx *ctx, const ml_view *x, const float *gsp,
                        float *gx, int params, void *ws, ml_err *err);

#endif
