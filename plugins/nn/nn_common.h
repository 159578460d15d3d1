/* SPDX-License-Identifier: MIT */
/* Internal helpers shared by the nn plugin's layer files (never installed). */
#ifndef MODLAB_PLUGINS_NN_COMMON_H
#define MODLAB_PLUGINS_NN_COMMON_H

#include <math.h>
#include <modlab/plugin.h>
#include <stdio.h>
#include <string.h>

/* Every instance struct of this plugin starts with the host pointer: destroy() receives no
 * host, so this is how an instance frees itself without a mutable global. */
typedef struct nn_base {
    const ml_host *host;
} nn_base;

static inline void nn_destroy(void *self)
{
    if (self)
        ((nn_base *)self)->host->free(self);
}

/* The instance of a layer that keeps only its elements per example (sigmoid, tanh,
 * flatten): created by nn_numel_create, `who` naming the layer in messages, `variant`
 * telling apart the layers of a file that defines several (saturating.c: 1 for tanh). */
typedef struct nn_numel {
    const ml_host *host;
    int64_t numel;
    int variant;
} nn_numel;

static inline int nn_numel_create(const char *who, int variant, const ml_host *host,
                                  const ml_shape *in, void **self, ml_err *err)
{
    nn_numel *n = (nn_numel *)host->alloc(sizeof *n);
    if (!n)
        return host->error(err, ML_ERR_NOMEM, "%s: out of memory", who);
    n->host = host;
    n->numel = ml_shape_numel(in);
    n->variant = variant;
    *self = n;
    return 0;
}

/* The instance of a layer over the rows of its last dimension (softmax.c: softmax, and
 * log_softmax as variant 1). */
typedef struct nn_rows {
    const ml_host *host;
    int64_t rows;   /* per example */
    int64_t cols;   /* the last dimension */
    int variant;
} nn_rows;

static inline int nn_rows_create(const char *who, int variant, const ml_host *host,
                                 const ml_shape *in, void **self, ml_err *err)
{
    nn_rows *r;
    if (in->ndim < 1)
        return host->error(err, ML_ERR_SHAPE, "%s: input is a scalar; it needs at least one "
                           "dimension (%s runs over the last one)", who, who);
    r = (nn_rows *)host->alloc(sizeof *r);
    if (!r)
        return host->error(err, ML_ERR_NOMEM, "%s: out of memory", who);
    r->host = host;
    r->cols = in->dim[in->ndim - 1];
    r->rows = r->cols ? ml_shape_numel(in) / r->cols : 0;
    r->variant = variant;
    *self = r;
    return 0;
}

/* Workspace carve-up: every block starts 64-byte aligned (the host's ws is). */
static inline size_t nn_align(size_t bytes)
{
    return (bytes + 63) & ~(size_t)63;
}

/* tanh within ~3 float ulps, about 6x faster than glibc's tanhf (which dominated the LSTM
 * and tanh layers): a Taylor polynomial near 0, where 1 - 2/(e^2x + 1) would cancel, and
 * that formula elsewhere (clamped at 10, where it rounds to 1 exactly). NaN propagates. */
static inline float nn_tanhf(float x)
{
    /* A branch, not a select: it skips expf for small inputs, which wins even when it
     * mispredicts (measured). */
    float ax = fabsf(x);
    if (ax < 0.25f) {
        float x2 = x * x;
        return x * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315 +
                                                                      x2 * (62.0f / 2835)))));
    }
    float e = expf(2.0f * (ax > 10.0f ? 10.0f : ax));
    return copysignf(1.0f - 2.0f / (e + 1.0f), x);
}

/* Sum of x[0..n) in float with eight independent partial sums: the compiler may not reorder
 * a single running float sum (no -ffast-math), so a plain loop is latency-bound and scalar;
 * eight lanes vectorise and also lose less precision than one long chain. */
static inline double nn_sum(const float *x, int64_t n)
{
    float acc[8] = { 0 };
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += x[i + k];
    double s = 0.0;
    for (int k = 0; k < 8; k++)
        s += acc[k];
    for (; i < n; i++)
        s += x[i];
    return s;
}

/* Sum of (x[i] - m)^2, eight lanes as nn_sum. */
static inline double nn_sumsq_centered(const float *x, int64_t n, float m)
{
    float acc[8] = { 0 };
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += (x[i + k] - m) * (x[i + k] - m);
    double s = 0.0;
    for (int k = 0; k < 8; k++)
        s += acc[k];
    for (; i < n; i++)
        s += (double)(x[i] - m) * (x[i] - m);
    return s;
}

/* Sum of a[i] * b[i], eight lanes as nn_sum. */
static inline double nn_dot(const float *a, const float *b, int64_t n)
{
    float acc[8] = { 0 };
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += a[i + k] * b[i + k];
    double s = 0.0;
    for (int k = 0; k < 8; k++)
        s += acc[k];
    for (; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

#endif
