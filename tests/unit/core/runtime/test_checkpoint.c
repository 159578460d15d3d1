/* SPDX-License-Identifier: MIT */
/* Unit tests of ml_model_save / ml_model_load: round trips bit for bit (trainable, BUFFER and
 * STRUCTURAL parameters and layer state), and every mismatch or corruption is a clear error
 * that leaves the model untouched. `test_checkpoint --write FILE` saves a model and prints
 * its parameters (tests/e2e/test_safetensors_python.sh compares them with Python's reading). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <modlab/modlab.h>

#include "runtime/checkpoint.h"
#include "base/mem.h"
#include "runtime/model.h"
#include "runtime/registry.h"
#include "formats/safetensors.h"
#include "tap.h"
#include "tap_model.h"
#include "tap_oom.h"
#include "tap_fs.h"

/* ---- "ckstate": a test layer with a buffer, a structural mask and a save/load payload ---- */

typedef struct ck {
    ml_param *w, *run, *mask;
    int64_t n;
    uint64_t counter;
} ck;

static int ck_fail_load;
static char ck_saved_version[32];
static const ml_host *ck_host;

static int ck_create(const ml_host *h, ml_ctx *ctx, const ml_opts *opts, const ml_shape *in,
                     void **self, ml_err *err)
{
    ck *c = h->zalloc(sizeof *c);
    if (!c)
        return h->error(err, ML_ERR_NOMEM, "ckstate: out of memory");
    ck_host = h;
    c->n = ml_shape_numel(in);
    ml_shape ws = {1, {(int32_t)c->n}}, rs = {1, {2}}, ms = {2, {(int32_t)c->n, 1}};
    if (!(c->w = h->param_new(ctx, "w", &ws, 0, err)) ||
        !(c->run = h->param_new(ctx, "running", &rs, ML_PARAM_BUFFER, err)) ||
        !(c->mask = h->param_new(ctx, "mask", &ms, ML_PARAM_STRUCTURAL, err))) {
        h->free(c);
        return err->code;
    }
    h->rng_uniform(ctx, c->w->value, c->n, -1, 1);
    c->run->value[0] = 0.5f;
    c->run->value[1] = 1.5f;
    for (int64_t k = 0; k < c->n; k++)
        c->mask->value[k] = (float)(k % 2);
    c->counter = 7;
    *self = c;
    return 0;
}

static void ck_destroy(void *self)
{
    ck_host->free(self);
}

static int ck_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    *out = *in;
    return 0;
}

static int ck_forward(void *self, ml_ctx *ctx, const ml_view *in, ml_view *out, void *ws,
                      ml_err *err)
{
    ck *c = self;
    for (int32_t b = 0; b < in->batch; b++)
        for (int64_t k = 0; k < c->n; k++)
            out->data[b * c->n + k] = in->data[b * c->n + k] * c->w->value[k] *
                                      (1 + c->mask->value[k]) + c->run->value[k % 2];
    return 0;
}

static int ck_save(void *self, void *buf, size_t cap, size_t *len, ml_err *err)
{
    ck *c = self;
    *len = 12;
    if (buf) {
        memcpy(buf, "CKST", 4);
        for (int k = 0; k < 8; k++)
            ((unsigned char *)buf)[4 + k] = (unsigned char)(c->counter >> (8 * k));
    }
    return 0;
}

static int ck_load(void *self, const void *buf, size_t len, const char *saved_version,
                   ml_err *err)
{
    ck *c = self;
    const unsigned char *b = buf;
    if (ck_fail_load)
        return ck_host->error(err, ML_ERR_FORMAT, "injected failure");
    if (len != 12 || memcmp(b, "CKST", 4) != 0)
        return ck_host->error(err, ML_ERR_FORMAT, "bad payload of %zu bytes", len);
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--)
        v = v << 8 | b[4 + k];
    c->counter = v;
    snprintf(ck_saved_version, sizeof ck_saved_version, "%s", saved_version);
    return 0;
}

static const ml_entry ck_entry = ML_ENTRY_INIT(ML_KIND_LAYER, "ckstate", "1.2.0",
    "checkpoint test layer", NULL, NULL, ml_layer_vtable, .create = ck_create,
    .destroy = ck_destroy, .infer_shape = ck_infer, .forward = ck_forward, .save = ck_save,
    .load = ck_load);

