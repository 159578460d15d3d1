/* SPDX-License-Identifier: MIT */
/* "modlab.diagnostics/1" through the trainer: a test layer (identity) that counts the
 * examples it saw per class reports exactly those counts, reset clears them, and a layer
 * whose report is not a JSON object is a clear error, not a corrupt metrics file. */
#include <string.h>

#include "runtime/registry.h"
#include "tap.h"
#include "tap_model.h"

typedef struct tally {
    int64_t per_class[4];
    int broken;
} tally;

static const ml_host *host;

static const ml_opt_spec tally_opts[] = {
    {"broken", ML_OPT_STRING, "no", "no|text|array: what kind of bad report to give",
     "no|text|array"},
    {NULL, 0, NULL, NULL, NULL},
};

static int tally_create(const ml_host *h, ml_ctx *ctx, const ml_opts *o, const ml_shape *in,
                        void **self, ml_err *err)
{
    const char *b = h->opt_str(o, "broken");
    tally *t = h->zalloc(sizeof *t);
    (void)ctx, (void)in;
    if (!t)
        return h->error(err, ML_ERR_NOMEM, "fx_tally: out of memory");
    host = h;
    t->broken = b[0] == 't' ? 1 : b[0] == 'a' ? 2 : 0;
    *self = t;
    return ML_OK;
}

static void tally_destroy(void *self) { host->free(self); }

static int tally_shape(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    (void)self, (void)err;
    *out = *in;
    return ML_OK;
}

static int tally_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                         ml_err *err)
{
    (void)self, (void)ctx, (void)ws, (void)err;
    memcpy(out->data, in->data,
           (size_t)in->batch * (size_t)ml_shape_numel(&in->shape) * sizeof(float));
    return ML_OK;
}

static void tally_reset(void *self) { memset(((tally *)self)->per_class, 0, 4 * 8); }

static void tally_observe(void *self, const float *y, int32_t batch, int32_t numel)
{
    tally *t = self;
    for (int32_t i = 0; y && numel == 1 && i < batch; i++)
        if (y[i] >= 0 && y[i] < 4)
            t->per_class[(int)y[i]]++;
}

static size_t tally_report(void *self, char *buf, size_t cap)
{
    tally *t = self;
    if (t->broken == 1)
        return (size_t)snprintf(buf, cap, "{\"unterminated\": [1, 2");
    if (t->broken == 2)
        return (size_t)snprintf(buf, cap, "[1, 2]");
    return (size_t)snprintf(buf, cap, "{\"per_class\":[%lld,%lld,%lld,%lld]}",
                            (long long)t->per_class[0], (long long)t->per_class[1],
                            (long long)t->per_class[2], (long long)t->per_class[3]);
}

static const ml_diagnostics_iface tally_diag = {
    ML_ABI_INIT(ml_diagnostics_iface),
    .reset = tally_reset, .observe = tally_observe, .report = tally_report,
};

static const void *tally_ext(const char *iface)
{
    return strcmp(iface, ML_IFACE_DIAGNOSTICS) == 0 ? &tally_diag : NULL;
}

static const ml_layer_vtable tally_vt = {
    ML_ABI_INIT(ml_layer_vtable),
    .create = tally_create, .destroy = tally_destroy, .infer_shape = tally_shape,
    .forward = tally_forward,
};

static const ml_entry tally_entry = {
    ML_ABI_INIT(ml_entry), .kind = ML_KIND_LAYER, .name = "fx_tally", .version = "1.0.0",
    .summary = "test: counts examples per class", .options = tally_opts,
    .vtable = &tally_vt, .extension = tally_ext,
};

/* fx_tally then linear: 8 examples of 3 features, classes y. */
static ml_model *model_with(ml_registry *reg, const char *tally_options, ml_trainer **t,
                            ml_err *err)
{
    ml_model *m = ml_model_new(reg, 1, err);
    ml_shape in = {1, {3}}, target = {0, {0}};
    if (ml_model_add(m, "fx_tally", tap_opts(tally_options), err) ||
        ml_model_add(m, "linear", tap_opts("out=4"), err) || ml_model_build(m, &in, 8, err) ||
        !(*t = ml_trainer_new(m, &target, "cross_entropy", tap_opts(NULL), NULL, NULL, err))) {
        ml_model_free(m);
        return NULL;
    }
    return m;
}

int main(void)
{
    ml_err err = {0};
    ml_registry *reg = tap_registry(ML_ABS_BUILDDIR "/build-plugins", &tally_entry);
    ml_trainer *t = NULL;
    float x[24] = {0}, y[8] = {0, 1, 1, 2, 2, 2, 3, 3};
    ml_step_stats st = {0};
    if (!reg)
        return 1;
    ml_model *m = model_with(reg, NULL, &t, &err);
    if (!m) {
        printf("Bail out! model: %s\n", err.msg);
        return 1;
    }
    ml_model_diag_reset(m);
    ok(ml_trainer_eval(t, x, y, 8, &st, &err) == 0 && ml_trainer_eval(t, x, y, 4, &st, &err) == 0,
       "two evaluation batches");
    const char *d = ml_model_diagnostics(m, &err);
    is_str(d, "{\"1.fx_tally\":{\"per_class\":[2,4,4,2]}}",
           "the report is keyed by layer and counts what observe saw");
    ml_model_diag_reset(m);
    d = ml_model_diagnostics(m, &err);
    is_str(d, "{\"1.fx_tally\":{\"per_class\":[0,0,0,0]}}", "reset clears the tallies");
    ml_trainer_free(t);
    ml_model_free(m);

    const char *bad[] = {"broken=text", "broken=array"};
    const char *want[] = {"not valid JSON", "must be a JSON object, not array"};
    for (int i = 0; i < 2; i++) {
        memset(&err, 0, sizeof err);
        m = model_with(reg, bad[i], &t, &err);
        d = m ? ml_model_diagnostics(m, &err) : "";
        ok(m && !d && strstr(err.msg, "layer 1 (fx_tally)") && strstr(err.msg, want[i]),
           "%s: a clear error naming the layer: %s", bad[i], err.msg);
        ml_trainer_free(t);
        ml_model_free(m);
    }

    m = ml_model_new(reg, 1, &err);
    ml_shape in = {1, {3}};
    ml_model_add(m, "linear", tap_opts("out=2"), &err);
    ml_model_build(m, &in, 4, &err);
    d = ml_model_diagnostics(m, &err);
    ok(d && d[0] == 0, "a model without reporting layers gives \"\"");
    ml_model_free(m);
    ml_registry_free(reg);
    return done_testing();
}
