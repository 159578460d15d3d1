/* SPDX-License-Identifier: MIT */
/* modular: M dense or conv modules and a controller choosing K of them per input row
 * (Kirsch et al. 2018). Shared layout of the layer's state and workspace; the files split
 * the work: modular.c (entry, create, shapes), modular_route.c (controller and selection),
 * modular_dense.c (bucketed module GEMMs of either op), modular_gemm.c (a kernel for
 * GEMMs of few rows or few outputs), modular_conv.c (a conv module's patches and output
 * layout), modular_em.c (E-step protocol, M-step and REINFORCE losses), modular_state.c
 * (checkpoint state), modular_diag.c (diagnostics). */
#ifndef MODLAB_PLUGIN_MODULAR_H
#define MODLAB_PLUGIN_MODULAR_H

#include <modlab/plugin.h>

enum { MOD_EM = 0, MOD_REINFORCE = 1, MOD_NOISY_TOPK = 2 };
enum { OP_DENSE = 0, OP_CONV = 1 };
enum { DIAG_CLASSES = 100 };   /* classes tracked in the co-occurrence table */

/* Workspace of one forward (rows = batch * rows per example, A = rows * K assignments).
 * Pointers are recomputed from the base with mod_ws_layout. */
typedef struct mod_ws {
    float *logits;     /* rows x heads*M: controller logits (noisy: clean gating logits) */
    float *prob;       /* rows x heads*M: softmax per head (noisy: noise logits) */
    float *nlog;       /* noisy: rows x M noise-scale logits */
    float *eps;        /* noisy: rows x M standard normal noise */
    float *dlog;       /* rows x heads*M: gradient of the controller logits / uniforms */
    float *dnoise;     /* noisy: rows x M gradient of the noise logits */
    int32_t *sel;      /* A: chosen module of each assignment (row * K + k) */
    float *gate;       /* A: weight of each assignment, 0 for a repeated module */
    float *dgate;      /* A: dL/dgate (noisy) */
    int32_t *start;    /* M + 1: bucket offsets */
    int32_t *fill;     /* M: bucket cursors while filling */
    int32_t *order;    /* A: assignments sorted by module */
    /* Module GEMM operands, A * mrows rows each (see modular.mrows): */
    float *xg, *yg;    /* gathered inputs (x min), module outputs before the gate (x mout) */
    float *gg, *gx;    /* gathered output gradients (x mout), input gradients (x min) */
} mod_ws;

/* A conv module's geometry: {c,h,w} -> {out,oh,ow}, kernel k, stride s, padding p. */
typedef struct mod_conv {
    int32_t c, h, w, k, s, p, oh, ow;
} mod_conv;

typedef struct modular {
    const ml_host *h;
    int32_t M, K, heads, in, out, rows;   /* rows: input rows per example */
    int mode, op;
    /* Every assignment is mrows GEMM rows of min features -> mout: dense 1, in, out; conv
     * oh*ow patches of c*k*k -> out channels. ynum: output floats per input row. */
    int32_t mrows, min, mout, ynum;
    mod_conv cv;
    int32_t chunk;    /* conv: assignments whose patch rows one GEMM takes */
    int small_gemm;   /* option small_gemm: few-row buckets skip the sgemm (modular_gemm.c) */
    int32_t samples, estep_every;
    float baseline_decay;
    ml_param *w, *b, *cw, *cb, *nw, *nb;  /* modules, controller, noise net (noisy) */
    /* Selection store: K choices per (example id, row); the EM a* or REINFORCE's sample. */
    int32_t *store;
    int64_t store_ids;
    uint64_t store_seed;    /* initial a* are a hash of (seed, id, row, k): reproducible */
    /* The current training batch, from begin_batch. */
    int64_t *ids;
    int32_t ids_cap, nids, candidate, ncand;
    int64_t steps;
    int32_t *best_sel;      /* candidates' best choice per row of the batch */
    double *best, *reward;  /* per row of the batch */
    int have_reward;
    double baseline;
    int baseline_set;
    /* The last forward, for aux_loss, the E-step and diagnostics (borrowed host memory). */
    const float *last_in;
    void *last_ws;
    int32_t last_batch, last_training;
    /* Diagnostics tallies. */
    double diag_entropy, diag_rows, diag_eff_batch, diag_batches;
    double *diag_use;       /* M */
    double *diag_q;         /* M: one batch's module use */
    double *diag_cooc;      /* M x DIAG_CLASSES */
    int32_t diag_classes;
    double *diag_runs;      /* M: forwards in which the module's GEMM ran */
} modular;

