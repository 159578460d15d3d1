/* SPDX-License-Identifier: MIT */
/* The transform pipeline: a dataset's stored values through a list of transforms, then
 * float32. Each example gets its own random stream per transform, a pure function of
 * (seed, epoch, example index, position), so what a transform does to an example depends on
 * nothing else: not the batch it lands in, the thread that prepares it or prefetching. */
#include <math.h>
#include <string.h>

#include "runtime/dataset.h"
#include "runtime/model.h"
#include "runtime/pipeline.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/rng.h"

enum { MAX_STAGES = 255 };   /* the position is 8 bits of the stream number */

/* The key of the augmentation streams, apart from every other use of the run seed. */
#define AUGMENT_STREAM 0x61756700ULL

typedef struct stage {
    ml_entry entry;
    ml_transform_vtable vt;
    void *self;
    ml_opts *opts;
    int32_t dtype;   /* what apply sees */
} stage;

struct ml_pipeline {
    ml_registry *reg;
    ml_shape shape;
    int64_t numel, ynumel;
    int32_t stored;     /* the dataset's dtype */
    float div;
    int32_t dtype;      /* the dtype the list has reached */
    stage *stages;
    int32_t n, cap;
    size_t ws_bytes;    /* the largest workspace of a stage */
    void *ws;
    void *raw;          /* a batch of stored values */
    size_t raw_bytes;
};

ml_pipeline *ml_pipeline_new(ml_registry *reg, const ml_dataset *d, ml_err *err)
{
    ml_pipeline *p = mli_znew(sizeof *p, "transform pipeline", err);
    if (!p)
        return NULL;
    p->shape = d->info.x_shape;
    p->numel = ml_shape_numel(&d->info.x_shape);
    p->ynumel = ml_shape_numel(&d->info.y_shape);
    p->stored = p->dtype = d->dtype;
    p->div = d->div;
    p->reg = reg;
    return p;
}

void ml_pipeline_free(ml_pipeline *p)
{
    if (!p)
        return;
    for (int32_t k = 0; k < p->n; k++) {
        p->stages[k].vt.destroy(p->stages[k].self);
        ml_opts_free(p->stages[k].opts);
    }
    mli_free(p->stages);
    mli_free(p->ws);
    mli_free(p->raw);
    mli_free(p);
}

int32_t ml_pipeline_length(const ml_pipeline *p) { return p->n; }

int ml_pipeline_add(ml_pipeline *p, const char *name, ml_opts *opts, ml_err *err)
{
    const ml_reg_entry *re;
    char owner[96];
    stage s = {0};
    int rc;
    if (!opts)
        return mli_error(err, ML_ERR_INVALID, "transform %s: no options (give empty ones)",
                         name ? name : "?");
    if (p->n >= MAX_STAGES) {
        rc = mli_error(err, ML_ERR_INVALID, "a pipeline holds at most %d transforms", MAX_STAGES);
        goto fail;
    }
    if (!(re = mli_registry_lookup(p->reg, ML_KIND_TRANSFORM, name, err))) {
        rc = err->code;
        goto fail;
    }
    snprintf(owner, sizeof owner, "transform %s", name);
    if ((rc = ml_opts_validate(opts, re->entry.options, owner, err)))
        goto fail;
    s.entry = re->entry;
    s.vt = re->vt.transform;
    s.opts = opts;
    s.dtype = (s.vt.flags & ML_TRANSFORM_FLOAT) ? ML_DTYPE_F32 : p->dtype;
    if (p->n == p->cap) {
        int32_t cap = p->cap ? 2 * p->cap : 4;
        stage *st = mli_realloc(p->stages, (size_t)cap * sizeof *st);
        if (!st) {
            rc = mli_error(err, ML_ERR_NOMEM, "%s: out of memory", owner);
            goto fail;
        }
        p->stages = st, p->cap = cap;
    }
    if ((rc = s.vt.create(mli_host_table(), opts, &p->shape, s.dtype, &s.self, err)))
        goto fail;
    size_t ws = s.vt.workspace ? s.vt.workspace(s.self) : 0;
    if (ws > p->ws_bytes) {
        void *w = mli_alloc(ws);
        if (!w) {
            s.vt.destroy(s.self);
            rc = mli_error(err, ML_ERR_NOMEM, "%s: no memory for its %zu-byte workspace",
                           owner, ws);
            goto fail;
        }
        mli_free(p->ws);
        p->ws = w, p->ws_bytes = ws;
    }
    p->stages[p->n++] = s;
    p->dtype = s.dtype;
    return ML_OK;
fail:
    ml_opts_free(opts);
    return rc;
}

