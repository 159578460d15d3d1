/* SPDX-License-Identifier: MIT */
/* The transform pipeline and the prefetching ml_trainer_run: an example's output depends
 * only on (seed, epoch, index), not on its batch, its position or the prefetch thread;
 * stored bytes stay bytes until a float transform or the end, converted exactly as the
 * dataset's own read; bad lists are errors; allocation failures are clean; a training step
 * through the pipeline allocates nothing. The test's own dataset stores uint8 pixels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "tap.h"
#include "tap_model.h"
#include "tap_oom.h"
#include <modlab/modlab.h>

enum { N = 40, C = 1, H = 6, W = 5, PIX = C * H * W };

static const ml_host *host;

static uint8_t pixel(int64_t k, int64_t j) { return (uint8_t)((k * 37 + j * 11 + k * j) % 256); }

static int g_open(const ml_host *h, const ml_opts *o, void **self, ml_err *err)
{
    (void)o, (void)err;
    host = h;
    *self = (void *)1;
    return 0;
}
static void g_close(void *self) { (void)self; }
static int g_info(void *self, ml_data_info *info, ml_err *err)
{
    (void)self, (void)err;
    info->size = N;
    info->x_shape = (ml_shape){3, {C, H, W}};
    info->y_shape.ndim = 0;
    info->classes = 3;
    return 0;
}
static int g_read(void *self, const int64_t *idx, int32_t n, float *x, float *y, ml_err *err)
{
    (void)self, (void)err;
    for (int32_t i = 0; i < n; i++) {
        for (int j = 0; j < PIX; j++)
            x[i * PIX + j] = (float)pixel(idx[i], j) / 255.0f;
        y[i] = (float)(idx[i] % 3);
    }
    return 0;
}
static int g_raw_format(void *self, int32_t *dtype, float *div, ml_err *err)
{
    (void)self, (void)err;
    *dtype = ML_DTYPE_U8;
    *div = 255.0f;
    return 0;
}
static int g_read_raw(void *self, const int64_t *idx, int32_t n, void *x, float *y, ml_err *err)
{
    (void)self, (void)err;
    for (int32_t i = 0; i < n; i++) {
        for (int j = 0; j < PIX; j++)
            ((uint8_t *)x)[i * PIX + j] = pixel(idx[i], j);
        y[i] = (float)(idx[i] % 3);
    }
    return 0;
}
static const ml_entry grid_entry = ML_ENTRY_INIT(ML_KIND_DATASET, "u8grid", "1.0.0",
    "uint8 test images", NULL, NULL, ml_dataset_vtable, .open = g_open, .close = g_close,
    .info = g_info, .read = g_read, .raw_format = g_raw_format, .read_raw = g_read_raw);

/* A pipeline of "name opts|name opts" on d, or NULL (with a diagnostic). */
static ml_pipeline *make(ml_registry *reg, ml_dataset *d, const char *spec, ml_err *err)
{
    char buf[256], *save = NULL;
    ml_pipeline *p = ml_pipeline_new(reg, d, err);
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *tok = strtok_r(buf, "|", &save); p && tok; tok = strtok_r(NULL, "|", &save)) {
        char *o = strchr(tok, ' ');
        if (o)
            *o++ = '\0';
        ml_opts *opts = tap_opts(o ? o : "");
        if (!opts)   /* under the allocation-failure sweep: the options' own allocation */
            err->code = ML_ERR_NOMEM;
        if (!opts || ml_pipeline_add(p, tok, opts, err)) {
            ml_pipeline_free(p);
            return NULL;
        }
    }
    return p;
}

static float xa[N * PIX], xb[N * PIX], ya[N], yb[N];

static void check_independence(ml_registry *reg, ml_dataset *d)
{
    ml_err err = {0};
    ml_pipeline *p = make(reg, d, "random_crop padding=2|hflip|random_erasing p=0.5", &err);
    if (!ok(p != NULL, "a pipeline of crop, flip and erasing")) {
        tap_diag("  %s", err.msg);
        return;
    }
    is_int(ml_pipeline_length(p), 3, "it holds three transforms");
    int64_t all[N], rev[N];
    for (int i = 0; i < N; i++)
        all[i] = i, rev[i] = N - 1 - i;
    ok(ml_pipeline_read(p, d, all, N, 7, 3, xa, ya, &err) == 0, "read all %d at once", N);
    int same = 1;
    for (int i = 0; i < N; i++) {   /* one at a time, last to first */
        ml_pipeline_read(p, d, &rev[i], 1, 7, 3, xb, yb, &err);
        same &= !memcmp(xb, xa + rev[i] * PIX, sizeof(float) * PIX) && yb[0] == ya[rev[i]];
    }
    ok(same, "each example alone, in reverse order, is what it was in the whole batch");
    ml_pipeline_read(p, d, all, N, 7, 4, xb, yb, &err);
    ok(memcmp(xa, xb, sizeof xa) != 0, "another epoch transforms differently");
    ml_pipeline_read(p, d, all, N, 8, 3, xb, yb, &err);
    ok(memcmp(xa, xb, sizeof xa) != 0, "another seed transforms differently");
    ml_pipeline_read(p, d, all, N, 7, 3, xb, yb, &err);
    ok(!memcmp(xa, xb, sizeof xa), "the same seed and epoch again: the same bytes");
    int moved = 0;
    for (int64_t k = 0; k < N; k++)
        for (int j = 0; j < PIX; j++)
            moved += xa[k * PIX + j] != (float)pixel(k, j) / 255.0f;
    ok(moved > N, "the transforms changed the images (%d pixels differ)", moved);
    ml_pipeline_free(p);
}

