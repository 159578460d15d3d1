/* SPDX-License-Identifier: MIT */
/* graphsync: the instance struct and the pieces the plugin's files share (never installed).
 * The layer is N units on a dense learnable graph A, run for T synchronous steps:
 * h_t = act(h_{t-1} A + x U + b), h_0 = 0, output h_T. See docs/graphsync.md. */
#ifndef MODLAB_PLUGINS_GRAPHSYNC_LAYER_H
#define MODLAB_PLUGINS_GRAPHSYNC_LAYER_H

#include <modlab/plugin.h>
#include <stddef.h>

enum gs_act { GS_TANH, GS_RELU, GS_SIGMOID };
enum gs_reg { GS_REG_NONE, GS_REG_SPECTRAL, GS_REG_ASSIGN };

/* Scratch for the eigensolver and the clustering, sized in create so that aux_loss and the
 * prune step (which runs inside a training forward pass) allocate nothing. */
typedef struct gs_scratch {
    float *lap;        /* N x N: normalised Laplacian, overwritten by ssyevr */
    float *evals;      /* N */
    float *evecs;      /* N x K, column-major (LAPACK's layout): eigenvector k at k*N */
    float *work;       /* ssyevr's work arrays, sizes from a workspace query */
    int *iwork, *isuppz;
    int lwork, liwork;
    double *deg;       /* N: weighted degrees */
    double *gw;        /* N x N: dR/dW, or the assign term's dR/dS scratch */
    float *centers;    /* K x K: k-means centres in the spectral embedding */
    float *emb;        /* N x K: the embedding, rows scaled to unit length */
    int32_t *label;    /* N: a hard assignment being computed */
} gs_scratch;

typedef struct gs_layer {
    const ml_host *h;
    int32_t n, d, t, k;          /* units, input features, steps, modules */
    int act, reg;
    float balance;
    int64_t prune_after;         /* backward passes before the hard assignment; 0: never */
    int64_t steps_seen;          /* training backward passes so far (saved) */
    int blocked;                 /* 1: run as K block GEMMs (pruned, or a fixed mask) */
    int fixed_mask;              /* mask=random_blocks: blocks fixed at create */
    ml_param *a, *u, *b;         /* A: N x N, U: D x N, b: N */
    ml_param *q;                 /* assign only: N x K logits of the soft assignment */
    ml_param *assignment;        /* buffer {N}: module of each unit once blocked, else -1 */
    ml_param *snapshot;          /* buffer {N, N}: A as it was when the layer was pruned */
    int32_t *module;             /* N: module of each unit (valid when blocked) */
    int32_t *perm;               /* N: units ordered by module (internal order) */
    int32_t *start;              /* K + 1: module k holds perm[start[k] .. start[k+1]) */
    gs_scratch s;
} gs_layer;

/* Workspace header; the float buffers follow it, each 64-byte aligned. backward_params and
 * backward_input both need the whole backward sweep; the first caller runs it and
 * `gout_hash` lets the other reuse it only for the same gout (as the nn lstm does). */
typedef struct gs_ws_head {
    int32_t bptt_done;
    uint64_t gout_hash;
} gs_ws_head;

typedef struct gs_bufs {
    float *zx;     /* B x N: x U + b, original unit order */
    float *zp;     /* B x N: the same in internal order (blocked) */
    float *hs;     /* T x B x N: h_1..h_T in internal order */
    float *dz;     /* T x B x N: dL/d(pre-activation) of each step, internal order */
    float *g;      /* B x N: dL/dh_t being carried backwards */
    float *gp;     /* B x N: gout in internal order (blocked) */
    float *dzx;    /* B x N: sum over steps of dz, original order */
    float *ablk;   /* sum_k n_k^2: the diagonal blocks of A gathered (blocked) */
    float *gblk;   /* sum_k n_k^2: their gradient before it is scattered into A's */
} gs_bufs;

size_t gs_workspace(void *self, int32_t batch);
void gs_bufs_of(const gs_layer *l, int32_t batch, void *ws, gs_bufs *bf);

/* gs_forward.c */
int gs_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
               ml_err *err);
int gs_backward_input(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                      const ml_view *gout, ml_view *gin, void *ws, ml_err *err);
int gs_backward_params(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                       const ml_view *gout, void *ws, ml_err *err);

/* gs_spectral.c: R = sum of the K smallest eigenvalues of the normalised Laplacian of
 * W = |A| + |A|^T (diagonal left out); adds scale * dR/dA when scale != 0. */
int gs_spectral_loss(gs_layer *l, float scale, double *value, ml_err *err);
/* The K smallest eigenvectors of that Laplacian into l->s.evecs (0, or an error). */
int gs_spectral_embed(gs_layer *l, ml_err *err);

/* gs_assign.c: R = out-of-module fraction of |A| under S = softmax(Q) + balance * size
 * term + mean entropy of S; adds scale * dR/d(A, Q) when scale != 0. */
int gs_assign_loss(gs_layer *l, float scale, double *value);

/* gs_modules.c: hard assignment, block structure, pruning, statistics. */
int gs_hard_assign(gs_layer *l, int32_t *label, ml_err *err);
void gs_set_blocks(gs_layer *l, const int32_t *label);
int gs_prune(gs_layer *l, ml_err *err);
double gs_in_module_mass(const gs_layer *l, const float *a, const int32_t *label);
size_t gs_report(void *self, char *buf, size_t cap);

#endif
