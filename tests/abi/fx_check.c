/* SPDX-License-Identifier: MIT */
/* Broken plugins for `modlab plugin check`: one source, built several ways (-DFX_*), each
 * breaking one rule the conformance suite must catch. STEM names the file and entry point.
 *   FX_BADGRAD   y = 2x but backward_input passes gout through (a wrong gradient)
 *   FX_LEAK      create allocates a block that destroy never frees
 *   FX_OOMLEAK   create leaks `self` when registering its parameter fails
 *   FX_OVERRUN   forward writes one float past the end of its output
 *   FX_CRASH     forward dereferences NULL (the checker must survive it)
 *   FX_HANG      forward never returns (the checker must time out)
 *   FX_OPTSTATE  an optimizer that keeps its state in `self` instead of the slots
 * Hostile ones (tests/e2e/hostile_plugins.sh): the checker must name the call and survive.
 *   FX_INITCRASH init dereferences NULL         FX_INITEXIT  init calls exit(3)
 *   FX_INITABORT init calls abort()
 *   FX_UNDERRUN  forward writes one float before the start of its output
 *   FX_GINOVER   backward_input writes one float past the end of gin
 *   FX_PGRADOVER backward_params writes one float past the end of its parameter's grad
 *   FX_NANOUT    forward writes NaN into one output element
 *   FX_OPTNAN    an optimizer whose step writes NaN into a value
 * Transforms (ABI 1.2):
 *   FX_TFCRASH   apply dereferences NULL (the verdict must name apply)
 *   FX_TFOVER    apply writes one value past the end of its example */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <modlab/plugin.h>

#define CAT3(a, b, c) a##b##c
#define ENTRY_NAME(stem) CAT3(ml_plugin_, stem, _init)
#define STR2(x) #x
#define STR(x) STR2(x)

typedef struct fx {
    const ml_host *h;
    ml_param *w;
    void *extra;
} fx;

static int fx_create(const ml_host *h, ml_ctx *ctx, const ml_opts *opts, const ml_shape *in,
                     void **self, ml_err *err)
{
    fx *s = h->zalloc(sizeof *s);
    (void)opts;
    if (!s)
        return h->error(err, ML_ERR_NOMEM, "fixture: out of memory");
    s->h = h;
    ml_shape ws = {1, {in->dim[in->ndim - 1]}};
    if (!(s->w = h->param_new(ctx, "scale", &ws, 0, err))) {
#ifndef FX_OOMLEAK
        h->free(s);
#endif
        return err->code;
    }
    h->rng_uniform(ctx, s->w->value, s->w->numel, 0.5f, 1.5f);
#ifdef FX_LEAK
    s->extra = h->alloc(100);   /* never freed */
#endif
    *self = s;
    return ML_OK;
}

static void fx_destroy(void *self)
{
    fx *s = self;
    s->h->free(s);
}

static int fx_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    (void)self, (void)err;
    *out = *in;
    return ML_OK;
}

/* y = w * x (w broadcast over the last dimension), times 2 in the bad-gradient build. */
static int fx_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                      ml_err *err)
{
    fx *s = self;
    int64_t n = in->batch * ml_shape_numel(&in->shape), d = s->w->numel;
    (void)ctx, (void)ws, (void)err;
    for (int64_t i = 0; i < n; i++)
        out->data[i] = s->w->value[i % d] * in->data[i];
#ifdef FX_BADGRAD
    for (int64_t i = 0; i < n; i++)
        out->data[i] *= 2.0f;
#endif
#ifdef FX_OVERRUN
    out->data[n] = 0.0f;
#endif
#ifdef FX_UNDERRUN
    out->data[-1] = 0.0f;
#endif
#ifdef FX_NANOUT
    out->data[n / 2] = NAN;
#endif
#ifdef FX_CRASH
    volatile float *nowhere = NULL;
    *nowhere = out->data[0];
#endif
#ifdef FX_HANG
    for (volatile int forever = 1; forever;)
        ;
#endif
    return ML_OK;
}

static int fx_backward_input(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                             const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    fx *s = self;
    int64_t n = in->batch * ml_shape_numel(&in->shape), d = s->w->numel;
    (void)ctx, (void)out, (void)ws, (void)err;
    for (int64_t i = 0; i < n; i++)
        gin->data[i] = s->w->value[i % d] * gout->data[i];   /* FX_BADGRAD: should be 2x */
#ifdef FX_GINOVER
    gin->data[n] = 0.0f;
#endif
    return ML_OK;
}

