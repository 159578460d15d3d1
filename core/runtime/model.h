/* SPDX-License-Identifier: MIT */
/* Model internals shared by the model, trainer, host table, gradient check and checkpoints. */
#ifndef MODLAB_CORE_MODEL_H
#define MODLAB_CORE_MODEL_H

#include "formats/json.h"
#include "runtime/registry.h"
#include "base/rng.h"

struct ml_ctx {
    ml_model *model;
    int32_t layer;       /* index in the model */
    int creating;        /* param_new is valid only inside create */
    ml_rng rng;
    char prefix[64];     /* sublayers: "<prefix>." before their parameter names */
};

/* A layer created inside another layer's create (composite layers). */
struct ml_sublayer {
    ml_entry entry;
    ml_layer_vtable vt;
    void *self;
    ml_ctx ctx;               /* used only while creating: names and seeds parameters */
    ml_shape in, out;
    struct ml_sublayer *next; /* the model's list, destroyed with it */
};

typedef struct ml_layer_slot {
    ml_entry entry;          /* copies: the registry may grow and move its array */
    ml_layer_vtable vt;
    ml_opts *opts;
    void *self;
    ml_ctx ctx;
    ml_shape in, out;
    int64_t out_numel;       /* per example */
    void *ws;                /* workspace(self, max_batch) bytes */
    float *act;              /* output, max_batch x out */
    float *gact;             /* dL/d output, max_batch x out */
    int32_t first_param, nparams;
    const ml_diagnostics_iface *diag;   /* NULL: the layer reports nothing */
} ml_layer_slot;

struct ml_model {
    ml_registry *reg;
    uint64_t seed;
    ml_layer_slot *layers;
    int32_t n, cap;
    int built, training;
    int32_t max_batch;
    ml_shape in;
    int64_t in_numel;
    float *gin;              /* dL/d model input, only for the gradient check */
    ml_param **params;
    char **param_names;
    int32_t np, capp;
    uint64_t forward_count;  /* seeds per-forward randomness (dropout) */
    struct ml_sublayer *subs;
    ml_jbuf diag_text;       /* the last ml_model_diagnostics answer */
};

/* Forward a batch; x is read, never written. */
int mli_model_forward_into(ml_model *m, const float *x, int32_t batch, ml_err *err);
/* Backward from the gradient in the last layer's gact; want_gin also computes m->gin. */
int mli_model_backward(ml_model *m, const float *x, int32_t batch, int want_gin, ml_err *err);
void mli_model_zero_grad(ml_model *m);
/* Sum of the aux losses; accumulates scale * gradients when scale != 0. */
int mli_model_aux_loss(ml_model *m, float scale, double *total, ml_err *err);
const float *mli_model_output(const ml_model *m);
/* The host's param_new service. */
ml_param *mli_ctx_param_new(ml_ctx *ctx, const char *name, const ml_shape *shape,
                           uint32_t flags, ml_err *err);

/* Diagnostics (core/runtime/diagnostics.c): the interface an entry offers, if usable, and the
 * trainer's per-batch feed. */
const ml_diagnostics_iface *mli_diag_iface_of(const ml_entry *e);
void mli_model_diag_observe(ml_model *m, const float *targets, int32_t batch,
                           int32_t target_numel);

/* The host's sublayer services (core/runtime/sublayer.c). */
ml_sublayer *mli_sublayer_new(ml_ctx *ctx, const char *prefix, const char *layer,
                             const char *options, const ml_shape *in, ml_err *err);
const ml_shape *mli_sublayer_out_shape(const ml_sublayer *s);
size_t mli_sublayer_workspace(const ml_sublayer *s, int32_t batch);
int mli_sublayer_forward(ml_sublayer *s, ml_ctx *ctx, const ml_view *in, ml_view *out,
                        void *ws, ml_err *err);
int mli_sublayer_backward(ml_sublayer *s, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                         const ml_view *gout, ml_view *gin, int params, void *ws,
                         ml_err *err);
void *mli_sublayer_self(ml_sublayer *s);
void mli_sublayers_free(ml_sublayer *head);

#endif
