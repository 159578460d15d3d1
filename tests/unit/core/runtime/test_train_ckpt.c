/* SPDX-License-Identifier: MIT */
/* Training checkpoints (ml_trainer_save / ml_trainer_load): steps after a load give exactly
 * the losses and parameters of the same steps run without stopping (Adam state, step count,
 * dropout's forward count, group scales all restored); a checkpoint of another model or
 * optimizer, or a plain model checkpoint, is refused and changes nothing; a plain
 * ml_model_load reads the model part of a training checkpoint; NaN in the optimizer state or
 * the weights is refused, naming the tensor, and changes nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "formats/safetensors.h"
#include "tap.h"
#include "tap_model.h"
#include <modlab/modlab.h>

static ml_model *mlp(ml_registry *reg, const char *hidden)
{
    ml_err err;
    ml_shape in = {1, {4}};
    ml_model *m = ml_model_new(reg, 3, &err);
    if (ml_model_add(m, "linear", tap_opts(hidden), &err) ||
        ml_model_add(m, "relu", tap_opts(NULL), &err) ||
        ml_model_add(m, "dropout", tap_opts("p=0.3"), &err) ||
        ml_model_add(m, "linear", tap_opts("out=3"), &err) || ml_model_build(m, &in, 16, &err)) {
        tap_diag("  %s", err.msg);
        ml_model_free(m);
        return NULL;
    }
    return m;
}

static ml_trainer *trainer(ml_model *m, const char *optimizer)
{
    ml_err err;
    ml_shape target = {0, {0}};
    ml_trainer *t = ml_trainer_new(m, &target, "cross_entropy", tap_opts(NULL), optimizer,
                                   tap_opts(NULL), &err);
    if (!t)
        tap_diag("  %s", err.msg);
    return t;
}

/* Copy checkpoint src to dst with element 0 of the first tensor whose name starts with
 * `prefix` set to NaN; its name into name. 0 on success. */
static int poison(const char *src, const char *dst, const char *prefix, char *name, size_t cap)
{
    ml_err err;
    ml_st_file *f = mli_st_open(src, &err);
    ml_st_writer *w = mli_st_writer_new(&err);
    float *vals[64] = {0};
    int done = 0, rc = -1;
    for (int32_t i = 0; f && w && i < mli_st_count(f) && i < 64; i++) {
        const ml_st_tensor *t = mli_st_tensor_at(f, i);
        vals[i] = malloc((size_t)(t->numel ? t->numel : 1) * sizeof(float));
        mli_st_read_f32(f, i, vals[i]);
        if (!done && t->numel && !strncmp(t->name, prefix, strlen(prefix))) {
            vals[i][0] = NAN;
            snprintf(name, cap, "%s", t->name);
            done = 1;
        }
        mli_st_writer_add(w, t->name, t->ndim, t->dims, vals[i], &err);
    }
    for (int32_t i = 0; f && w && i < mli_st_meta_count(f); i++)
        mli_st_writer_meta(w, mli_st_meta_key(f, i), mli_st_meta_value(f, i), &err);
    if (done && w && mli_st_writer_write(w, dst, &err) == 0)
        rc = 0;
    for (int i = 0; i < 64; i++)
        free(vals[i]);
    mli_st_writer_free(w);
    mli_st_close(f);
    return rc;
}