static void check_conversion(ml_registry *reg, ml_dataset *d)
{
    ml_err err = {0};
    int64_t all[N];
    for (int i = 0; i < N; i++)
        all[i] = i;
    ml_dataset_read(d, all, N, xa, ya, &err);
    ml_pipeline *p = ml_pipeline_new(reg, d, &err);
    ok(p && ml_pipeline_read(p, d, all, N, 1, 1, xb, yb, &err) == 0, "an empty pipeline reads");
    ok(!memcmp(xa, xb, sizeof xa) && !memcmp(ya, yb, sizeof ya),
       "stored bytes / 255 are the dataset's own floats, bit for bit");
    ml_pipeline_free(p);
    /* flip twice with p=1, crop 0, noise 0: the identity, through the float conversion */
    p = make(reg, d, "hflip p=1|random_crop padding=0|gaussian_noise std=0|hflip p=1", &err);
    ok(p && ml_pipeline_read(p, d, all, N, 1, 1, xb, yb, &err) == 0,
       "flip, crop 0, noise 0 (a float transform), flip");
    ok(p && !memcmp(xa, xb, sizeof xa), "... is the identity");
    ml_pipeline_free(p);
    float div = 0;
    is_int(ml_dataset_dtype(d, &div), ML_DTYPE_U8, "the dataset stores uint8");
    ok(div == 255.0f, "with divisor 255");
}

static void check_errors(ml_registry *reg, ml_dataset *d)
{
    ml_err err = {0};
    ml_pipeline *p = ml_pipeline_new(reg, d, &err);
    ok(ml_pipeline_add(p, "hfilp", tap_opts(""), &err) != 0, "an unknown transform is refused");
    like(err.msg, "hfilp", "naming it");
    ok(ml_pipeline_add(p, "hflip", tap_opts("p=1.5"), &err) != 0, "p=1.5 is refused");
    like(err.msg, "p=1.5", "naming the value");
    ok(ml_pipeline_add(p, "random_crop", tap_opts("padding=9"), &err) != 0,
       "a crop padding larger than the %dx%d image is refused", H, W);
    ok(ml_pipeline_add(p, "hflip", tap_opts("q=1"), &err) != 0, "an unknown option is refused");
    int added = 0;
    while (added < 300 && ml_pipeline_add(p, "hflip", tap_opts("p=0"), &err) == 0)
        added++;
    is_int(added, 255, "at most 255 transforms");
    like(err.msg, "at most 255", "saying so");
    int64_t bad = N;
    ok(ml_pipeline_read(p, d, &bad, 1, 1, 1, xa, ya, &err) != 0, "an index past the end fails");
    ml_pipeline_free(p);
}

static ml_registry *g_reg;
static ml_dataset *g_d;

