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

/* A layer instance: what parameters, checkpoints and diagnostics are counted by. */
typedef struct ml_layer_slot {
    ml_entry entry;          /* copies: the registry may grow and move its array */
    ml_layer_vtable vt;
    const ml_merge_iface *merge;   /* NULL: a one-input layer */
    ml_opts *opts;
    void *self;
    ml_ctx ctx;
    ml_shape in, out;        /* of its first application (its first input's shape) */
    int32_t first_param, nparams;
    int32_t first_node;      /* the node that created it */
    const ml_diagnostics_iface *diag;   /* NULL: the layer reports nothing */
} ml_layer_slot;

/* One application of a layer instance in the graph. Its buffers are its own, also for a
 * tied instance: a layer keeps per-call state in its workspace, so each application needs
 * its own. */
typedef struct ml_node {
    int32_t layer;           /* index in m->layers */
    int32_t in0, nin;        /* inputs: m->edges[in0 .. in0 + nin), node ids or ML_MODEL_INPUT */
    ml_shape out;
    int64_t out_numel;       /* per example */
    void *ws;                /* workspace(self, max_batch) bytes */
    float *act;              /* output, max_batch x out */
    float *gact;             /* dL/d output, max_batch x out: a shared buffer, valid from
                              * its last reader's backward to its own */
    int needs_grad;          /* it or a node before it trains: backward must reach it */
    int gset;                /* during backward: gact holds a gradient already */
} ml_node;

struct ml_model {
    ml_registry *reg;
    uint64_t seed;
    ml_layer_slot *layers;   /* instances, in creation order */
    int32_t n, cap;
    ml_node *nodes;          /* topological order: a node reads only earlier ones */
    int32_t nn, capn;
    int32_t *edges;
    int32_t ne, cape;
    int32_t out_node;        /* -1 until set: the last node; else outs[0] */
    int32_t outs[ML_MODEL_MAX_OUTPUTS], nouts;   /* the outputs (nouts 0: the last node) */
    int built, training;
    int32_t max_batch;
    ml_shape in;
    int64_t in_numel;
    int gin_set;             /* during backward: m->gin holds a gradient already */
    int32_t norm_ch;         /* input normalisation channels, 0: none (normalization.c) */
    double *norm_mean, *norm_std;
    float *xnorm;            /* max_batch x input: the normalised batch */
    int input_normalized;    /* the trainer's batch is normalised already (fused with its
                              * conversion to float, runtime/pipeline.c): skip it */
    float *gin;              /* dL/d model input, only for the gradient check */
    float **gbufs;           /* the gradient buffers nodes share (graph_memory.c) */
    int32_t ngbufs;
    int64_t grad_bytes, grad_bytes_unshared;   /* their bytes, and without sharing */
    float *gtmp;             /* max_nin slots of gtmp_slot floats, for summing fan-out
                              * gradients; NULL when no node feeds several readers */
    int64_t gtmp_slot;       /* max_batch x the largest node (or input) */
    ml_view *vin, *vgin;     /* max_nin views each, for one node's call */
    int *vadd;               /* max_nin: gradient k went to scratch, add it */
    int32_t max_nin;
    ml_param **params;
    char **param_names;
    int32_t np, capp;
    uint64_t forward_count;  /* seeds per-forward randomness (dropout) */
    struct ml_sublayer *subs;
    ml_jbuf diag_text;       /* the last ml_model_diagnostics answer */
};

/* The node whose output is the model's. */
static inline ml_node *mli_model_out_node(const ml_model *m)
{
    return &m->nodes[m->out_node >= 0 ? m->out_node : m->nn - 1];
}

/* Output k's node index (k < max(nouts, 1)). */
static inline int32_t mli_model_output_index(const ml_model *m, int32_t k)
{
    return m->nouts ? m->outs[k] : m->nn - 1;
}

/* Channels of the input normalisation: the first dim of {C,H,W} inputs, else 1. */
int32_t mli_model_input_channels(const ml_model *m);
/* x, or its normalised copy when the model normalises its input (normalization.c). */
const float *mli_model_input(ml_model *m, const float *x, int32_t batch);
/* Channel c's normalisation as one float multiply-add: x * scale + shift (a std under
 * 1e-12 counts as 1). The trainer's fused reads use the same numbers. */
void mli_model_norm_coeffs(const ml_model *m, int32_t c, float *scale, float *shift);
/* Forward a batch; x is read, never written. */
int mli_model_forward_into(ml_model *m, const float *x, int32_t batch, ml_err *err);
/* Backward from the gradient in the output node's gact; want_gin also computes m->gin. */
int mli_model_backward(ml_model *m, const float *x, int32_t batch, int want_gin, ml_err *err);
void mli_model_zero_grad(ml_model *m);
/* Sum of the aux losses; accumulates scale * gradients when scale != 0. */
int mli_model_aux_loss(ml_model *m, float scale, double *total, ml_err *err);
const float *mli_model_output(const ml_model *m);
/* Give every node a gradient buffer, shared by liveness (core/runtime/graph_memory.c). */
int mli_graph_plan_grads(ml_model *m, ml_err *err);
/* Finite-difference check of a whole model (specified, not yet built) for input `in`
 * (core/runtime/gradcheck.c): graphs are checked as layers are. */
int mli_gradcheck_model(ml_model *m, const ml_shape *in, uint64_t seed,
                        ml_gradcheck_result *res, ml_err *err);
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
