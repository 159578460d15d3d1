/* SPDX-License-Identifier: MIT */
/* Optimizers through the real host: ml_trainer on a one-layer linear model.
 *
 * test_optim.c checks the update math against PyTorch through the vtables; this checks the
 * wiring the core adds around it: option validation and create errors at ml_trainer_new,
 * state allocation, lr_factor, parameter groups (lr_scale 0 freezes), and that biases
 * (ML_PARAM_NO_DECAY) get no weight decay. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modlab/modlab.h>

#include "tap.h"
#include "tap_model.h"

enum { IN = 4, OUT = 3, BATCH = 2 };

static ml_registry *reg;

/* Input and class targets of one fixed batch. */
static const float xb[BATCH * IN] = { 0.5f, -1.0f, 0.25f, 2.0f, -0.75f, 0.3f, 1.5f, -0.2f };
static const float yb[BATCH] = { 2.0f, 0.0f };

typedef struct rig {
    ml_model *m;
    ml_trainer *t;
    int32_t np;
    float *before;     /* every parameter's values before the step, concatenated */
} rig;

/* Model linear(out=3) on 4 inputs, cross-entropy, `optim` with `text`; NULL + err on error. */
static int rig_new(rig *r, const char *optim, const char *text, ml_err *err)
{
    const ml_shape in = { 1, { IN } }, target = { 0, { 0 } };
    memset(r, 0, sizeof *r);
    if (!(r->m = ml_model_new(reg, 7, err)))
        return err->code;
    int rc = ml_model_add(r->m, "linear", tap_opts("out=3"), err);
    rc = rc ? rc : ml_model_build(r->m, &in, BATCH, err);
    if (rc)
        return rc;
    r->t = ml_trainer_new(r->m, &target, "cross_entropy", tap_opts(""), optim, tap_opts(text),
                          err);
    if (!r->t)
        return err->code;
    r->np = ml_model_nparam_tensors(r->m);
    r->before = calloc(IN * OUT + OUT, sizeof(float));
    return 0;
}

static void rig_free(rig *r)
{
    ml_trainer_free(r->t);
    ml_model_free(r->m);
    free(r->before);
}

static int rig_step(rig *r, ml_err *err)
{
    ml_step_stats st = { 0 };
    int64_t off = 0;
    for (int32_t i = 0; i < r->np; i++) {
        ml_param *p = ml_model_param(r->m, i);
        memcpy(r->before + off, p->value, (size_t)p->numel * sizeof(float));
        off += p->numel;
    }
    return ml_trainer_step(r->t, xb, yb, BATCH, &st, err);
}

/* Largest |new - want(old, grad)| over parameter `which` ("weight" or "bias"), with
 * want = old - lr * (c * grad + wd * old). */
static double sgd_err(rig *r, const char *which, double lr, double c, double wd)
{
    double worst = 0.0;
    int64_t off = 0;
    for (int32_t i = 0; i < r->np; i++) {
        ml_param *p = ml_model_param(r->m, i);
        if (strstr(ml_model_param_name(r->m, i), which))
            for (int64_t j = 0; j < p->numel; j++) {
                double old = r->before[off + j];
                double want = old - lr * (c * p->grad[j] + wd * old);
                double d = fabs(p->value[j] - want);
                worst = d > worst ? d : worst;
            }
        off += p->numel;
    }
    return worst;
}

/* Largest and smallest |new - old| over parameter `which`. */
static void moves(rig *r, const char *which, double *lo, double *hi)
{
    int64_t off = 0;
    *lo = HUGE_VAL;
    *hi = 0.0;
    for (int32_t i = 0; i < r->np; i++) {
        ml_param *p = ml_model_param(r->m, i);
        if (strstr(ml_model_param_name(r->m, i), which))
            for (int64_t j = 0; j < p->numel; j++) {
                double d = fabs((double)p->value[j] - r->before[off + j]);
                *lo = d < *lo ? d : *lo;
                *hi = d > *hi ? d : *hi;
            }
        off += p->numel;
    }
}