/* IEEE binary16 to float, exactly (every half is a float). */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    float f;
    if (e == 0)
        f = ldexpf((float)m, -24);                        /* zero and subnormals */
    else if (e == 31)
        f = m ? NAN : INFINITY;
    else
        f = ldexpf((float)(m | 0x400u), (int)e - 25);
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    bits |= sign;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Stored values to float: value / div, a division as the dataset's own read() does. */
static void dtype_to_float(float *o, const void *src, int64_t n, int32_t dtype, float div)
{
    switch (dtype) {
    case ML_DTYPE_U8: {
        const uint8_t *s = src;
        for (int64_t j = 0; j < n; j++)
            o[j] = (float)s[j] / div;
        break;
    }
    case ML_DTYPE_I16: {
        const int16_t *s = src;
        for (int64_t j = 0; j < n; j++)
            o[j] = (float)s[j] / div;
        break;
    }
    case ML_DTYPE_F16: {
        const uint16_t *s = src;
        for (int64_t j = 0; j < n; j++)
            o[j] = half_to_float(s[j]) / div;
        break;
    }
    default:   /* F32 is stored as read() gives it (divisor 1) */
        if (o != src)
            memmove(o, src, (size_t)n * sizeof *o);
    }
}

void mli_example_to_float(float *o, const void *src, int64_t numel, int32_t dtype, float div,
                          const mli_norm *nm)
{
    if (!nm) {
        dtype_to_float(o, src, numel, dtype, div);
        return;
    }
    /* A channel at a time: convert, then scale and shift while the plane is in cache. */
    size_t vsize = ml_dtype_size(dtype);
    for (int32_t c = 0; c < nm->nch; c++) {
        float *dst = o + c * nm->plane, scale = nm->scale[c], shift = nm->shift[c];
        dtype_to_float(dst, (const uint8_t *)src + (size_t)(c * nm->plane) * vsize, nm->plane,
                       dtype, div);
        for (int64_t j = 0; j < nm->plane; j++)
            dst[j] = dst[j] * scale + shift;
    }
}

int mli_pipeline_reserve(ml_pipeline *p, int32_t n, ml_err *err)
{
    size_t need = (size_t)n * (size_t)p->numel * ml_dtype_size(p->stored);
    if (p->stored == ML_DTYPE_F32 || need <= p->raw_bytes)
        return ML_OK;
    void *b = mli_alloc(need);
    if (!b)
        return mli_error(err, ML_ERR_NOMEM, "pipeline: no memory for %zu bytes of examples",
                         need);
    mli_free(p->raw);
    p->raw = b, p->raw_bytes = need;
    return ML_OK;
}

int ml_pipeline_read(ml_pipeline *p, ml_dataset *d, const int64_t *idx, int32_t n,
                     uint64_t seed, int64_t epoch, float *x, float *y, ml_err *err)
{
    return mli_pipeline_read(p, d, idx, n, seed, epoch, x, y, NULL, err);
}

int mli_pipeline_read(ml_pipeline *p, ml_dataset *d, const int64_t *idx, int32_t n,
                      uint64_t seed, int64_t epoch, float *x, float *y, const mli_norm *nm,
                      ml_err *err)
{
    size_t vsize = ml_dtype_size(p->stored), per = (size_t)p->numel * vsize;
    int rc;
    if (n < 0)
        return mli_error(err, ML_ERR_INVALID, "pipeline: %d examples", n);
    if (ml_shape_numel(&d->info.x_shape) != p->numel || d->dtype != p->stored)
        return mli_error(err, ML_ERR_INVALID, "pipeline: made for examples of %lld values "
                         "(dtype %d), dataset %s gives %lld (dtype %d)", (long long)p->numel,
                         p->stored, d->entry.name, (long long)ml_shape_numel(&d->info.x_shape),
                         d->dtype);
    /* Float data is transformed in x itself; stored values in a batch buffer of their own. */
    uint8_t *raw = (uint8_t *)x;
    if (p->stored != ML_DTYPE_F32) {
        if ((rc = mli_pipeline_reserve(p, n, err)))
            return rc;
        raw = p->raw;
    }
    if ((rc = ml_dataset_read_raw(d, idx, n, raw, y, err)))
        return rc;
    uint64_t key = ml_rng_at(seed, AUGMENT_STREAM, (uint64_t)epoch);
    for (int32_t i = 0; i < n; i++) {
        void *ex = raw + (size_t)i * per;
        float *xf = x + (int64_t)i * p->numel;
        int32_t dtype = p->stored;
        for (int32_t k = 0; k < p->n; k++) {
            stage *s = &p->stages[k];
            if (s->dtype == ML_DTYPE_F32 && dtype != ML_DTYPE_F32) {
                dtype_to_float(xf, ex, p->numel, dtype, p->div);
                ex = xf, dtype = ML_DTYPE_F32;
            }
            ml_ctx ctx = {0};
            mli_rng_init(&ctx.rng, key, ((uint64_t)idx[i] << 8) | (uint64_t)k);
            ctx.layer = -1;
            if ((rc = s->vt.apply(s->self, &ctx, ex, y + (int64_t)i * p->ynumel, p->ws, err)))
                return rc;
        }
        if (dtype != ML_DTYPE_F32 || nm)   /* the one conversion, normalisation fused in */
            mli_example_to_float(xf, ex, p->numel, dtype, p->div, nm);
    }
    return ML_OK;
}
