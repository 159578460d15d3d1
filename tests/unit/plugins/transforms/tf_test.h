/* SPDX-License-Identifier: MIT */
/* The transforms plugin's tests (test_transforms*.c): a transform made from its registry
 * entry, examples of every dtype, a ctx standing in for the pipeline's per-example stream,
 * and the stream's draws replayed independently of the plugin's helpers. */
#ifndef MODLAB_TESTS_TF_TEST_H
#define MODLAB_TESTS_TF_TEST_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <modlab/modlab.h>

#include "base/rng.h"
#include "runtime/model.h"     /* struct ml_ctx: its rng is the stream apply draws from */
#include "runtime/registry.h"

static ml_registry *reg;

/* One created transform with its workspace. */
typedef struct tfx {
    const ml_transform_vtable *vt;
    void *self;
    void *ws;
    int64_t numel;
    size_t esize;
} tfx;

/* Create `name` with options `text` for examples of shape `in` and dtype; 0 or the error. */
static inline int tfx_new(tfx *t, const char *name, const char *text, ml_shape in,
                          int32_t dtype, ml_err *err)
{
    memset(t, 0, sizeof *t);
    const ml_reg_entry *re = mli_registry_lookup(reg, ML_KIND_TRANSFORM, name, err);
    if (!re)
        return err->code;
    ml_opts *o = ml_opts_new(err);
    int rc = o ? ml_opts_parse(o, text, err) : ML_ERR_NOMEM;
    if (!rc)
        rc = ml_opts_validate(o, re->entry.options, name, err);
    if (!rc)
        rc = re->vt.transform.create(mli_host_table(), o, &in, dtype, &t->self, err);
    ml_opts_free(o);
    if (rc)
        return rc;
    t->vt = &re->vt.transform;
    t->numel = ml_shape_numel(&in);
    t->esize = ml_dtype_size(dtype);
    size_t wb = t->vt->workspace ? t->vt->workspace(t->self) : 0;
    t->ws = aligned_alloc(64, (wb + 64) / 64 * 64);
    return ML_OK;
}

static inline void tfx_free(tfx *t)
{
    if (t->self)
        t->vt->destroy(t->self);
    free(t->ws);
    memset(t, 0, sizeof *t);
}

/* Apply to x with the stream (seed, stream), as the pipeline would for one example. */
static inline int tfx_apply(tfx *t, void *x, uint64_t seed, uint64_t stream, ml_err *err)
{
    ml_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    mli_rng_init(&ctx.rng, seed, stream);
    return t->vt->apply(t->self, &ctx, x, NULL, t->ws, err);
}

/* Error text of creating `name` (empty when it succeeded). */
static inline const char *tfx_create_error(const char *name, const char *text, ml_shape in,
                                           int32_t dtype, ml_err *err)
{
    tfx t;
    int rc = tfx_new(&t, name, text, in, dtype, err);
    tfx_free(&t);
    if (!rc)
        err->msg[0] = '\0';
    return err->msg;
}

static inline ml_shape shape3(int c, int h, int w)
{
    ml_shape s;
    memset(&s, 0, sizeof s);
    s.ndim = 3;
    s.dim[0] = c, s.dim[1] = h, s.dim[2] = w;
    return s;
}

/* An example of n distinct-ish values in dtype (i -> some value below 250, so it fits
 * every dtype exactly, never 0 so a zero fill shows). */
static inline void *example(int32_t dtype, int64_t n, unsigned seed)
{
    size_t es = ml_dtype_size(dtype);
    unsigned char *p = malloc((size_t)n * es);
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        int v = 1 + (int)((seed >> 16) % 249);
        if (dtype == ML_DTYPE_U8)
            p[i] = (unsigned char)v;
        else if (dtype == ML_DTYPE_I16) {
            int16_t s = (int16_t)(v - 120);
            memcpy(p + 2 * i, &s, 2);
        } else if (dtype == ML_DTYPE_F16) {
            uint16_t h = (uint16_t)(0x3c00u + (unsigned)v);   /* 1 + v/1024: exact */
            memcpy(p + 2 * i, &h, 2);
        } else {
            float f = (float)v / 7.0f;
            memcpy(p + 4 * i, &f, 4);
        }
    }
    return p;
}

static inline void *dup_bytes(const void *x, size_t n)
{
    void *p = malloc(n);
    memcpy(p, x, n);
    return p;
}

/* ---- the stream replayed: rng.c's definitions, written out again ---- */

typedef struct replay {
    ml_rng r;
} replay;

static inline void replay_init(replay *p, uint64_t seed, uint64_t stream)
{
    mli_rng_init(&p->r, seed, stream);
}

/* host->rng_uniform(ctx, &u, 1, lo, hi): lo + (hi - lo) * (top 24 bits / 2^24). */
static inline float replay_uniform(replay *p, float lo, float hi)
{
    float u = (float)(mli_rng_next(&p->r) >> 40) / 16777216.0f;
    return lo + (hi - lo) * u;
}

/* An integer in [0, n) as the plugin documents: top 32 bits times n, over 2^32. */
static inline int64_t replay_below(replay *p, int64_t n)
{
    return (int64_t)(((mli_rng_next(&p->r) >> 32) * (uint64_t)n) >> 32);
}

#endif