static void test_sgd(void)
{
    ml_err err = { 0 };
    rig r;
    /* SGD's first step is exact arithmetic we can redo here from the gradient the step
     * used (the host zeroes grads before backward, so they survive the step). */
    if (rig_new(&r, "sgd", "lr=0.1 momentum=0.9 nesterov=true weight_decay=0.1", &err)) {
        ok(0, "trainer with sgd nesterov: %s", err.msg);
        rig_free(&r);
        return;
    }
    if (!ok(rig_step(&r, &err) == 0, "sgd nesterov: one step"))
        tap_diag("%s", err.msg);
    /* Nesterov's first step: buf = d, update d + 0.9 * buf = 1.9 d, d = g + wd * w. */
    double we = sgd_err(&r, "weight", 0.1, 1.9, 0.1 * 1.9);
    double be = sgd_err(&r, "bias", 0.1, 1.9, 0.0);
    ok(we < 1e-6, "weights: decayed nesterov step (max err %.3g)", we);
    ok(be < 1e-6, "biases (NO_DECAY): same step without decay (max err %.3g)", be);
    rig_free(&r);

    if (rig_new(&r, "sgd", "lr=0.2", &err)) {
        ok(0, "trainer with sgd: %s", err.msg);
        rig_free(&r);
        return;
    }
    ml_trainer_set_lr_factor(r.t, 0.25f);
    ok(ml_trainer_set_group(r.t, "bias", 0.0f, 1.0f, &err) == 0, "group 'bias' frozen");
    if (!ok(rig_step(&r, &err) == 0, "sgd: one step"))
        tap_diag("%s", err.msg);
    double lo, hi;
    we = sgd_err(&r, "weight", 0.2 * 0.25, 1.0, 0.0);
    moves(&r, "bias", &lo, &hi);
    ok(we < 1e-7, "lr_factor 0.25 scales the step (max err %.3g)", we);
    ok(hi == 0.0, "lr_scale 0 on 'bias' leaves the biases unchanged");
    rig_free(&r);
}

/* Adam's first step moves every element by lr * |g| / (|g| + eps): lr, to a few ulps. */
static void test_adam_family(void)
{
    static const char *const names[] = { "adam", "adamw", "rmsprop" };
    for (int k = 0; k < 3; k++) {
        ml_err err = { 0 };
        rig r;
        const char *text = k == 2 ? "lr=0.01 momentum=0.5" : "lr=0.01 weight_decay=0";
        if (rig_new(&r, names[k], text, &err)) {
            ok(0, "trainer with %s: %s", names[k], err.msg);
            rig_free(&r);
            continue;
        }
        ml_trainer_set_lr_factor(r.t, 0.5f);
        int rc = rig_step(&r, &err);
        ok(rc == 0, "%s: one step%s%s", names[k], rc ? ": " : "", rc ? err.msg : "");
        double lo, hi;
        moves(&r, "weight", &lo, &hi);
        /* RMSprop's first step moves lr * g / sqrt(0.01 g^2) = 10 lr: just bound it. */
        if (k < 2)
            ok(fabs(lo - 0.005) < 1e-6 && fabs(hi - 0.005) < 1e-6,
               "%s: lr_factor 0.5 gives steps of lr * 0.5 = 0.005 (got %.7f..%.7f)",
               names[k], lo, hi);
        else
            ok(lo > 0.0 && hi < 0.2, "%s: every weight moved a bounded amount (%.4g..%.4g)",
               names[k], lo, hi);
        is_int(ml_trainer_steps_done(r.t), 1, "  ... and the trainer counted it");
        rig_free(&r);
    }
}

/* Mistakes surface at ml_trainer_new, before any step, naming optimizer and option. */
static void test_errors(void)
{
    static const struct { const char *optim, *text, *want; } bad[] = {
        { "adam", "beta1=high", "beta1" },
        { "adam", "betas=0.9", "betas" },
        { "rmsprop", "centered=1", "centered" },
        { "sgd", "nesterov=true", "nesterov" },
        { "adamw", "eps=-1", "eps" },
        { "adagrad", "", "adagrad" },
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ml_err err = { 0 };
        rig r;
        int rc = rig_new(&r, bad[k].optim, bad[k].text, &err);
        ok(rc != 0 && r.t == NULL, "%s {%s} fails at ml_trainer_new", bad[k].optim,
           bad[k].text);
        like(err.msg, bad[k].want, "  ... naming the option");
        tap_diag("  %s", err.msg);
        rig_free(&r);
    }
}

int main(void)
{
    ml_err err = { 0 };
    char path[4096];
    const char *dir = getenv("top_builddir");
    reg = ml_registry_new(&err);
    if (!ok(reg != NULL, "registry created"))
        return done_testing();
    static const char *const sos[] = { "nn.so", "optim.so" };
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/build-plugins/%s", dir ? dir : ".", sos[i]);
        if (!ok(ml_registry_load_file(reg, path, &err) == 0, "loaded %s", path)) {
            tap_diag("%s", err.msg);
            ml_registry_free(reg);
            return done_testing();
        }
    }
    test_sgd();
    test_adam_family();
    test_errors();
    ml_registry_free(reg);
    is_int(ml_mem_live_blocks(), 0, "no leaked blocks");
    return done_testing();
}
