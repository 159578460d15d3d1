/* SPDX-License-Identifier: MIT */
/* multipath.so beyond the gradient check (test_gradcheck walks its layers):
 *  - fdcc and cross_prediction allocate per input: across examples the allocation spreads,
 *    and two classes of inputs get different mean allocations; static gives every input
 *    the same allocation (measured through modlab.diagnostics/1, as metrics.jsonl gets it);
 *  - a block reports its router's diagnostics;
 *  - mismatched paths between blocks, paths < 1 and unknown routing names are clear errors;
 *  - a router another plugin registers (mp_route_<name>) plugs into the block by name;
 *  - mp_split / mp_merge forward values. */
#include <math.h>
#include <string.h>

#include "formats/json.h"
#include "runtime/model.h"
#include "runtime/registry.h"
#include "base/rng.h"
#include "tap.h"
#include "tap_model.h"

enum { BATCH = 64 };

/* A model of the given layers ("name opts" separated by '|'), or NULL with err set. */
static ml_model *build(ml_registry *reg, const char *spec, const ml_shape *in, ml_err *err)
{
    return tap_model(reg, 11, spec, in, BATCH, err);
}

/* Inputs of two classes: noise plus a class-dependent offset per path and channel, so
 * their pooled features differ. y gets the class (0 or 1) of each example. */
static void make_batch(float *x, float *y, int64_t per_example, int32_t channels,
                       int64_t per_channel)
{
    ml_rng rng;
    mli_rng_init(&rng, 5, 9);
    mli_rng_fill_uniform(&rng, x, BATCH * per_example, -1.0f, 1.0f);
    for (int32_t b = 0; b < BATCH; b++) {
        y[b] = (float)(b % 2);
        for (int64_t k = 0; k < per_example; k++) {
            int64_t ch = (k / per_channel) % channels;
            x[b * per_example + k] += (b % 2 ? 1.5f : -1.5f) * (float)((ch % 3) - 1);
        }
    }
}

typedef struct alloc_stats {
    double spread, class_gap, entropy;
    int ok;
} alloc_stats;

/* Runs one batch in evaluation mode and reads layer `key`'s report. */
static alloc_stats measure(ml_model *m, const char *key, const float *x, const float *y)
{
    alloc_stats s = {0, 0, 0, 0};
    ml_err err = {0};
    ml_model_set_training(m, 0);
    ml_model_diag_reset(m);
    if (!ml_model_forward(m, x, BATCH, &err))
        return s;
    mli_model_diag_observe(m, y, BATCH, 1);
    const char *text = ml_model_diagnostics(m, &err);
    ml_json_doc *doc = text ? mli_json_parse(text, strlen(text), NULL, NULL, &err) : NULL;
    const ml_json *r = doc ? mli_json_get(mli_json_root(doc), key) : NULL;
    const ml_json *spread = mli_json_get(r, "spread"), *h = mli_json_get(r, "entropy");
    const ml_json *pc = mli_json_get(r, "per_class");
    const ml_json *c0 = mli_json_get(pc, "0"), *c1 = mli_json_get(pc, "1");
    if (spread && h && c0 && c1 && c0->count == c1->count && c0->count > 0) {
        s.spread = spread->num;
        s.entropy = h->num;
        for (size_t i = 0; i < c0->count; i++) {
            double d = fabs(mli_json_at(c0, i)->num - mli_json_at(c1, i)->num);
            s.class_gap = d > s.class_gap ? d : s.class_gap;
        }
        s.ok = 1;
    } else {
        tap_diag("no usable report for %s in %s (%s)", key, text ? text : "-", err.msg);
    }
    mli_json_free(doc);
    return s;
}

/* Random values for every parameter, so a static router's allocation is not just the
 * uniform one it starts from. */
static void scramble(ml_model *m)
{
    ml_rng rng;
    mli_rng_init(&rng, 3, 4);
    for (int32_t i = 0; i < ml_model_nparam_tensors(m); i++) {
        ml_param *p = ml_model_param(m, i);
        if (p->grad)
            mli_rng_fill_uniform(&rng, p->value, p->numel, -1.0f, 1.0f);
    }
}

