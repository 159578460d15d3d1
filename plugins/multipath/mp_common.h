/* SPDX-License-Identifier: MIT */
/* Internal helpers shared by the multipath plugin's files (never installed).
 *
 * Multi-path tensors: n paths between layers travel as one ordinary tensor whose leading
 * dimension is the path, {n, C, H, W} (or {n, D}) per example, path-major within an
 * example. So blocks chain in a plain sequential model, and concatenating the paths along
 * channels is a reshape: {n, C, H, W} and {n * C, H, W} are the same bytes. */
#ifndef MODLAB_PLUGINS_MULTIPATH_COMMON_H
#define MODLAB_PLUGINS_MULTIPATH_COMMON_H

#include <math.h>
#include <modlab/plugin.h>
#include <stdio.h>
#include <string.h>

enum { MP_MAX_PATHS = 64 };

/* Workspace carve-up: every block starts 64-byte aligned (the host's ws is). */
static inline size_t mp_align(size_t bytes)
{
    return (bytes + 63) & ~(size_t)63;
}

/* Takes `bytes` (rounded up to 64) from the cursor *at; returns the block's start. */
static inline void *mp_take(char **at, size_t bytes)
{
    void *p = *at;
    *at += mp_align(bytes);
    return p;
}

/* The shape of one path: `s` without its leading path dimension. */
static inline ml_shape mp_path_shape(const ml_shape *s)
{
    ml_shape p = {0, {0}};
    p.ndim = s->ndim - 1;
    for (int32_t i = 1; i < s->ndim; i++)
        p.dim[i - 1] = s->dim[i];
    return p;
}

/* {n, path...} */
static inline ml_shape mp_multi_shape(int32_t n, const ml_shape *path)
{
    ml_shape s = {path->ndim + 1, {n}};
    for (int32_t i = 0; i < path->ndim; i++)
        s.dim[i + 1] = path->dim[i];
    return s;
}

/* Checks that `in` is a multi-path tensor {n, ...} with n in 1..MP_MAX_PATHS and, when
 * want > 0, exactly `want` paths. `who` names the layer in the message. */
static inline int mp_check_multi(const ml_host *h, const char *who, const ml_shape *in,
                                 int32_t want, ml_err *err)
{
    char sb[96];
    if (in->ndim < 2 || in->ndim > ML_MAX_DIMS)
        return h->error(err, ML_ERR_SHAPE, "%s: input %s is not a multi-path tensor "
                        "{paths, ...}; start multi-path land with mp_split", who,
                        ml_shape_str(in, sb, sizeof sb));
    if (in->dim[0] < 1 || in->dim[0] > MP_MAX_PATHS)
        return h->error(err, ML_ERR_SHAPE, "%s: input %s has %d paths; need 1..%d", who,
                        ml_shape_str(in, sb, sizeof sb), (int)in->dim[0], MP_MAX_PATHS);
    if (want > 0 && in->dim[0] != want)
        return h->error(err, ML_ERR_SHAPE, "%s: mismatched paths: the input %s carries %d "
                        "paths but this layer has paths=%d; give consecutive blocks (and "
                        "mp_split) the same number of paths", who,
                        ml_shape_str(in, sb, sizeof sb), (int)in->dim[0], (int)want);
    return ML_OK;
}

/* The mixing's inner loops, 4 floats at a time through vector extensions (16 bytes: the
 * x86-64 baseline's SSE, lowered to whatever other targets have): gcc -O2 leaves the plain
 * loops scalar, since the arrays might alias. */
typedef float mp_v4 __attribute__((vector_size(16)));

