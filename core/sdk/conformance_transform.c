/* SPDX-License-Identifier: MIT */
/* Transforms: known flags; apply on guarded buffers for every dtype the transform takes
 * (nothing written outside the example, its target or its workspace; float values stay
 * finite; the same stream gives the same bytes); and leaks. The cases are the entry's
 * ML_IFACE_GRADCHECK cases (options and example shape) or its defaults on a {3,8,8} image. */
#include "sdk/conformance_impl.h"

enum { STREAMS = 6 };
static const int32_t DTYPES[] = {ML_DTYPE_F32, ML_DTYPE_U8, ML_DTYPE_I16, ML_DTYPE_F16};
static const char *const DTYPE_NAMES[] = {"float32", "uint8", "int16", "float16"};
static const ml_gradcheck_case DEFAULT_CASE = {"", {3, {3, 8, 8}}, 0};

static int tf_create(ck *c, const ml_gradcheck_case *gc, int32_t dtype, void **self,
                     ml_err *err)
{
    ml_opts *o = ml_opts_new(err);
    int rc = o ? ml_opts_parse(o, gc->options, err) : ML_ERR_NOMEM;
    if (!rc)
        rc = ml_opts_validate(o, c->re->entry.options, c->id, err);
    if (!rc)
        rc = c->re->vt.transform.create(mli_host_table(), o, &gc->in, dtype, self, err);
    ml_opts_free(o);
    return rc;
}

/* Example values every dtype holds exactly: small integers, as a dataset would store. */
static void fill_example(unsigned char *x, int64_t n, int32_t dtype, uint64_t seed)
{
    ml_rng r;
    mli_rng_init(&r, seed, 5);
    for (int64_t i = 0; i < n; i++) {
        int v = (int)mli_rng_below(&r, 256);
        if (dtype == ML_DTYPE_U8) {
            x[i] = (unsigned char)v;
        } else if (dtype == ML_DTYPE_I16) {
            int16_t s = (int16_t)(v - 128);
            memcpy(x + 2 * i, &s, 2);
        } else if (dtype == ML_DTYPE_F16) {
            uint16_t h = (uint16_t)(0x3c00u + (unsigned)v);   /* 1 + v/1024 */
            memcpy(x + 2 * i, &h, 2);
        } else {
            float f = (float)v / 255.0f;
            memcpy(x + 4 * i, &f, 4);
        }
    }
}

/* Index of the first Inf or NaN among n values of a float dtype, or -1. */
static int64_t first_nonfinite(const unsigned char *x, int64_t n, int32_t dtype)
{
    for (int64_t i = 0; i < n; i++) {
        if (dtype == ML_DTYPE_F32) {
            float f;
            memcpy(&f, x + 4 * i, 4);
            if (!isfinite(f))
                return i;
        } else if (dtype == ML_DTYPE_F16) {
            uint16_t h;
            memcpy(&h, x + 2 * i, 2);
            if ((h & 0x7c00u) == 0x7c00u)
                return i;
        }
    }
    return -1;
}

/* One case on one dtype: NULL when it holds, else why not (static text or err's). */
static const char *apply_case(ck *c, const ml_gradcheck_case *gc, int32_t dtype, char *why,
                              size_t cap)
{
    const ml_transform_vtable *vt = &c->re->vt.transform;
    ml_err err;
    void *self = NULL;
    gbuf x = {0}, y = {0}, ws = {0};
    unsigned char *first = NULL, *orig = NULL;
    int64_t n = ml_shape_numel(&gc->in);
    size_t bytes = (size_t)n * ml_dtype_size(dtype);
    if (tf_create(c, gc, dtype, &self, &err)) {
        snprintf(why, cap, "create failed: %s", err.msg);
        return why;
    }
    size_t wb = vt->workspace ? vt->workspace(self) : 0;
    if (mli_gbuf_new(&x, bytes) || mli_gbuf_new(&y, 4) || mli_gbuf_new(&ws, wb) ||
        !(first = malloc(bytes + 1)) || !(orig = malloc(bytes + 1))) {
        snprintf(why, cap, "out of memory");
        goto done;
    }
    fill_example(orig, n, dtype, 7);
    why[0] = '\0';
    for (uint64_t k = 0; k < STREAMS && !why[0]; k++)
        for (int rep = 0; rep < 2 && !why[0]; rep++) {
            ml_ctx ctx;
            memset(&ctx, 0, sizeof ctx);
            mli_rng_init(&ctx.rng, 1234, k);
            memcpy(x.data, orig, bytes);
            y.data[0] = 1.0f;
            if (vt->apply(self, &ctx, x.data, y.data, ws.base ? (void *)ws.data : NULL,
                          &err)) {
                snprintf(why, cap, "apply failed on stream %llu: %s", (unsigned long long)k,
                         err.msg);
                break;
            }
            int dx = mli_gbuf_damage(&x), dy = mli_gbuf_damage(&y), dw = mli_gbuf_damage(&ws);
            int64_t bad = first_nonfinite((unsigned char *)x.data, n, dtype);
            if (dx || dy || dw)
                snprintf(why, cap, "apply wrote %s its %s (%s: %zu bytes)",
                         mli_gbuf_damage_where(dx ? dx : dy ? dy : dw),
                         dx ? "example" : dy ? "target" : "workspace",
                         dx ? "prod(shape) values of the dtype" : dy ? "the target's floats"
                            : "workspace() bytes", dx ? bytes : dy ? (size_t)4 : wb);
            else if (bad >= 0)
                snprintf(why, cap, "apply made value %lld of %lld non-finite", (long long)bad,
                         (long long)n);
            else if (rep == 0)
                memcpy(first, x.data, bytes);
            else if (memcmp(first, x.data, bytes))
                snprintf(why, cap, "the same stream gave different outputs; draw only from "
                         "the ctx's stream (host->rng_*) and keep no state in self");
        }
done:
    mli_gbuf_free(&x);
    mli_gbuf_free(&y);
    mli_gbuf_free(&ws);
    free(first);
    free(orig);
    vt->destroy(self);
    return why[0] ? why : NULL;
}

