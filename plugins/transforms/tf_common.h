/* SPDX-License-Identifier: MIT */
/* Internal helpers shared by the transforms plugin's files (never installed): the instance
 * base every transform starts with, image geometry, values moved by their size, the fill
 * value in the stored dtype, option checks and the random draws. */
#ifndef MODLAB_PLUGINS_TF_COMMON_H
#define MODLAB_PLUGINS_TF_COMMON_H

#include <math.h>
#include <modlab/plugin.h>
#include <stdint.h>
#include <string.h>

/* What every instance starts with. destroy() gets no host, so the instance carries it;
 * everything here is fixed at create: apply runs on several threads at once and only
 * reads it. */
typedef struct tf_base {
    const ml_host *host;
    int32_t dtype;          /* ML_DTYPE_* of the values apply gets */
    size_t esize;           /* bytes of one value */
    int64_t numel;          /* values in one example */
    int32_t c, h, w;        /* image geometry: {C,H,W}, or {H,W} with c = 1 */
    unsigned char fill[4];  /* the fill option as one value of dtype (esize bytes) */
} tf_base;

static inline void tf_destroy(void *self)
{
    if (self)
        ((tf_base *)self)->host->free(self);
}

static inline const char *tf_dtype_name(int32_t dtype)
{
    return dtype == ML_DTYPE_F32 ? "float32" : dtype == ML_DTYPE_U8 ? "uint8"
         : dtype == ML_DTYPE_I16 ? "int16" : dtype == ML_DTYPE_F16 ? "float16" : "unknown";
}

/* IEEE binary16 from a float, rounding to nearest even (the fill value of a float16
 * dataset; apply itself only moves whole values). */
static inline uint16_t tf_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u)   /* Inf stays Inf, NaN stays a quiet NaN */
        return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0));
    if (ax >= 0x477ff000u)   /* rounds to 65520 or more: overflows to Inf */
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) {  /* below 2^-14: subnormal or zero */
        if (ax < 0x33000000u)
            return (uint16_t)sign;
        /* value = m * 2^(e - 150); in units of 2^-24 that is m >> (126 - e). */
        uint32_t m = (ax & 0x7fffffu) | 0x800000u;
        int shift = 126 - (int)(ax >> 23);
        uint32_t half = m >> shift, rem = m & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1u)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = ((ax >> 13) - (112u << 10)), rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
        h++;
    return (uint16_t)(sign | h);
}

/* Refuse a dtype this transform was not written for (values of unknown size cannot even
 * be moved). FLOAT transforms are created for float32 only (the pipeline converts first). */
static inline int tf_check_dtype(const char *who, const ml_host *host, int32_t dtype,
                                 int float_only, ml_err *err)
{
    if (ml_dtype_size(dtype) == 0)
        return host->error(err, ML_ERR_UNSUPPORTED, "%s: unknown value type %d; this "
                           "plugin knows float32, uint8, int16 and float16", who, (int)dtype);
    if (float_only && dtype != ML_DTYPE_F32)
        return host->error(err, ML_ERR_UNSUPPORTED, "%s: works on float32 values, got %s "
                           "(it is flagged ML_TRANSFORM_FLOAT: put it after the conversion "
                           "to float)", who, tf_dtype_name(dtype));
    return ML_OK;
}

/* The fill option as one stored value: integer dtypes take an integer in their range
 * (the stored units: 0..255 for uint8 images, not the float the dataset scales to). */
static inline int tf_set_fill(const char *who, const ml_host *host, double fill, tf_base *b,
                              ml_err *err)
{
    memset(b->fill, 0, sizeof b->fill);
    if (!isfinite(fill))
        return host->error(err, ML_ERR_INVALID, "%s: fill=%g is not a finite number", who,
                           fill);
    if (b->dtype == ML_DTYPE_U8 || b->dtype == ML_DTYPE_I16) {
        double lo = b->dtype == ML_DTYPE_U8 ? 0 : -32768, hi = b->dtype == ML_DTYPE_U8 ? 255
                                                                                      : 32767;
        if (fill != floor(fill) || fill < lo || fill > hi)
            return host->error(err, ML_ERR_INVALID, "%s: fill=%g does not fit the %s values "
                               "of this dataset; use an integer in [%g, %g] (the stored "
                               "units)", who, fill, tf_dtype_name(b->dtype), lo, hi);
        if (b->dtype == ML_DTYPE_U8)
            b->fill[0] = (unsigned char)fill;
        else {
            int16_t v = (int16_t)fill;
            memcpy(b->fill, &v, 2);
        }
    } else if (b->dtype == ML_DTYPE_F16) {
        uint16_t v = tf_f32_to_f16((float)fill);
        memcpy(b->fill, &v, 2);
    } else {
        float v = (float)fill;
        memcpy(b->fill, &v, 4);
    }
    return ML_OK;
}