int main(void)
{
    ml_err err;
    char path[64], plain[64];
    ml_registry *reg = ml_registry_new(&err);
    ml_registry_load_default(reg, getenv("MODLAB_PLUGIN_PATH"), &err);
    snprintf(path, sizeof path, "/tmp/modlab-test-ckpt-%ld.safetensors", (long)getpid());
    snprintf(plain, sizeof plain, "/tmp/modlab-test-model-%ld.safetensors", (long)getpid());
    ml_opts *dopts = tap_opts("kind=blobs size=64 classes=3 dims=4");
    ml_dataset *d = ml_dataset_open(reg, "synthetic", dopts, &err);
    ml_model *m = mlp(reg, "out=8");
    ml_trainer *t = m ? trainer(m, "adam") : NULL;
    if (!ok(d && t, "model, adam trainer and data")) {
        tap_diag("  %s", err.msg);
        return done_testing();
    }
    int64_t order[64];
    for (int i = 0; i < 64; i++)
        order[i] = (i * 37) % 64;
    ml_step_stats st = {0}, later = {0}, again = {0};
    ok(ml_trainer_set_group(t, "3.linear", 0.5f, 1.0f, &err) == 0, "a parameter group");
    ok(ml_trainer_run(t, d, order, 64, 16, 0, 3, 1, &st, &err) == 0, "3 steps");
    ok(ml_trainer_save(t, path, "{\"epoch\":1}", &err) == 0, "training checkpoint saved");
    ok(ml_model_save(m, plain, &err) == 0, "plain model checkpoint saved");
    size_t n;
    float *at_save = tap_snapshot(m, &n);
    ok(ml_trainer_run(t, d, order, 64, 16, 3, 4, 1, &later, &err) == 0, "4 more steps");
    float *after = tap_snapshot(m, &n);
    ml_trainer_set_group(t, "", 1.0f, 1.0f, &err);   /* to be restored by the load */

    ok(ml_trainer_load(t, path, &err) == 0, "loaded back");
    is_int(ml_trainer_steps_done(t), 3, "the step count is restored");
    is_str(ml_trainer_resumed_state(t), "{\"epoch\":1}", "the caller's state comes back");
    ok(tap_same_params(m, at_save, n), "parameters are those at the save");
    ok(ml_trainer_run(t, d, order, 64, 16, 3, 4, 1, &again, &err) == 0, "the 4 steps again");
    ok(again.loss == later.loss && again.correct == later.correct,
       "same losses as without the stop (%.17g vs %.17g)", again.loss, later.loss);
    ok(tap_same_params(m, after, n), "bit-identical parameters as without the stop");

    /* Refusals leave everything as it was. */
    ml_model *m2 = mlp(reg, "out=8");
    ml_trainer *sgd = m2 ? trainer(m2, "sgd") : NULL;
    size_t n2;
    float *before = sgd ? tap_snapshot(m2, &n2) : NULL;
    ok(sgd && ml_trainer_load(sgd, path, &err) != 0 && strstr(err.msg, "optimizer 'adam'"),
       "another optimizer: refused, naming it");
    tap_diag("  %s", err.msg);
    ok(before && tap_same_params(m2, before, n2), "... and the model is untouched");
    ml_model *m3 = mlp(reg, "out=9");
    ml_trainer *wide = m3 ? trainer(m3, "adam") : NULL;
    free(before);
    before = wide ? tap_snapshot(m3, &n2) : NULL;
    ok(wide && ml_trainer_load(wide, path, &err) != 0 && strstr(err.msg, "another model"),
       "another model: refused");
    tap_diag("  %s", err.msg);
    ok(before && tap_same_params(m3, before, n2), "... and the model is untouched");
    ok(ml_trainer_load(t, plain, &err) != 0 && strstr(err.msg, "not a training checkpoint"),
       "a plain model checkpoint is not a training checkpoint");
    tap_diag("  %s", err.msg);
    ok(ml_model_load(m2, path, &err) == 0 && tap_same_params(m2, at_save, n),
       "ml_model_load reads the model part of a training checkpoint");

    /* NaN in the optimizer state or in a weight: refused, naming the tensor and the file;
     * the trainer and model stay as they were (a resumed run cannot save them). */
    static const char *const parts[] = {"train.optim.", "0."};
    for (int k = 0; k < 2; k++) {
        char bad[80], name[160] = "?", want[300];
        snprintf(bad, sizeof bad, "/tmp/modlab-test-nan-%ld.safetensors", (long)getpid());
        size_t nb;
        float *was = tap_snapshot(m, &nb);
        int64_t steps = ml_trainer_steps_done(t);
        int made = poison(path, bad, parts[k], name, sizeof name);
        ok(made == 0, "a copy with NaN in %s", name);
        snprintf(want, sizeof want, "%s: tensor '%s' holds NaN (element 0 of ", bad, name);
        ok(ml_trainer_load(t, bad, &err) == ML_ERR_FORMAT && strstr(err.msg, want),
           "NaN in %s: refused, naming the tensor and the file", name);
        tap_diag("  %s", err.msg);
        ok(tap_same_params(m, was, nb) && ml_trainer_steps_done(t) == steps,
           "... and the trainer and model are untouched");
        free(was);
        unlink(bad);
    }

    free(before);
    free(at_save);
    free(after);
    ml_trainer_free(sgd);
    ml_trainer_free(wide);
    ml_model_free(m2);
    ml_model_free(m3);
    ml_trainer_free(t);
    ml_model_free(m);
    ml_dataset_close(d);
    unlink(path);
    unlink(plain);
    ml_registry_free(reg);
    is_int(ml_mem_live_blocks(), 0, "everything freed");
    return done_testing();
}