static void test_input_dependence(ml_registry *reg)
{
    /* The dependent routers first; cross_prediction with its conv and linear predictors. */
    static const char *routers[] = {"fdcc", "cross_prediction",
                                    "cross_prediction predictor=linear", "static"};
    ml_shape in = {4, {4, 3, 5, 5}};
    static float x[BATCH * 300], y[BATCH];
    make_batch(x, y, 300, 3, 25);
    for (int i = 0; i < 4; i++) {
        char spec[64], key[64];
        ml_err err = {0};
        snprintf(spec, sizeof spec, "mp_route_%s", routers[i]);
        snprintf(key, sizeof key, "1.mp_route_%.*s", (int)strcspn(routers[i], " "),
                 routers[i]);
        ml_model *m = build(reg, spec, &in, &err);
        if (!ok(m != NULL, "%s builds", spec)) {
            tap_diag("%s", err.msg);
            continue;
        }
        scramble(m);
        alloc_stats s = measure(m, key, x, y);
        if (i < 3) {
            ok(s.ok && s.spread > 1e-3, "%s: allocation spreads across examples (%.4g)",
               routers[i], s.spread);
            ok(s.ok && s.class_gap > 1e-3, "%s: the two classes' mean allocations differ "
               "(max gap %.4g)", routers[i], s.class_gap);
        } else {
            ok(s.ok && s.spread < 1e-6, "static: one allocation for every example (spread "
               "%.3g)", s.spread);
            ok(s.ok && s.class_gap < 1e-6, "static: classes get the same allocation (gap "
               "%.3g)", s.class_gap);
            ok(s.ok && s.entropy < log(4.0) - 1e-3, "static: scrambled logits give a "
               "non-uniform allocation (entropy %.4f < log 4)", s.entropy);
        }
        ml_model_free(m);
    }
}

static void test_block_reports_router(ml_registry *reg)
{
    ml_shape in = {3, {3, 5, 5}};
    ml_err err = {0};
    static float x[BATCH * 75], y[BATCH];
    make_batch(x, y, 75, 3, 25);
    ml_model *m = build(reg, "mp_split paths=3|multipath paths=3 out=3|"
                             "multipath paths=3 out=4 routing=fdcc|mp_merge mode=mean", &in,
                        &err);
    if (!ok(m != NULL, "split -> block -> fdcc block -> merge builds")) {
        tap_diag("%s", err.msg);
        return;
    }
    alloc_stats s = measure(m, "3.multipath", x, y);
    ok(s.ok && s.spread > 0.0 && s.entropy > 0.0, "the block reports its fdcc router's "
       "allocation (spread %.4g, entropy %.4f)", s.spread, s.entropy);
    const ml_shape *out = &m->layers[m->n - 1].out;
    ok(out->ndim == 3 && out->dim[0] == 4 && out->dim[1] == 5, "mp_merge mean gives one "
       "path's shape {4,5,5}");
    ml_model_free(m);
}

static void expect_error(ml_registry *reg, const char *spec, const ml_shape *in,
                         const char *needle, const char *what)
{
    ml_err err = {0};
    ml_model *m = build(reg, spec, in, &err);
    ok(!m && strstr(err.msg, needle), "%s: %s", what, m ? "(built!)" : err.msg);
    ml_model_free(m);
}

static void test_errors(ml_registry *reg)
{
    ml_shape img = {3, {1, 6, 6}};
    expect_error(reg, "mp_split paths=2|multipath paths=3 out=2", &img, "mismatched paths",
                 "a block after a split with other paths");
    expect_error(reg, "mp_split paths=2|multipath paths=2 out=2|multipath paths=4 out=2 "
                 "routing=fdcc", &img, "mismatched paths", "consecutive blocks disagree");
    expect_error(reg, "mp_split paths=0", &img, "paths must be in 1..", "mp_split paths=0");
    expect_error(reg, "mp_split paths=2|multipath paths=0 out=2", &img,
                 "paths must be in 1..", "multipath paths=0");
    expect_error(reg, "mp_split paths=2|multipath paths=-1 out=2", &img,
                 "paths must be in 1..", "multipath paths=-1");
    expect_error(reg, "mp_split paths=2|multipath paths=2 out=2 routing=bogus", &img,
                 "unknown routing 'bogus'", "an unknown routing name");
    expect_error(reg, "mp_split paths=2|multipath paths=2 out=2 routing=Fd-cc", &img,
                 "unknown routing 'Fd-cc'", "a malformed routing name");
    /* The leading dimension is read as the path count: an image of 1 channel is 1 path. */
    expect_error(reg, "multipath paths=2 out=2", &img, "mp_split",
                 "a block on a plain image points at mp_split");
    ml_shape vec = {1, {5}};
    expect_error(reg, "mp_split paths=2|multipath paths=2 op=linear out=2 "
                 "routing=cross_prediction predictor=conv", &vec, "predictor=conv needs "
                 "feature-map paths", "a conv predictor on dense paths");
    expect_error(reg, "mp_split paths=2|multipath paths=2 out=2 routing=fdcc "
                 "predictor=linear", &img, "applies to routing=cross_prediction only",
                 "a predictor for another router");
    expect_error(reg, "mp_split paths=2|multipath paths=2 out=2 routing=cross_prediction "
                 "reduction=0", &img, "reduction must be >= 1", "cross_prediction "
                 "reduction=0");
    expect_error(reg, "mp_merge", &vec, "not a multi-path tensor", "a merge of a vector");
    expect_error(reg, "mp_route_static", &vec, "not a multi-path tensor",
                 "a router on a vector");
}