/* ---- helpers ----------------------------------------------------------------------------- */

static ml_registry *reg;
static char dir[512];

/* layers: space-separated "name" or "name:k=v,k=v". */
static ml_model *build(const char *layers, uint64_t seed)
{
    ml_err err = {0};
    ml_model *m = ml_model_new(reg, seed, &err);
    char spec[256];
    snprintf(spec, sizeof spec, "%s", layers);
    for (char *save = NULL, *tok = strtok_r(spec, " ", &save); m && tok;
         tok = strtok_r(NULL, " ", &save)) {
        char *colon = strchr(tok, ':');
        ml_opts *o = ml_opts_new(&err);
        if (colon) {
            *colon = '\0';
            for (char *c = colon + 1; *c; c++)
                if (*c == ',')
                    *c = ' ';
            ml_opts_parse(o, colon + 1, &err);
        }
        if (ml_model_add(m, tok, o, &err)) {
            tap_diag("build %s: %s", layers, err.msg);
            ml_model_free(m);
            return NULL;
        }
    }
    ml_shape in = {1, {4}};
    if (m && ml_model_build(m, &in, 8, &err)) {
        tap_diag("build %s: %s", layers, err.msg);
        ml_model_free(m);
        return NULL;
    }
    return m;
}

static const char *BASE = "linear:out=3 relu ckstate linear:out=2";

static ck *ck_of(ml_model *m, int32_t layer)
{
    return m->layers[layer].self;
}

static void perturb(ml_model *m)
{
    for (int32_t i = 0; i < ml_model_nparam_tensors(m); i++) {
        ml_param *p = ml_model_param(m, i);
        for (int64_t k = 0; k < p->numel; k++)
            p->value[k] = p->value[k] * -3.0f + 0.25f;
    }
}