static int tf_leak_life(ck *c, const void *arg, int64_t fail_at, ml_err *err)
{
    const ml_gradcheck_case *gc = arg;
    void *self = NULL;
    int32_t dtype = c->re->vt.transform.flags & ML_TRANSFORM_FLOAT ? ML_DTYPE_F32
                                                                  : ML_DTYPE_U8;
    ml_mem_fail_at(fail_at);
    int rc = tf_create(c, gc, dtype, &self, err);
    ml_mem_fail_at(0);
    if (!rc)
        c->re->vt.transform.destroy(self);
    return rc;
}

void mli_conf_check_transform(ck *c)
{
    const ml_transform_vtable *vt = &c->re->vt.transform;
    const ml_gradcheck_iface *gi = mli_conf_gradcheck_iface(c->re);
    const ml_gradcheck_case *cases = gi ? gi->cases : &DEFAULT_CASE;
    int32_t ncases = gi ? gi->ncases : 1;
    char why[ML_ERR_MSG_MAX + 64];
    mli_conf_begin(c->s, c->id, "flags");
    if (!vt->create || !vt->destroy || !vt->apply) {
        FAIL(c, "flags", "the transform vtable lacks %s; create, destroy and apply are "
             "required", !vt->create ? "create" : !vt->destroy ? "destroy" : "apply");
        return;
    }
    if (vt->flags & ~(uint32_t)ML_TRANSFORM_FLOAT) {
        FAIL(c, "flags", "flags 0x%x has bits this modlab does not know (only "
             "ML_TRANSFORM_FLOAT = 0x%x)", vt->flags, ML_TRANSFORM_FLOAT);
        return;
    }
    PASS(c, "flags", "%s", vt->flags & ML_TRANSFORM_FLOAT ? "ML_TRANSFORM_FLOAT: float32 only"
                                                          : "any dtype");
    mli_conf_begin(c->s, c->id, "apply");
    if (!gi && mli_conf_has_required(c->re->entry.options)) {
        SKIP(c, "apply", "the transform has required options and no %s cases giving values",
             ML_IFACE_GRADCHECK);
        return;
    }
    int ndt = vt->flags & ML_TRANSFORM_FLOAT ? 1 : 4;
    for (int32_t i = 0; i < ncases; i++)
        for (int d = 0; d < ndt; d++) {
            const char *bad = apply_case(c, &cases[i], DTYPES[d], why, sizeof why);
            if (bad) {
                char sb[96];
                FAIL(c, "apply", "case %d (\"%s\", %s, %s): %s", i, cases[i].options,
                     ml_shape_str(&cases[i].in, sb, sizeof sb), DTYPE_NAMES[d], bad);
                return;
            }
        }
    PASS(c, "apply", "%d case%s x %d dtype%s x %d streams: deterministic per stream, values "
         "finite, nothing written outside example, target or workspace (%s)", ncases,
         ncases == 1 ? "" : "s", ndt, ndt == 1 ? "" : "s", STREAMS, GUARD_KIND);
    mli_conf_check_leaks(c, tf_leak_life, &cases[0]);
}
