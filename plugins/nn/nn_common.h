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

/* Four floats as one GCC/Clang vector (an SSE register): at -O2 gcc 12 neither loop- nor
 * SLP-vectorises the exp below (selects, an int conversion, bit casts; checked in the asm),
 * so the loops that need it say what they mean in vectors, two per step for eight lanes in
 * flight. Loads and stores go through memcpy, which compiles to unaligned moves. 16 bytes,
 * not 32: wider vectors in a signature change the ABI without AVX, which -Wpsabi rejects. */
typedef float nn_v4f __attribute__((vector_size(16)));
typedef int32_t nn_v4i __attribute__((vector_size(16)));
typedef double nn_v4d __attribute__((vector_size(32)));   /* locals only */
#define NN_V4F(c) ((nn_v4f){ (c), (c), (c), (c) })

static inline nn_v4f nn_v4f_load(const float *x)
{
    nn_v4f v;
    memcpy(&v, x, sizeof v);
    return v;
}

static inline void nn_v4f_store(float *x, nn_v4f v)
{
    memcpy(x, &v, sizeof v);
}

/* mask ? a : b, lane by lane, for a comparison's all-ones / all-zeros mask. */
static inline nn_v4f nn_v4f_sel(nn_v4i mask, nn_v4f a, nn_v4f b)
{
    return (nn_v4f)(((nn_v4i)a & mask) | ((nn_v4i)b & ~mask));
}

/* e^x in float for the shifted arguments of softmax and cross-entropy (x <= 0 there; valid
 * for x <= 88), four at a time (libm's double exp, a call per element, was 27% of the
 * language model's profile). Cephes' expf: x = n ln2 + r with |r| <= ln2/2 (n rounded to
 * nearest by adding and subtracting 1.5 * 2^23, ln2 split in two so n ln2 is exact), a
 * degree-7 polynomial for e^r, and 2^n built in the exponent bits. Maximum relative error
 * 1e-7 (8.2e-8 measured, under 1 ulp) on [-87.3, 88], where the result is a normal float;
 * test_nn_expf sweeps it against libm. Below ln(FLT_MIN) = -87.34 it returns exactly 0 (e^x < 1.2e-38, and a
 * subnormal would add nothing to a sum of at least 1); NaN gives NaN. */
static inline nn_v4f nn_expf4(nn_v4f x)
{
    const nn_v4f lo = NN_V4F(-87.33654475f), hi = NN_V4F(88.0f);
    nn_v4f xc = nn_v4f_sel(x > hi, hi, x);
    xc = nn_v4f_sel(xc < lo, lo, xc);
    nn_v4f n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    nn_v4f r = (xc - n * 0.693359375f) - n * -2.12194440e-4f;
    nn_v4f p = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
                 4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    nn_v4i bits = (__builtin_convertvector(n, nn_v4i) + 127) << 23;
    return nn_v4f_sel(x < lo, NN_V4F(0.0f), p * (nn_v4f)bits);
}

/* One e^x, bit for bit what nn_expf4 gives in a lane (for the tails of the loops). */
static inline float nn_expf(float x)
{
    return nn_expf4(NN_V4F(x))[0];
}

/* y[i] = e^(x[i] - m) for i < n (y may be x), returning their sum, accumulated in double
 * lanes: 10,000 terms in one float sum would lose ~4 digits of the loss. With y NULL only
 * the sum (a forward pass that needs no gradient). The softmax numerator and denominator
 * in one vectorised pass. */
static inline double nn_exp_shifted(const float *x, float *y, int64_t n, float m)
{
    nn_v4d acc0 = { 0 }, acc1 = { 0 };
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        nn_v4f e0 = nn_expf4(nn_v4f_load(x + i) - m), e1 = nn_expf4(nn_v4f_load(x + i + 4) - m);
        if (y) {
            nn_v4f_store(y + i, e0);
            nn_v4f_store(y + i + 4, e1);
        }
        acc0 += __builtin_convertvector(e0, nn_v4d);
        acc1 += __builtin_convertvector(e1, nn_v4d);
    }
    nn_v4d acc = acc0 + acc1;
    double s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (; i < n; i++) {
        float e = nn_expf(x[i] - m);
        if (y)
            y[i] = e;
        s += e;
    }
    return s;
}

/* x[i] = x[i] * a - b, eight at a time (gcc -O2 leaves the plain loop scalar). */
static inline void nn_scale_shift(float *x, int64_t n, float a, float b)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        nn_v4f_store(x + i, nn_v4f_load(x + i) * a - b);
        nn_v4f_store(x + i + 4, nn_v4f_load(x + i + 4) * a - b);
    }
    for (; i < n; i++)
        x[i] = x[i] * a - b;
}

#endif