/* fx_reverse: a third-party router, registered as the layer mp_route_fx_reverse, that
 * sends source path n-1-j to destination j. */
static const ml_host *fx_host;
static int rev_create(const ml_host *h, ml_ctx *ctx, const ml_opts *o, const ml_shape *in,
                      void **self, ml_err *err)
{
    (void)ctx, (void)o;
    fx_host = h;
    int64_t *per = h->zalloc(2 * sizeof *per);
    if (!per)
        return h->error(err, ML_ERR_NOMEM, "fx_reverse: out of memory");
    per[0] = in->dim[0];
    per[1] = ml_shape_numel(in) / in->dim[0];
    *self = per;
    return ML_OK;
}
static void rev_destroy(void *self) { fx_host->free(self); }
static int rev_shape(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    (void)self, (void)err;
    *out = *in;
    return ML_OK;
}
static void reverse(const int64_t *np, const float *x, int32_t batch, float *y)
{
    int64_t n = np[0], per = np[1];
    for (int32_t b = 0; b < batch; b++)
        for (int64_t j = 0; j < n; j++)
            memcpy(y + (b * n + j) * per, x + (b * n + n - 1 - j) * per,
                   (size_t)per * sizeof(float));
}
static int rev_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                       ml_err *err)
{
    (void)ctx, (void)ws, (void)err;
    reverse(self, in->data, in->batch, out->data);
    return ML_OK;
}
static int rev_backward(void *self, ml_ctx *ctx, const ml_view *in, const ml_view *out,
                        const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    (void)ctx, (void)in, (void)out, (void)ws, (void)err;
    reverse(self, gout->data, gout->batch, gin->data);
    return ML_OK;
}
static const ml_layer_vtable rev_vt = {
    ML_ABI_INIT(ml_layer_vtable), .create = rev_create, .destroy = rev_destroy,
    .infer_shape = rev_shape, .forward = rev_forward, .backward_input = rev_backward,
};
static const ml_entry rev_entry = {
    ML_ABI_INIT(ml_entry), .kind = ML_KIND_LAYER, .name = "mp_route_fx_reverse",
    .version = "1.0.0", .summary = "test router: path j gets path n-1-j", .vtable = &rev_vt,
};

static void test_third_party_router(ml_registry *reg)
{
    ml_shape in = {3, {3, 5, 5}};
    ml_err err = {0};
    static float x[BATCH * 75], y[BATCH];
    make_batch(x, y, 75, 3, 25);
    ml_model *m = build(reg, "mp_split paths=3|multipath paths=3 out=2|"
                             "multipath paths=3 out=2 routing=fx_reverse", &in, &err);
    ok(m != NULL, "routing=fx_reverse finds the registered layer mp_route_fx_reverse %s",
       err.msg);
    const float *out = m ? ml_model_forward(m, x, BATCH, &err) : NULL;
    ok(out != NULL, "a block with a third-party router runs forward %s", err.msg);
    const char *text = m ? ml_model_diagnostics(m, &err) : NULL;
    ok(text && strstr(text, "\"routing\":\"fx_reverse\"") &&
           strstr(text, "the router reports nothing"),
       "its block says the router reports nothing: %s", text ? text : err.msg);
    ml_model_free(m);
    ml_gradcheck_result res;
    ml_shape mid = {4, {3, 2, 4, 4}};
    int rc = ml_gradcheck_layer(reg, "multipath", "paths=3 out=2 routing=fx_reverse "
                                "activation=tanh", &mid, 0, 5, &res, &err);
    ok(rc == 0 && res.max_rel_err_input < 1e-2 && res.max_rel_err_params < 1e-2,
       "gradient check through the third-party router: input %.2g params %.2g %s",
       rc ? -1.0 : res.max_rel_err_input, rc ? -1.0 : res.max_rel_err_params,
       rc ? err.msg : "");
}

static void test_split_merge_values(ml_registry *reg)
{
    ml_shape in = {1, {3}};
    ml_err err = {0};
    float x[BATCH * 3];
    for (int i = 0; i < BATCH * 3; i++)
        x[i] = (float)i;
    ml_model *m = build(reg, "mp_split paths=4|mp_merge mode=concat", &in, &err);
    const float *out = m ? ml_model_forward(m, x, BATCH, &err) : NULL;
    int same = out != NULL;
    for (int b = 0; same && b < BATCH; b++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 3; k++)
                same = same && out[b * 12 + j * 3 + k] == x[b * 3 + k];
    ok(same, "split then concat: four copies side by side %s", err.msg);
    ml_model_free(m);
}

int main(void)
{
    ml_registry *reg = tap_registry(ML_ABS_BUILDDIR "/build-plugins", &rev_entry);
    if (!reg)
        return 1;
    test_input_dependence(reg);
    test_block_reports_router(reg);
    test_errors(reg);
    test_third_party_router(reg);
    test_split_merge_values(reg);
    ml_registry_free(reg);
    return done_testing();
}
