/* SPDX-License-Identifier: MIT */
/* ml_model_save / ml_model_load: model checkpoints in the safetensors layout. */
#include "runtime/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modlab/modlab.h>

#include "base/err.h"
#include "formats/json.h"
#include "base/mem.h"
#include "runtime/model.h"
#include "formats/safetensors.h"

/* ---- base64 ------------------------------------------------------------------------------ */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t mli_base64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

void mli_base64_encode(const void *in, size_t n, char *out)
{
    const unsigned char *s = in;
    size_t i = 0, w = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        out[w++] = b64[v >> 18];
        out[w++] = b64[(v >> 12) & 63];
        out[w++] = b64[(v >> 6) & 63];
        out[w++] = b64[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
        out[w++] = b64[v >> 18];
        out[w++] = b64[(v >> 12) & 63];
        out[w++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        out[w++] = '=';
    }
    out[w] = '\0';
}

size_t mli_base64_decoded_max(size_t len)
{
    return len / 4 * 3;
}

static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

size_t mli_base64_decode(const char *in, size_t len, void *out)
{
    unsigned char *o = out;
    size_t w = 0;
    if (len % 4)
        return (size_t)-1;
    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        int pad = 0;
        int v[4];
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)in[i + k];
            if (c == '=' && last && k >= 2) {
                pad++;
                v[k] = 0;
                continue;
            }
            if (pad)   /* data after '=' */
                return (size_t)-1;
            if ((v[k] = b64_val(c)) < 0)
                return (size_t)-1;
        }
        if (pad == 1 && in[i + 3] != '=')
            return (size_t)-1;
        uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                     (uint32_t)v[3];
        /* Canonical: the bits dropped by padding must be zero. */
        if ((pad == 1 && (x & 0xff)) || (pad == 2 && (x & 0xffff)))
            return (size_t)-1;
        o[w++] = (unsigned char)(x >> 16);
        if (pad < 2)
            o[w++] = (unsigned char)(x >> 8);
        if (pad < 1)
            o[w++] = (unsigned char)x;
    }
    return w;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static void shape_text(int32_t ndim, const int64_t *dims, char *buf, size_t cap)
{
    size_t at = (size_t)snprintf(buf, cap, "[");
    for (int32_t k = 0; k < ndim && at < cap; k++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%lld", k ? ", " : "", (long long)dims[k]);
    if (at < cap)
        snprintf(buf + at, cap - at, "]");
}

static void param_dims(const ml_param *p, int64_t *dims)
{
    for (int32_t k = 0; k < p->shape.ndim; k++)
        dims[k] = p->shape.dim[k];
}

/* "kind/name@version" of layer i. */
static void layer_id(const ml_layer_slot *l, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s@%s", ml_kind_name(l->entry.kind), l->entry.name,
             l->entry.version ? l->entry.version : "0");
}

/* Length of the major part of a version ("1.2.3" -> 1, "7" -> 1). */
static size_t major_len(const char *v)
{
    const char *dot = strchr(v, '.');
    return dot ? (size_t)(dot - v) : strlen(v);
}

/* Layer i's save() payload into a fresh buffer (*buf NULL and *len 0 for an empty one). */
static int layer_save(ml_layer_slot *l, int32_t i, void **buf, size_t *len, ml_err *err)
{
    size_t need = 0, got = 0;
    void *p = NULL;
    int rc = l->vt.save(l->self, NULL, 0, &need, err);
    if (rc)
        return mli_error_prefix(err, "layer %d (%s) save", i + 1, l->entry.name);
    if (need) {
        if (!(p = mli_alloc(need)))
            return mli_error(err, ML_ERR_NOMEM, "layer %d (%s): out of memory for %zu bytes of "
                            "state", i + 1, l->entry.name, need);
        got = need;
        if ((rc = l->vt.save(l->self, p, need, &got, err))) {
            mli_free(p);
            return mli_error_prefix(err, "layer %d (%s) save", i + 1, l->entry.name);
        }
        if (got > need) {
            mli_free(p);
            return mli_error(err, ML_ERR_INTERNAL, "layer %d (%s): save wrote %zu bytes after "
                            "asking for %zu (a bug in the plugin)", i + 1, l->entry.name, got,
                            need);
        }
    }
    *buf = p;
    *len = got;
    return 0;
}

