/* SPDX-License-Identifier: MIT */
/* nn losses through their vtables, and the layers inside a real trainer (a sequence model
 * and a small CNN that must learn). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modlab/modlab.h>

#include "nn_test.h"
#include "tap.h"
#include "tap_model.h"

static ml_registry *reg;

/* ---- losses: called through their vtables with a small test host ---------------------- */

static void *t_alloc(size_t n)
{
    return malloc(n ? n : 1);
}

static void *t_zalloc(size_t n)
{
    return calloc(1, n ? n : 1);
}

static int t_error(ml_err *err, int code, const char *fmt, ...) ML_PRINTF(3, 4);
static int t_error(ml_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

static const ml_loss_vtable *loss_vt(const char *name)
{
    int32_t i = ml_registry_find(reg, ML_KIND_LOSS, name);
    return i < 0 ? NULL : ml_registry_entry(reg, i)->vtable;
}

static void test_losses(void)
{
    ml_host host;
    ml_err err = { 0 };
    memset(&host, 0, sizeof host);
    host.abi_major = ML_ABI_MAJOR;
    host.abi_minor = ML_ABI_MINOR;
    host.struct_size = sizeof host;
    host.alloc = t_alloc;
    host.zalloc = t_zalloc;
    host.free = free;
    host.error = t_error;

    const ml_loss_vtable *nll = loss_vt("nll"), *mse = loss_vt("mse");
    if (!ok(nll && mse, "nll and mse are registered losses"))
        return;
    /* log_softmax of 4 rows, as 2 examples of {T=2, V=3}; targets 2,0 | 1,1. From PyTorch
     * 1.13 offline: F.nll_loss(log_softmax(logits), [2,0,1,1]) = 0.63772249. */
    const float lp[12] = { -1.74131131f, -3.24131131f, -0.24131133f, -1.20194292f,
                           -1.10194290f, -1.00194287f, -3.34901214f, -0.34901217f,
                           -1.34901214f, -0.75862366f, -0.75862366f, -2.75862360f };
    const float tgt[4] = { 2, 0, 1, 1 };
    ml_shape ps = shp(2, 2, 3, 0), ts = shp(1, 2, 0, 0);
    void *self = NULL;
    float g[12];
    ml_view pv = { (float *)lp, 2, ps }, tv = { (float *)tgt, 2, ts }, gv = { g, 2, ps };
    double loss = 0.0;
    if (ok(nll->create(&host, NULL, &ps, &ts, &self, &err) == 0, "nll create {2,3}/{2}")) {
        ok(nll->forward(self, &pv, &tv, &loss, &gv, &err) == 0, "nll forward");
        is_near(loss, 0.63772249, 1e-6, "nll value matches PyTorch");
        ok(g[2] == -0.25f && g[3] == -0.25f && g[7] == -0.25f && g[10] == -0.25f &&
               g[0] == 0.0f && g[11] == 0.0f,
           "nll gradient is -1/N at each target");
        const float badt[4] = { 2, 3, 1, 1 };
        tv.data = (float *)badt;
        ok(nll->forward(self, &pv, &tv, &loss, NULL, &err) == ML_ERR_INVALID,
           "nll: target 3 with 3 classes is an error");
        like(err.msg, "not a class id", "nll: the message names the problem");
        nll->destroy(self);
    }
    ts = shp(1, 3, 0, 0);
    ok(nll->create(&host, NULL, &ps, &ts, &self, &err) == ML_ERR_SHAPE,
       "nll: target {3} for pred {2,3} is a shape error");

    /* mse: mean over all elements: ((1-0)^2 + (2-4)^2 + (-1-(-1))^2 + (0.5-0)^2) / 4. */
    const float p2[4] = { 1.0f, 2.0f, -1.0f, 0.5f }, t2[4] = { 0.0f, 4.0f, -1.0f, 0.0f };
    ml_shape s2 = shp(1, 2, 0, 0);
    ml_view pv2 = { (float *)p2, 2, s2 }, tv2 = { (float *)t2, 2, s2 }, gv2 = { g, 2, s2 };
    if (ok(mse->create(&host, NULL, &s2, &s2, &self, &err) == 0, "mse create")) {
        ok(mse->forward(self, &pv2, &tv2, &loss, &gv2, &err) == 0, "mse forward");
        is_near(loss, 5.25 / 4, 1e-7, "mse value");
        ok(g[0] == 0.5f && g[1] == -1.0f && g[2] == 0.0f && g[3] == 0.25f,
           "mse gradient is 2 (p - t) / N");
        mse->destroy(self);
    }
    ml_shape s3 = shp(1, 3, 0, 0);
    ok(mse->create(&host, NULL, &s2, &s3, &self, &err) == ML_ERR_SHAPE,
       "mse: mismatched sizes are a shape error");
}

/* ---- training smoke tests: the layers inside a real trainer ---------------------------- */

/* Model from a list of "layer|options" strings, built for `in`. */
static ml_model *model_n(const char *const *spec, int n, ml_shape in, int32_t batch,
                         ml_err *err)
{
    ml_model *m = ml_model_new(reg, 99, err);
    for (int i = 0; m && i < n; i++) {
        char name[32];
        const char *bar = strchr(spec[i], '|');
        size_t len = bar ? (size_t)(bar - spec[i]) : strlen(spec[i]);
        ml_opts *o = ml_opts_new(err);
        snprintf(name, sizeof name, "%.*s", (int)len, spec[i]);
        if (!o || ml_opts_parse(o, bar ? bar + 1 : "", err)) {
            ml_opts_free(o);
            ml_model_free(m);
            return NULL;
        }
        if (ml_model_add(m, name, o, err)) {
            ml_model_free(m);
            return NULL;
        }
    }
    if (m && ml_model_build(m, &in, batch, err)) {
        ml_model_free(m);
        return NULL;
    }
    return m;
}

static ml_trainer *trainer(ml_model *m, ml_shape target, const char *loss, const char *sgd,
                           ml_err *err)
{
    ml_opts *lo = ml_opts_new(err), *oo = ml_opts_new(err);
    if (!lo || !oo || ml_opts_parse(oo, sgd, err)) {
        ml_opts_free(lo);
        ml_opts_free(oo);
        return NULL;
    }
    return ml_trainer_new(m, &target, loss, lo, "sgd", oo, err);
}

/* Predict the previous token: needs the LSTM's memory, and backward through embedding
 * (first layer, no input gradient), lstm and linear on {T, ...} shapes. */
static void test_train_sequence(void)
{
    enum { T = 6, V = 4, B = 16, STEPS = 400 };
    static const char *const spec[] = { "embedding|vocab=4 dim=8", "lstm|hidden=24",
                                        "linear|out=4" };
    ml_err err = { 0 };
    ml_model *m = model_n(spec, 3, shp(1, T, 0, 0), B, &err);
    ml_trainer *t = m ? trainer(m, shp(1, T, 0, 0), "cross_entropy", "lr=0.5 momentum=0.9",
                                &err) : NULL;
    if (!ok(t != NULL, "sequence model embedding-lstm-linear trains with cross_entropy")) {
        tap_diag("%s", err.msg);
        ml_model_free(m);
        return;
    }
    float x[B * T], y[B * T];
    unsigned seed = 3;
    ml_step_stats first = { 0 }, last = { 0 };
    int rc = 0;
    for (int s = 0; s < STEPS && !rc; s++) {
        for (int i = 0; i < B * T; i++) {
            seed = seed * 1664525u + 1013904223u;
            x[i] = (float)((seed >> 16) % V);
            y[i] = i % T ? x[i - 1] : 0.0f;
        }
        ml_step_stats st = { 0 };
        rc = ml_trainer_step(t, x, y, B, &st, &err);
        /* stats.loss sums the batch's mean loss times its examples */
        if (s < 20)
            first.loss += st.loss / (20 * B);
        if (s >= STEPS - 20)
            last.loss += st.loss / (20 * B), last.correct += st.correct, last.seen += st.seen;
    }
    ok(rc == 0, "400 steps run");
    if (rc)
        tap_diag("%s", err.msg);
    double acc = last.seen ? (double)last.correct / last.seen : 0.0;
    ok(last.loss < 0.25 * first.loss && acc > 0.95,
       "the lstm learns to recall the previous token (loss %.3f -> %.3f, accuracy %.3f)",
       first.loss, last.loss, acc);
    ml_trainer_free(t);
    ml_model_free(m);
}

/* Is the bright square in the left or the right half? conv, batchnorm, pooling, dropout. */
static void test_train_cnn(void)
{
    enum { C = 1, H = 8, W = 8, B = 16, STEPS = 150 };
    static const char *const spec[] = {
        "conv2d|out=4 kernel=3 padding=1", "batchnorm", "leaky_relu", "maxpool2d|kernel=2",
        "conv2d|out=4 kernel=3 stride=2 padding=1", "gelu", "global_avgpool",
        "dropout|p=0.1", "linear|out=2", "log_softmax",
    };
    ml_err err = { 0 };
    ml_model *m = model_n(spec, 10, shp(3, C, H, W), B, &err);
    ml_trainer *t = m ? trainer(m, shp(0, 0, 0, 0), "nll", "lr=0.1 momentum=0.9", &err)
                      : NULL;
    if (!ok(t != NULL, "cnn with batchnorm, pooling, dropout trains with nll")) {
        tap_diag("%s", err.msg);
        ml_model_free(m);
        return;
    }
    static float x[B * H * W];
    float y[B];
    unsigned seed = 5;
    ml_step_stats first = { 0 }, last = { 0 };
    int rc = 0;
    for (int s = 0; s < STEPS && !rc; s++) {
        for (int b = 0; b < B; b++) {
            float *img = x + b * H * W;
            for (int i = 0; i < H * W; i++)
                img[i] = 0.3f * frand(&seed);
            seed = seed * 1664525u + 1013904223u;
            int right = (seed >> 20) & 1, r0 = (int)((seed >> 8) % (H - 2));
            int c0 = right ? W / 2 + (int)((seed >> 12) % 2) : (int)((seed >> 12) % 2);
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                    img[(r0 + i) * W + c0 + j] += 2.0f;
            y[b] = (float)right;
        }
        ml_step_stats st = { 0 };
        rc = ml_trainer_step(t, x, y, B, &st, &err);
        if (s < 10)
            first.loss += st.loss / (10 * B);
        if (s >= STEPS - 20)
            last.loss += st.loss / (20 * B), last.correct += st.correct, last.seen += st.seen;
    }
    ok(rc == 0, "150 steps run");
    if (rc)
        tap_diag("%s", err.msg);
    double acc = last.seen ? (double)last.correct / last.seen : 0.0;
    ok(last.loss < 0.5 * first.loss && acc > 0.9,
       "the cnn learns left from right (loss %.3f -> %.3f, accuracy %.3f)", first.loss,
       last.loss, acc);
    ml_trainer_free(t);
    ml_model_free(m);
}

int main(void)
{
    if (!(reg = tap_registry(ML_ABS_BUILDDIR "/build-plugins", NULL)))
        return 1;
    test_losses();
    test_train_sequence();
    test_train_cnn();
    ml_registry_free(reg);
    return done_testing();
}