static void path_of(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

/* A copy of a checkpoint with one thing changed, for the mismatch tests. */
typedef struct variant {
    const char *file;  /* written to path_of(file) */
    const char *drop;  /* a tensor left out, or NULL */
    const char *state; /* layer 2's state payload instead of its own (NULL: as it is, "": none) */
    int plain;         /* no metadata at all (a plain safetensors file) */
} variant;

/* Writes variant v of checkpoint f, whose tensors' values are vals; its path into out. */
static void write_variant(const ml_st_file *f, float *const *vals, variant v, char *out,
                          size_t cap)
{
    ml_err err = {0};
    ml_st_writer *w = mli_st_writer_new(&err);
    for (int32_t i = 0; f && i < mli_st_count(f); i++) {
        const ml_st_tensor *t = mli_st_tensor_at(f, i);
        if (!v.drop || strcmp(t->name, v.drop) != 0)
            mli_st_writer_add(w, t->name, t->ndim, t->dims, vals[i], &err);
    }
    for (int32_t i = 0; f && !v.plain && i < mli_st_meta_count(f); i++) {
        const char *key = mli_st_meta_key(f, i), *value = mli_st_meta_value(f, i);
        if (v.state && !strcmp(key, ML_CKPT_STATE_PREFIX "2"))
            value = v.state[0] ? v.state : NULL;
        if (value)
            mli_st_writer_meta(w, key, value, &err);
    }
    path_of(out, cap, v.file);
    mli_st_writer_write(w, out, &err);
    mli_st_writer_free(w);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_roundtrip(void)
{
    ml_err err = {0};
    char path[600];
    path_of(path, sizeof path, "model.safetensors");
    ml_model *m = build(BASE, 11);
    if (!ok(m != NULL, "model builds"))
        return;
    float x[2 * 4] = {0.1f, -0.2f, 0.3f, 0.4f, 1.0f, 2.0f, -3.0f, 0.5f};
    float y0[2 * 2];
    memcpy(y0, ml_model_forward(m, x, 2, &err), sizeof y0);
    size_t n;
    float *before = tap_snapshot(m, &n);
    ck_of(m, 2)->counter = 12345678901ull;

    if (!ok(ml_model_save(m, path, &err) == 0, "save"))
        tap_diag("%s", err.msg);

    /* The file: one tensor per parameter, named and shaped like the model's. */
    ml_st_file *f = mli_st_open(path, &err);
    ok(f != NULL, "saved file is valid safetensors");
    if (f) {
        int names = mli_st_count(f) == ml_model_nparam_tensors(m);
        for (int32_t i = 0; names && i < ml_model_nparam_tensors(m); i++)
            names = strcmp(mli_st_tensor_at(f, i)->name, ml_model_param_name(m, i)) == 0;
        ok(names, "tensors in parameter order with parameter names (%d)", mli_st_count(f));
        ok(mli_st_find(f, "2.ckstate.running") >= 0, "BUFFER parameter saved");
        ok(mli_st_find(f, "2.ckstate.mask") >= 0, "STRUCTURAL parameter saved");
        const ml_st_tensor *t = mli_st_tensor_at(f, mli_st_find(f, "2.ckstate.mask"));
        ok(t && t->ndim == 2 && t->dims[0] == 3 && t->dims[1] == 1, "mask shape [3, 1]");
        is_str(mli_st_meta_get(f, ML_CKPT_LAYERS),
               "[\"layer/linear@1.0.0\", \"layer/relu@1.0.0\", \"layer/ckstate@1.2.0\", "
               "\"layer/linear@1.0.0\"]", "metadata lists kind/name@version of each layer");
        is_str(mli_st_meta_get(f, ML_CKPT_VERSION), ml_version(), "metadata has modlab.version");
        is_str(mli_st_meta_get(f, ML_CKPT_FORMAT), "1", "metadata has the format version");
        const char *st = mli_st_meta_get(f, ML_CKPT_STATE_PREFIX "2");
        unsigned char raw[16];
        ok(st && mli_base64_decode(st, strlen(st), raw) == 12 && memcmp(raw, "CKST", 4) == 0,
           "layer state saved as base64 (%s)", st ? st : "missing");
        ok(!mli_st_meta_get(f, ML_CKPT_STATE_PREFIX "0"), "no state for layers without save");
        mli_st_close(f);
    }

    perturb(m);
    ck_of(m, 2)->counter = 1;
    ok(!tap_same_params(m, before, n), "perturbed values differ");
    ck_saved_version[0] = '\0';
    if (!ok(ml_model_load(m, path, &err) == 0, "load"))
        tap_diag("%s", err.msg);
    ok(tap_same_params(m, before, n), "every parameter equal bit for bit after load");
    ok(ck_of(m, 2)->counter == 12345678901ull, "layer state restored through load()");
    is_str(ck_saved_version, "1.2.0", "load() receives the saved version");
    const float *y1 = ml_model_forward(m, x, 2, &err);
    ok(y1 && memcmp(y0, y1, sizeof y0) == 0, "forward output identical after load");

    /* A fresh model with another seed loads to the same values. */
    ml_model *m2 = build(BASE, 999);
    ok(m2 && !tap_same_params(m2, before, n), "another seed starts elsewhere");
    ok(m2 && ml_model_load(m2, path, &err) == 0 && tap_same_params(m2, before, n),
       "another model of the same layers loads the same values");
    ml_model_free(m2);

    /* Minor version differences load; the saved version reaches load(). */
    m->layers[2].entry.version = "1.3.1";
    ok(ml_model_load(m, path, &err) == 0, "minor version difference loads");
    is_str(ck_saved_version, "1.2.0", "load() gets the saved version, not this build's");
    m->layers[2].entry.version = "2.0.0";
    perturb(m);
    free(before);
    before = tap_snapshot(m, &n);
    is_int(ml_model_load(m, path, &err), ML_ERR_UNSUPPORTED, "major version difference fails");
    like(err.msg, "layer 3 (ckstate) was saved by version 1.2.0 but this build has version "
         "2.0.0", "version message names layer and both versions");
    like(err.msg, "major version 1", "version message says what to do");
    ok(tap_same_params(m, before, n), "model untouched after the version error");
    m->layers[2].entry.version = "1.2.0";

    /* A failing layer load() rolls everything back. */
    ck_of(m, 2)->counter = 5;
    ck_fail_load = 1;
    is_int(ml_model_load(m, path, &err), ML_ERR_FORMAT, "failing layer load() is an error");
    ck_fail_load = 0;
    like(err.msg, "layer 3 (ckstate) load: injected failure", "message names the layer");
    ok(tap_same_params(m, before, n), "parameters rolled back after a failing load()");
    is_int(ck_of(m, 2)->counter, 5, "layer state untouched after a failing load()");

    free(before);
    ml_model_free(m);
}

static void expect_error(ml_model *m, const char *path, int code, const char *what,
                         const char *msg1, const char *msg2)
{
    ml_err err = {0};
    size_t n;
    float *before = tap_snapshot(m, &n);
    uint64_t counter = m->n > 2 && !strcmp(m->layers[2].entry.name, "ckstate")
                           ? ck_of(m, 2)->counter : 0;
    int rc = ml_model_load(m, path, &err);
    if (!ok(rc == code, "%s: error %d", what, code))
        tap_diag("  got %d: %s", rc, err.msg);
    like(err.msg, msg1, what);
    if (msg2)
        like(err.msg, msg2, what);
    ok(tap_same_params(m, before, n) &&
           (!counter || ck_of(m, 2)->counter == counter),
       "%s: model untouched", what);
    free(before);
}

static void test_mismatch(void)
{
    ml_err err = {0};
    char path[600], other[600];
    path_of(path, sizeof path, "base.safetensors");
    ml_model *m = build(BASE, 1);
    if (!m || ml_model_save(m, path, &err)) {
        ok(0, "save base model: %s", err.msg);
        return;
    }
    ml_model_free(m);

    /* Models that differ from the saved one: each load fails, naming the difference. */
    static const struct {
        const char *layers, *what, *msg1, *msg2;
    } other_models[] = {
        { "linear:out=5 relu ckstate linear:out=2", "shape mismatch",
          "tensor '0.linear.weight' has shape ", "build the model with the options" },
        { "linear:out=3 ckstate relu linear:out=2", "layer order mismatch",
          "layer 2 is layer/relu in the checkpoint but layer/ckstate in the model",
          "build the same model" },
        { "linear:out=3 relu ckstate", "layer count mismatch",
          "the checkpoint has 4 layers [\"layer/linear@1.0.0\"", "the model has 3" },
        { "linear:out=3,bias=false relu ckstate linear:out=2", "extra tensor in the file",
          "the checkpoint has a tensor '0.linear.bias' that the model lacks", NULL },
    };
    for (size_t i = 0; i < sizeof other_models / sizeof other_models[0]; i++) {
        m = build(other_models[i].layers, 1);
        expect_error(m, path, ML_ERR_SHAPE, other_models[i].what, other_models[i].msg1,
                     other_models[i].msg2);
        ml_model_free(m);
    }

    /* A file without a tensor the model has: rewrite base without "3.linear.bias". */
    ml_st_file *f = mli_st_open(path, &err);
    float *vals[16] = {0};
    for (int32_t i = 0; f && i < mli_st_count(f); i++) {
        vals[i] = malloc((size_t)mli_st_tensor_at(f, i)->numel * sizeof(float));
        mli_st_read_f32(f, i, vals[i]);
    }
    /* A tensor missing, a corrupt state payload, none, or one the layer rejects (valid
     * base64, wrong size): each refused with its reason, the model rolled back. */
    static const struct {
        variant v;
        int code;
        const char *what, *msg;
    } broken[] = {
        {{"missing.safetensors", "3.linear.bias", "Q0tTVA==", 0}, ML_ERR_SHAPE,
         "missing tensor", "the checkpoint has no tensor '3.linear.bias' (shape [2])"},
        {{"badstate.safetensors", NULL, "Q0t!VA==", 0}, ML_ERR_FORMAT, "bad base64 state",
         "metadata modlab.state.2 is not valid base64"},
        {{"nostate.safetensors", NULL, "", 0}, ML_ERR_FORMAT, "missing layer state",
         "the checkpoint has no state for layer 3 (ckstate)"},
        {{"shortstate.safetensors", NULL, "Q0tTVA==", 0}, ML_ERR_FORMAT,
         "payload rejected by the layer", "layer 3 (ckstate) load: bad payload of 4 bytes"},
    };
    m = build(BASE, 1);
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        write_variant(f, vals, broken[i].v, other, sizeof other);
        expect_error(m, other, broken[i].code, broken[i].what, broken[i].msg, NULL);
    }

    /* Non-finite weights (a diverged run, or a tampered file) are refused, naming the
     * tensor and the file; the model keeps its values. */
    static const struct { const char *tensor, *file, *msg; int64_t at; float v; } bad[] = {
        {"3.linear.bias", "nan.safetensors", "tensor '3.linear.bias' holds NaN (element 1 of 2)",
         1, NAN},
        {"0.linear.weight", "inf.safetensors", "tensor '0.linear.weight' holds -Inf (element 0",
         0, -INFINITY},
    };
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        int32_t at = f ? mli_st_find(f, bad[b].tensor) : -1;
        float keep = at >= 0 ? vals[at][bad[b].at] : 0;
        if (at >= 0)
            vals[at][bad[b].at] = bad[b].v;
        write_variant(f, vals, (variant){bad[b].file, NULL, NULL, 0}, other, sizeof other);
        if (at >= 0)
            vals[at][bad[b].at] = keep;
        char want[700];
        snprintf(want, sizeof want, "%s: %s", other, bad[b].msg);
        expect_error(m, other, ML_ERR_FORMAT, bad[b].v != bad[b].v ? "NaN weight" : "Inf weight",
                     want, "refusing to load it");
    }

    /* A plain safetensors file (no modlab metadata). */
    write_variant(f, vals, (variant){"plain.safetensors", NULL, NULL, 1}, other, sizeof other);
    expect_error(m, other, ML_ERR_FORMAT, "plain safetensors file",
                 "not a modlab checkpoint (no \"modlab.layers\" in __metadata__)", NULL);
    for (int k = 0; k < 16; k++)
        free(vals[k]);
    mli_st_close(f);

    /* Truncated file, bad header, missing file. */
    FILE *in = fopen(path, "rb");
    static unsigned char bytes[1 << 16];
    size_t len = in ? fread(bytes, 1, sizeof bytes, in) : 0;
    if (in)
        fclose(in);
    path_of(other, sizeof other, "truncated.safetensors");
    FILE *out = fopen(other, "wb");
    fwrite(bytes, 1, len - 5, out);
    fclose(out);
    expect_error(m, other, ML_ERR_FORMAT, "truncated file", "the file is truncated", NULL);
    path_of(other, sizeof other, "badjson.safetensors");
    out = fopen(other, "wb");
    bytes[8] = 'x';
    fwrite(bytes, 1, len, out);
    fclose(out);
    expect_error(m, other, ML_ERR_FORMAT, "corrupt header",
                 "header (file byte 8): JSON: unexpected 'x', expected a value", NULL);
    path_of(other, sizeof other, "absent.safetensors");
    expect_error(m, other, ML_ERR_NOT_FOUND, "missing file", "cannot open", NULL);
    ml_model_free(m);

    /* Unbuilt models. */
    m = ml_model_new(reg, 1, &err);
    is_int(ml_model_save(m, path, &err), ML_ERR_INVALID, "saving an unbuilt model fails");
    like(err.msg, "not built", "unbuilt save message");
    is_int(ml_model_load(m, path, &err), ML_ERR_INVALID, "loading into an unbuilt model fails");
    ml_model_free(m);

    /* Saving into a missing directory. */
    m = build(BASE, 1);
    path_of(other, sizeof other, "no/such/dir/m.safetensors");
    is_int(ml_model_save(m, other, &err), ML_ERR_IO, "save into a missing directory: IO error");
    like(err.msg, "no/such/dir/m.safetensors", "message names the path");
    ml_model_free(m);
}