/* ---- save -------------------------------------------------------------------------------- */

int ml_model_save(ml_model *m, const char *path, ml_err *err)
{
    ml_st_writer *w = NULL;
    int rc;
    if (!m || !path || !*path)
        return mli_error(err, ML_ERR_INVALID, "ml_model_save: NULL model or empty path");
    if (!(w = mli_st_writer_new(err)))
        return ML_ERR_NOMEM;
    if (!(rc = mli_ckpt_add_model(m, w, path, err)))
        rc = mli_st_writer_write(w, path, err);
    mli_st_writer_free(w);
    return rc;
}

int mli_ckpt_add_model(ml_model *m, ml_st_writer *w, const char *path, ml_err *err)
{
    ml_jbuf layers;
    void *payload = NULL;
    char *text = NULL;
    int rc;

    mli_jbuf_init(&layers);
    if (!m->built) {
        rc = mli_error(err, ML_ERR_INVALID, "%s: the model is not built; build it (with its "
                      "input shape) before saving", path);
        goto fail;
    }
    for (int32_t i = 0; i < ml_model_nparam_tensors(m); i++) {
        const ml_param *p = ml_model_param(m, i);
        int64_t dims[ML_MAX_DIMS];
        param_dims(p, dims);
        if (ml_shape_numel(&p->shape) != p->numel) {
            rc = mli_error(err, ML_ERR_INTERNAL, "%s: parameter '%s' has numel %lld but shape "
                          "of %lld elements (a bug)", path, ml_model_param_name(m, i),
                          (long long)p->numel, (long long)ml_shape_numel(&p->shape));
            goto fail;
        }
        if ((rc = mli_st_writer_add(w, ml_model_param_name(m, i), p->shape.ndim, dims,
                                   p->value, err)))
            goto fail;
    }

    mli_jbuf_puts(&layers, "[");
    for (int32_t i = 0; i < m->n; i++) {
        char id[256];
        layer_id(&m->layers[i], id, sizeof id);
        if (i)
            mli_jbuf_puts(&layers, ", ");
        mli_jbuf_str(&layers, id, strlen(id));
    }
    mli_jbuf_puts(&layers, "]");
    if ((rc = mli_jbuf_finish(&layers, path, err)))
        goto fail;
    if ((rc = mli_st_writer_meta(w, ML_CKPT_FORMAT, "1", err)) ||
        (rc = mli_st_writer_meta(w, ML_CKPT_VERSION, ml_version(), err)) ||
        (rc = mli_st_writer_meta(w, ML_CKPT_LAYERS, layers.data, err)) ||
        (rc = mli_norm_save(m, w, path, err)))
        goto fail;

    for (int32_t i = 0; i < m->n; i++) {
        ml_layer_slot *l = &m->layers[i];
        size_t len = 0;
        char key[64];
        if (!l->vt.save)
            continue;
        if ((rc = layer_save(l, i, &payload, &len, err)))
            goto fail;
        if (!(text = mli_alloc(mli_base64_encoded_len(len) + 1))) {
            rc = mli_error(err, ML_ERR_NOMEM, "%s: out of memory", path);
            goto fail;
        }
        mli_base64_encode(payload, len, text);
        snprintf(key, sizeof key, ML_CKPT_STATE_PREFIX "%d", i);
        if ((rc = mli_st_writer_meta(w, key, text, err)))
            goto fail;
        mli_free(payload);
        mli_free(text);
        payload = NULL;
        text = NULL;
    }
    rc = 0;

fail:
    mli_free(payload);
    mli_free(text);
    mli_jbuf_free(&layers);
    return rc;
}

/* ---- load -------------------------------------------------------------------------------- */

/* Check the checkpoint's layer list against the model; on success *saved[i] points at the
 * version each layer was saved with (inside `doc`). */