void mod_ws_layout(const modular *L, void *base, int32_t batch, mod_ws *w);
size_t mod_ws_bytes(const modular *L, int32_t batch);

/* modular_route.c */
/* Controller logits (and noisy top-k's noise logits) of nrows input rows. */
void mod_controller(modular *L, const float *x, int32_t nrows, mod_ws *w);
/* w->prob from w->logits; every user of prob calls it first. */
void mod_softmax(const modular *L, int32_t nrows, mod_ws *w);
/* Chooses modules and gates for a batch (`batch` examples); nonzero when the stored
 * example ids are for another batch size. */
int mod_select(modular *L, ml_ctx *ctx, int32_t batch, int training, mod_ws *w);
double mod_row_log_prior(const modular *L, const mod_ws *w, int32_t row);
/* Noisy top-k: from dL/dgate (w->dgate) to the clean and noise logits (dlog, dnoise). */
void mod_noisy_gate_grad(const modular *L, int32_t nrows, mod_ws *w);

/* modular_dense.c: the bucketed module GEMMs of either op. */
void mod_buckets(const modular *L, int32_t nrows, mod_ws *w);
void mod_modules_forward(modular *L, const float *x, float *y, int32_t nrows, mod_ws *w);
void mod_modules_backward(const modular *L, const float *x, const float *gy, float *gx,
                          int want_params, mod_ws *w);

/* modular_gemm.c: y (c x out) = x (c x in) W^T (W out x in, beta 0) where the kernel beats
 * the sgemm (mod_small_gemm_takes); returns 0 (nothing done) otherwise: use the sgemm. */
enum { MOD_SMALL_ROWS = 128, MOD_NARROW_OUT = 16, MOD_WIDE_MIN_IN = 256 };
int mod_small_gemm_takes(int32_t c, int32_t out, int32_t in);
int mod_small_gemm(int32_t c, int32_t out, int32_t in, const float *x, const float *w,
                   float *y);
/* The kernel itself (x86-64 only; call only where the CPU has the instructions):
 * modular_gemm_avx2.c needs AVX2 + FMA, modular_gemm_avx512.c AVX-512F. */
void mod_gemm_nt_avx2(int32_t c, int32_t out, int32_t in, const float *x, const float *w,
                      float *y);
void mod_gemm_nt_avx512(int32_t c, int32_t out, int32_t in, const float *x, const float *w,
                        float *y);

/* modular_conv.c: one example's patch rows (oh*ow x c*k*k) and their gradient back. */
void mod_im2row(const mod_conv *cv, const float *x, float *rows);
void mod_row2im_add(const mod_conv *cv, const float *rows, float *gx);
/* y (out x oh*ow, channel-major) = or += g * (yj (oh*ow x out) + bias). */
void mod_conv_scatter(const modular *L, float g, const float *yj, const float *bias,
                      float *y, int overwrite);
/* d (oh*ow x out) = g * gy (channel-major); returns <gy, yj> for noisy top-k's gate. */
double mod_conv_gather_grad(const modular *L, float g, const float *gy, const float *yj,
                            float *d);

/* modular_state.c: the vtable's save/load (stored selections, REINFORCE baseline). */
int mod_save(void *self, void *buf, size_t cap, size_t *len, ml_err *err);
int mod_load(void *self, const void *buf, size_t len, const char *saved_version,
             ml_err *err);

/* modular_em.c */
extern const ml_estep_iface mod_estep_iface;
int mod_aux_loss(void *self, ml_ctx *ctx, float scale, double *value, ml_err *err);

/* modular_diag.c */
extern const ml_diagnostics_iface mod_diag_iface;

#endif
