/* SPDX-License-Identifier: MIT */
/* Training checkpoints: one safetensors file holding the model checkpoint plus what the
 * trainer's later steps read (optimizer state planes, group scales, step count, the forward
 * count that seeds dropout) and the caller's own state text, so a resumed run continues
 * with exactly the numbers an uninterrupted one would have had. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modlab/modlab.h>

#include "runtime/checkpoint.h"
#include "base/err.h"
#include "base/mem.h"
#include "formats/safetensors.h"
#include "runtime/trainer.h"

/* Tensors under this prefix are the trainer's; the model's names start with a digit. */
#define PREFIX ML_CKPT_TRAIN_PREFIX
#define KEY_FORMAT "modlab.train"        /* "1" */
#define KEY_OPTIMIZER "modlab.train.optimizer"
#define KEY_PER "modlab.train.state_size"
#define KEY_STEP "modlab.train.step"
#define KEY_FORWARDS "modlab.train.forward_count"
#define KEY_STATE "modlab.train.state"
#define GROUPS PREFIX "groups"           /* [nslots, 2]: lr_scale, decay_scale */

static void optim_name(const ml_trainer *t, int32_t i, char *buf, size_t cap)
{
    snprintf(buf, cap, PREFIX "optim.%s", t->m->param_names[t->slot_param[i]]);
}