static inline mp_v4 mp_load4(const float *p)
{
    mp_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* u = a x when `overwrite`, else u += a x, over n floats. */
static inline void mp_axpy(float *u, const float *x, float a, int64_t n, int overwrite)
{
    int64_t k = 0;
    for (; k + 4 <= n; k += 4) {
        mp_v4 v = mp_load4(x + k) * a;
        if (!overwrite)
            v += mp_load4(u + k);
        memcpy(u + k, &v, sizeof v);
    }
    for (; k < n; k++)
        u[k] = overwrite ? a * x[k] : u[k] + a * x[k];
}

/* The sum of x over n floats. */
static inline float mp_sum(const float *x, int64_t n)
{
    mp_v4 s0 = {0};
    int64_t k = 0;
    for (; k + 4 <= n; k += 4)
        s0 += mp_load4(x + k);
    float s = s0[0] + s0[1] + s0[2] + s0[3];
    for (; k < n; k++)
        s += x[k];
    return s;
}

/* The dot product of x and y over n floats (two accumulators: the adds' latency). */
static inline float mp_dot(const float *x, const float *y, int64_t n)
{
    mp_v4 s0 = {0}, s1 = {0};
    int64_t k = 0;
    for (; k + 8 <= n; k += 8) {
        s0 += mp_load4(x + k) * mp_load4(y + k);
        s1 += mp_load4(x + k + 4) * mp_load4(y + k + 4);
    }
    for (; k + 4 <= n; k += 4)
        s0 += mp_load4(x + k) * mp_load4(y + k);
    s0 += s1;
    float s = s0[0] + s0[1] + s0[2] + s0[3];
    for (; k < n; k++)
        s += x[k] * y[k];
    return s;
}

/* Channels of one path (its first dimension) and the positions pooled per channel. */
static inline void mp_channels(const ml_shape *path, int32_t *c, int64_t *hw)
{
    *c = path->ndim ? path->dim[0] : 1;
    *hw = ml_shape_numel(path) / *c;
}

/* Global average pool of every path of a batch: x is batch x n x c x hw, s is
 * batch x (n * c) (the concatenation over paths). */
static inline void mp_pool(const float *x, int32_t batch, int32_t n, int32_t c, int64_t hw,
                           float *s)
{
    int64_t rows = (int64_t)batch * n * c;
    for (int64_t r = 0; r < rows; r++)
        s[r] = mp_sum(x + r * hw, hw) / (float)hw;
}

/* Backward of mp_pool: gx += gs / hw spread over the pooled positions. */
static inline void mp_pool_backward(const float *gs, int32_t batch, int32_t n, int32_t c,
                                    int64_t hw, float *gx)
{
    int64_t rows = (int64_t)batch * n * c;
    for (int64_t r = 0; r < rows; r++) {
        float g = gs[r] / (float)hw;
        float *p = gx + r * hw;
        for (int64_t k = 0; k < hw; k++)
            p[k] += g;
    }
}

/* alpha[i * n + j] = softmax over the sources i of z[i * n + j], for each destination j. */
static inline void mp_softmax_sources(const float *z, int32_t n, float *alpha)
{
    for (int32_t j = 0; j < n; j++) {
        float m = z[j];
        for (int32_t i = 1; i < n; i++)
            m = z[i * n + j] > m ? z[i * n + j] : m;
        float sum = 0.0f;
        for (int32_t i = 0; i < n; i++)
            sum += alpha[i * n + j] = expf(z[i * n + j] - m);
        for (int32_t i = 0; i < n; i++)
            alpha[i * n + j] /= sum;
    }
}

/* Backward of mp_softmax_sources: gz = alpha * (galpha - sum_i galpha alpha) per column. */
static inline void mp_softmax_sources_backward(const float *alpha, const float *galpha,
                                               int32_t n, float *gz)
{
    for (int32_t j = 0; j < n; j++) {
        float dot = 0.0f;
        for (int32_t i = 0; i < n; i++)
            dot += galpha[i * n + j] * alpha[i * n + j];
        for (int32_t i = 0; i < n; i++)
            gz[i * n + j] = alpha[i * n + j] * (galpha[i * n + j] - dot);
    }
}

#endif