/* A model, its checkpoint and a snapshot of its values, for test_nomem's sweeps. */
typedef struct nomem_case {
    ml_model *m;
    const char *path;
    const float *snap;
    size_t n;
    int intact; /* every failed load left the values at snap */
} nomem_case;

static int save_once(void *arg)
{
    nomem_case *c = arg;
    ml_err err = {0};
    return ml_model_save(c->m, c->path, &err);
}

static int load_once(void *arg)
{
    nomem_case *c = arg;
    ml_err err = {0};
    int rc = ml_model_load(c->m, c->path, &err);
    if (rc != 0)
        c->intact = c->intact && tap_same_params(c->m, c->snap, c->n); /* plain malloc */
    return rc;
}

static void test_nomem(void)
{
    char path[600];
    path_of(path, sizeof path, "nomem.safetensors");
    nomem_case c = {build(BASE, 3), path, NULL, 0, 1};
    int64_t before = ml_mem_live_blocks();
    tap_oom r = tap_fail_each_alloc(save_once, &c, 500);
    ok(r.worked && r.failures >= 5 && r.nomem == r.failures,
       "save: every allocation failure is ML_ERR_NOMEM (%d)", r.failures);
    is_int(ml_mem_live_blocks(), before, "save: no leak after allocation failures");

    ml_model *m = c.m;
    perturb(m);
    float *snap = tap_snapshot(m, &c.n);
    c.snap = snap;
    r = tap_fail_each_alloc(load_once, &c, 500);
    ok(r.worked && r.failures >= 5 && r.nomem == r.failures,
       "load: every allocation failure is ML_ERR_NOMEM (%d)", r.failures);
    ok(c.intact, "load: model untouched by every allocation failure");
    is_int(ml_mem_live_blocks(), before, "load: no leak after allocation failures");
    free(snap);
    ml_model_free(m);
}