/* Fill in b (with dtype already checked) from the example shape. Geometric transforms
 * (geometric != 0) need an image, {C,H,W} or {H,W}; the others take any shape and see it
 * as c = 1 rows of numel values. */
static inline int tf_base_init(const char *who, const ml_host *host, const ml_shape *in,
                               int32_t dtype, int geometric, tf_base *b, ml_err *err)
{
    char sb[96];
    memset(b, 0, sizeof *b);
    b->host = host;
    b->dtype = dtype;
    b->esize = ml_dtype_size(dtype);
    for (int32_t i = 0; i < in->ndim; i++)
        if (in->dim[i] <= 0)
            return host->error(err, ML_ERR_SHAPE, "%s: example shape %s has an empty "
                               "dimension", who, ml_shape_str(in, sb, sizeof sb));
    b->numel = ml_shape_numel(in);
    if (in->ndim == 3 || in->ndim == 2) {
        b->c = in->ndim == 3 ? in->dim[0] : 1;
        b->h = in->dim[in->ndim - 2];
        b->w = in->dim[in->ndim - 1];
    } else if (geometric) {
        return host->error(err, ML_ERR_SHAPE, "%s: examples of shape %s are not images; it "
                           "wants {C,H,W} or {H,W} (reshape flat examples first, e.g. "
                           "reshape shape=1x28x28 in the dataset's options)", who,
                           ml_shape_str(in, sb, sizeof sb));
    } else {
        b->c = 1;
        b->h = 1;
        b->w = (int32_t)(b->numel > INT32_MAX ? INT32_MAX : b->numel);
    }
    return ML_OK;
}

/* Allocate an instance of `size` bytes (a struct starting with tf_base) and copy `b` in. */
static inline void *tf_new(const char *who, const tf_base *b, size_t size, ml_err *err)
{
    tf_base *s = (tf_base *)b->host->zalloc(size);
    if (!s) {
        b->host->error(err, ML_ERR_NOMEM, "%s: out of memory", who);
        return NULL;
    }
    *s = *b;
    return s;
}

/* p must be a probability. */
static inline int tf_check_prob(const char *who, const ml_host *host, const char *name,
                                double p, ml_err *err)
{
    if (!(p >= 0.0 && p <= 1.0))
        return host->error(err, ML_ERR_INVALID, "%s: %s=%g is not a probability; use 0 <= "
                           "%s <= 1", who, name, p, name);
    return ML_OK;
}

/* Copy one value of esize bytes (1, 2 or 4): fixed-size memcpy compiles to one move. */
static inline void tf_copy1(unsigned char *dst, const unsigned char *src, size_t esize)
{
    if (esize == 1)
        *dst = *src;
    else if (esize == 2)
        memcpy(dst, src, 2);
    else
        memcpy(dst, src, 4);
}

/* ---- random draws: the only randomness, all from the example's stream (ctx) ---- */

/* Uniform in [0, 1): one value of host->rng_uniform. */
static inline float tf_u01(const ml_host *host, ml_ctx *ctx)
{
    float u;
    host->rng_uniform(ctx, &u, 1, 0.0f, 1.0f);
    return u < 1.0f ? u : 0x1.fffffep-1f;
}

/* Uniform in [lo, hi]: one value of host->rng_uniform. */
static inline float tf_uniform(const ml_host *host, ml_ctx *ctx, float lo, float hi)
{
    float u;
    host->rng_uniform(ctx, &u, 1, lo, hi);
    return u;
}

/* An integer in [0, n), n < 2^32: the top 32 bits of one host->rng_u64, scaled
 * (multiply-shift; the bias for image-sized n is far below 1e-6). */
static inline int64_t tf_below(const ml_host *host, ml_ctx *ctx, int64_t n)
{
    uint64_t u = host->rng_u64(ctx) >> 32;
    return (int64_t)((u * (uint64_t)n) >> 32);
}

#endif