static int attempt_pipeline(void *arg)
{
    (void)arg;
    ml_err err = {0};
    int64_t idx[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    ml_pipeline *p = make(g_reg, g_d, "random_crop padding=1|gaussian_noise std=0.1", &err);
    int rc = p ? ml_pipeline_read(p, g_d, idx, 8, 1, 1, xa, ya, &err) : err.code;
    ml_pipeline_free(p);
    return rc;
}

/* ml_trainer_run through the pipeline, prefetching: the same numbers as batch by batch. */
static void check_trainer(ml_registry *reg, ml_dataset *d)
{
    ml_err err = {0};
    ml_shape in = {3, {C, H, W}}, target = {0, {0}};
    ml_step_stats st[2];
    memset(st, 0, sizeof st);
    int64_t order[N];
    for (int i = 0; i < N; i++)
        order[i] = (i * 7) % N;
    for (int run = 0; run < 2; run++) {
        ml_model *m = tap_model(reg, 5, "flatten|linear out=3", &in, 8, &err);
        ml_trainer *t = m ? ml_trainer_new(m, &target, "cross_entropy", tap_opts(NULL), "sgd",
                                           tap_opts("lr=0.1"), &err) : NULL;
        ml_pipeline *p = make(reg, d, "random_crop padding=2|hflip", &err);
        if (!ok(t && p, "trainer and pipeline (run %d)", run)) {
            tap_diag("  %s", err.msg);
            ml_trainer_free(t);
            ml_model_free(m);
            ml_pipeline_free(p);
            return;
        }
        ml_trainer_set_augment(t, p, 11, 2);
        int rc = 0;
        if (run == 0)   /* five batches in one call: four of them prefetched */
            rc = ml_trainer_run(t, d, order, N, 8, 0, 5, 1, &st[0], &err);
        else            /* one call per batch: nothing to prefetch */
            for (int b = 0; b < 5; b++)
                rc |= ml_trainer_run(t, d, order, N, 8, b, 1, 1, &st[1], &err);
        ok(rc == 0, "run %d: five augmented training steps", run);
        if (run == 1) {
            ml_step_stats scratch = {0};   /* a warm-up epoch makes the prefetch thread */
            ml_trainer_run(t, d, order, N, 8, 0, 5, 1, &scratch, &err);
            int64_t blocks = ml_mem_live_blocks();
            ml_mem_fail_at(1);
            rc = ml_trainer_run(t, d, order, N, 8, 0, 5, 1, &scratch, &err);
            void *probe = mli_alloc(1);
            ml_mem_fail_at(0);
            ok(rc == 0 && probe == NULL && ml_mem_live_blocks() == blocks,
               "another augmented epoch allocates nothing");
            mli_free(probe);
        }
        ml_trainer_free(t);
        ml_pipeline_free(p);
        ml_model_free(m);
    }
    ok(st[0].steps == 5 && st[1].steps == 5, "both ran five steps");
    ok(st[0].loss == st[1].loss && st[0].correct == st[1].correct,
       "prefetched or not, the same losses (%.9g, %.9g) and counts", st[0].loss, st[1].loss);
}

/* A model that normalises its input: the trainer's reads fuse it into the conversion and
 * the model skips it; a caller's own floats get it from the model. The same numbers. */
static void check_fused_normalisation(ml_registry *reg, ml_dataset *d)
{
    ml_err err = {0};
    ml_shape in = {3, {C, H, W}}, target = {0, {0}};
    double mean = 0.3, sd = 0.2, loss[2] = {0, 0};
    int64_t idx[8] = {3, 9, 1, 30, 22, 5, 17, 0};
    for (int k = 0; k < 2; k++) {
        ml_model *m = tap_model(reg, 5, "flatten|linear out=3", &in, 8, &err);
        ml_trainer *t = m ? ml_trainer_new(m, &target, "cross_entropy", tap_opts(NULL), "sgd",
                                           tap_opts("lr=0.1"), &err) : NULL;
        if (!t || ml_model_set_normalization(m, &mean, &sd, 1, &err)) {
            ok(0, "a trainer with input normalisation: %s", err.msg);
            ml_trainer_free(t);
            ml_model_free(m);
            return;
        }
        ml_step_stats st = {0};
        int rc;
        if (k == 0) {   /* the trainer's own batch: bytes -> (v / 255 - 0.3) / 0.2, one pass */
            rc = ml_trainer_read_batch(t, d, idx, 8, &err) || ml_trainer_train_batch(t, &st, &err)
                 || ml_trainer_read_batch(t, d, idx, 8, &err) || ml_trainer_eval_batch(t, &st, &err);
        } else {        /* the caller's floats, normalised by the model */
            ml_dataset_read(d, idx, 8, xa, ya, &err);
            rc = ml_trainer_step(t, xa, ya, 8, &st, &err) || ml_trainer_eval(t, xa, ya, 8, &st, &err);
        }
        ok(rc == 0, "%s: a step and an evaluation", k ? "caller's floats" : "trainer's batch");
        loss[k] = st.loss;
        ml_trainer_free(t);
        ml_model_free(m);
    }
    ok(loss[0] == loss[1] && loss[0] > 0, "fused or by the model, the same losses (%.9g, %.9g)",
       loss[0], loss[1]);
}

int main(void)
{
    ml_err err = {0};
    ml_registry *reg = tap_registry(ML_ABS_BUILDDIR "/build-plugins", &grid_entry);
    if (!reg)
        return 1;
    ml_dataset *d = ml_dataset_open(reg, "u8grid", tap_opts(NULL), &err);
    if (!ok(d != NULL, "the uint8 test dataset opens")) {
        tap_diag("  %s", err.msg);
        return done_testing();
    }
    check_independence(reg, d);
    check_conversion(reg, d);
    check_errors(reg, d);
    g_reg = reg, g_d = d;
    tap_oom r = tap_fail_each_alloc(attempt_pipeline, NULL, 200);
    ok(r.worked && r.failures > 0, "a pipeline with every allocation failing in turn (%d)",
       r.failures);
    is_int(r.nomem, r.failures, "... each failure an ML_ERR_NOMEM");
    is_int(r.leaks, 0, "... none leaking");
    check_trainer(reg, d);
    check_fused_normalisation(reg, d);
    ml_dataset_close(d);
    ml_registry_free(reg);
    return done_testing();
}