int ml_trainer_save(ml_trainer *t, const char *path, const char *state, ml_err *err)
{
    ml_st_writer *w = NULL;
    float *groups = NULL;
    char num[32], name[160];
    int rc;
    if (!t || !path || !*path)
        return mli_error(err, ML_ERR_INVALID, "ml_trainer_save: NULL trainer or empty path");
    if (!t->opt_self)
        return mli_error(err, ML_ERR_INVALID, "%s: an evaluation-only trainer has no training "
                        "state to save", path);
    if (!(w = mli_st_writer_new(err)))
        return ML_ERR_NOMEM;
    if ((rc = mli_ckpt_add_model(t->m, w, path, err)))
        goto done;
    if (!(groups = mli_alloc((size_t)(t->nslots ? t->nslots : 1) * 2 * sizeof(float)))) {
        rc = mli_error(err, ML_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int32_t i = 0; i < t->nslots; i++) {
        int64_t dims[2] = {t->state_per, t->slots[i].numel};
        groups[2 * i] = t->slots[i].lr_scale;
        groups[2 * i + 1] = t->slots[i].decay_scale;
        optim_name(t, i, name, sizeof name);
        if (t->state_per && (rc = mli_st_writer_add(w, name, 2, dims, t->slots[i].state, err)))
            goto done;
    }
    int64_t gdims[2] = {t->nslots, 2};
    if ((rc = mli_st_writer_add(w, GROUPS, 2, gdims, groups, err)) ||
        (rc = mli_st_writer_meta(w, KEY_FORMAT, "1", err)) ||
        (rc = mli_st_writer_meta(w, KEY_OPTIMIZER, t->opt_entry.name, err)))
        goto done;
    snprintf(num, sizeof num, "%" PRId32, t->state_per);
    if ((rc = mli_st_writer_meta(w, KEY_PER, num, err)))
        goto done;
    snprintf(num, sizeof num, "%" PRId64, t->t);
    if ((rc = mli_st_writer_meta(w, KEY_STEP, num, err)))
        goto done;
    snprintf(num, sizeof num, "%" PRIu64, t->m->forward_count);
    if ((rc = mli_st_writer_meta(w, KEY_FORWARDS, num, err)) ||
        (rc = mli_st_writer_meta(w, KEY_STATE, state ? state : "", err)))
        goto done;
    rc = mli_st_writer_write(w, path, err);
done:
    mli_st_writer_free(w);
    mli_free(groups);
    return rc;
}

/* A whole decimal number from the metadata, or -1 with err set. */
static int meta_u64(const ml_st_file *f, const char *path, const char *key, uint64_t *out,
                    ml_err *err)
{
    const char *text = mli_st_meta_get(f, key);
    char *end;
    if (!text)
        return mli_error(err, ML_ERR_FORMAT, "%s: no \"%s\" in __metadata__: not a training "
                        "checkpoint (a model.safetensors loads with model:load(path) or "
                        "ml.evaluate{checkpoint=...})", path, key);
    *out = strtoull(text, &end, 10);
    if (!*text || *end)
        return mli_error(err, ML_ERR_FORMAT, "%s: metadata %s is '%.40s', not a whole number: "
                        "the file is corrupt", path, key, text);
    return 0;
}

/* Every optimizer tensor is there with the right shape; nothing is applied yet. */
static int check_optim(const ml_trainer *t, const ml_st_file *f, const char *path, ml_err *err)
{
    char name[160];
    int rc;
    int32_t k = mli_st_find(f, GROUPS);
    const ml_st_tensor *g = k >= 0 ? mli_st_tensor_at(f, k) : NULL;
    if (!g || g->ndim != 2 || g->dims[0] != t->nslots || g->dims[1] != 2)
        return mli_error(err, ML_ERR_SHAPE, "%s: tensor '%s' is missing or not [%d, 2]: the "
                        "checkpoint was written for another model; start a new run", path,
                        GROUPS, t->nslots);
    if ((rc = mli_st_check_finite(f, k, path, err)))
        return rc;
    for (int32_t i = 0; i < t->nslots && t->state_per; i++) {
        optim_name(t, i, name, sizeof name);
        k = mli_st_find(f, name);
        const ml_st_tensor *s = k >= 0 ? mli_st_tensor_at(f, k) : NULL;
        if (!s || s->ndim != 2 || s->dims[0] != t->state_per ||
            s->dims[1] != t->slots[i].numel)
            return mli_error(err, ML_ERR_SHAPE, "%s: optimizer state '%s' is missing or not "
                            "[%d, %lld]: the checkpoint was written for another model or "
                            "optimizer; start a new run", path, name, t->state_per,
                            (long long)t->slots[i].numel);
        /* Non-finite moments would turn the weights into NaN at the first step. */
        if ((rc = mli_st_check_finite(f, k, path, err)))
            return rc;
    }
    return 0;
}

int ml_trainer_load(ml_trainer *t, const char *path, ml_err *err)
{
    ml_st_file *f = NULL;
    uint64_t fmt, per, step, forwards;
    const char *opt, *state;
    char *copy = NULL;
    float *groups = NULL;
    int rc;
    if (!t || !path || !*path)
        return mli_error(err, ML_ERR_INVALID, "ml_trainer_load: NULL trainer or empty path");
    if (!t->opt_self)
        return mli_error(err, ML_ERR_INVALID, "%s: an evaluation-only trainer cannot resume "
                        "training", path);
    if (!(f = mli_st_open(path, err)))
        return err ? err->code : ML_ERR_IO;
    if ((rc = meta_u64(f, path, KEY_FORMAT, &fmt, err)) ||
        (rc = meta_u64(f, path, KEY_PER, &per, err)) ||
        (rc = meta_u64(f, path, KEY_STEP, &step, err)) ||
        (rc = meta_u64(f, path, KEY_FORWARDS, &forwards, err)))
        goto done;
    if (fmt != 1) {
        rc = mli_error(err, ML_ERR_UNSUPPORTED, "%s: training checkpoint format %llu, this "
                      "build reads format 1: resume with the modlab that wrote it", path,
                      (unsigned long long)fmt);
        goto done;
    }
    opt = mli_st_meta_get(f, KEY_OPTIMIZER);
    state = mli_st_meta_get(f, KEY_STATE);
    if (!opt || strcmp(opt, t->opt_entry.name) != 0 || per != (uint64_t)t->state_per) {
        rc = mli_error(err, ML_ERR_SHAPE, "%s: the checkpoint is of optimizer '%s' with %llu "
                      "state floats per parameter, the run uses '%s' with %d: resume with the "
                      "recipe and settings that wrote it", path, opt ? opt : "?",
                      (unsigned long long)per, t->opt_entry.name, t->state_per);
        goto done;
    }
    copy = mli_alloc(strlen(state ? state : "") + 1);
    groups = mli_alloc((size_t)(t->nslots ? t->nslots : 1) * 2 * sizeof(float));
    if (!copy || !groups) {
        rc = mli_error(err, ML_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    strcpy(copy, state ? state : "");
    /* Check all, then the model (which validates everything before applying), then the
     * rest, which cannot fail: a bad checkpoint changes nothing. */
    if ((rc = check_optim(t, f, path, err)) ||
        (rc = mli_ckpt_load_model(t->m, f, path, PREFIX, err)))
        goto done;
    mli_st_read_f32(f, mli_st_find(f, GROUPS), groups);
    for (int32_t i = 0; i < t->nslots; i++) {
        char name[160];
        t->slots[i].lr_scale = groups[2 * i];
        t->slots[i].decay_scale = groups[2 * i + 1];
        optim_name(t, i, name, sizeof name);
        if (t->state_per)
            mli_st_read_f32(f, mli_st_find(f, name), t->slots[i].state);
    }
    t->t = (int64_t)step;
    t->m->forward_count = forwards;
    mli_free(t->resumed);
    t->resumed = copy;
    copy = NULL;
done:
    mli_free(copy);
    mli_free(groups);
    mli_st_close(f);
    return rc;
}

const char *ml_trainer_resumed_state(const ml_trainer *t)
{
    return t && t->resumed ? t->resumed : "";
}