static int check_layers(ml_model *m, const char *path, const ml_st_file *f, ml_json_doc **docp,
                        const char ***savedp, ml_err *err)
{
    const char *text = mli_st_meta_get(f, ML_CKPT_LAYERS);
    const char **saved = NULL;
    ml_json_doc *doc = NULL;
    char here[256];
    int rc;

    if (!text)
        return mli_error(err, ML_ERR_FORMAT, "%s: not a modlab checkpoint (no \"%s\" in "
                        "__metadata__); modlab loads only files written by ml_model_save / "
                        "ml.save", path, ML_CKPT_LAYERS);
    doc = mli_json_parse(text, strlen(text), NULL, NULL, err);
    if (!doc)
        return mli_error_prefix(err, "%s: metadata %s", path, ML_CKPT_LAYERS);
    const ml_json *arr = mli_json_root(doc);
    int good = arr->type == ML_JSON_ARRAY;
    for (const ml_json *e = good ? arr->first : NULL; e; e = e->next)
        good = good && e->type == ML_JSON_STRING && strlen(e->str) == e->len &&
               strchr(e->str, '/') && strchr(e->str, '@');
    if (!good) {
        rc = mli_error(err, ML_ERR_FORMAT, "%s: metadata %s is not a JSON array of "
                      "\"kind/name@version\" strings: the file is corrupt", path,
                      ML_CKPT_LAYERS);
        goto fail;
    }
    if (arr->count != (size_t)m->n) {
        rc = mli_error(err, ML_ERR_SHAPE, "%s: the checkpoint has %zu layers %.200s but the "
                      "model has %d: build the same model as the one that was saved", path,
                      arr->count, text, m->n);
        goto fail;
    }
    if (!(saved = mli_zalloc((arr->count ? arr->count : 1) * sizeof *saved))) {
        rc = mli_error(err, ML_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    int32_t i = 0;
    for (const ml_json *e = arr->first; e; e = e->next, i++) {
        const ml_layer_slot *l = &m->layers[i];
        const char *at = strrchr(e->str, '@');
        const char *ver = l->entry.version ? l->entry.version : "0";
        layer_id(l, here, sizeof here);
        size_t id_len = (size_t)(at - e->str);
        size_t here_len = (size_t)(strrchr(here, '@') - here);
        if (id_len != here_len || memcmp(e->str, here, id_len) != 0) {
            rc = mli_error(err, ML_ERR_SHAPE, "%s: layer %d is %.*s in the checkpoint but %.*s "
                          "in the model (checkpoint layers: %.200s): build the same model as "
                          "the one that was saved", path, i + 1, (int)id_len, e->str,
                          (int)here_len, here, text);
            goto fail;
        }
        const char *sv = at + 1;
        if (major_len(sv) != major_len(ver) || memcmp(sv, ver, major_len(ver)) != 0) {
            rc = mli_error(err, ML_ERR_UNSUPPORTED, "%s: layer %d (%s) was saved by version %s "
                          "but this build has version %s: a different major version may "
                          "define its parameters differently; load it with a build whose "
                          "%s plugin has major version %.*s", path, i + 1, l->entry.name, sv,
                          ver, l->entry.name, (int)major_len(sv), sv);
            goto fail;
        }
        saved[i] = sv;
    }
    *docp = doc;
    *savedp = saved;
    return 0;
fail:
    mli_free(saved);
    mli_json_free(doc);
    return rc;
}

/* Decoded state payloads of the checkpoint, one per layer (NULL when none). */
typedef struct state_buf {
    void *data;
    size_t len;
    int present;
} state_buf;

static void free_states(state_buf *s, int32_t n)
{
    if (!s)
        return;
    for (int32_t i = 0; i < n; i++)
        mli_free(s[i].data);
    mli_free(s);
}

/* Does `name` belong to the model (not to a part `skip` of a training checkpoint)? */
static int model_tensor(const char *name, const char *skip)
{
    return !skip || strncmp(name, skip, strlen(skip)) != 0;
}

int ml_model_load(ml_model *m, const char *path, ml_err *err)
{
    ml_st_file *f;
    int rc;
    if (!m || !path || !*path)
        return mli_error(err, ML_ERR_INVALID, "ml_model_load: NULL model or empty path");
    if (!m->built)
        return mli_error(err, ML_ERR_INVALID, "%s: the model is not built; build it with the "
                        "same layers and input shape as when it was saved, then load", path);
    if (!(f = mli_st_open(path, err)))
        return err ? err->code : ML_ERR_IO;
    /* A training checkpoint holds a model checkpoint: its model part loads like one. */
    rc = mli_ckpt_load_model(m, f, path, ML_CKPT_TRAIN_PREFIX, err);
    mli_st_close(f);
    return rc;
}

int mli_ckpt_load_model(ml_model *m, const ml_st_file *f, const char *path, const char *skip,
                       ml_err *err)
{
    ml_json_doc *layers_doc = NULL;
    const char **saved = NULL;
    state_buf *states = NULL, *backup_states = NULL;
    float *backup = NULL;
    double *norm_mean = NULL, *norm_std = NULL;
    int64_t total = 0;
    int32_t np, loaded = -1, nfile = 0;
    int rc;

    if ((rc = check_layers(m, path, f, &layers_doc, &saved, err)))
        goto fail;
    /* The input normalisation, checked now and applied with the tensors. */
    int32_t nch_in = mli_model_input_channels(m), norm_ch = 0;
    if (!(norm_mean = mli_alloc((size_t)nch_in * sizeof *norm_mean)) ||
        !(norm_std = mli_alloc((size_t)nch_in * sizeof *norm_std)))
        goto nomem;
    if ((rc = mli_norm_parse(m, f, path, &norm_ch, norm_mean, norm_std, err)))
        goto fail;

    /* Every model tensor is in the file with the same shape, and nothing else is. */
    np = ml_model_nparam_tensors(m);
    for (int32_t i = 0; i < np; i++) {
        const ml_param *p = ml_model_param(m, i);
        const char *name = ml_model_param_name(m, i);
        int32_t k = mli_st_find(f, name);
        int64_t dims[ML_MAX_DIMS];
        char want[128], got[128];
        param_dims(p, dims);
        if (k < 0) {
            rc = mli_error(err, ML_ERR_SHAPE, "%s: the checkpoint has no tensor '%s' (shape %s) "
                          "that the model has: it was saved from a different model; build "
                          "the same layers with the same options", path, name,
                          (shape_text(p->shape.ndim, dims, want, sizeof want), want));
            goto fail;
        }
        const ml_st_tensor *t = mli_st_tensor_at(f, k);
        int same = t->ndim == p->shape.ndim;
        for (int32_t d = 0; same && d < t->ndim; d++)
            same = t->dims[d] == dims[d];
        if (!same) {
            shape_text(p->shape.ndim, dims, want, sizeof want);
            shape_text(t->ndim, t->dims, got, sizeof got);
            rc = mli_error(err, ML_ERR_SHAPE, "%s: tensor '%s' has shape %s in the checkpoint "
                          "but %s in the model: build the model with the options (and input "
                          "shape) it was saved with", path, name, got, want);
            goto fail;
        }
        /* NaN or Inf weights would poison every later step (and a resumed run's saved
         * model) without a word: refuse them before anything is applied. */
        if ((rc = mli_st_check_finite(f, k, path, err)))
            goto fail;
        total += p->numel;
    }
    for (int32_t k = 0; k < mli_st_count(f); k++)
        nfile += model_tensor(mli_st_tensor_at(f, k)->name, skip);
    if (nfile != np) {
        for (int32_t k = 0; k < mli_st_count(f); k++) {
            const char *name = mli_st_tensor_at(f, k)->name;
            int32_t i = 0;
            if (!model_tensor(name, skip))
                continue;
            while (i < np && strcmp(ml_model_param_name(m, i), name) != 0)
                i++;
            if (i == np) {
                rc = mli_error(err, ML_ERR_SHAPE, "%s: the checkpoint has a tensor '%s' that "
                              "the model lacks: it was saved from a different model", path,
                              name);
                goto fail;
            }
        }
        rc = mli_error(err, ML_ERR_INTERNAL, "%s: tensor counts differ (%d vs %d)", path,
                      nfile, np);
        goto fail;
    }

    /* Layer state: decode every payload now, so nothing is applied if one is bad. */
    if (!(states = mli_zalloc((size_t)(m->n ? m->n : 1) * sizeof *states)))
        goto nomem;
    for (int32_t i = 0; i < m->n; i++) {
        ml_layer_slot *l = &m->layers[i];
        char key[64];
        snprintf(key, sizeof key, ML_CKPT_STATE_PREFIX "%d", i);
        const char *text = mli_st_meta_get(f, key);
        if (!text && l->vt.load && l->vt.save) {
            rc = mli_error(err, ML_ERR_FORMAT, "%s: the checkpoint has no state for layer %d "
                          "(%s), which keeps state beyond its parameters: it was saved by a "
                          "build whose layer had none; re-save it with this build", path,
                          i + 1, l->entry.name);
            goto fail;
        }
        if (!text)
            continue;
        if (!l->vt.load) {
            rc = mli_error(err, ML_ERR_UNSUPPORTED, "%s: the checkpoint has state for layer %d "
                          "(%s) but this build's layer cannot load state (no load())", path,
                          i + 1, l->entry.name);
            goto fail;
        }
        size_t len = strlen(text);
        states[i].present = 1;
        if (len && !(states[i].data = mli_alloc(mli_base64_decoded_max(len))))
            goto nomem;
        states[i].len = len ? mli_base64_decode(text, len, states[i].data) : 0;
        if (states[i].len == (size_t)-1) {
            rc = mli_error(err, ML_ERR_FORMAT, "%s: metadata %s is not valid base64: the file "
                          "is corrupt", path, key);
            goto fail;
        }
    }

    /* Snapshot what will be overwritten, so a failing layer load() can be undone. */
    if (!(backup = mli_alloc_big((size_t)(total ? total : 1) * sizeof(float))))
        goto nomem;
    if (!(backup_states = mli_zalloc((size_t)(m->n ? m->n : 1) * sizeof *backup_states)))
        goto nomem;
    for (int32_t i = 0; i < m->n; i++) {
        ml_layer_slot *l = &m->layers[i];
        if (!states[i].present)
            continue;
        if (!l->vt.save) {
            backup_states[i].present = 0;
            continue;
        }
        if ((rc = layer_save(l, i, &backup_states[i].data, &backup_states[i].len, err)))
            goto fail;
        backup_states[i].present = 1;
    }
    int64_t at = 0;
    for (int32_t i = 0; i < np; i++) {
        ml_param *p = ml_model_param(m, i);
        memcpy(backup + at, p->value, (size_t)p->numel * sizeof(float));
        at += p->numel;
    }

    /* Apply. */
    for (int32_t i = 0; i < np; i++) {
        int32_t k = mli_st_find(f, ml_model_param_name(m, i));
        mli_st_read_f32(f, k, ml_model_param(m, i)->value);
    }
    for (int32_t i = 0; i < m->n; i++) {
        ml_layer_slot *l = &m->layers[i];
        if (!states[i].present)
            continue;
        if ((rc = l->vt.load(l->self, states[i].data, states[i].len, saved[i], err))) {
            mli_error_prefix(err, "%s: layer %d (%s) load", path, i + 1, l->entry.name);
            loaded = i;
            goto rollback;
        }
    }
    /* Last, as it cannot fail once its buffer exists: made here if the model had none. */
    if ((rc = ml_model_set_normalization(m, norm_mean, norm_std, norm_ch, err))) {
        loaded = m->n;
        goto rollback;
    }
    rc = 0;
    goto done;

rollback:
    at = 0;
    for (int32_t i = 0; i < np; i++) {
        ml_param *p = ml_model_param(m, i);
        memcpy(p->value, backup + at, (size_t)p->numel * sizeof(float));
        at += p->numel;
    }
    for (int32_t i = 0; i < loaded; i++) {
        ml_layer_slot *l = &m->layers[i];
        ml_err ignored = {0};
        if (states[i].present && backup_states[i].present)
            l->vt.load(l->self, backup_states[i].data, backup_states[i].len,
                       l->entry.version ? l->entry.version : "0", &ignored);
    }
    goto done;
nomem:
    rc = mli_error(err, ML_ERR_NOMEM, "%s: out of memory while loading the checkpoint", path);
fail:
done:
    mli_free(backup);
    mli_free(norm_mean);
    mli_free(norm_std);
    free_states(backup_states, m->n);
    free_states(states, m->n);
    mli_free(saved);
    mli_json_free(layers_doc);
    return rc;
}
