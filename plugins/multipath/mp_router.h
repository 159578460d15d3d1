/* SPDX-License-Identifier: MIT */
/* Routers: the mixing between the paths of consecutive blocks.
 *
 * A router is an ordinary layer {n, ...} -> {n, ...}: for each example it computes an
 * allocation alpha (n x n, alpha[i][j] = share of source path i in destination path j,
 * each column summing to 1) and outputs U_j = sum_i alpha[i][j] X_i. What differs between
 * routers is only how alpha is computed, so each router file supplies an mp_router_ops and
 * this file does the rest: the mixing and its gradients, the workspace, the
 * modlab.diagnostics/1 tallies (per-class mean allocation, entropy, spread across
 * examples). Being layers, routers get the gradient check, checkpoints and sublayer
 * services for free; the multipath block finds its router by name: routing=<name> uses the
 * layer "mp_route_<name>", so another plugin can ship a router for the same block. */
#ifndef MODLAB_PLUGINS_MULTIPATH_ROUTER_H
#define MODLAB_PLUGINS_MULTIPATH_ROUTER_H

#include "mp_common.h"

enum { MP_ROUTER_MAGIC = 0x6d707274, MP_DIAG_CLASSES = 64 };

typedef struct mp_router mp_router;

typedef struct mp_router_ops {
    const char *name;   /* the routing name: "fdcc" */
    /* Registers the router's own parameters and sublayers. */
    int (*init)(mp_router *r, ml_ctx *ctx, const ml_opts *opts, ml_err *err);
    /* Bytes of scratch the router needs beyond the shared part. */
    size_t (*workspace)(const mp_router *r, int32_t batch);
    /* alpha: batch x n x n. */
    int (*alpha)(mp_router *r, ml_ctx *ctx, const ml_view *x, float *alpha, void *ws,
                 ml_err *err);
    /* From galpha (batch x n x n): accumulate parameter gradients when `params`, and add
     * dL/dx through alpha into gx when gx != NULL. */
    int (*alpha_backward)(mp_router *r, ml_ctx *ctx, const ml_view *x, const float *alpha,
                          const float *galpha, float *gx, int params, void *ws, ml_err *err);
} mp_router_ops;

struct mp_router {
    uint32_t magic;            /* MP_ROUTER_MAGIC: the block checks it before reading */
    const ml_host *h;
    const mp_router_ops *ops;
    int32_t n, c;              /* paths, channels per path */
    int64_t hw, per;           /* pooled positions per channel, floats per path */
    ml_shape path;             /* one path's shape: {C, H, W} or {D} */
    int32_t hidden;            /* fdcc: hidden units */
    int32_t pc;                /* cross_prediction: channels its predictors pool */
    ml_sublayer *sub[MP_MAX_PATHS];
    ml_sublayer *pconv[MP_MAX_PATHS];   /* cross_prediction, predictor=conv (cross_conv.c) */
    ml_param *z;               /* static: the n x n logits */
    /* Diagnostics: alpha of the last forward pass (in its workspace, valid until the
     * next call) and the tallies since reset. */
    const float *last_alpha;
    int32_t last_batch;
    double *class_sum;         /* MP_DIAG_CLASSES x n x n */
    double *sum, *sumsq;       /* n x n each, over all observed examples */
    int64_t class_count[MP_DIAG_CLASSES];
    int64_t count, unlabelled;
    double entropy_sum;
};

/* The layer functions every router shares; a router file names only its ops. */
int mp_router_create(const mp_router_ops *ops, const ml_host *h, ml_ctx *ctx,
                     const ml_opts *opts, const ml_shape *in, void **self, ml_err *err);
void mp_router_destroy(void *self);
size_t mp_router_workspace(void *self, int32_t batch);
int mp_router_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                      ml_err *err);
int mp_router_backward_input(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                             const ml_view *gout, ml_view *gin, void *ws, ml_err *err);
int mp_router_backward_params(void *self, ml_ctx *ctx, const ml_view *in,
                              const ml_view *out, const ml_view *gout, void *ws, ml_err *err);
/* Answers modlab.gradcheck/1 (cases for every router) and modlab.diagnostics/1. */
const void *mp_router_extension(const char *iface);
extern const ml_diagnostics_iface mp_router_diagnostics;

/* The router behind a self pointer, or NULL when it is not one of ours. */
static inline mp_router *mp_router_of(void *self)
{
    mp_router *r = self;
    return r && r->magic == MP_ROUTER_MAGIC ? r : NULL;
}

/* Defines `const ml_entry var`, the layer `layer_name` ("mp_route_<routing>"). */
/* A router file's ops (from its stem_init, stem_workspace, stem_alpha, stem_alpha_backward)
 * and its entry "mp_route_<route>" in one line. */
#define MP_ROUTER(var, stem, route, opts, summary_text)                                    \
    static const mp_router_ops stem##_ops = {                                             \
        .name = (route), .init = stem##_init, .workspace = stem##_workspace,              \
        .alpha = stem##_alpha, .alpha_backward = stem##_alpha_backward};                  \
    MP_ROUTER_ENTRY(var, "mp_route_" route, stem##_ops, opts, summary_text)

#define MP_ROUTER_ENTRY(var, layer_name, ops, opts, summary_text)                        \
    static int var##_create(const ml_host *h, ml_ctx *ctx, const ml_opts *o,              \
                            const ml_shape *in, void **self, ml_err *err)                 \
    {                                                                                     \
        return mp_router_create(&(ops), h, ctx, o, in, self, err);                       \
    }                                                                                     \
    const ml_entry var = ML_ENTRY_INIT(ML_KIND_LAYER, (layer_name), "1.0.0",              \
        (summary_text), (opts), mp_router_extension, ml_layer_vtable,                \
        .create = var##_create, .destroy = mp_router_destroy,                            \
        .infer_shape = ml_infer_same_shape, .workspace = mp_router_workspace,            \
        .forward = mp_router_forward, .backward_input = mp_router_backward_input,        \
        .backward_params = mp_router_backward_params)

#endif
