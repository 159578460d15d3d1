/* SPDX-License-Identifier: MIT */
/* Sweep files: check a W&B sweep (plus `modlab:`) against its schema and expand the trials
 * (the public side: load, accessors, and the W&B export). */
#include "sweep/sweep_impl.h"

/* ---- public ----------------------------------------------------------------------------- */

static ml_sweep *finish_load(ml_yt_doc *doc, ml_err *err)
{
    ml_sweep *s;
    if (!doc)
        return NULL;
    if (!(s = mli_zalloc(sizeof *s))) {
        mli_error(err, ML_ERR_NOMEM, "out of memory reading %s", doc->name);
        mli_yt_free(doc);
        return NULL;
    }
    s->doc = doc;
    if (mli_sw_read_top(s, err) || mli_sw_expand(s, err) || mli_sw_build_json(s, err))
        goto fail;
    return s;
fail:
    ml_sweep_free(s);
    return NULL;
}

ml_sweep *ml_sweep_load(const char *path, ml_err *err)
{
    if (!path)
        return mli_error(err, ML_ERR_INVALID, "ml_sweep_load: path is NULL"), NULL;
    return finish_load(mli_yt_load_file(path, err), err);
}

ml_sweep *ml_sweep_load_string(const char *text, size_t len, const char *name, ml_err *err)
{
    if (!text || !name)
        return mli_error(err, ML_ERR_INVALID, "ml_sweep_load_string: text or name is NULL"),
               NULL;
    return finish_load(mli_yt_load_string(text, len, name, err), err);
}

void ml_sweep_free(ml_sweep *s)
{
    if (!s)
        return;
    size_t n = mli_sw_ncols(s);
    for (size_t i = 0; i < s->ntrials; i++) {
        for (size_t j = 0; j < n; j++)
            if (s->trials[i].own[j])
                mli_sw_val_free(&s->trials[i].vals[j]);
        mli_free(s->trials[i].vals);
        mli_free(s->trials[i].own);
    }
    mli_free(s->trials);
    for (size_t i = 0; i < s->nparams; i++) {
        for (size_t j = 0; j < s->params[i].nvals; j++)
            mli_sw_val_free(&s->params[i].vals[j]);
        mli_free(s->params[i].vals);
        mli_free(s->params[i].probs);
        mli_free(s->params[i].name);
    }
    mli_free(s->params);
    for (size_t i = 0; i < s->nwarnings; i++)
        mli_free(s->warnings[i]);
    mli_free(s->warnings);
    mli_free(s->json);
    mli_yt_free(s->doc);
    mli_free(s);
}

const char *ml_sweep_json(const ml_sweep *s) { return s ? s->json : NULL; }
int32_t ml_sweep_ntrials(const ml_sweep *s) { return s ? (int32_t)s->ntrials : 0; }

const char *ml_sweep_trial_id(const ml_sweep *s, int32_t i)
{
    if (!s || i < 0 || (size_t)i >= s->ntrials)
        return NULL;
    return s->trials[i].id;
}

char *ml_sweep_export_wandb(const char *path, ml_err *err)
{
    ml_yt_doc *doc = NULL;
    char *text = NULL, *out = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        mli_error(err, ML_ERR_NOT_FOUND, "%s: cannot open the sweep file", path);
        return NULL;
    }
    long sz = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (sz < 0 || fseek(f, 0, SEEK_SET) != 0 || !(text = mli_alloc((size_t)sz + 1)) ||
        fread(text, 1, (size_t)sz, f) != (size_t)sz) {
        mli_error(err, ML_ERR_IO, "%s: cannot read the sweep file", path);
        goto fail;
    }
    len = (size_t)sz;
    text[len] = 0;
    {
        ml_sweep *s = ml_sweep_load(path, err);    /* export only what modlab accepts */
        if (!s)
            goto fail;
        ml_sweep_free(s);
    }
    if (!(doc = mli_yt_load_string(text, len, path, err)))
        goto fail;
    const ml_yt_node *root = doc->root;
    int from = 0, to = 0;
    for (size_t i = 0; i < root->n; i++)
        if (strcmp(root->keys[i]->value, "modlab") == 0) {
            if (root->keys[i]->col != 1) {
                mli_yt_error(doc, root->keys[i], err, ML_ERR_UNSUPPORTED,
                            "export needs the top-level mapping in block style");
                goto fail;
            }
            from = root->keys[i]->line;
            to = i + 1 < root->n ? root->keys[i + 1]->line : 0;
        }
    if (!(out = mli_alloc(len + 1))) {
        mli_error(err, ML_ERR_NOMEM, "out of memory exporting %s", path);
        goto fail;
    }
    size_t o = 0;
    int line = 1;
    for (size_t i = 0; i < len; i++) {
        int drop = from && line >= from && (to == 0 || line < to);
        if (!drop)
            out[o++] = text[i];
        if (text[i] == '\n')
            line++;
    }
    out[o] = 0;
    mli_yt_free(doc);
    mli_free(text);
    fclose(f);
    return out;
fail:
    mli_yt_free(doc);
    mli_free(text);
    mli_free(out);
    fclose(f);
    return NULL;
}

void ml_sweep_text_free(char *text) { mli_free(text); }