static void test_base64(void)
{
    static const struct {
        const char *raw, *enc;
    } v[] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
             {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
    int good = 1;
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        char enc[16];
        unsigned char dec[16];
        mli_base64_encode(v[k].raw, strlen(v[k].raw), enc);
        size_t n = mli_base64_decode(v[k].enc, strlen(v[k].enc), dec);
        good = good && strcmp(enc, v[k].enc) == 0 && n == strlen(v[k].raw) &&
               memcmp(dec, v[k].raw, n) == 0;
    }
    ok(good, "base64 RFC 4648 test vectors");
    unsigned char dec[16];
    const char *bad[] = {"Zg=", "Zg==Zg==", "Z===", "Zh==", "Zm9=", "Zm!v", "=Zm9"};
    int rejected = 1;
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        rejected = rejected && mli_base64_decode(bad[k], strlen(bad[k]), dec) == (size_t)-1;
    ok(rejected, "base64 rejects bad length, inner padding, non-canonical bits, bad chars");
}

static int write_mode(const char *path)
{
    ml_err err = {0};
    ml_model *m = build(BASE, 42);
    if (!m || ml_model_save(m, path, &err)) {
        fprintf(stderr, "test_checkpoint: %s\n", err.msg);
        return 1;
    }
    for (int32_t i = 0; i < ml_model_nparam_tensors(m); i++) {
        const ml_param *p = ml_model_param(m, i);
        printf("tensor %s [", ml_model_param_name(m, i));
        for (int32_t d = 0; d < p->shape.ndim; d++)
            printf("%s%d", d ? ", " : "", p->shape.dim[d]);
        printf("]");
        for (int64_t k = 0; k < p->numel; k++)
            printf(" %.9g", (double)p->value[k]);
        printf("\n");
    }
    ml_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    ml_err err = {0};
    reg = ml_registry_new(&err);
    ml_registry_load_default(reg, getenv("MODLAB_PLUGIN_PATH"), &err);
    if (mli_registry_register(reg, &ck_entry, &err) ||
        ml_registry_find(reg, ML_KIND_LAYER, "linear") < 0) {
        printf("Bail out! registry: %s (is MODLAB_PLUGIN_PATH set to build-plugins?)\n",
               err.msg);
        return 1;
    }
    if (argc == 3 && strcmp(argv[1], "--write") == 0) {
        int rc = write_mode(argv[2]);
        ml_registry_free(reg);
        return rc;
    }
    const char *top = getenv("top_builddir");
    snprintf(dir, sizeof dir, "%s/tests/out/checkpoint.%ld", top ? top : ".", (long)getpid());
    if (ml_mkdirs(dir, &err)) {
        printf("Bail out! %s\n", err.msg);
        return 1;
    }
    test_base64();
    test_roundtrip();
    test_mismatch();
    test_nomem();
    ml_registry_free(reg);
    is_int(ml_mem_live_blocks(), 0, "no memory left allocated");
    tap_cleanup_dir(dir);
    return done_testing();
}