static int fx_backward_params(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                              const ml_view *gout, void *ws, ml_err *err)
{
    fx *s = self;
    int64_t n = in->batch * ml_shape_numel(&in->shape), d = s->w->numel;
    (void)ctx, (void)out, (void)ws, (void)err;
    for (int64_t i = 0; i < n; i++)
#ifdef FX_BADGRAD
        s->w->grad[i % d] += 2.0f * in->data[i] * gout->data[i];
#else
        s->w->grad[i % d] += in->data[i] * gout->data[i];
#endif
#ifdef FX_PGRADOVER
    s->w->grad[d] = 1.0f;
#endif
    return ML_OK;
}

static const ml_layer_vtable layer_vt = {
    ML_ABI_INIT(ml_layer_vtable),
    .create = fx_create,
    .destroy = fx_destroy,
    .infer_shape = fx_infer,
    .forward = fx_forward,
    .backward_input = fx_backward_input,
    .backward_params = fx_backward_params,
};

/* ---- FX_OPTSTATE: momentum kept in self (wrong: checkpoints only save the slots) -------- */

typedef struct bad_opt {
    const ml_host *h;
    float velocity[64];
} bad_opt;

static int bo_create(const ml_host *h, const ml_opts *opts, void **self, ml_err *err)
{
    bad_opt *o = h->zalloc(sizeof *o);
    (void)opts;
    if (!o)
        return h->error(err, ML_ERR_NOMEM, "fixture: out of memory");
    o->h = h;
    *self = o;
    return ML_OK;
}

static void bo_destroy(void *self)
{
    bad_opt *o = self;
    o->h->free(o);
}

static int bo_step(void *self, ml_opt_slot *slots, int32_t n, float lr_factor, int64_t t,
                   ml_err *err)
{
    bad_opt *o = self;
    int k = 0;
    (void)t, (void)err;
    for (int32_t i = 0; i < n; i++)
        for (int64_t j = 0; j < slots[i].numel; j++, k = (k + 1) % 64) {
            o->velocity[k] = 0.9f * o->velocity[k] + slots[i].grad[j];
            slots[i].value[j] -= 0.1f * lr_factor * o->velocity[k];
        }
#ifdef FX_OPTNAN
    if (n > 0 && slots[0].numel > 2)
        slots[0].value[2] = NAN;
#endif
    return ML_OK;
}

static const ml_optimizer_vtable opt_vt = {
    ML_ABI_INIT(ml_optimizer_vtable),
    .create = bo_create,
    .destroy = bo_destroy,
    .step = bo_step,
};

/* A transform that adds nothing, but for the break it is built with. */
static int tf_create(const ml_host *h, const ml_opts *o, const ml_shape *in, int32_t dtype,
                     void **self, ml_err *err)
{
    (void)h, (void)o, (void)dtype, (void)err;
    *self = (void *)(intptr_t)ml_shape_numel(in);   /* the example's values, no allocation */
    return 0;
}
static void tf_destroy(void *self) { (void)self; }
static int tf_apply(void *self, ml_ctx *ctx, void *x, float *y, void *ws, ml_err *err)
{
    (void)ctx, (void)y, (void)ws, (void)err;
#ifdef FX_TFCRASH
    volatile unsigned char *nowhere = NULL;
    *nowhere = ((unsigned char *)x)[0];
#endif
#ifdef FX_TFOVER
    ((unsigned char *)x)[(intptr_t)self] = 1;   /* one byte past a uint8 example */
#endif
    (void)self, (void)x;
    return 0;
}
static const ml_transform_vtable tf_vt = {
    ML_ABI_INIT(ml_transform_vtable),
    .create = tf_create,
    .destroy = tf_destroy,
    .apply = tf_apply,
};

static const ml_entry entry = {
    ML_ABI_INIT(ml_entry),
#if defined(FX_TFCRASH) || defined(FX_TFOVER)
    .kind = ML_KIND_TRANSFORM,
    .vtable = &tf_vt,
#elif defined(FX_OPTSTATE) || defined(FX_OPTNAN)
    .kind = ML_KIND_OPTIMIZER,
    .vtable = &opt_vt,
#else
    .kind = ML_KIND_LAYER,
    .vtable = &layer_vt,
#endif
    .name = STR(STEM),
    .version = "0.1.0",
    .summary = "conformance fixture (deliberately broken)",
};

ML_PLUGIN_EXPORT int ENTRY_NAME(STEM)(const ml_host *host, ml_registry *reg, ml_err *err);

int ENTRY_NAME(STEM)(const ml_host *host, ml_registry *reg, ml_err *err)
{
    (void)layer_vt, (void)opt_vt, (void)tf_vt;
#ifdef FX_INITCRASH
    volatile int *nowhere = NULL;
    *nowhere = 1;
#endif
#ifdef FX_INITEXIT
    exit(3);
#endif
#ifdef FX_INITABORT
    abort();
#endif
    return host->register_entry(reg, &entry, err);
}
